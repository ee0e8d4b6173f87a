"""A small example video for the demo and its tests, drawn by :mod:`vidllm.synthetic` (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidllm.synthetic.render import render
from vidllm.synthetic.scenes import SceneSpec, sample_scene
from vidllm.video.extract import write_clip


def write_example_video(path: str | Path, *, seed: int = 0, fps: float = 4.0, size: int = 64) -> Path:
    """Write a 16 s synthetic scene (shapes appearing, moving, changing) as an H.264 mp4 at ``path``.

    Args:
        path: Output ``.mp4`` (its folder is created).
        seed: Which random scene.
        fps: Frame rate of the clip.
        size: Frame side in pixels (even).

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = sample_scene(SceneSpec(), np.random.default_rng(seed))
    times = np.arange(int(scene.duration * fps), dtype=np.float64) / fps
    write_clip(path, render(scene, times, height=size, width=size), fps)
    return path
