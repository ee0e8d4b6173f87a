"""Which times to sample: pure functions from a video's duration and a request to a grid of sample times.

A plan from :func:`plan_samples` is a uniform grid that starts at the window's start:
``times[k] = start + k / plan.fps`` seconds.
Sampling by ``fps`` keeps the requested rate exactly. Sampling by ``num_frames`` spreads that many samples evenly,
so the grid's rate is ``num_frames / (end - start)``. When a cap applies (``max_frames``, or the number of frames
the video actually has in the window), the samples are spread more thinly over the whole window: the end of the
video is never cut off. Frame number ``k`` of a sampled sequence therefore always means ``start + k / plan.fps``
seconds, which is the ``frames`` time scheme of :mod:`vidllm.time` at ``plan.fps``.

With neither ``fps`` nor ``num_frames``, :func:`plan_every_frame` takes every frame of the window at its own
presentation time (for variable-frame-rate video that grid is not uniform).

The frame shown for each sample time is decided later, from the stream's real presentation timestamps (see
:func:`vidllm.video.index.frames_shown_at`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Slack (seconds) for float noise when deciding whether a grid point lies before the window's end.
TIME_EPS = 1e-6


@dataclass(frozen=True)
class SamplePlan:
    """A grid of sample times.

    Attributes:
        times: ``float64`` array of shape ``(T,)``, seconds from the start of the video, strictly increasing, all in
            ``[start, end)``. Empty when the window is empty or shorter than a microsecond (e.g. ``start`` at or after
            the end of the video).
        fps: Rate of the grid in samples per second: ``times[k] == start + k / fps``. This is the rate the
            ``frames`` time scheme must use. ``0.0`` for an empty plan.
        start: Window start in seconds, clamped to the video.
        end: Window end in seconds, clamped to the video.
        capped: True when fewer samples than requested are returned because of ``max_frames`` or because the
            video has fewer frames in the window than requested.
    """

    times: np.ndarray
    fps: float
    start: float
    end: float
    capped: bool = False

    def __len__(self) -> int:
        return len(self.times)


def _check_positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _check_count(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


def clamp_window(duration: float, start: float | None = None, end: float | None = None) -> tuple[float, float]:
    """Clamp a requested ``[start, end)`` window to ``[0, duration]``.

    Args:
        duration: Video duration in seconds (``>= 0``).
        start: Requested start in seconds; ``None`` means 0. Negative values are treated as 0.
        end: Requested end in seconds; ``None`` means the end of the video. Values past the end are clamped.

    Returns:
        ``(start, end)`` in seconds with ``0 <= start <= end <= duration``; ``start == end`` means an empty window.

    Raises:
        ValueError: ``end`` is before ``start``, or a bound is not finite.
    """
    if not (math.isfinite(duration) and duration >= 0):
        raise ValueError(f"duration must be a finite number >= 0 seconds, got {duration!r}")
    for name, v in (("start", start), ("end", end)):
        if v is not None and not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number of seconds, got {v!r}")
    if start is not None and end is not None and end < start:
        raise ValueError(f"end ({end} s) is before start ({start} s); swap them or drop one")
    s = 0.0 if start is None else min(max(float(start), 0.0), duration)
    e = duration if end is None else min(max(float(end), 0.0), duration)
    return s, max(s, e)


def frames_in_window(length: float, native_fps: float) -> int:
    """About how many distinct native frames a window of ``length`` seconds shows (at least 1).

    Args:
        length: Window length in seconds (``> 0``).
        native_fps: The video's average frame rate.

    Returns:
        ``ceil(length * native_fps)`` up to float noise, and at least 1.
    """
    return max(1, math.ceil(length * native_fps - TIME_EPS))


def plan_samples(
    duration: float,
    *,
    fps: float | None = None,
    num_frames: int | None = None,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
    native_fps: float | None = None,
) -> SamplePlan:
    """Plan which times of a video to sample.

    Args:
        duration: Video duration in seconds (from the stream's presentation times).
        fps: Sample this many frames per second (e.g. 0.5, 1, 2): ``times[k] = start + k / fps`` for every ``k``
            with ``times[k] < end``. Exclusive with ``num_frames``.
        num_frames: Sample exactly this many frames, spread evenly: ``times[k] = start + k * (end - start) /
            num_frames``. Exclusive with ``fps``.
        max_frames: Upper bound on the count; when exceeded the samples are spread evenly over the whole window
            (the rate drops, the end is kept).
        start: Window start in seconds (default 0).
        end: Window end in seconds, exclusive (default: end of the video). Clamped to the video: a video shorter
            than asked gives fewer frames, never an error.
        native_fps: The video's average frame rate. When given, the count is also capped at the number of frames
            the window holds, so no frame is sampled twice over.

    Returns:
        The :class:`SamplePlan`.

    Raises:
        ValueError: Both or neither of ``fps`` and ``num_frames`` given, a non-positive rate or count, or
            ``end < start``.
    """
    if fps is not None and num_frames is not None:
        raise ValueError(f"give fps or num_frames, not both (got fps={fps}, num_frames={num_frames})")
    _check_positive("fps", fps)
    _check_positive("native_fps", native_fps)
    _check_count("num_frames", num_frames)
    _check_count("max_frames", max_frames)
    if fps is None and num_frames is None:
        raise ValueError("give fps or num_frames (plan_every_frame takes every frame)")
    s, e = clamp_window(duration, start, end)
    length = e - s
    if length <= TIME_EPS:  # nothing is on screen for less than a microsecond
        return SamplePlan(times=np.zeros(0, dtype=np.float64), fps=0.0, start=s, end=e)

    if num_frames is not None:
        wanted = int(num_frames)
    else:
        wanted = max(1, math.ceil(length * fps - TIME_EPS))
    cap = min(wanted, max(1, math.floor(length / TIME_EPS)))  # samples at least a microsecond apart
    if max_frames is not None:
        cap = min(cap, int(max_frames))
    if native_fps is not None:
        cap = min(cap, frames_in_window(length, native_fps))

    k = np.arange(min(wanted, cap), dtype=np.float64)
    if num_frames is None and cap >= wanted:
        times, rate = s + k / fps, float(fps)
    else:
        n = min(wanted, cap)
        times, rate = s + k * (length / n), n / length
    return SamplePlan(times=times, fps=rate, start=s, end=e, capped=cap < wanted)


def plan_every_frame(
    frame_times: np.ndarray,
    duration: float,
    *,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> SamplePlan:
    """Plan to take every frame on screen in the window, each at its own presentation time.

    Args:
        frame_times: ``float64`` array ``(N,)`` of ascending frame presentation times in seconds.
        duration: Video duration in seconds.
        max_frames: When the window holds more frames, fall back to ``max_frames`` samples spread evenly
            (:func:`plan_samples` with ``num_frames=max_frames``).
        start: Window start in seconds (default 0).
        end: Window end in seconds, exclusive (default: end of the video).

    Returns:
        The :class:`SamplePlan`: ``times`` are the frames' presentation times (the first clamped up to ``start``
        when that frame started earlier), ``fps`` is frames per second of window.
    """
    _check_count("max_frames", max_frames)
    s, e = clamp_window(duration, start, end)
    if e - s <= TIME_EPS or len(frame_times) == 0:
        return SamplePlan(times=np.zeros(0, dtype=np.float64), fps=0.0, start=s, end=e)
    frame_times = np.asarray(frame_times, dtype=np.float64)
    first = max(int(np.searchsorted(frame_times, s + TIME_EPS, side="right")) - 1, 0)
    stop = int(np.searchsorted(frame_times, e - TIME_EPS, side="left"))
    times = np.maximum(frame_times[first : max(stop, first + 1)], s)
    if max_frames is not None and len(times) > max_frames:
        return plan_samples(duration, num_frames=int(max_frames), start=s, end=e)
    return SamplePlan(times=times, fps=len(times) / (e - s), start=s, end=e)


# ------------------------------------------------------------------------------------ qwen-vl-utils' frame choice
#
# The Qwen-VL model cards feed their models frames chosen by qwen-vl-utils (0.0.14): a frame *count* from the rate,
# rounded to the temporal patch of 2 and kept within [4, 768], then that many stream frames spread from the first to
# the last frame of the window with ``linspace`` (rounded in float32). Unlike :func:`plan_samples` the grid is not
# ``k / fps``: it stretches to reach the last frame, so frame k's time drifts from k / fps by up to one sampling
# interval. These functions reproduce that choice exactly (tests compare them with qwen-vl-utils itself), for
# :func:`vidllm.video.model_card.read_frames_qwen_vl_utils`.

#: qwen-vl-utils' defaults: the frame count is a multiple of this (Qwen-VL's temporal patch).
QWEN_FRAME_FACTOR = 2
QWEN_FPS = 2.0
QWEN_MIN_FRAMES = 4
QWEN_MAX_FRAMES = 768


def _round_to(value: float, factor: int) -> int:
    return round(value / factor) * factor


def _ceil_to(value: float, factor: int) -> int:
    return math.ceil(value / factor) * factor


def _floor_to(value: float, factor: int) -> int:
    return math.floor(value / factor) * factor


def qwen_frame_window(
    total_frames: int, video_fps: float, start: float | None = None, end: float | None = None
) -> tuple[int, int]:
    """The first and last stream frame of a ``[start, end]`` window (seconds), as qwen-vl-utils picks them: the first
    frame at or after ``start``, the last at or before ``end``.

    Raises:
        ValueError: A non-positive rate or count, or a window holding fewer than two frames.
    """
    if not (video_fps > 0 and total_frames > 0):
        raise ValueError(f"need video_fps > 0 and total_frames > 0, got {video_fps} fps and {total_frames} frames")
    if start is None and end is None:
        return 0, total_frames - 1
    duration = total_frames / video_fps
    first = math.ceil(min(max(0.0, start), duration) * video_fps) if start is not None else 0
    last = total_frames - 1
    if end is not None:
        last = min(math.floor(min(max(0.0, end), duration) * video_fps), total_frames - 1)
    if first >= last:
        raise ValueError(
            f"the window [{start}, {end}] s holds frames {first}..{last} of a {duration:.2f}-s video: fewer than two"
        )
    return first, last


def qwen_frame_count(
    total_frames: int,
    video_fps: float,
    *,
    fps: float | None = QWEN_FPS,
    nframes: int | None = None,
    min_frames: int = QWEN_MIN_FRAMES,
    max_frames: int | None = None,
) -> int:
    """How many frames qwen-vl-utils takes from a window of ``total_frames`` frames at ``video_fps``.

    Args:
        total_frames: Frames in the window.
        video_fps: The stream's average frame rate.
        fps: Frames per second asked for (ignored with ``nframes``).
        nframes: An exact count (rounded to the frame factor).
        min_frames: Fewest frames when sampling by rate (rounded up to the factor).
        max_frames: Most frames when sampling by rate (rounded down to the factor; default
            ``min(768, total_frames)``); never more than ``total_frames``.

    Raises:
        ValueError: When the count falls outside ``[2, total_frames]`` (qwen-vl-utils refuses those too).
    """
    if nframes is not None:
        count = _round_to(nframes, QWEN_FRAME_FACTOR)
    else:
        low = _ceil_to(min_frames, QWEN_FRAME_FACTOR)
        cap = max_frames if max_frames is not None else min(QWEN_MAX_FRAMES, total_frames)
        high = _floor_to(cap, QWEN_FRAME_FACTOR)
        wanted = total_frames / video_fps * (fps if fps is not None else QWEN_FPS)
        count = _floor_to(min(min(max(wanted, low), high), total_frames), QWEN_FRAME_FACTOR)
    if not QWEN_FRAME_FACTOR <= count <= total_frames:
        raise ValueError(
            f"{count} frames asked of a window of {total_frames}; qwen-vl-utils needs between {QWEN_FRAME_FACTOR} "
            "and the window's frame count: ask for fewer frames or a longer window"
        )
    return count


def qwen_frame_indices(first: int, last: int, count: int) -> np.ndarray:
    """``count`` stream frame indices from ``first`` to ``last``, evenly spread and rounded as qwen-vl-utils does
    (``torch.linspace`` in float32, then ``round``), ``int64`` of shape ``(count,)``."""
    import torch

    return torch.linspace(first, last, count).round().long().numpy()
