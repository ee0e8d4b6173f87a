"""The synthetic benchmark on disk (real mp4 files, VTG-IT instructions, ground truth for ``vidllm score``) and
as an endless stream of fresh samples for training.

Written files, under ``out_dir``::

    videos/<split>_0000.mp4 ...                    rendered at ``video_fps``; frame k is shown from k / video_fps
    synthetic_<split>.vtg_it.json                  the questions, VTG-IT schema (answers in the chosen scheme)
    <split>.tvg.caption_coco_format.json           moment retrieval GT   (vidllm score tvg / eval/mr.py)
    <split>.highlight.jsonl                        highlight GT          (vidllm score hd / eval/hd.py)
    <split>.dvc.caption_coco_format.json           dense captioning GT   (vidllm score dvc / eval/dvc.py)
    <split>.tad.json                               action detection GT   (vidllm score tad), ActivityNet form
    <split>.records.jsonl                          vidllm's own lossless records (targets in seconds)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from vidllm.data.convert.common import Converted, write_converted
from vidllm.data.records import Record, write_records
from vidllm.synthetic.render import render
from vidllm.synthetic.scenes import Scene, SceneSpec, clips_of, sample_scene
from vidllm.synthetic.tasks import TASK_KINDS, scene_records


@dataclass(frozen=True)
class SyntheticSample:
    """One streamed training sample: a question, and the video frames it is about (already sampled)."""

    record: Record
    frames: np.ndarray  # uint8 (T, H, W, 3)
    timestamps: np.ndarray  # float64 (T,) seconds


def sample_times(duration: float, fps: float) -> np.ndarray:
    """Sampling times ``0, 1/fps, ...`` below ``duration``: ``(T,)`` float64 seconds."""
    return np.arange(int(np.ceil(duration * fps - 1e-9)), dtype=np.float64) / fps


def stream(
    spec: SceneSpec,
    *,
    seed: int,
    fps: float = 1.0,
    size: tuple[int, int] = (32, 32),
    tasks: tuple[str, ...] = ("mr",),
) -> Iterator[SyntheticSample]:
    """Fresh samples forever: each scene is new, each of its questions a sample (no training set on disk).

    Args:
        spec: How scenes are drawn.
        seed: Seeds the whole stream: the same seed gives the same samples.
        fps: Sampling rate of the frames the model sees.
        size: ``(height, width)`` of the frames.
        tasks: Which questions to ask (:data:`vidllm.synthetic.tasks.TASK_KINDS`).
    """
    rng = np.random.default_rng(seed)
    k = 0
    while True:
        scene = sample_scene(spec, rng)
        times = sample_times(scene.duration, fps)
        frames = render(scene, times, *size)
        for record in scene_records(scene, f"stream/{k:08d}.mp4", tasks=tasks):
            yield SyntheticSample(record, frames, times)
        k += 1


def _ground_truth(scenes: list[tuple[str, Scene]], records: list[Record], split: str = "test") -> dict[str, object]:
    """Ground truth in the scorers' formats; also stamps each record's ``meta["qid"]`` (its id in the GT)."""
    from vidllm.data.convert.tad import ground_truth as tad_ground_truth
    from vidllm.synthetic.tasks import ACTIONS

    tvg, hd, dvc, tad = [], [], [], []
    for i, r in enumerate(records):
        vid = Path(r.video).name
        if r.task == "mr":
            r.meta["qid"] = len(tvg)
            s, e = r.targets.intervals[0]
            tvg.append({"image_id": vid, "caption": r.query, "timestamp": [s, e], "id": len(tvg)})
        elif r.task == "vhd":
            r.meta["qid"] = len(hd)
            clip = r.targets.clip_length
            ids = [int(round(t / clip)) for t, _ in r.targets.saliency]
            levels = [int(v) for _, v in r.targets.saliency]
            first, last = ids[0] * clip, (ids[-1] + 1) * clip
            hd.append({"qid": len(hd), "query": r.query, "duration": r.duration, "vid": Path(vid).stem,
                       "relevant_clip_ids": ids, "saliency_scores": [[v, v, v] for v in levels],
                       "relevant_windows": [[first, min(last, r.duration)]]})  # fmt: skip
        elif r.task == "dvc":
            r.meta["qid"] = len(dvc)
            caps = r.targets.captions
            segments = [[s, e] for s, e, _ in caps]
            pure_cap = ". ".join(c for _, _, c in caps)
            dvc.append({"image_id": vid, "id": len(dvc), "duration": r.duration, "segments": segments,
                        "pure_cap": pure_cap})  # fmt: skip
        elif r.task == "tad":
            tad.append(r)
        else:
            raise ValueError(f"record {i}: no ground-truth form for task {r.task!r}")
    gt: dict[str, object] = {"tvg": {"annotations": tvg}, "hd": hd, "dvc": {"annotations": dvc}}
    if tad:  # every video is in the database, also those without an instance of a class
        videos = {Path(name).stem: scene.duration for name, scene in scenes}
        gt["tad"] = tad_ground_truth(tad, videos, split, list(ACTIONS.values()))
    return {k: v for k, v in gt.items() if (v.get("annotations", True) if isinstance(v, dict) else v)}


def write_benchmark(
    out_dir: str | Path,
    *,
    num_videos: int,
    spec: SceneSpec,
    seed: int,
    split: str = "test",
    video_fps: float = 4.0,
    size: tuple[int, int] = (32, 32),
    tasks: tuple[str, ...] = TASK_KINDS,
    scheme: str = "text",
) -> dict[str, Path]:
    """Render ``num_videos`` scenes to mp4 and write their questions and ground truth (see the module docstring).

    Args:
        out_dir: Output folder (created).
        num_videos: How many videos.
        spec: How scenes are drawn.
        seed: Seeds everything; a fixed held-out set is ``write_benchmark(..., seed=...)`` with a seed training
            never uses.
        split: Name used in the file names (the DVC scorer reads the split from ``val.``/``test.``).
        video_fps: Frame rate of the written videos; a multiple of the model's sampling fps keeps frames exact.
        size: ``(height, width)``, even numbers (H.264).
        tasks: Which questions to write.
        scheme: The time scheme of the answers in the VTG-IT file.

    Returns:
        ``{"instructions" | "tvg" | "hd" | "dvc" | "records" | "videos": path}``.
    """
    from vidllm.video.extract import write_clip

    out = Path(out_dir)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    scenes, records = [], []
    for k in tqdm(range(num_videos), desc=f"synthetic {split} videos", unit="video"):
        scene = sample_scene(spec, rng)
        name = f"videos/{split}_{k:04d}.mp4"
        path = out / name
        if not path.exists():  # rerunning with the same seed keeps finished videos
            write_clip(path, render(scene, sample_times(scene.duration, video_fps), *size), video_fps)
        scenes.append((name, scene))
        records.extend(scene_records(scene, name, tasks=tasks))
    converted = Converted("synthetic", split, records, _ground_truth(scenes, records, split))
    paths = write_converted(converted, out, scheme)
    paths["records"] = write_records(records, out / f"{split}.records.jsonl")
    paths["videos"] = out / "videos"
    return paths


__all__ = ["SyntheticSample", "clips_of", "sample_times", "stream", "write_benchmark"]
