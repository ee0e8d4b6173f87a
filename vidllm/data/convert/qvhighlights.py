"""QVHighlights: ``highlight_{train,val}_release.jsonl`` -> highlight (and grounding) records + GT.

Each line: ``qid, query, duration, vid, relevant_clip_ids, saliency_scores`` (3 annotators, 0-4, per 2-s clip: clip
``i`` is ``[2i, 2i + 2)``), ``relevant_windows``. Records: ``vhd`` (default) with one saliency point per relevant
clip, at the clip's start, scored by the mean of the 3 annotators (VTG-IT's rule); ``mr`` (``tasks=("vhd", "mr")``)
with the relevant windows. The test release has no labels: its lines are skipped, counted. The ground truth is the
kept lines themselves (``vidllm score hd`` / ``qvhl`` read them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from vidllm.data.convert.common import Converted, ConvertOptions, PromptPicker, check, infer_split, sentence
from vidllm.data.records import Record, Targets
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import PathLike, iter_jsonl

NAME = "qvhighlights"
CLIP_LENGTH = 2.0
GT_KEYS = ("qid", "query", "duration", "vid", "relevant_clip_ids", "saliency_scores", "relevant_windows")


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _line_problem(obj) -> tuple[str, str] | None:
    """``(message, field)`` of the first malformed field of a line, or ``None``."""
    if not isinstance(obj, dict):
        return f"expected an object, got {type(obj).__name__}", None
    for key in ("qid", "query", "duration", "vid"):
        if key not in obj:
            return "missing", key
    if "relevant_clip_ids" not in obj or "saliency_scores" not in obj:
        return "no labels (the test release has none)", "relevant_clip_ids"
    ids, scores = obj["relevant_clip_ids"], obj["saliency_scores"]
    if not (isinstance(ids, list) and all(isinstance(i, int) and i >= 0 for i in ids)):
        return f"expected a list of clip indices, got {ids!r}", "relevant_clip_ids"
    if not (isinstance(scores, list) and len(scores) == len(ids)):
        return "expected one row of annotator scores per relevant clip", "saliency_scores"
    if not all(isinstance(r, list) and r and all(map(_is_number, r)) for r in scores):
        return "expected rows of numbers", "saliency_scores"
    return None


def _records(path: PathLike, options: ConvertOptions, report: LoadReport) -> Iterator[tuple[str, Record]]:
    picker = PromptPicker(options.prompt_set, options.seed, dataset="QVHighlights")
    want_vhd = options.wants("vhd", ("vhd",), ("vhd", "mr"))
    want_mr = options.wants("mr", ("vhd",), ("vhd", "mr"))
    for lineno, obj in iter_jsonl(path):
        problem = _line_problem(obj)
        qid = obj.get("qid", f"line {lineno}") if isinstance(obj, dict) else f"line {lineno}"
        if problem is not None:
            skip_or_raise(Problem(problem[0], str(path), qid, problem[1]), report, strict=options.strict)
            continue
        query = sentence(obj["query"])
        duration = obj["duration"] if _is_number(obj["duration"]) else None
        common = {"video": options.video(obj["vid"]), "duration": duration, "query": query,
                  "source": f"{path}:{lineno}", "meta": {"qid": obj["qid"], "vid": obj["vid"]}}  # fmt: skip
        if want_vhd:
            points = tuple(
                (CLIP_LENGTH * cid, sum(row) / len(row))
                for cid, row in zip(obj["relevant_clip_ids"], obj["saliency_scores"])
            )
            saliency = Targets(saliency=points, clip_length=CLIP_LENGTH)
            yield str(qid), Record(task="vhd", prompt=picker("vhd", query), targets=saliency, **common)
        if want_mr:
            windows = tuple((w[0], w[1]) for w in obj.get("relevant_windows") or () if isinstance(w, list | tuple)
                            and len(w) == 2)  # fmt: skip
            intervals = Targets(intervals=windows)
            yield f"{qid}.mr", Record(task="mr", prompt=picker("mr", query), targets=intervals, **common)


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert a QVHighlights release file (see the module docstring)."""
    options = options or ConvertOptions()
    split = options.split or infer_split(path, "val")
    report = LoadReport(str(path))
    records = check(_records(path, options, report), report, options.strict)
    kept = {r.meta["qid"] for r in records}
    lines = [{k: obj[k] for k in GT_KEYS if k in obj} for _, obj in iter_jsonl(path)
             if isinstance(obj, dict) and obj.get("qid") in kept]  # fmt: skip
    return Converted(NAME, split, records, {"hd": lines}, report)
