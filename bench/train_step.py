"""OMP_NUM_THREADS=1 .venv/bin/python bench/train_step.py [--frames 16 32 64] [--steps 8] [--procs 1 2] [--json F]

(More options: ``--warmup 3 --family qwen2_5_vl --model PATH --frame-size 32``.)

Training-step speed and peak memory of the recipe: frames x compression x gradient checkpointing x processes.

Each setting runs the real recipe (``vidllm.train.recipe``: HF Trainer, LoRA with time tokens and the time embedding)
in fresh processes -- one, or two under ``torchrun`` (DDP) -- on samples built once and cached, so the numbers are the
optimizer steps and not video decoding. Reported: samples per second over the timed steps (all processes together)
and peak memory: on a GPU the peak allocated CUDA memory of rank 0 during the timed steps, on the CPU the peak
resident set size of rank 0 (mostly the Python/torch runtime at the tiny model's size). Ratios compare each setting
with the same frames without compression / without gradient checkpointing / on one process.

Without ``--model`` a tiny random checkpoint of ``--family`` is built with ``--frame-size`` frames (32: 16 LLM tokens
per 2-frame group); with ``--model`` (a real checkpoint) the same script runs unchanged on GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY_YAML = REPO / "train_configs" / "tiny_cpu.yaml"
SLOTS = 16


def worker(args: argparse.Namespace) -> None:
    """One setting in this process (rank 0 prints a ``BENCH {json}`` line)."""
    import torch
    from transformers import TrainerCallback

    from vidllm.train import recipe
    from vidllm.train.config import load_train_config

    overrides = [
        f"model.family={args.family}", f"model.path={args.model}", f"data.files=[{args.records}]",
        f"data.video_root={args.videos}", f"checkpoint.output_dir={args.out}", f"data.num_frames={args.frames}",
        "data.fps=null", f"data.max_frames={args.frames}", "data.max_length=100000", "data.min_pixels=null",
        "data.max_pixels=null", f"optim.max_steps={args.warmup + args.steps}", "checkpoint.save_steps=100000",
        f"optim.gradient_checkpointing={str(args.gc).lower()}", "optim.batch_size=1", "logging.steps=100000",
        "model.dtype=auto", "optim.bf16=null",
    ]  # fmt: skip
    if args.compression:
        overrides += ["model.compression.enabled=true", f"model.compression.num_slots={SLOTS}"]
    cfg = load_train_config(TINY_YAML, overrides)
    job = recipe.setup(cfg)
    samples = [job.dataset[i] for i in range(len(job.dataset))]  # decode once
    job.trainer.train_dataset = samples
    cuda = torch.cuda.is_available()

    class Timer(TrainerCallback):
        def __init__(self):
            self.start = None

        def on_step_begin(self, a, state, control, **kw):
            if state.global_step == args.warmup and self.start is None:
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                self.start = time.perf_counter()

    timer = Timer()
    job.trainer.add_callback(timer)
    recipe.train(job)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - timer.start
    world = job.args.world_size
    if job.args.process_index == 0:
        tokens = int(samples[0]["input_ids"].shape[-1])
        peak = (
            torch.cuda.max_memory_allocated() / 2**20
            if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        result = {"frames": args.frames, "compression": args.compression, "gc": args.gc, "procs": world,
                  "samples_per_s": args.steps * world / seconds, "peak_mb": peak, "tokens": tokens,
                  "memory": "cuda allocated" if cuda else "cpu rss"}  # fmt: skip
        print("BENCH " + json.dumps(result), flush=True)
    recipe.cleanup(job)


def run_setting(args, frames: int, compression: bool, gc: bool, procs: int, paths: dict) -> dict:
    """Run one setting in fresh processes and return its result."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "TOKENIZERS_PARALLELISM": "false"}
    launcher = [sys.executable] if procs == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                    f"--nproc_per_node={procs}"]  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        cmd = [*launcher, str(Path(__file__).resolve()), "--worker", "--frames", str(frames), "--steps",
               str(args.steps), "--warmup", str(args.warmup), "--family", args.family, "--model", paths["model"],
               "--records", paths["records"], "--videos", paths["videos"], "--out", out]  # fmt: skip
        if compression:
            cmd.append("--compression")
        if gc:
            cmd.append("--gc")
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"setting {frames=} {compression=} {gc=} {procs=} failed:\n{done.stderr[-4000:]}")
    return json.loads(lines[0][len("BENCH ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--steps", type=int, default=8, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--family", default="qwen2_5_vl")
    parser.add_argument("--model", help="checkpoint folder (default: a tiny random one)")
    parser.add_argument("--frame-size", type=int, default=32, help="frame side of the tiny checkpoint")
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--compression", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gc", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--records", "--videos", "--out"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.frames = args.frames[0]
        worker(args)
        return

    from vidllm.models.tiny import write_tiny_checkpoint
    from vidllm.train.toy import write_toy_set

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model = args.model or str(write_tiny_checkpoint(args.family, scratch / "tiny", frame=args.frame_size))
        records, videos = write_toy_set(scratch / "toy", num_videos=2, duration=32.0, size=args.frame_size)
        paths = {"model": model, "records": str(records), "videos": str(videos)}
        results = []
        for frames in args.frames:
            for compression in (False, True):
                for gc in (False, True):
                    for procs in args.procs:
                        r = run_setting(args, frames, compression, gc, procs, paths)
                        results.append(r)
                        print(
                            f"frames {frames:3d}  slots {'K=' + str(SLOTS) if compression else '-':5s}  "
                            f"gc {'on ' if gc else 'off'}  procs {procs}  tokens {r['tokens']:5d}  "
                            f"{r['samples_per_s']:7.2f} samples/s  peak {r['peak_mb']:8.1f} MB ({r['memory']})",
                            flush=True,
                        )
    print_ratios(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def print_ratios(results: list[dict]) -> None:
    """Speed and memory of each setting relative to its baseline (no compression, no gc, one process)."""
    by = {(r["frames"], r["compression"], r["gc"], r["procs"]): r for r in results}
    print("\nratios (speed x, peak memory x)")
    for (frames, comp, gc, procs), r in sorted(by.items()):
        parts = []
        for name, base in (("vs no slots", (frames, False, gc, procs)), ("vs no gc", (frames, comp, False, procs)),
                           ("vs 1 proc", (frames, comp, gc, 1))):  # fmt: skip
            b = by.get(base)
            if b is not None and b is not r:
                speed = r["samples_per_s"] / b["samples_per_s"]
                parts.append(f"{name}: {speed:.2f}x speed, {r['peak_mb'] / b['peak_mb']:.2f}x memory")
        if parts:
            label = f"frames {frames:3d} slots {'on ' if comp else 'off'} gc {'on ' if gc else 'off'} procs {procs}"
            print(f"  {label}  " + "; ".join(parts))


if __name__ == "__main__":
    main()
