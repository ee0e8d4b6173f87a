"""Builders of the evaluation-runner tests: small benchmark cuts with stand-in videos, configs, a scripted adapter.

Ground truth comes from the real files in tests/fixtures/benchmarks (a handful of entries each); videos are
rendered stand-ins (vidllm.synthetic) written as mp4 under the GT's video names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tiny_models import tiny_model_config

from vidllm.config import load_config
from vidllm.eval.config import EvalConfig
from vidllm.models import get_adapter
from vidllm.synthetic import SceneSpec, render, sample_scene
from vidllm.video.extract import write_clip

FAMILY = "qwen2_vl"
FRAME = 16
NUM_FRAMES = 8


def write_videos(root: Path, durations: dict[str, float], *, fps: float = 1.0) -> None:
    """Stand-in mp4 videos: a synthetic scene per name, rendered at ``fps`` for ``duration`` seconds."""
    root.mkdir(parents=True, exist_ok=True)
    for k, (name, duration) in enumerate(sorted(durations.items())):
        spec = SceneSpec(duration=(duration, duration), event_length=(2.0, min(8.0, duration)))
        scene = sample_scene(spec, np.random.default_rng(k))
        write_clip(root / name, render(scene, np.arange(0, duration, 1.0 / fps), FRAME, FRAME), fps)


@dataclass
class Fixture:
    """A benchmark cut: its GT file, its video root, the video names and its dataset name."""

    dataset: str
    gt_path: Path
    video_root: Path
    videos: list[str]


def charades_fixture(shared_data: Path, root: Path, n: int = 6) -> Fixture:
    """The first ``n`` Charades-STA test queries (TimeChat's GT file) with stand-in videos of 32 s."""
    root.mkdir(parents=True, exist_ok=True)
    annotations = json.loads((shared_data / "charades_sta/test.caption_coco_format.json").read_text())["annotations"]
    gt = root / "test.caption_coco_format.json"
    gt.write_text(json.dumps({"annotations": annotations[:n]}))
    videos = sorted({a["image_id"] for a in annotations[:n]})
    write_videos(root / "videos", dict.fromkeys(videos, 32.0))
    return Fixture("charades_sta", gt, root / "videos", videos)


def qvhighlights_fixture(shared_data: Path, root: Path, n: int = 3) -> Fixture:
    """The first ``n`` QVHighlights val queries with stand-in videos as long as the GT says (150 s), at 0.5 fps."""
    root.mkdir(parents=True, exist_ok=True)
    lines = (shared_data / "qvhighlights/highlight_val_release.jsonl").read_text().splitlines()[:n]
    gt = root / "highlight_val.jsonl"
    gt.write_text("\n".join(lines) + "\n")
    records = [json.loads(line) for line in lines]
    durations = {f"{r['vid']}.mp4": float(r["duration"]) for r in records}
    write_videos(root / "videos", durations, fps=0.5)
    return Fixture("qvhighlights", gt, root / "videos", sorted(durations))


def youcook2_fixture(shared_data: Path, root: Path, n: int = 2) -> Fixture:
    """The first ``n`` YouCook2 val videos (TimeChat's GT file; the name keeps its ``val.`` prefix)."""
    root.mkdir(parents=True, exist_ok=True)
    annotations = json.loads((shared_data / "youcook2/val.caption_coco_format.json").read_text())["annotations"][:n]
    gt = root / "val.caption_coco_format.json"
    gt.write_text(json.dumps({"annotations": annotations}))
    durations = {a["image_id"]: float(a["duration"]) for a in annotations}
    write_videos(root / "videos", durations, fps=0.25)
    return Fixture("youcook2", gt, root / "videos", sorted(durations))


def tvsum_fixture(root: Path, n: int = 3, annotators: int = 20) -> Fixture:
    """``n`` TVSum-style videos (``vidllm convert tvsum`` form: every 2-s clip relevant, one column per annotator)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines, durations = [], {}
    for k in range(n):
        duration = 30.0 + 4 * k
        clips = int(duration / 2)
        vid = f"tvsum_{k:02d}"
        scores = rng.integers(1, 6, size=(clips, annotators)).astype(float).tolist()
        lines.append({"qid": k, "query": f"video number {k}", "duration": duration, "vid": vid,
                      "relevant_clip_ids": list(range(clips)), "saliency_scores": scores,
                      "relevant_windows": [[0, duration]], "category": "VT" if k < 2 else "VU"})  # fmt: skip
        durations[f"{vid}.mp4"] = duration
    gt = root / "test.highlight.jsonl"
    gt.write_text("".join(json.dumps(line) + "\n" for line in lines))
    write_videos(root / "videos", durations)
    return Fixture("tvsum", gt, root / "videos", sorted(durations))


def make_config(fixture: Fixture, out: Path, model: Path, *, tasks: list[str], **extra: object) -> EvalConfig:
    """An :class:`EvalConfig` for ``fixture`` on the CPU with small sampling and short answers."""
    overrides = [
        f"dataset={fixture.dataset}",
        f"tasks=[{','.join(tasks)}]",
        f"gt_path='{fixture.gt_path}'",
        f"video_root='{fixture.video_root}'",
        f"model.path='{model}'",
        "model.device=cpu",
        f"output_dir='{out}'",
        "sampling.fps=1.0",
        f"sampling.max_frames={NUM_FRAMES}",
        "generation.max_new_tokens=40",
        "num_workers=1",
        *[f"{k}={v}" for k, v in extra.items()],
    ]
    return load_config(EvalConfig, overrides=overrides)


def same_metrics(a: dict, b: dict) -> bool:
    """Equal metric dicts, NaN equal to NaN (an empty length bucket's mAP is NaN, as officially)."""
    return a.keys() == b.keys() and all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a)


def read_samples(out: Path) -> list[dict]:
    """The merged sample lines of a run."""
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


class ScriptedAdapter:
    """A real tiny adapter whose answers are replaced by scripted ones.

    Inputs are built, collated and generated by the real adapter (so the runner's whole path runs); the text
    returned for each row is ``answer(prompt)``, where ``prompt`` is the user text of that row's messages.

    Args:
        folder: The tiny checkpoint.
        answer: Prompt text -> answer text.
    """

    def __init__(self, folder: Path, answer):
        self.real = get_adapter(FAMILY)(tiny_model_config(folder, FAMILY)).load()
        self.config, self.processor = self.real.config, self.real.processor
        self.answer = answer
        self._prompts: dict[tuple[int, ...], str] = {}
        self.generate_calls: list[int] = []

    def build_inputs(self, messages, videos, **kwargs):
        inputs = self.real.build_inputs(messages, videos, **kwargs)
        text = " ".join(p["text"] for m in messages for p in m["content"] if p.get("type") == "text")
        self._prompts[tuple(inputs["input_ids"][0].tolist())] = text
        return inputs

    def collate(self, samples, **kwargs):
        return self.real.collate(samples, **kwargs)

    def generate(self, batch, **kwargs):
        real = self.real.generate(batch, **{**kwargs, "max_new_tokens": 2})
        self.generate_calls.append(len(real))
        out = []
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"]):
            prompt = self._prompts[tuple(ids[mask.bool()].tolist())]
            out.append(self.answer(prompt))
        return out
