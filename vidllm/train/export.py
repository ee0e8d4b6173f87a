"""Export a trained run: re-point a LoRA folder at a base checkpoint, or merge it into a standalone checkpoint.

    vidllm export --lora runs/vtgllm --out exported/vtgllm --merge [--base /models/Qwen2.5-VL-7B-Instruct]

With ``--merge`` the LoRA update, the trained time-token rows (and any projector or vision tower trained beside LoRA)
are folded into the base weights, and the folder is a plain Hugging Face checkpoint that
``transformers.AutoModelForImageTextToText.from_pretrained`` loads, with the tokenizer that holds the time tokens.
What plain transformers cannot represent -- vidllm's time embedding and slots, frame-time text and absolute-time
positions (the prompt layout), NumPro drawing -- is saved beside it (``vidllm.json``, ``vidllm_modules.safetensors``)
and restored by :func:`vidllm.models.load_model` (``ModelConfig(path=OUT)``). A model trained with time tokens and
none of those modules runs the same in plain transformers for short videos; with them, load it through vidllm.

Without ``--merge`` the output is the LoRA folder again, recording ``--base`` as its base checkpoint (a Hub id, or a
path relative to the output folder).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from vidllm.models.checkpoint import read_meta

logger = logging.getLogger(__name__)


def _checkpoint_dtype(folder: Path) -> str:
    """The dtype a checkpoint was saved in (``config.json``), as a :class:`ModelConfig` dtype name."""
    config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    dtype = config.get("dtype") or config.get("torch_dtype") or config.get("text_config", {}).get("dtype")
    return dtype if dtype in ("bfloat16", "float16", "float32") else "float32"


def export(
    lora: str | os.PathLike,
    out: str | os.PathLike,
    *,
    base: str | os.PathLike | None = None,
    merge: bool = False,
    dtype: str = "auto",
) -> Path:
    """Export the LoRA folder of a vidllm run.

    Args:
        lora: A folder written by a LoRA run (the run folder or one of its ``checkpoint-N``).
        out: Output folder.
        base: The base checkpoint (default: the one recorded in the LoRA folder).
        merge: Fold LoRA into the weights and write a standalone checkpoint.
        dtype: Weights' dtype (``auto``: the base checkpoint's).

    Returns:
        The output folder.

    Raises:
        FileNotFoundError: ``lora`` is not a vidllm LoRA folder, or the base checkpoint is missing.
    """
    from vidllm.models import from_pretrained
    from vidllm.models.checkpoint import base_ref, is_lora_run, resolve_base, run_base

    lora, out = Path(lora), Path(out)
    meta = read_meta(lora) if lora.is_dir() else None
    if not is_lora_run(meta):
        raise FileNotFoundError(
            f"{lora} is not a LoRA folder written by vidllm (no vidllm.json naming a base model); pass the run folder "
            "of a LoRA run or one of its checkpoint-N folders"
        )
    try:
        base_path = resolve_base(base_ref(base) if base is not None else run_base(lora, meta), run=lora)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"base checkpoint not found ({e}); pass --base with the base folder or Hub id") from e
    dtype = _checkpoint_dtype(base_path) if dtype == "auto" else dtype
    adapter = from_pretrained(lora, base=base, family=meta["family"], device="cpu", dtype=dtype)
    if merge:
        adapter.model = adapter.model.merge_and_unload()
    adapter.save(out)
    logger.info("exported %s (%s) to %s", lora, "merged" if merge else "LoRA", out)
    return out
