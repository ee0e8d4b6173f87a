"""OMP_NUM_THREADS=1 python bench/eval_throughput.py [--batch 1 8 32] [--queries 64] [--frames 16] [--json OUT.json]

Evaluation throughput: questions per second of the evaluation runner (:func:`vidllm.eval.runner.evaluate`, the whole
path: prefetching decode, prompts, ``build_inputs``, left-padded ``collate``, ``generate``, parsing, writing lines,
scoring) at several batch sizes, on the tiny random Qwen2-VL of :mod:`vidllm.models.tiny` on the CPU. Baseline:
batch 1 in the same run. The goal is >= 3x batch 1 at batch 8.

Where the time goes is measured per stage by wrapping the adapter (``build_inputs``, ``collate``, ``generate``) and
the video loader (time the runner *waits* for a decoded video; decoding itself runs ahead in threads). ``other`` is
the rest (prompts, parsing, writing, scoring, tqdm).

The benchmark is Charades-STA (the first ``--queries`` test queries of ``tests/fixtures/benchmarks``, about four per
video) with stand-in videos (``vidllm.synthetic`` scenes, 32 s, 1 fps, written as mp4 once into ``--cache``); the
random model never emits its end token, so every answer is ``--max-new-tokens`` long at every batch size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHARADES = REPO / "tests" / "fixtures" / "benchmarks" / "charades_sta" / "test.caption_coco_format.json"
GOAL = 3.0


def write_benchmark(root: Path, queries: int, seconds: float = 32.0, frame: int = 16) -> tuple[Path, Path]:
    """The first ``queries`` Charades-STA queries and a stand-in video per video name (written once)."""
    import numpy as np

    from vidllm.synthetic import SceneSpec, render, sample_scene
    from vidllm.video.extract import write_clip

    annotations = json.loads(CHARADES.read_text())["annotations"][:queries]
    gt = root / "test.caption_coco_format.json"
    gt.write_text(json.dumps({"annotations": annotations}))
    videos = root / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(sorted({a["image_id"] for a in annotations})):
        if not (videos / name).is_file():
            scene = sample_scene(SceneSpec(duration=(seconds, seconds)), np.random.default_rng(k))
            write_clip(videos / name, render(scene, np.arange(0, seconds, 1.0), frame, frame), 1.0)
    return gt, videos


class TimedAdapter:
    """A loaded adapter whose ``build_inputs`` / ``collate`` / ``generate`` add their seconds to ``self.seconds``."""

    def __init__(self, adapter):
        self._adapter = adapter
        self.seconds: dict[str, float] = defaultdict(float)

    def __getattr__(self, name):
        attr = getattr(self._adapter, name)
        if name not in ("build_inputs", "collate", "generate"):
            return attr

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0

        return timed


def run(batch: int, gt: Path, videos: Path, model: Path, out: Path, args) -> dict:
    """One evaluation at ``batch``; returns questions/s and the seconds per stage."""
    from vidllm.config import load_config
    from vidllm.eval import runner
    from vidllm.eval.config import EvalConfig
    from vidllm.eval.video_loader import VideoLoader
    from vidllm.models import get_adapter
    from vidllm.models.config import ModelConfig

    cfg = load_config(EvalConfig, overrides=[
        "dataset=charades_sta", "tasks=[mr]", f"gt_path='{gt}'", f"video_root='{videos}'", f"model.path='{model}'",
        "model.device=cpu", f"output_dir='{out}'", "overwrite=true", "sampling.fps=1.0",
        f"sampling.max_frames={args.frames}", f"generation.max_new_tokens={args.max_new_tokens}",
        f"batch_size={batch}", f"num_workers={args.workers}", "plots=false",
    ])  # fmt: skip
    adapter = TimedAdapter(
        get_adapter("qwen2_vl")(ModelConfig(family="qwen2_vl", path=str(model), device="cpu")).load()
    )
    waited = [0.0]
    original_get = VideoLoader.get

    def timed_get(self, relative):
        t0 = time.perf_counter()
        try:
            return original_get(self, relative)
        finally:
            waited[0] += time.perf_counter() - t0

    VideoLoader.get = timed_get
    try:
        t0 = time.perf_counter()
        result = runner.evaluate(cfg, adapter=adapter)
        seconds = time.perf_counter() - t0
    finally:
        VideoLoader.get = original_get
    n = result.counts["samples"]
    stages = {"video wait": waited[0], **{k: adapter.seconds[k] for k in ("build_inputs", "collate", "generate")}}
    stages["other"] = seconds - sum(stages.values())
    return {"batch": batch, "questions": n, "seconds": seconds, "questions_per_s": n / seconds, "stages": stages,
            "ok": result.counts.get("ok", 0) + result.counts.get("unparseable", 0)}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--queries", type=int, default=64)
    parser.add_argument("--frames", type=int, default=16, help="sampling.max_frames (1 fps of 32-s videos)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="decoding threads of the runner")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vidllm_bench_eval")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")  # the runner's progress bar, not wanted between the table lines

    import torch
    from transformers.utils import logging as hf_logging

    from vidllm.models.tiny import write_tiny_checkpoint

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args.cache.mkdir(parents=True, exist_ok=True)
    gt, videos = write_benchmark(args.cache, args.queries)
    model = args.cache / "tiny_qwen2_vl"
    if not (model / "config.json").is_file():
        write_tiny_checkpoint("qwen2_vl", model)
    runs = [run(b, gt, videos, model, args.cache / f"out_b{b}", args) for b in args.batch]
    base = runs[0]["questions_per_s"]
    print(f"tiny Qwen2-VL, CPU, {args.queries} Charades-STA questions, {args.frames} frames, "
          f"{args.max_new_tokens} new tokens; baseline: batch {runs[0]['batch']}")  # fmt: skip
    names = list(runs[0]["stages"])
    print(f"{'batch':>5}{'q/s':>8}{'ratio':>7}  " + "".join(f"{n:>14}" for n in names) + "   (seconds per stage)")
    for r in runs:
        r["ratio"] = r["questions_per_s"] / base
        cells = "".join(f"{r['stages'][n]:>14.2f}" for n in names)
        print(f"{r['batch']:>5}{r['questions_per_s']:>8.2f}{r['ratio']:>7.2f}  {cells}")
    at8 = next((r["ratio"] for r in runs if r["batch"] == 8), None)
    if at8 is not None:
        print(f"batch 8 / batch 1 = {at8:.2f} (goal >= {GOAL:g}: {'reached' if at8 >= GOAL else 'NOT reached'})")
    results = {"config": {k: str(v) for k, v in vars(args).items()}, "runs": runs, "goal": GOAL}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
