"""The one error class for a user's mistake, and how every command line reports it.

A :class:`UserError` (and its subclasses :class:`vidllm.io.DataError`, :class:`vidllm.config.ConfigError`) says, in
one line, which input is wrong, what was expected, what came, and how to fix it. The command lines
(``vidllm ...``, ``python eval/<kind>.py``, ``python -m vidllm.train``, ``python gradio_demo.py``) run through
:func:`run_command`, which prints such an error as ``PROG: error: MESSAGE`` on stderr and exits with 2 -- no
traceback, since the problem is the user's to fix, not a bug. ``--verbose`` (or ``VIDLLM_TRACEBACK=1``) shows the
traceback as well.

The same holds for the few built-in errors that mean the same thing: a missing / misplaced file or folder
(``FileNotFoundError``, ``IsADirectoryError``, ``NotADirectoryError``, ``PermissionError``) and a ``ValueError``
raised for a bad value.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


class UserError(ValueError):
    """A problem with what the user gave (file, flag, config field, folder, device), not a bug.

    The message is one line: the input, what was expected, what came, and the fix.
    """


USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    ValueError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
"""What :func:`run_command` reports in one line instead of a traceback."""

EXIT_USER_ERROR = 2


def one_line(error: BaseException) -> str:
    """The error's message on one line (whitespace collapsed); its class name when it has no message."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def run_command(prog: str, run: Callable[[], int], *, traceback: bool = False) -> int:
    """Run a command-line entry point, reporting a user's mistake in one line on stderr.

    Args:
        prog: The command as the user typed it (``vidllm score``, ``eval/mr.py``), the prefix of the message.
        run: The command; returns its exit code.
        traceback: Re-raise instead (``--verbose``; also ``VIDLLM_TRACEBACK=1`` in the environment).

    Returns:
        The command's exit code, or 2 after a user error.
    """
    try:
        return run()
    except USER_ERRORS as e:
        if traceback or os.environ.get("VIDLLM_TRACEBACK") == "1":
            raise
        rank = os.environ.get("RANK")
        where = f" [rank {rank}]" if rank not in (None, "0") else ""
        print(f"{prog}{where}: error: {one_line(e)}", file=sys.stderr)  # noqa: T201
        return EXIT_USER_ERROR
