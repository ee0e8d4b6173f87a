"""OMP_NUM_THREADS=1 python bench/loader.py [--seconds 30 150] [--samples 6] [--scale-json S.json] [--json OUT.json]

Loader vs. step: samples per second of the training data pipeline in one worker process -- decode
(``read_frames``), NumPro drawing, the processor (``adapter.build_inputs``: chat template, tokenizer, resizing,
patches) and collate (``VideoBatchCollator``, batch 2) -- at the Qwen2.5-VL-7B recipe's sampling (1 fps, at most 96
frames, 3,136..100,352 pixels per frame, 14-pixel patches, 2x2 merge, 2-frame groups), on generated 854x480, 30 fps
H.264 videos of 30 s and 150 s (``bench/decode.py``'s generator, cached in ``--cache``).

The processor is Qwen2.5-VL's own (``Qwen2_5_VLProcessor`` with Qwen2-VL's video processor at the recipe's sizes)
around the tiny test tokenizer (no download; the text is a few dozen tokens beside thousands of visual ones); the
model is not run. The dataset is the recipe's (``VideoInstructionDataset``) in the main process, which is what each
data-loader worker runs; times are its CPU seconds (``time.process_time``, one decoder thread as in a worker), which
other jobs on a shared machine inflate far less than wall time. Baseline of the ratios: the same video without NumPro.

Workers per GPU = ceil(GPU step time per sample / loader time per sample). No GPU step time is measured here, so the
table gives the workers for a range of step times, and, with ``--scale-json``, for the step time that
``bench/scale.py`` extrapolated on the CPU (stated as such: a CPU figure, it needs 0 or 1 worker).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode import make_video  # noqa: E402

MIN_PIXELS, MAX_PIXELS = 3136, 100352
STEP_SECONDS = (0.25, 0.5, 1.0, 2.0, 4.0)


def recipe_checkpoint(folder: Path) -> Path:
    """A tiny Qwen2.5-VL checkpoint whose processor has the real model's patch sizes and the recipe's pixel budget."""
    from transformers import Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from vidllm.models.tiny import CHAT_TEMPLATE, build_tokenizer, write_tiny_checkpoint

    if (folder / "config.json").is_file():
        return folder
    write_tiny_checkpoint("qwen2_5_vl", folder)
    sizes = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2}
    bounds = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(size=bounds, **sizes),
                                    video_processor=Qwen2VLVideoProcessor(size=bounds, **sizes),
                                    tokenizer=build_tokenizer(), chat_template=CHAT_TEMPLATE)  # fmt: skip
    processor.save_pretrained(folder)
    return folder


def records_for(video: Path, duration: float, n: int) -> list:
    """``n`` moment-retrieval records on ``video``."""
    from vidllm.data import Record, Targets

    return [Record(video=video.name, task="mr", prompt="When does the square cross the frame?",
                   targets=Targets(intervals=((duration * k / (n + 1), duration * (k + 1) / (n + 1)),)),
                   duration=duration, query="the square crosses the frame") for k in range(n)]  # fmt: skip


def measure(folder: Path, video: Path, duration: float, n: int, numpro: bool) -> dict:
    """Per-sample seconds of each stage over ``n`` samples (one process)."""
    from vidllm.data.batches import FrameSampling, VideoBatchCollator, VideoInstructionDataset
    from vidllm.models import ModelConfig, TimeConfig, get_adapter

    cfg = ModelConfig(family="qwen2_5_vl", path=str(folder), device="cpu", frame_min_pixels=MIN_PIXELS,
                      frame_max_pixels=MAX_PIXELS, time=TimeConfig(scheme="text", numpro=numpro))  # fmt: skip
    adapter = get_adapter("qwen2_5_vl")(cfg).load()
    sampling = FrameSampling(fps=1.0, max_frames=96, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, size_multiple=28,
                             backend="auto", threads=1)  # fmt: skip
    ds = VideoInstructionDataset(records_for(video, duration, n), adapter, sampling=sampling,
                                 video_root=video.parent, max_length=8192)  # fmt: skip
    collate = VideoBatchCollator(adapter)
    ds.encode(ds.records[0], ds.read_clip(ds.records[0]))  # warm-up
    decode = encode = 0.0
    samples = []
    for record in ds.records:
        t0 = time.process_time()
        clip = ds.read_clip(record)
        t1 = time.process_time()
        samples.append(ds.encode(record, clip))
        t2 = time.process_time()
        decode, encode = decode + t1 - t0, encode + t2 - t1
    t0 = time.process_time()
    for i in range(0, len(samples) - 1, 2):
        collate(samples[i : i + 2])
    collate_s = (time.process_time() - t0) / max(len(samples) // 2 * 2, 1)
    per_sample = {"decode": decode / n, "numpro + processor": encode / n, "collate": collate_s}
    total = sum(per_sample.values())
    tokens = samples[0]["input_ids"].shape[-1]
    return {"seconds": duration, "numpro": numpro, "frames": len(clip.frames), "tokens": tokens,
            "per_sample_s": per_sample, "samples_per_s": 1 / total}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, nargs="+", default=[30, 150])
    parser.add_argument("--samples", type=int, default=6, help="samples timed per setting")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vidllm_bench_videos")
    parser.add_argument("--scale-json", type=Path, default=None, help="bench/scale.py's JSON (CPU step times)")
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=854)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    folder = recipe_checkpoint(args.cache / "tiny_qwen2_5_vl_recipe_processor")
    runs = []
    for seconds in args.seconds:
        suffix = "" if (args.height, args.width) == (480, 854) else f"_{args.height}"
        video = args.cache / f"480p30_{seconds}s{suffix}.mp4"
        if not video.is_file():
            make_video(video, seconds, height=args.height, width=args.width)
        for numpro in (False, True):
            runs.append(measure(folder, video, float(seconds), args.samples, numpro))

    print("training data pipeline, one worker process (CPU, 1 thread), Qwen2.5-VL-7B recipe sampling; "
          "baseline: the same video without NumPro")  # fmt: skip
    names = list(runs[0]["per_sample_s"])
    print(f"{'video':>6}{'NumPro':>8}{'frames':>7}{'tokens':>7}" + "".join(f"{n:>20}" for n in names)
          + f"{'samples/s':>11}{'ratio':>7}")  # fmt: skip
    for r in runs:
        base = next(x for x in runs if x["seconds"] == r["seconds"] and not x["numpro"])
        r["ratio"] = r["samples_per_s"] / base["samples_per_s"]
        cells = "".join(f"{r['per_sample_s'][n]:>19.3f}s" for n in names)
        print(f"{r['seconds']:>5}s{'on' if r['numpro'] else 'off':>8}{r['frames']:>7}{r['tokens']:>7}{cells}"
              f"{r['samples_per_s']:>11.2f}{r['ratio']:>7.2f}")  # fmt: skip

    steps = {f"{s:g} s (given)": s for s in STEP_SECONDS}
    if args.scale_json and args.scale_json.is_file():
        scale = json.loads(args.scale_json.read_text())["models"].get("qwen2.5-vl-7b")
        if scale:
            cell = next(c for c in scale["cells"] if c["frames"] == 96 and c["compression"] == "none"
                        and c["attention"] == "sdpa" and c["checkpointing"])  # fmt: skip
            steps["bench/scale.py, CPU-extrapolated"] = cell["cpu_seconds_extrapolated"]
    print("\nworkers per GPU to keep up = ceil(loader s/sample / step s/sample); GPU step time: not measured yet")
    heads = [f"{r['seconds']:g}s NumPro {'on' if r['numpro'] else 'off'}" for r in runs]
    print(f"{'step time per sample':<36}" + "".join(f"{h:>18}" for h in heads))
    table = {}
    for label, step in steps.items():
        need = [math.ceil((1 / r["samples_per_s"]) / step) for r in runs]
        table[label] = need
        print(f"{label:<36}" + "".join(f"{n:>18}" for n in need))
    notes = "pinned memory: on for CUDA in the recipe; prefetch: torch's 2 batches per worker"
    results = {"runs": runs, "workers_needed": table, "step_seconds": steps, "notes": notes}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
