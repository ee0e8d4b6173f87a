"""Export a trained run: re-point a LoRA folder at a base checkpoint, or merge it into a standalone checkpoint.

    vidllm export --lora runs/vtgllm --out exported/vtgllm --merge [--base /models/Qwen2.5-VL-7B-Instruct]

With ``--merge`` the LoRA update, the trained time-token rows (and any projector or vision tower trained beside LoRA)
are folded into the base weights, and the folder is a plain Hugging Face checkpoint that
``transformers.AutoModelForImageTextToText.from_pretrained`` loads, with the tokenizer that holds the time tokens.
What plain transformers cannot represent -- vidllm's time embedding and slots, frame-time text and absolute-time
positions (the prompt layout), NumPro drawing -- is saved beside it (``vidllm.json``, ``vidllm_modules.safetensors``)
and restored by :func:`vidllm.models.load_model` (``ModelConfig(path=OUT)``). A model trained with time tokens and
none of those modules runs the same in plain transformers for short videos; with them, load it through vidllm.

Without ``--merge`` the output is the LoRA folder again, recording ``--base`` as its base checkpoint (for a run
moved to another machine).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from vidllm.models.checkpoint import META_FILE, read_meta
from vidllm.models.config import ModelConfig

logger = logging.getLogger(__name__)


def _checkpoint_dtype(folder: Path) -> str:
    """The dtype a checkpoint was saved in (``config.json``), as a :class:`ModelConfig` dtype name."""
    config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    dtype = config.get("dtype") or config.get("torch_dtype") or config.get("text_config", {}).get("dtype")
    return dtype if dtype in ("bfloat16", "float16", "float32") else "float32"


def _with_base(lora: Path, base: Path, scratch: Path) -> Path:
    """A view of the LoRA folder (symlinks) whose ``vidllm.json`` names ``base`` as the base checkpoint."""
    view = scratch / "lora"
    view.mkdir()
    for item in lora.iterdir():
        if item.name != META_FILE:
            os.symlink(item.resolve(), view / item.name)
    meta = json.loads((lora / META_FILE).read_text())
    meta["base_path"] = str(base.resolve())
    (view / META_FILE).write_text(json.dumps(meta, indent=2))
    return view


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
    from vidllm.models import get_adapter

    lora, out = Path(lora), Path(out)
    meta = read_meta(lora) if lora.is_dir() else None
    if meta is None or not meta.get("base_path"):
        raise FileNotFoundError(
            f"{lora} is not a LoRA folder written by vidllm (no vidllm.json with a base_path); pass the run folder "
            "of a LoRA run or one of its checkpoint-N folders"
        )
    base_path = Path(base) if base is not None else Path(meta["base_path"])
    if not (base_path / "config.json").is_file():
        raise FileNotFoundError(f"base checkpoint {base_path} not found; pass --base with the local base folder")
    family = meta["family"]
    dtype = _checkpoint_dtype(base_path) if dtype == "auto" else dtype
    config = ModelConfig(family=family, path=str(base_path), device="cpu", dtype=dtype)
    with tempfile.TemporaryDirectory() as scratch:
        folder = _with_base(lora, base_path, Path(scratch)) if base is not None else lora
        adapter = get_adapter(family)(config).load(folder)
        if merge:
            adapter.model = adapter.model.merge_and_unload()
        adapter.save(out)
    logger.info("exported %s (%s) to %s", lora, "merged" if merge else "LoRA", out)
    return out
