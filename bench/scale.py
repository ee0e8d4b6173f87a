"""OMP_NUM_THREADS=1 python bench/scale.py [--models qwen2.5-vl-7b ...] [--tokens 64 256] [--json OUT.json] [--gpu]

Speed and memory of 7B-class video LLMs at real width, built from their published configs (``bench/shapes.py``)
with random weights, no download.

**CPU (default): reduced depth, measured.** For each model: one decoder layer of the language model at full width
(its ``transformers`` text model with ``num_hidden_layers=1``, fed ``inputs_embeds``; the embedding table and the
output layer are left out) runs forward + backward (weights trained, fp32, SDPA) at ``--tokens`` sequence lengths,
with gradient checkpointing off and on; the activation memory autograd keeps is counted exactly (every tensor saved
for the backward pass, each storage once). The vision tower runs with 2 blocks at full width (Qwen2.5-VL: one
windowed + one full-attention block) on 1 and 2 frame groups, forward only (the recipes keep it frozen).

**The grid: extrapolated from those measurements, labelled so.** 16 / 32 / 64 / 96 frames x {no compression, slots
per video K=256, per-frame-group slots K=16} x {sdpa, flash-attn} x {checkpointing off, on}: the LLM tokens are
exact arithmetic (``bench/shapes.py``); the time per layer is the measured per-token time plus the causal attention
FLOPs at the measured FLOP rate, times the depth, plus the vision tower per group times its depth; activation memory
per layer is the measured linear fit (SDPA and flash-attn keep no L x L matrix) halved for bf16; with checkpointing a
layer keeps only its input (bf16), and one layer's activations exist during its recomputation. Peak memory per GPU
(LoRA-style, one GPU, no ZeRO): bf16 weights + activations + fp32 logits (twice, loss) -- optimizer state is left
out. "Largest frames in 80 / 141 GB" searches that model in 16-frame steps. CPU seconds are not GPU seconds: the
CPU figures are for ratios (checkpointing, compression), not for GPU planning. CPU times are the process's CPU
seconds (``time.process_time``, one thread), which other jobs on a shared machine inflate far less than wall time.
flash-attn runs only on CUDA: its cells have the same tokens and memory model and "not measured" time.

**GPU (``--gpu``, written, not run here):** the full model in bf16 on one CUDA device (LLM: all layers, vision: all
blocks), forward + backward of the LLM with the vision tower's features computed without gradient, per grid cell:
time (best of ``--repeats``), tokens/s, samples/s and ``torch.cuda.max_memory_allocated`` (the embedding table,
output layer and logits are not in it: the LLM is fed ``inputs_embeds``); out-of-memory cells are recorded as such.

Baselines of the ratios: the same model at the same frames without compression / without checkpointing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shapes import ALL_SHAPES, COMPRESSIONS, SHAPES, TEXT_TOKENS, Shape, llm_tokens  # noqa: E402

FRAMES = (16, 32, 64, 96)
GB = 1024**3
BUDGETS = (80, 141)
FRAME_LIMIT = 4096


# ------------------------------------------------------------------------------------------------------- building


def text_model(shape: Shape, layers: int, attn: str = "sdpa", dtype=None, vocab: int | None = 256):
    """The language model of ``shape`` with ``layers`` decoder layers (``vocab`` rows: the table is not used)."""
    from transformers import Qwen2Config, Qwen2Model
    from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLTextConfig
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLTextModel
    from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLTextConfig
    from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLTextModel

    classes = {"qwen2_5_vl": (Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel), "qwen3_vl": (Qwen3VLTextConfig,
               Qwen3VLTextModel), "longva": (Qwen2Config, Qwen2Model)}  # fmt: skip
    config_cls, model_cls = classes[shape.family]
    values = {**shape.text, "num_hidden_layers": layers, "use_cache": False}
    if vocab is not None:
        values["vocab_size"] = vocab
    config = config_cls(**values)
    config._attn_implementation = attn
    return model_cls(config).to(dtype) if dtype is not None else model_cls(config)


def vision_model(shape: Shape, depth: int | None = None, attn: str = "sdpa"):
    """The vision tower of ``shape`` with ``depth`` blocks (default: all)."""
    if shape.family == "longva":
        from transformers import CLIPVisionConfig, CLIPVisionModel

        config = CLIPVisionConfig(**{**shape.vision, "num_hidden_layers": depth or shape.vision_depth})
        config._attn_implementation = attn
        return CLIPVisionModel(config)
    if shape.family == "qwen2_5_vl":
        from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLVisionConfig as Config
        from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel as M
    else:
        from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLVisionConfig as Config
        from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLVisionModel as M
    values = dict(shape.vision)
    if depth is not None:
        values["depth"] = depth
        if "fullatt_block_indexes" in values:
            values["fullatt_block_indexes"] = [depth - 1]  # one windowed block, one full-attention block
        if "deepstack_visual_indexes" in values:
            values["deepstack_visual_indexes"] = [depth - 1]
    config = Config(**values)
    config._attn_implementation = attn
    return M(config)


def vision_inputs(shape: Shape, groups: int, device: str = "cpu", dtype=None) -> dict:
    """Random pixels of ``groups`` frame groups at the shape's frame size, in the tower's input layout."""
    import torch

    dtype = dtype or torch.float32
    h, w = shape.frame
    if shape.family == "longva":
        return {"pixel_values": torch.randn(groups, 3, h, w, device=device, dtype=dtype)}
    p, t = shape.vision["patch_size"], shape.vision["temporal_patch_size"]
    gh, gw = h // p, w // p
    pixels = torch.randn(groups * gh * gw, 3 * t * p * p, device=device, dtype=dtype)
    key = "hidden_states"
    return {key: pixels, "grid_thw": torch.tensor([[groups, gh, gw]], device=device)}


# ------------------------------------------------------------------------------------------------------ measuring


class SavedBytes:
    """Bytes of the tensors autograd saves for the backward pass (each storage counted once; the weights, which
    autograd also keeps, are not activations and are left out)."""

    def __init__(self, model=None):
        self.bytes = 0
        self._seen: set[int] = {p.untyped_storage().data_ptr() for p in model.parameters()} if model else set()

    def pack(self, tensor):
        try:
            storage = tensor.untyped_storage()
            key = storage.data_ptr()
            if key not in self._seen:
                self._seen.add(key)
                self.bytes += storage.nbytes()
        except (RuntimeError, NotImplementedError):
            pass
        return tensor

    def hooks(self):
        import torch

        return torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t)


def set_checkpointing(model, on: bool) -> None:
    """Activation (gradient) checkpointing of every decoder layer on or off (non-reentrant)."""
    if on:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.activation_checkpointing_disable()


def layer_step(model, tokens: int, *, checkpointing: bool) -> dict:
    """One forward + backward of ``model`` on ``tokens`` random embeddings: seconds and saved bytes."""
    import torch

    d = model.config.hidden_size
    model.train()
    set_checkpointing(model, checkpointing)
    x = torch.randn(1, tokens, d, requires_grad=True)
    saved = SavedBytes(model)
    t0 = time.process_time()
    with saved.hooks():
        out = model(inputs_embeds=x, use_cache=False).last_hidden_state
    t1 = time.process_time()
    out.float().pow(2).mean().backward()
    t2 = time.process_time()
    model.zero_grad(set_to_none=True)
    return {"tokens": tokens, "forward_s": t1 - t0, "total_s": t2 - t0, "saved_bytes": saved.bytes}


def vision_step(model, shape: Shape, groups: int) -> float:
    """Seconds of one forward (no gradient) of the tower on ``groups`` frame groups."""
    import torch

    inputs = vision_inputs(shape, groups)
    model.eval()
    with torch.no_grad():
        t0 = time.process_time()
        model(**inputs)
        return time.process_time() - t0


def layer_params(shape: Shape) -> tuple[int, int]:
    """Parameters of one decoder layer and of the embedding + output layers (exact, from the config values)."""
    from torch import nn

    with __import__("torch").device("meta"):
        model = text_model(shape, 1, vocab=None)
    per_layer = sum(p.numel() for p in model.layers[0].parameters())
    embed = shape.text["vocab_size"] * shape.text["hidden_size"]
    head = 0 if shape.text.get("tie_word_embeddings") else embed
    assert isinstance(model.layers[0], nn.Module)
    return per_layer, embed + head


def vision_params(shape: Shape) -> int:
    """Parameters of the full vision tower (meta tensors, nothing allocated)."""
    import torch

    with torch.device("meta"):
        return sum(p.numel() for p in vision_model(shape).parameters())


def measure_cpu(shape: Shape, tokens: list[int], args) -> dict:
    """The measured CPU figures of one model (see the module docstring)."""
    import torch

    torch.manual_seed(0)
    model = text_model(shape, 1)
    layer_step(model, 16, checkpointing=False)  # warm-up
    runs = [layer_step(model, n, checkpointing=False) for n in tokens]
    ckpt = layer_step(model, tokens[-1], checkpointing=True)
    del model
    vis = vision_model(shape, depth=args.vision_blocks)
    vision_step(vis, shape, 1)  # warm-up
    vt = {g: vision_step(vis, shape, g) for g in (1, 2)}
    del vis
    per_layer, embed = layer_params(shape)
    return {"layer_runs": runs, "checkpointing_run": ckpt, "vision_blocks": args.vision_blocks,
            "vision_seconds_by_groups": vt, "params_per_layer": per_layer, "params_embed_head": embed,
            "params_vision": vision_params(shape)}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- extrapolating


def attention_flops(shape: Shape, tokens: int) -> float:
    """Forward + backward FLOPs of causal attention scores and mixing in one layer (QK^T and AV, x3 for backward)."""
    heads = shape.text["num_attention_heads"]
    head_dim = shape.text.get("head_dim") or shape.text["hidden_size"] // heads
    return 3 * 2 * 2 * tokens * tokens * heads * head_dim / 2


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Slope and intercept through the first and last point."""
    slope = (ys[-1] - ys[0]) / (xs[-1] - xs[0]) if xs[-1] != xs[0] else ys[-1] / xs[-1]
    return slope, ys[-1] - slope * xs[-1]


def extrapolate(shape: Shape, m: dict) -> list[dict]:
    """The grid cells of one model from its measured figures (every number here is an extrapolation)."""
    runs = m["layer_runs"]
    xs = [r["tokens"] for r in runs]
    rate = 6 * m["params_per_layer"] * xs[-1] / runs[-1]["total_s"]  # achieved FLOP/s (linear layers dominate)
    t_slope, t_icpt = fit(xs, [r["total_s"] for r in runs])
    mem_slope, mem_icpt = fit(xs, [r["saved_bytes"] for r in runs])
    ckpt_factor = m["checkpointing_run"]["total_s"] / runs[-1]["total_s"]
    vt = m["vision_seconds_by_groups"]
    vision_per_group = (vt[2] - vt[1]) if vt[2] > vt[1] else vt[1]
    vision_per_group *= shape.vision_depth / m["vision_blocks"]
    d = shape.text["hidden_size"]
    weights = 2 * (shape.layers * m["params_per_layer"] + m["params_embed_head"] + m["params_vision"])
    cells = []
    for frames in FRAMES:
        for comp in COMPRESSIONS:
            L = llm_tokens(shape, frames, comp)
            groups = -(-frames // shape.frames_per_group)
            layer_s = max(t_slope * L + t_icpt, 0.0) + attention_flops(shape, L) / rate
            act_layer = max(mem_slope * L + mem_icpt, 0.0) / 2  # fp32 measured -> bf16
            logits = 2 * 4 * L * shape.text["vocab_size"]
            for attn in ("sdpa", "flash_attention_2"):
                for gc in (False, True):
                    act = shape.layers * (2 * L * d) + act_layer if gc else shape.layers * act_layer
                    llm_s = shape.layers * layer_s * (ckpt_factor if gc else 1.0)
                    total_s = llm_s + groups * vision_per_group
                    cells.append({
                        "model": shape.name, "frames": frames, "compression": comp, "attention": attn,
                        "checkpointing": gc, "llm_tokens": L,
                        "cpu_seconds_extrapolated": total_s if attn == "sdpa" else None,
                        "cpu_tokens_per_s_extrapolated": L / total_s if attn == "sdpa" else None,
                        "cpu_samples_per_s_extrapolated": 1 / total_s if attn == "sdpa" else None,
                        "activation_gb_extrapolated": act / GB,
                        "peak_gb_extrapolated": (weights + act + logits) / GB,
                    })  # fmt: skip
    return cells


def largest_frames(shape: Shape, m: dict, budget_gb: float, comp: str, gc: bool, limit: int = FRAME_LIMIT):
    """Largest frame count (16-frame steps) whose extrapolated peak memory fits ``budget_gb``."""
    runs = m["layer_runs"]
    mem_slope, mem_icpt = fit([r["tokens"] for r in runs], [r["saved_bytes"] for r in runs])
    d = shape.text["hidden_size"]
    weights = 2 * (shape.layers * m["params_per_layer"] + m["params_embed_head"] + m["params_vision"])
    best = None
    for frames in range(16, limit + 1, 16):
        L = llm_tokens(shape, frames, comp)
        act_layer = max(mem_slope * L + mem_icpt, 0.0) / 2
        act = shape.layers * (2 * L * d) + act_layer if gc else shape.layers * act_layer
        if (weights + act + 2 * 4 * L * shape.text["vocab_size"]) / GB > budget_gb:
            break
        best = frames
    return best


# --------------------------------------------------------------------------------------------------------- the GPU


def run_gpu(shape: Shape, args, device: str = "cuda") -> list[dict]:
    """The full model in bf16 on ``device``, every grid cell measured (written for a GPU machine; the smoke test runs
    it on the CPU with the smoke shape). Weight gradients are computed (2 bytes per parameter in the peak)."""
    import torch

    cuda = device.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    results = []
    attns = ["sdpa"] + (["flash_attention_2"] if cuda and importlib.util.find_spec("flash_attn") else [])
    old_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # built on the device in bf16: no fp32 copy in host memory
    try:
        with torch.device(device):
            vision = vision_model(shape).eval()
        for attn in attns:
            with torch.device(device):
                llm = text_model(shape, shape.layers, attn=attn)
            for frames in args.frames:
                groups = -(-frames // shape.frames_per_group)
                for comp in COMPRESSIONS:
                    for gc in (False, True):
                        cell = {"model": shape.name, "frames": frames, "compression": comp, "attention": attn,
                                "checkpointing": gc, "llm_tokens": llm_tokens(shape, frames, comp)}  # fmt: skip
                        try:
                            cell.update(gpu_cell(shape, vision, llm, groups, cell["llm_tokens"], gc, args.repeats,
                                                 device, sync))  # fmt: skip
                        except torch.cuda.OutOfMemoryError:
                            cell.update(seconds=None, peak_gb=None, error="out of memory")
                            torch.cuda.empty_cache()
                        results.append(cell)
                        print(json.dumps(cell), flush=True)
            del llm
            if cuda:
                torch.cuda.empty_cache()
    finally:
        torch.set_default_dtype(old_dtype)
    return results


def gpu_cell(shape: Shape, vision, llm, groups: int, tokens: int, gc: bool, repeats: int, device: str, sync) -> dict:
    """Best-of-``repeats`` seconds of one sample (vision tower without gradient, LLM forward + backward) and the
    peak allocated memory."""
    import torch

    cuda = device.startswith("cuda")
    best = math.inf
    for _ in range(repeats):
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        sync()
        t0 = time.perf_counter()
        with torch.no_grad():
            vision(**vision_inputs(shape, groups, device, torch.bfloat16))
        llm.train()
        set_checkpointing(llm, gc)
        x = torch.randn(1, tokens, shape.text["hidden_size"], device=device, dtype=torch.bfloat16, requires_grad=True)
        out = llm(inputs_embeds=x, use_cache=False).last_hidden_state
        out.float().pow(2).mean().backward()
        llm.zero_grad(set_to_none=True)
        sync()
        best = min(best, time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / GB if cuda else None
    return {"seconds": best, "tokens_per_s": tokens / best, "samples_per_s": 1 / best, "peak_gb": peak}


# ------------------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SHAPES), choices=list(ALL_SHAPES))
    parser.add_argument("--tokens", type=int, nargs="+", default=[64, 256], help="measured sequence lengths")
    parser.add_argument("--vision-blocks", type=int, default=2, help="vision blocks run on the CPU")
    parser.add_argument("--gpu", action="store_true", help="the full models on CUDA (bf16)")
    parser.add_argument("--device", default="cuda", help="device of --gpu (cpu: the smoke test of the GPU path)")
    parser.add_argument("--frames", type=int, nargs="+", default=list(FRAMES), help="frame counts of --gpu")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "text_tokens": TEXT_TOKENS,
                     "flash_attn_importable": importlib.util.find_spec("flash_attn") is not None,
                     "models": {}}  # fmt: skip
    if args.gpu:
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            parser.error("--gpu needs a CUDA device")
        results["device"] = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
        for name in args.models:
            results["models"][name] = {"gpu_cells": run_gpu(ALL_SHAPES[name], args, args.device)}
    else:
        results["device"] = "cpu"
        for name in args.models:
            shape = ALL_SHAPES[name]
            t0 = time.perf_counter()
            m = measure_cpu(shape, sorted(args.tokens), args)
            cells = extrapolate(shape, m)
            fits = {f"{comp}, ckpt {'on' if gc else 'off'}": {b: largest_frames(shape, m, b, comp, gc)
                                                              for b in BUDGETS}
                    for comp in COMPRESSIONS for gc in (False, True)}  # fmt: skip
            results["models"][name] = {"measured": m, "cells": cells, "largest_frames_extrapolated": fits,
                                       "bench_seconds": time.perf_counter() - t0}  # fmt: skip
            report(shape, m, cells, fits)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return results


def report(shape: Shape, m: dict, cells: list[dict], fits: dict) -> None:
    """The tables of one model."""
    print(f"\n== {shape.name} ({shape.layers} layers, d={shape.text['hidden_size']}; {shape.source})")
    print("measured on the CPU, 1 decoder layer at full width, fp32, forward + backward (weights trained):")
    base = m["layer_runs"][0]
    for r in m["layer_runs"]:
        print(f"  {r['tokens']:>5} tokens: {r['total_s']:7.2f} s ({r['total_s'] / r['tokens'] * 1e3:6.2f} ms/token, "
              f"x{r['total_s'] / base['total_s']:.2f} vs {base['tokens']} tokens), saved activations "
              f"{r['saved_bytes'] / 2**20:8.1f} MiB ({r['saved_bytes'] / r['tokens'] / 1024:.1f} KiB/token)"
              )  # fmt: skip
    c = m["checkpointing_run"]
    last = m["layer_runs"][-1]
    print(f"  checkpointing on, {c['tokens']} tokens: {c['total_s']:.2f} s (x{c['total_s'] / last['total_s']:.2f} vs "
          "off)")  # fmt: skip
    vt = m["vision_seconds_by_groups"]
    print(f"  vision tower, {m['vision_blocks']} of {shape.vision_depth} blocks, forward: 1 group {vt[1]:.2f} s, "
          f"2 groups {vt[2]:.2f} s")  # fmt: skip
    print("extrapolated (tokens exact; time and memory from the measured per-layer figures; sdpa, bf16 memory):")
    print(f"  {'frames':>6} {'compression':<18}{'tokens':>7}{'ckpt':>5}{'CPU s/sample':>13}{'ratio':>7}"
          f"{'act GB':>8}{'peak GB':>9}")  # fmt: skip
    for cell in cells:
        if cell["attention"] != "sdpa":
            continue
        ref = next(x for x in cells if x["frames"] == cell["frames"] and x["compression"] == "none"
                   and x["attention"] == "sdpa" and x["checkpointing"] == cell["checkpointing"])  # fmt: skip
        ratio = cell["cpu_seconds_extrapolated"] / ref["cpu_seconds_extrapolated"]
        print(f"  {cell['frames']:>6} {cell['compression']:<18}{cell['llm_tokens']:>7}"
              f"{'on' if cell['checkpointing'] else 'off':>5}{cell['cpu_seconds_extrapolated']:>13.1f}{ratio:>7.2f}"
              f"{cell['activation_gb_extrapolated']:>8.1f}{cell['peak_gb_extrapolated']:>9.1f}")  # fmt: skip
    print("  largest frame count fitting one GPU (extrapolated from the measured per-layer memory):")
    for key, v in fits.items():
        print(f"    {key:<32} " + "  ".join(f"{b} GB: {frames_text(v[b])}" for b in BUDGETS))


def frames_text(frames: int | None) -> str:
    """A largest-frames figure: ``< 16`` when none fits, ``>= 4096`` when the search limit fits."""
    if frames is None:
        return "< 16"
    return f">= {frames}" if frames >= FRAME_LIMIT else str(frames)


if __name__ == "__main__":
    main(sys.argv[1:])
