"""The two Java tools the captioning metrics need: Stanford's PTBTokenizer and METEOR 1.5.

Both jars ship inside the ``pycocoevalcap`` package (``tokenizer/stanford-corenlp-3.4.1.jar``,
``meteor/meteor-1.5.jar`` with ``meteor/data/paraphrase-en.gz``); this module finds them there and talks to them
over pipes. Starting a JVM costs time (about 0.2 s for the tokenizer, 10-15 s for METEOR, which loads a 60 MB
paraphrase table), so :func:`ptb_tokenize` tokenizes a whole batch of sentences in one call and :class:`Meteor` keeps
one process alive for as many calls as you make.

The behaviour follows the wrappers TimeChat's ``metrics/dvc`` uses (``docs/scoring-conventions.md``
section 4): same command lines, same punctuation filter, same METEOR line protocol and key order.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "install a Java runtime (8 or newer, e.g. `apt-get install default-jre-headless` or `conda install openjdk`) "
    "and make sure `java` is on PATH or JAVA_HOME points at it"
)

# Tokens the official PTB wrapper drops after tokenizing. The tokenizer runs with -lowerCase, which also lowercases
# its bracket tokens (-LRB- comes out as -lrb-), so the upper-case bracket entries never match: brackets survive as
# tokens. Keeping the list as the official has it reproduces that.
PTB_PUNCTUATION = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)

# Characters PTBTokenizer treats as line ends even with -preserveLines. The official wrapper only replaces "\n", so
# one of these inside a caption shifts every later caption of that call onto the wrong line; we replace them all by
# spaces instead, which gives the official result whenever the official one is not misaligned.
_LINE_BREAKS = str.maketrans(dict.fromkeys("\n\r\x0b\x0c\u2028\u2029", " "))


class JavaUnavailableError(RuntimeError):
    """Java, or one of the jars ``pycocoevalcap`` ships, is not there, so a Java-based metric cannot be computed."""


def java_executable() -> str | None:
    """Path of the ``java`` binary: ``$JAVA_HOME/bin/java`` if that exists, else ``java`` on PATH, else ``None``."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def _package_dirs() -> list[Path]:
    """Folders of the installed ``pycocoevalcap`` (a namespace package: no ``__init__.py``, possibly several)."""
    spec = importlib.util.find_spec("pycocoevalcap")
    return [Path(p) for p in (spec.submodule_search_locations or [])] if spec is not None else []


def _jar(relative: str) -> Path:
    """Absolute path of a file inside ``pycocoevalcap``; raises :class:`JavaUnavailableError` if it is missing."""
    for root in _package_dirs():
        if (root / relative).is_file():
            return root / relative
    raise JavaUnavailableError(
        f"pycocoevalcap/{relative} not found: install the `pycocoevalcap` package (pip install pycocoevalcap), "
        "which ships the METEOR and Stanford tokenizer jars"
    )


def _require_java() -> str:
    java = java_executable()
    if java is None:
        raise JavaUnavailableError(f"no Java runtime found: {INSTALL_HINT}")
    return java


def java_problem() -> str | None:
    """Why the Java metrics cannot run (what is missing and how to install it), or ``None`` if they can.

    Checks that a ``java`` binary and the jars of ``pycocoevalcap`` are there; nothing is started.
    """
    try:
        _require_java()
        for jar in ("tokenizer/stanford-corenlp-3.4.1.jar", "meteor/meteor-1.5.jar", "meteor/data/paraphrase-en.gz"):
            _jar(jar)
    except JavaUnavailableError as e:
        return str(e)
    return None


def java_available() -> bool:
    """Whether a ``java`` binary and the jars of ``pycocoevalcap`` are present (see :func:`java_problem`)."""
    return java_problem() is None


def ptb_tokenize(sentences: Sequence[str]) -> list[str]:
    """Tokenize sentences with Stanford PTBTokenizer the way the COCO-caption wrapper does, in one Java call.

    Each sentence becomes its lowercased PTB tokens joined by single spaces, with the tokens in
    :data:`PTB_PUNCTUATION` removed. Line-break characters inside a sentence are turned into spaces first, so every
    sentence maps to exactly one output (see ``_LINE_BREAKS``). Duplicate sentences are tokenized once.

    Args:
        sentences: Raw sentences, any number.

    Returns:
        The tokenized sentences, in the input order.

    Raises:
        JavaUnavailableError: Java or the tokenizer jar is missing.
        RuntimeError: The tokenizer failed or returned a different number of lines.
    """
    if not sentences:
        return []
    java, jar = _require_java(), _jar("tokenizer/stanford-corenlp-3.4.1.jar")
    unique = list(dict.fromkeys(s.translate(_LINE_BREAKS) for s in sentences))
    lines = _run_tokenizer(java, jar, unique)
    tokenized = {
        s: " ".join(w for w in line.rstrip().split(" ") if w not in PTB_PUNCTUATION) for s, line in zip(unique, lines)
    }
    return [tokenized[s.translate(_LINE_BREAKS)] for s in sentences]


def _run_tokenizer(java: str, jar: Path, sentences: list[str]) -> list[str]:
    """Run PTBTokenizer on a temporary file with one sentence per line; returns one output line per sentence."""
    # The official wrapper passes a file too (not stdin) and reads the output as UTF-8, which the tokenizer writes by
    # default whatever the locale.
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write("\n".join(sentences))
        name = f.name
    try:
        cmd = [java, "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase", name]
        proc = subprocess.run(cmd, capture_output=True, check=False)
    finally:
        os.remove(name)
    if proc.returncode != 0:
        raise RuntimeError(f"PTBTokenizer failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')}")
    # With -preserveLines the output keeps every line break of the input, empty lines included.
    lines = proc.stdout.decode("utf-8").split("\n")
    if len(lines) != len(sentences):
        raise RuntimeError(f"PTBTokenizer returned {len(lines)} lines for {len(sentences)} sentences")
    return lines


class Meteor:
    """One long-lived METEOR 1.5 process (``-l en -norm``), scoring as the COCO-caption wrapper does.

    Use it as a context manager, or call :meth:`close`; starting it takes 10-15 s (the paraphrase table loads), so
    keep one for a whole evaluation::

        with Meteor() as meteor:
            aggregate, per_item = meteor.score_by_key({"0": ["a cat sat"]}, {"0": "the cat sat"})

    Raises:
        JavaUnavailableError: Java or the METEOR jar is missing.
    """

    def __init__(self) -> None:
        java, jar = _require_java(), _jar("meteor/meteor-1.5.jar")
        _jar("meteor/data/paraphrase-en.gz")  # the jar finds it beside itself; fail here, not on the first call
        cmd = [java, "-jar", "-Xmx2G", str(jar), "-", "-", "-stdio", "-l", "en", "-norm"]
        # Kept open for the life of the process (closed in close()): its error output, for the message if it dies.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        logger.info("starting METEOR: %s", " ".join(cmd))
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, cwd=jar.parent
        )
        self._lock = threading.Lock()  # one conversation with the process at a time

    def __enter__(self) -> Meteor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Stop the Java process (safe to call twice)."""
        proc, self._proc = getattr(self, "_proc", None), None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):  # a dead process makes closing its pipe fail; nothing to do then
                stream.close()
        proc.kill()
        proc.wait()
        self._stderr.close()

    def score(self, refs: Sequence[Sequence[str]], hyps: Sequence[str]) -> tuple[float, list[float]]:
        """METEOR of each hypothesis against its references, and the corpus-level aggregate, items in given order.

        The aggregate is the jar's ``EVAL`` result: METEOR from the statistics summed over all items, not the mean
        of the per-item scores. In each hypothesis "|||" is removed and double spaces are collapsed, as the
        official wrapper does; references are sent as they are.

        Args:
            refs: For each item, its reference sentences (at least one).
            hyps: For each item, its hypothesis sentence.

        Returns:
            ``(aggregate, per_item_scores)``; NaN where the jar says NaN.

        Raises:
            ValueError: No items, lengths differ, or a sentence contains a line break (it would break the protocol).
            RuntimeError: The Java process died.
        """
        return self.score_many([(refs, hyps)])[0]

    def score_many(
        self, calls: Sequence[tuple[Sequence[Sequence[str]], Sequence[str]]]
    ) -> list[tuple[float, list[float]]]:
        """Several independent :meth:`score` calls, each with its own aggregate, in two exchanges with the process.

        Equivalent to calling :meth:`score` once per ``(refs, hyps)`` pair, but every ``SCORE`` line of every call
        is sent at once (identical lines only once), then every ``EVAL`` line: a round trip to Java costs
        milliseconds, and a full evaluation makes thousands of calls.
        """
        score_lines = [self._score_line(refs, hyps) for refs, hyps in calls]
        unique = list(dict.fromkeys(line for lines in score_lines for line in lines))
        with self._lock:
            stats = dict(zip(unique, (reply.strip() for reply in self._exchange(unique, len(unique)))))
            eval_lines = ["EVAL ||| " + " ||| ".join(stats[line] for line in lines) for lines in score_lines]
            replies = iter(self._exchange(eval_lines, sum(len(lines) + 1 for lines in score_lines)))
        results = []
        for lines in score_lines:
            per_item = [float(next(replies)) for _ in lines]
            results.append((float(next(replies)), per_item))
        return results

    def score_by_key(self, refs: Mapping[str, Sequence[str]], hyps: Mapping[str, str]) -> tuple[float, list[float]]:
        """:meth:`score` over keyed items sent in ``sorted(key)`` order, as the official wrapper sends them.

        Returns:
            ``(aggregate, per_item_scores)`` with the per-item scores in ``sorted(keys)`` order: for string keys that
            is lexicographic, so ``'10'`` comes before ``'2'``, and callers that index the result by position inherit
            that order (the official SODA_c does).
        """
        if sorted(refs) != sorted(hyps):
            raise ValueError("references and hypotheses must have the same keys")
        keys = sorted(hyps)
        return self.score([refs[k] for k in keys], [hyps[k] for k in keys])

    @staticmethod
    def _score_line(refs: Sequence[Sequence[str]], hyps: Sequence[str]) -> list[str]:
        """The ``SCORE ||| ref 1 ||| ... ||| ref n ||| hypothesis`` lines of one call."""
        if len(refs) != len(hyps):
            raise ValueError(f"{len(refs)} reference lists for {len(hyps)} hypotheses")
        if not hyps:
            raise ValueError("METEOR needs at least one item")
        lines = []
        for item_refs, hyp in zip(refs, hyps):
            line = " ||| ".join(("SCORE", " ||| ".join(item_refs), hyp.replace("|||", "").replace("  ", " ")))
            if "\n" in line or "\r" in line:
                raise ValueError(f"METEOR input must be single-line sentences, got {line!r}")
            lines.append(line)
        return lines

    def _exchange(self, lines: list[str], n_replies: int) -> list[str]:
        """Send ``lines`` and read ``n_replies`` reply lines.

        A thread writes while this one reads, so neither pipe can fill up and block both processes.
        """
        proc = self._running()
        failure: list[BaseException] = []

        def write() -> None:
            try:
                proc.stdin.write("".join(line + "\n" for line in lines).encode("utf-8"))
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as e:  # the reader below reports the dead process
                failure.append(e)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        replies = []
        for _ in range(n_replies):
            line = proc.stdout.readline()
            if not line:
                writer.join()
                raise self._died()
            replies.append(line.decode("utf-8"))
        writer.join()
        if failure:
            raise self._died() from failure[0]
        return replies

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("this Meteor was closed; create a new one")
        return self._proc

    def _died(self) -> RuntimeError:
        self._stderr.seek(0)
        err = self._stderr.read().decode(errors="replace").strip()
        return RuntimeError(f"the METEOR process stopped unexpectedly: {err[-2000:] or 'no error output'}")
