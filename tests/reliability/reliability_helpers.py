"""Helpers of the fault-injection tests (imported by the test modules; fixtures are in ``conftest.py``)."""

from __future__ import annotations

FAMILY = "qwen2_5_vl"


class NoModel(AssertionError):
    """Raised when a test that expects a refusal before the model loads reaches the model loading."""


def one_line_error(err: str) -> str:
    """The error line of a CLI's stderr; fails the test on a traceback or on more than one error line."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    return lines[0]
