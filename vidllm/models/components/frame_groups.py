"""Frames -> temporal groups: Qwen-VL vision encoders merge ``temporal_patch_size`` consecutive frames into one group.

A group is what the LLM sees as "a frame": its visual tokens, its temporal position and its time all belong to the
group. Its time is the mean of its first and last frame's timestamps (what Qwen3-VL writes); a video whose frame
count is not a multiple of the patch size repeats its last frame, as the video processors do.
"""

from __future__ import annotations

import math

import numpy as np


def check_timestamps(timestamps: np.ndarray, num_frames: int) -> np.ndarray:
    """Validate frame timestamps: ``num_frames`` finite, non-negative, non-decreasing seconds.

    Returns:
        ``np.ndarray`` float64 of shape ``(num_frames,)``.

    Raises:
        ValueError: With what was expected and what came.
    """
    ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if ts.shape[0] != num_frames:
        raise ValueError(
            f"{ts.shape[0]} timestamps for {num_frames} frames; pass one timestamp (seconds) per frame as "
            "vidllm.video returns them"
        )
    if num_frames == 0:
        raise ValueError("a video needs at least one frame, got 0")
    if not np.all(np.isfinite(ts)) or np.any(ts < 0):
        raise ValueError(f"timestamps must be finite seconds >= 0, got {ts[:8].tolist()}...")
    if np.any(np.diff(ts) < 0):
        raise ValueError("timestamps must be non-decreasing (frames in time order)")
    return ts


def group_times(timestamps: np.ndarray, temporal_patch_size: int) -> np.ndarray:
    """The time of each temporal group: mean of its first and last frame.

    Args:
        timestamps: ``(T,)`` frame times in seconds.
        temporal_patch_size: Frames per group (2 for Qwen2/2.5/3-VL).

    Returns:
        ``np.ndarray`` float64 of shape ``(ceil(T / temporal_patch_size),)``.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    pad = -len(ts) % temporal_patch_size
    if pad:
        ts = np.concatenate([ts, np.repeat(ts[-1:], pad)])
    groups = ts.reshape(-1, temporal_patch_size)
    return (groups[:, 0] + groups[:, -1]) / 2


def frame_interval(timestamps: np.ndarray) -> float:
    """Seconds between consecutive sampled frames (the median gap; 1.0 for a single frame)."""
    ts = np.asarray(timestamps, dtype=np.float64)
    if len(ts) < 2:
        return 1.0
    gap = float(np.median(np.diff(ts)))
    return gap if gap > 0 and math.isfinite(gap) else 1.0


def sampling_fps(timestamps: np.ndarray) -> float:
    """Frames per second of the sampling (``1 / frame_interval``)."""
    return 1.0 / frame_interval(timestamps)
