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

Safety: the output folder must be new or empty -- a folder that already holds a model (say, an earlier LoRA export)
would keep its ``adapter_config.json`` beside the merged weights, and every loader would apply the LoRA a second
time. ``overwrite=True`` (``--overwrite``) first removes what an export writes (:data:`EXPORT_FILES`) and leaves
anything else. The output is never the LoRA folder or the base checkpoint, so the source is never modified; the
export is written into a temporary folder beside ``out`` and moved in place only when it is complete.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import shutil
from pathlib import Path

from vidllm.errors import UserError
from vidllm.models.checkpoint import META_FILE, read_meta

logger = logging.getLogger(__name__)

EXPORT_FILES = (
    "*.safetensors",
    "*.safetensors.index.json",
    "*.bin",
    "adapter_config.json",
    "config.json",
    "generation_config.json",
    META_FILE,
    "tokenizer*",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "chat_template.*",
    "*processor_config.json",
    "train_config.yaml",
)
"""Names (patterns) of the files a Hugging Face / vidllm save writes: what ``overwrite`` clears in the output."""


def is_model_file(name: str) -> bool:
    """Whether a file of that name is part of a saved model (:data:`EXPORT_FILES`)."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in EXPORT_FILES)


def check_output(out: Path, *, sources: dict[str, Path], overwrite: bool) -> None:
    """Refuse an output folder that is a source, is a file, or already holds files (unless ``overwrite``).

    Args:
        out: The output folder.
        sources: ``{"--lora": folder, "--base": folder}``: folders the export reads and must never write.
        overwrite: Allow a non-empty ``out`` (what an export writes is removed first).

    Raises:
        UserError: Naming the flag and what to do.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; expected a folder for the exported model (pass a new folder)")
    for flag, folder in sources.items():
        if out.resolve() == folder.resolve():
            raise UserError(
                f"--out {out} is the {flag} folder; the export would overwrite its source. Pass another --out folder"
            )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        present = sorted(p.name for p in out.iterdir())
        shown = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
        raise UserError(
            f"--out {out} is not empty (holds {shown}); an exported model beside old files loads wrongly "
            "(a leftover adapter_config.json is applied again). Pass an empty folder, or --overwrite to replace "
            "the model files there"
        )


def _clear_owned(out: Path) -> None:
    """Remove the files an export writes from ``out`` (top level only); other files stay."""
    removed = [p for p in out.iterdir() if p.is_file() and is_model_file(p.name)]
    for p in removed:
        p.unlink()
    if removed:
        logger.warning("--overwrite: removed %d model files from %s (%s)", len(removed), out,
                       ", ".join(sorted(p.name for p in removed)[:6]))  # fmt: skip


def _move_into(staging: Path, out: Path) -> None:
    """Put the finished export in ``out``: a rename when ``out`` does not exist, else file by file."""
    if not out.exists():
        staging.rename(out)
    else:
        _clear_owned(out)
        for item in staging.iterdir():
            os.replace(item, out / item.name)
        staging.rmdir()
    # vidllm.json records the folder as "." and its base relative to it; staging is a sibling of out, so both stay
    # true after the move.


def check_base_family(base: Path, family: str) -> None:
    """Refuse a base checkpoint of another family than the one the LoRA run was trained on.

    Raises:
        UserError: The base ``config.json`` names a model type that belongs to another vidllm family.
    """
    from vidllm.models import MODELS

    try:
        model_type = json.loads((base / "config.json").read_text()).get("model_type")
    except (OSError, ValueError):
        return
    owner = next((name for name, cls in MODELS.items()
                  if model_type == name or model_type in getattr(cls, "model_types", ())), None)  # fmt: skip
    if owner is not None and owner != family:
        raise UserError(
            f"--base {base} is a {model_type!r} checkpoint ({owner} family), but the LoRA run was trained on "
            f"{family}; pass the base checkpoint of that family (the one the run recorded)"
        )


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
    overwrite: bool = False,
) -> Path:
    """Export the LoRA folder of a vidllm run.

    Args:
        lora: A folder written by a LoRA run (the run folder or one of its ``checkpoint-N``).
        out: Output folder.
        base: The base checkpoint (default: the one recorded in the LoRA folder).
        merge: Fold LoRA into the weights and write a standalone checkpoint.
        dtype: Weights' dtype (``auto``: the base checkpoint's).
        overwrite: Allow a non-empty ``out``: the model files there are replaced, other files stay.

    Returns:
        The output folder.

    Raises:
        FileNotFoundError: ``lora`` is not a vidllm LoRA folder, or the base checkpoint is missing.
        UserError: ``out`` is a source folder, a file, or not empty; ``base`` is of another family.
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
    family = meta["family"]
    check_base_family(base_path, family)
    check_output(out, sources={"--lora": lora, "--base": base_path}, overwrite=overwrite)
    dtype = _checkpoint_dtype(base_path) if dtype == "auto" else dtype
    adapter = from_pretrained(lora, base=base, family=family, device="cpu", dtype=dtype)
    if merge:
        adapter.model = adapter.model.merge_and_unload()
    staging = out.parent / f".{out.name}.export-partial"
    shutil.rmtree(staging, ignore_errors=True)  # left by an export that was killed
    try:
        adapter.save(staging)
        trained = lora / "train_config.yaml"  # sampling and recipe: read by the evaluation runner and the model card
        if trained.is_file():
            shutil.copy2(trained, staging / trained.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _move_into(staging, out)
    logger.info("exported %s (%s) to %s", lora, "merged" if merge else "LoRA", out)
    return out
