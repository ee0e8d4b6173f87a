"""A small synthetic training set with real mp4 videos whose answers are known, for tests, benches and smoke runs.

Each video is a :mod:`vidllm.synthetic` scene rendered at ``render_fps`` and written as H.264; its questions are
vidllm records (targets in seconds) in a JSON-lines file, readable by :func:`vidllm.data.load_records`.

>>> records_file, video_root = write_toy_set(tmp_path / "toy", num_videos=4)    # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidllm.data.records import Record, write_records
from vidllm.synthetic import SceneSpec, render, sample_scene, scene_records


def write_toy_set(
    folder: str | Path,
    *,
    num_videos: int = 4,
    seed: int = 0,
    duration: float = 8.0,
    render_fps: float = 2.0,
    size: int = 32,
    tasks: tuple[str, ...] = ("mr",),
    text_only_every: int = 0,
) -> tuple[Path, Path]:
    """Render ``num_videos`` synthetic scenes and write their records.

    Args:
        folder: Output folder (``videos/`` and ``records.jsonl`` inside).
        num_videos: Videos to render.
        seed: Seed of the scenes.
        duration: Length of each video in seconds.
        render_fps: Frame rate of the written videos.
        size: Frame side in pixels.
        tasks: Synthetic tasks to ask (``mr``, ``vhd``, ``dvc``).
        text_only_every: When > 0, every n-th record (1-based) has no video (a text-only sample).

    Returns:
        ``(records_file, video_root)``.
    """
    from vidllm.video.extract import write_clip

    folder = Path(folder)
    videos = folder / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    spec = SceneSpec(duration=(duration, duration), num_events=(1, 2), event_length=(2.0, duration / 2))
    records: list[Record] = []
    for k in range(num_videos):
        scene = sample_scene(spec, rng)
        name = f"{k:04d}.mp4"
        path = videos / name
        if not path.is_file():
            timestamps = np.arange(0.0, scene.duration, 1.0 / render_fps)
            write_clip(path, render(scene, timestamps, size, size), render_fps)
        records.extend(scene_records(scene, name, tasks=tasks))
    if text_only_every > 0:
        records = [
            r.replace(video="", prompt=f"Without a video: {r.prompt}") if (i + 1) % text_only_every == 0 else r
            for i, r in enumerate(records)
        ]
    out = write_records(records, folder / "records.jsonl")
    return out, videos
