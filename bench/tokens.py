"""OMP_NUM_THREADS=1 .venv/bin/python bench/tokens.py

LLM tokens and memory of a 10-minute video, with and without slot compression.

Part 1 measures the tiny Qwen2.5-VL of :mod:`vidllm.models.tiny` (16x16 frames, 4 LLM tokens per 2-frame group): for a
10-minute video sampled at 1 and 2 fps, the prompt length, the activation memory autograd keeps for the backward
pass (LLM side, which compression shrinks, and vision tower, which it does not), and the peak resident memory of a
fresh process that runs one forward+backward (mostly the Python/torch runtime at this size). Each setting runs in
its own process, so peaks do not mix. Part 2 counts the tokens of the same layouts for Qwen2.5-VL-7B-sized frames
(448x252 -> 144 tokens per 2-frame group) and how many frames fit in a 4K / 8K / 32K context.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

MINUTES = 10
TINY_SETTINGS = {
    "stock": {},
    "slots/video K=256": {"compression": {"enabled": True, "num_slots": 256, "per": "video"}},
    "slots/frame K=1": {"compression": {"enabled": True, "num_slots": 1, "per": "frame"}},
}


def worker(folder: str, fps: float, setting: str) -> dict:
    """One forward+backward of the tiny model on a 10-minute video (runs in a fresh process)."""
    import torch
    from transformers.utils import logging as hf_logging

    from vidllm.models import ModelConfig, get_adapter
    from vidllm.models.checkpoint import inner_model
    from vidllm.models.tiny import synthetic_video, video_messages

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.set_num_threads(1)
    config = ModelConfig(family="qwen2_5_vl", path=folder, device="cpu", **TINY_SETTINGS[setting])
    adapter = get_adapter("qwen2_5_vl")(config).load()
    frames, timestamps = synthetic_video(int(MINUTES * 60 * fps), fps=fps)
    answer = adapter.config.time.make_scheme().format_span(120.0, 135.5)
    batch = adapter.collate([adapter.build_inputs(video_messages(answer=answer), [(frames, timestamps)])])
    saved = {"vision": 0, "llm": 0}
    where = ["llm"]  # the vision tower's activations do not depend on compression: count them apart
    visual = inner_model(adapter.model).visual
    visual.register_forward_pre_hook(lambda *_: where.__setitem__(0, "vision"))
    visual.register_forward_hook(lambda *_: where.__setitem__(0, "llm"))

    def pack(tensor):
        saved[where[0]] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = adapter.forward(batch).loss
    loss.backward()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "tokens": int(batch["input_ids"].shape[1]),
        "LLM act. MB": saved["llm"] / 2**20,
        "vision act. MB": saved["vision"] / 2**20,
        "peak RSS MB": peak_kb / 1024,
    }


def measure_tiny() -> list[dict]:
    from vidllm.models.tiny import write_tiny_checkpoint

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(write_tiny_checkpoint("qwen2_5_vl", Path(tmp) / "tiny"))
        for fps in (1.0, 2.0):
            for setting in TINY_SETTINGS:
                cmd = [sys.executable, __file__, "--worker", json.dumps([folder, fps, setting])]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                rows.append({"fps": fps, "setting": setting, **json.loads(out.strip().splitlines()[-1])})
    return rows


def real_size_rows(per_group_native: int = 144, prompt_overhead: int = 64) -> list[dict]:
    """Tokens of each layout for Qwen2.5-VL-7B-sized frames, counted with :class:`VideoLayout`.

    Frame-time text counts one token per character of the encoded time (Qwen's tokenizer splits digits and the
    dot) or per time token, plus ``<``, `` seconds``, ``>`` and the two vision markers around each group.
    """
    from vidllm.models.components.layout import VideoLayout
    from vidllm.time import get_scheme

    text_scheme, vtg_scheme = get_scheme("text"), get_scheme("vtgllm")

    def text_tokens(scheme, t: float) -> int:
        encoded = scheme.encode(t)
        units = encoded.count("<") if scheme.new_tokens else len(encoded)
        return units + 3 + 2

    settings = {
        "stock (Qwen2.5-VL)": (VideoLayout(), None),
        "frame text, text scheme (TimeChat / Qwen3-VL)": (VideoLayout(frame_text=True), text_scheme),
        "frame text, VTG-LLM time tokens": (VideoLayout(frame_text=True), vtg_scheme),
        "slots/frame K=16 + frame text": (VideoLayout(frame_text=True, slots_per_frame=16), text_scheme),
        "slots/video K=256 (VTG-LLM)": (VideoLayout(slots_per_video=256), None),
    }
    rows = []
    for name, (layout, scheme) in settings.items():

        def video_tokens(frames: int, fps: float, layout=layout, scheme=scheme) -> int:
            groups = (frames + 1) // 2
            extra = sum(text_tokens(scheme, (2 * g + 0.5) / fps) for g in range(groups)) if scheme else 2
            return layout.num_tokens(groups, per_group_native) + extra

        row = {"setting": name}
        for fps in (1.0, 2.0):
            row[f"tokens@{fps:g}fps"] = video_tokens(int(MINUTES * 60 * fps), fps) + prompt_overhead
        for context in (4096, 8192, 32768):
            if layout.slots_per_video:
                row[f"frames@{context // 1024}K"] = "any"
                continue
            frames = 0
            while video_tokens(frames + 2, 2.0) + prompt_overhead <= context:
                frames += 2
            row[f"frames@{context // 1024}K"] = frames
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [f"{row[k]:.1f}" if isinstance(row[k], float) else str(row[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*json.loads(args.worker))))
        return
    tiny = measure_tiny()
    for fps in (1.0, 2.0):
        base = next(r for r in tiny if r["fps"] == fps and r["setting"] == "stock")
        for r in tiny:
            if r["fps"] == fps:
                r["token ratio"] = base["tokens"] / r["tokens"]
                r["LLM act. ratio"] = base["LLM act. MB"] / r["LLM act. MB"]
    print(f"Tiny Qwen2.5-VL, {MINUTES}-minute video, one forward+backward (16x16 frames, 4 tokens per 2 frames)\n")
    print(table(tiny))
    print(f"\nQwen2.5-VL-7B-sized frames (448x252: 144 tokens per 2 frames), {MINUTES}-minute video;")
    print("tokens include ~64 of prompt; frames = most frames at 2 fps that fit the context\n")
    print(table(real_size_rows()))


if __name__ == "__main__":
    main()
