"""Drawing a :class:`~vidllm.synthetic.scenes.Scene` at given times: pure numpy, no I/O."""

from __future__ import annotations

import numpy as np

from vidllm.synthetic.scenes import COLORS, Event, Scene, is_visible, level_at, position_at

BACKGROUND = 24


def _mask(shape: str, cx: float, cy: float, radius: float, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    dx, dy = xx - cx, yy - cy
    if shape == "circle":
        return dx**2 + dy**2 <= radius**2
    if shape == "square":
        return (np.abs(dx) <= radius * 0.9) & (np.abs(dy) <= radius * 0.9)
    if shape == "triangle":  # apex up: inside when below the two slanted edges and above the base
        return (dy <= radius * 0.9) & (dy >= -radius) & (np.abs(dx) <= (dy + radius) * 0.6)
    raise ValueError(f"unknown shape {shape!r}")


def _brightness(event: Event, t: float, clip_length: float) -> float:
    if event.kind != "pulse":
        return 1.0
    return 0.3 + 0.175 * level_at(event, t, clip_length)  # levels 1..4 -> 0.475 .. 1.0


def render(scene: Scene, timestamps: np.ndarray, height: int = 32, width: int = 32) -> np.ndarray:
    """The frames of ``scene`` at ``timestamps``.

    Args:
        scene: What to draw.
        timestamps: `(T,)` float seconds.
        height: Frame height in pixels.
        width: Frame width in pixels.

    Returns:
        `(T, height, width, 3)` uint8 frames on a dark background.
    """
    timestamps = np.asarray(timestamps, dtype=np.float64)
    frames = np.full((len(timestamps), height, width, 3), BACKGROUND, dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    radius = 0.4 * min(height / max(len(scene.events), 1), width / 3) / 1.0
    for k, t in enumerate(timestamps):
        for event in scene.events:
            if not is_visible(event, t):
                continue
            cx = position_at(event, t, scene.duration) * width
            mask = _mask(event.shape, cx, event.y * height, radius, yy, xx)
            color = np.array(COLORS[event.color], dtype=np.float32) * _brightness(event, t, scene.clip_length)
            frames[k][mask] = color.astype(np.uint8)
    return frames
