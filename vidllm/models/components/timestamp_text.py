"""Frame-time text: each frame's time written before its visual tokens (TimeChat; Qwen3-VL's native ``<t seconds>``).

The time is written by the scheme (``scheme.encode``), inside a template such as ``"<{time} seconds>"``; this module
never formats seconds itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from vidllm.time import TimeScheme, get_scheme

# Qwen3-VL writes frame times as "<12.5 seconds>" with one decimal: the text scheme with decimals=1.
QWEN3_NATIVE_TEMPLATE = "<{time} seconds>"


def qwen3_native_scheme() -> TimeScheme:
    """The scheme that reproduces Qwen3-VL's own frame-time text."""
    return get_scheme("text", decimals=1)


def frame_time_texts(
    times: Sequence[float], scheme: TimeScheme, template: str, *, duration: float | None = None
) -> list[str]:
    """The text written before each frame group.

    Args:
        times: Each group's time in seconds.
        scheme: Writes the time (``scheme.encode``).
        template: Text around the time; ``{time}`` is replaced by the encoded time.
        duration: The video's duration, for schemes relative to it (``bins``).

    Returns:
        One string per group.
    """
    return [template.replace("{time}", scheme.encode(float(t), duration=duration)) for t in times]
