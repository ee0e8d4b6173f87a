"""OMP_NUM_THREADS=1 python bench/padding.py [--batch 2 4 8] [--world 1 8] [--seeds 5] [--json OUT.json]

Padding waste: the fraction of the positions of right-padded training batches that are padding, on the lengths of
real instruction data, with a random order (Trainer's default; the baseline) and with the length-grouped order of
:mod:`vidllm.data.sampler` (``data.group_by_length``). Pure arithmetic, seconds on any machine.

Lengths are those of the Qwen2.5-VL-7B recipe (``train_configs/qwen2_5_vl_7b_full_vtg_it.yaml``: 1 fps, at most 96
frames, 128 x 28 x 28 pixels -> 128 tokens per 2-frame group, ``max_length`` 8192, answers in plain seconds),
estimated by :func:`~vidllm.data.sampler.estimate_length` (text: one token per digit, 4 characters per token
otherwise). The records are built from the benchmark files in ``tests/fixtures/benchmarks``:

* Charades-STA test (3,720 queries, moment retrieval). The file has no durations: a video's duration is taken as the
  latest annotated end among its queries (a lower bound; Charades videos average ~30 s).
* QVHighlights val (1,550 queries, highlight detection with per-clip saliency; 150-s videos).
* YouCook2 val (200 videos, dense captioning; durations from the file).
* The 100 VTG-IT-style records (40 MR, 30 DVC, 30 highlight), durations looked up in the files above.
* ``mix``: all of them together, the way a VTG-IT-style run mixes tasks.

``--world`` sets the processes: the grouped order groups ``batch x world`` samples (one micro-step on all ranks);
the waste is per device batch either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "benchmarks"
GOAL = 0.10


def benchmark_records(names: list[str] | None = None) -> dict[str, list]:
    """Records per source (all, or ``names`` and what they need), built from the fixture files (see the module
    docstring)."""
    from vidllm.data import Record, Targets, eval_prompt
    from vidllm.data.load import read_records
    from vidllm.eval.benchmarks import get_benchmark, load_ground_truth

    def gt(name: str, path: str):
        return load_ground_truth(get_benchmark(name), FIXTURES / path).entries

    out: dict[str, list] = {}
    charades = gt("charades_sta", "charades_sta/test.caption_coco_format.json")
    ends: dict[str, float] = defaultdict(float)
    for e in charades:
        ends[e.vid] = max(ends[e.vid], float(e.record["timestamp"][1]))

    def prompt(task: str, e, dataset: str) -> str:
        return eval_prompt("timechat", task, query=e.query, dataset=dataset)

    wanted = set(names or ["mix"])
    wanted |= {"charades_sta", "qvhighlights", "youcook2", "vtg_it_style"} if "mix" in wanted else set()
    out["charades_sta"] = [] if "charades_sta" not in wanted else [
        Record(video=f"{e.vid}.mp4", task="mr", prompt=prompt("mr", e, "Charades-STA"),
               targets=Targets(intervals=(tuple(map(float, e.record["timestamp"])),)), duration=ends[e.vid],
               query=e.query)
        for e in charades
    ]  # fmt: skip
    qvh = gt("qvhighlights", "qvhighlights/highlight_val_release.jsonl")
    out["qvhighlights"] = [] if "qvhighlights" not in wanted else [
        Record(video=f"{e.vid}.mp4", task="vhd", prompt=prompt("vhd", e, "QVHighlights"),
               targets=Targets(saliency=tuple((2.0 * c, float(np.mean(s))) for c, s in
                                              zip(e.record["relevant_clip_ids"], e.record["saliency_scores"]))),
               duration=e.duration, query=e.query)
        for e in qvh
    ]  # fmt: skip
    yc2 = gt("youcook2", "youcook2/val.caption_coco_format.json")
    out["youcook2"] = [] if "youcook2" not in wanted else [
        Record(video=f"{e.vid}.mp4", task="dvc", prompt=prompt("dvc", e, "YouCook2"),
               targets=Targets(captions=tuple((float(s), float(t), c) for (s, t), c in
                                              zip(e.record["segments"], e.record["captions"]))),
               duration=e.duration)
        for e in yc2
    ]  # fmt: skip
    durations = {**ends, **{e.vid: e.duration for e in qvh}, **{e.vid: e.duration for e in yc2}}
    loaded = read_records(FIXTURES / "vtg_it" / "vtg_it_style_records.json")
    out["vtg_it_style"] = [r.replace(duration=durations.get(Path(r.video).stem)) for r in loaded.records]
    out["mix"] = [r for name in ("charades_sta", "qvhighlights", "youcook2", "vtg_it_style") for r in out[name]]
    return out


def recipe_length_model():
    """The Qwen2.5-VL-7B recipe's sampling and token sizes."""
    from vidllm.data.sampler import LengthModel

    return LengthModel(fps=1.0, max_frames=96, frames_per_group=2, tokens_per_group=100352 // (28 * 28),
                       max_length=8192)  # fmt: skip


def measure(lengths: list[int], batch: int, world: int, seeds: int) -> dict[str, float]:
    """Mean padded fraction over ``seeds`` orders, random and grouped."""
    from vidllm.data.sampler import grouped_order, padded_fraction

    rand, grouped = [], []
    for seed in range(seeds):
        rand.append(padded_fraction(lengths, np.random.default_rng(seed).permutation(len(lengths)), batch))
        grouped.append(padded_fraction(lengths, grouped_order(lengths, batch * world, seed=seed), batch))
    return {"random": float(np.mean(rand)), "grouped": float(np.mean(grouped))}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--world", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--sources", nargs="+", default=None, help="subset of the sources (default: all)")
    args = parser.parse_args(argv)

    from vidllm.data.sampler import estimate_length
    from vidllm.time import get_scheme

    model, scheme = recipe_length_model(), get_scheme("text")
    names = args.sources or ["charades_sta", "qvhighlights", "youcook2", "vtg_it_style", "mix"]
    sources = benchmark_records(names)
    results: dict = {"length_model": model.__dict__, "goal": GOAL, "sources": {}}
    print("padded fraction of the positions per batch; baseline = random order (Trainer's default)")
    print(f"{'source':<14}{'n':>6}{'mean len':>10}{'min-max':>12}{'batch':>6}{'world':>6}{'random':>9}{'grouped':>9}"
          f"{'ratio':>7}")  # fmt: skip
    for name in names:
        lengths = [estimate_length(r, model, scheme) for r in sources[name]]
        entry = {"n": len(lengths), "mean_length": float(np.mean(lengths)), "min": int(min(lengths)),
                 "max": int(max(lengths)), "runs": []}  # fmt: skip
        for batch in args.batch:
            for world in args.world:
                m = measure(lengths, batch, world, args.seeds)
                entry["runs"].append({"batch": batch, "world": world, **m})
                ratio = m["grouped"] / m["random"] if m["random"] else float("nan")
                print(f"{name:<14}{len(lengths):>6}{entry['mean_length']:>10.0f}{entry['min']:>6}-{entry['max']:<5}"
                      f"{batch:>6}{world:>6}{m['random']:>9.1%}{m['grouped']:>9.1%}{ratio:>7.2f}")  # fmt: skip
        results["sources"][name] = entry
    worst = max(r["grouped"] for e in results["sources"].values() for r in e["runs"])
    results["worst_grouped"] = worst
    print(f"worst grouped waste {worst:.1%} (goal < {GOAL:.0%}: {'reached' if worst < GOAL else 'NOT reached'})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
