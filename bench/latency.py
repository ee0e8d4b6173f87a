"""OMP_NUM_THREADS=1 python bench/latency.py [--model qwen2.5-vl-7b] [--minutes 10] [--new-tokens 32] [--json OUT.json]

Grounding latency: the time to answer one question about a 10-minute video, per stage -- decode at 1 fps, vision
tower, LLM prefill, <= 32 new tokens -- for the stock token layout and for vidllm's slots (K=256 per video), on a
7B-class shape (``bench/shapes.py``, random weights). The anchor is UniVTG's "< 1 s for a 10-minute video on one
GPU" (Lin et al., ICCV 2023).

Reduced form on the CPU (every stage but decoding is extrapolated from measured pieces, and labelled so):

* **decode**: measured in full: ``vidllm.video.read_frames`` at 1 fps of a generated 854x480, 30 fps H.264 video
  (``bench/decode.py``'s generator, cached in ``--cache``) at the recipe's pixel budget (128 x 28 x 28).
* **vision**: 2 blocks at full width timed on 1 and 2 frame groups (forward, no gradient); per group per block x
  the depth x the groups of the video.
* **slots**: vidllm's ``SlotCompressor`` at full width timed on 8 groups' tokens, scaled to the video (linear).
* **prefill**: one decoder layer (no gradient, KV cache off) timed at two lengths; per-token time plus causal
  attention at the measured FLOP rate, x the depth; plus the output layer for the last token.
* **generate**: one decoder layer timed on single-token steps over a KV cache; per-step time plus the attention
  over the real cache length at the measured rate, x the depth, plus the output layer, x ``--new-tokens``.

Times are CPU seconds of this process (``time.process_time``; one thread, the decoder too), which other jobs on a
shared machine inflate far less than wall time. The FLOPs column is arithmetic (hardware-free): it says which stage
dominates on any accelerator, where decoding is
not FLOPs. Baseline of the ratios: the stock layout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode import make_video  # noqa: E402
from scale import attention_flops, fit, layer_params, text_model, vision_model, vision_step  # noqa: E402
from shapes import ALL_SHAPES, TEXT_TOKENS, Shape, llm_tokens  # noqa: E402

ANCHOR_S = 1.0
MAX_PIXELS = 128 * 28 * 28


def concat_video(src: Path, dst: Path, copies: int) -> Path:
    """``copies`` copies of ``src`` one after the other in one mp4, by remuxing its packets (no re-encoding: encoding
    a 10-minute 480p video takes tens of minutes on a loaded 2-core machine)."""
    import av

    tmp = dst.with_name(dst.name + ".part")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4") as out:
        stream = inp.streams.video[0]
        target = out.add_stream_from_template(stream)
        offset_step = stream.duration or 0  # in stream time base
        for k in range(copies):
            inp.seek(0)
            for packet in inp.demux(stream):
                if packet.dts is None:
                    continue
                packet.pts += k * offset_step
                packet.dts += k * offset_step
                packet.stream = target
                out.mux(packet)
    os.replace(tmp, dst)
    return dst


def decode_seconds(path: Path, fps: float) -> tuple[float, int]:
    """Seconds of ``read_frames`` at ``fps`` (the recipe's pixel budget) and the frames it returned."""
    from vidllm.video import read_frames

    t0 = time.process_time()
    video = read_frames(path, fps=fps, max_pixels=MAX_PIXELS, size_multiple=28, threads=1)
    return time.process_time() - t0, len(video.frames)


def prefill_seconds(model, tokens: int) -> float:
    """One no-gradient forward of ``model`` on ``tokens`` embeddings."""
    import torch

    x = torch.randn(1, tokens, model.config.hidden_size)
    with torch.no_grad():
        t0 = time.process_time()
        model(inputs_embeds=x, use_cache=False)
        return time.process_time() - t0


def step_seconds(model, cache_len: int, steps: int = 4) -> float:
    """Mean seconds of a one-token step of ``model`` over a KV cache of ``cache_len`` tokens."""
    import torch
    from transformers import DynamicCache

    d = model.config.hidden_size
    cache = DynamicCache(config=model.config)
    with torch.no_grad():
        model(inputs_embeds=torch.randn(1, cache_len, d), cache=cache, use_cache=True)
        t0 = time.process_time()
        for _ in range(steps):
            model(inputs_embeds=torch.randn(1, 1, d), cache=cache, use_cache=True)
        return (time.process_time() - t0) / steps


def slots_seconds(shape: Shape, tokens: int) -> float:
    """One forward of vidllm's slot compressor (K=256) at full width on ``tokens`` visual tokens."""
    import torch

    from vidllm.models.components.slots import SlotCompressor

    module = SlotCompressor(shape.text["hidden_size"], 256).eval()
    x = torch.randn(1, tokens, shape.text["hidden_size"])
    with torch.no_grad():
        t0 = time.process_time()
        module(x)
        return time.process_time() - t0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-vl-7b", choices=list(ALL_SHAPES))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--tokens", type=int, nargs=2, default=[128, 512], help="prefill lengths measured")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vidllm_bench_videos")
    parser.add_argument("--video", type=Path, default=None, help="use this video instead of generating one")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    shape = ALL_SHAPES[args.model]
    seconds = args.minutes * 60
    video = args.video or args.cache / f"480p30_{int(seconds)}s.mp4"
    if not video.is_file():
        piece = args.cache / "480p30_150s.mp4"
        if not piece.is_file():
            make_video(piece, 150)
        concat_video(piece, video, max(1, round(seconds / 150)))
    decode_s, frames = decode_seconds(video, args.fps)
    groups = -(-frames // shape.frames_per_group)

    vis = vision_model(shape, depth=2)
    vision_step(vis, shape, 1)
    v1, v2 = vision_step(vis, shape, 1), vision_step(vis, shape, 2)
    del vis
    vision_per_group = max(v2 - v1, v1 / 2) * shape.vision_depth / 2

    sample_groups = 8
    slot_tokens = sample_groups * shape.tokens_per_group
    slots_s = slots_seconds(shape, slot_tokens) * groups * shape.tokens_per_group / slot_tokens

    layer = text_model(shape, 1).eval()
    prefill_seconds(layer, 32)
    measured = {n: prefill_seconds(layer, n) for n in args.tokens}
    per_token, icpt = fit(list(measured), list(measured.values()))
    params, embed_head = layer_params(shape)
    rate = 2 * params * args.tokens[-1] / measured[args.tokens[-1]]  # achieved forward FLOP/s
    cache_len = args.tokens[0]
    step = step_seconds(layer, cache_len)
    del layer
    d, vocab = shape.text["hidden_size"], shape.text["vocab_size"]
    head_flops = 2 * vocab * d  # the output layer, one token
    vision_flops_group = 2 * shape.patches_per_group * vision_params_per_patch(shape)

    rows = {}
    for layout in ("none", "slots/video K=256"):
        L = llm_tokens(shape, frames, layout)
        prefill = shape.layers * (per_token * L + icpt + attention_flops(shape, L) / 3 / rate) + head_flops / rate
        gen_attn = sum(4 * (L + k) * d for k in range(args.new_tokens))  # scores + mixing, all heads
        generate = args.new_tokens * (shape.layers * step + head_flops / rate) + shape.layers * gen_attn / rate
        stages = {"decode (measured)": decode_s, "vision (extrapolated)": groups * vision_per_group}
        if layout != "none":
            stages["slots (extrapolated)"] = slots_s
        stages["prefill (extrapolated)"] = prefill
        stages["generate (extrapolated)"] = generate
        flops = {"decode (measured)": 0.0, "vision (extrapolated)": groups * vision_flops_group,
                 "slots (extrapolated)": 2 * 2 * groups * shape.tokens_per_group * d * d if layout != "none" else 0,
                 "prefill (extrapolated)": shape.layers * (2 * params * L + attention_flops(shape, L) / 3),
                 "generate (extrapolated)": args.new_tokens * shape.layers * 2 * params}  # fmt: skip
        rows[layout] = {"llm_tokens": L, "stages_s": stages, "flops": {k: flops[k] for k in stages},
                        "total_s": sum(stages.values())}  # fmt: skip

    base = rows["none"]["total_s"]
    print(f"{shape.name}, one question on a {args.minutes:g}-min 480p/30 fps video at {args.fps:g} fps "
          f"({frames} frames, {groups} groups), <= {args.new_tokens} new tokens; CPU (1 thread), random weights; "
          "baseline: stock")  # fmt: skip
    for layout, row in rows.items():
        total = row["total_s"]
        print(f"\n{layout}: {row['llm_tokens']} LLM tokens, total {total:.1f} CPU s (x{total / base:.2f} vs stock)")
        top = max(row["stages_s"], key=row["stages_s"].get)
        for name, s in row["stages_s"].items():
            print(f"  {name:<26}{s:>10.1f} s {s / total:>6.1%}   {row['flops'][name] / 1e12:>9.2f} TFLOP"
                  + ("   <- dominates" if name == top else ""))  # fmt: skip
        row["dominant_stage"] = top
    print(f"\nanchor: UniVTG < {ANCHOR_S:g} s per 10-minute video on one GPU; GPU latency of this path: not measured "
          "yet (no GPU here)")  # fmt: skip
    results = {"model": shape.name, "frames": frames, "groups": groups, "video": str(video), "measured": {
        "decode_s": decode_s, "vision_2_blocks_s": {"1": v1, "2": v2}, "prefill_1_layer_s": measured,
        "step_1_layer_s": step, "step_cache_len": cache_len, "slots_s_on_tokens": [slot_tokens, slots_s *
        slot_tokens / (groups * shape.tokens_per_group)]}, "rows": rows, "anchor_s": ANCHOR_S,
        "text_tokens": TEXT_TOKENS}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


def vision_params_per_patch(shape: Shape) -> int:
    """Parameters each vision-tower token passes through (all blocks; FLOPs per token = 2 x this)."""
    v = shape.vision
    width = v["hidden_size"]
    ffn = v["intermediate_size"]
    mlp = (3 if v.get("hidden_act") == "silu" else 2) * width * ffn
    return shape.vision_depth * (4 * width * width + mlp)


if __name__ == "__main__":
    main(sys.argv[1:])
