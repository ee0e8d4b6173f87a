"""Publish a vidllm model folder on the Hugging Face Hub, with a generated model card.

    vidllm export --lora runs/vtgllm --push_to_hub me/qwen2.5-vl-7b-vtg [--private] [--merge] [--base Qwen/...]
    vidllm train --config X.yaml trainer.push_to_hub=true trainer.hub_model_id=me/qwen2.5-vl-7b-vtg

The card (``README.md``, :func:`model_card`) is built from what the folder already says about itself: ``vidllm.json``
(family, base model, time scheme and components), ``train_config.yaml`` (sampling, training data and recipe) and the
``results.json`` files of the evaluation runner (an evaluation table). Its YAML metadata names ``base_model``,
``library_name: vidllm`` and tags, so the Hub links the model to its base.

The upload is ``huggingface_hub``'s own: :meth:`HfApi.create_repo` then :meth:`HfApi.upload_folder` (tokens,
endpoint, ``HF_TOKEN`` / ``HF_ENDPOINT`` as usual). A LoRA folder whose base is a local path would load nowhere
else, so it is refused: name the base by its Hub id (``--base`` / ``model.path``) or merge it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from vidllm.errors import UserError
from vidllm.models.checkpoint import META_FILE, read_meta
from vidllm.models.hub import split_hub_id

logger = logging.getLogger(__name__)

CARD_FILE = "README.md"
RESULTS_FILE = "results.json"
TRAIN_CONFIG_FILE = "train_config.yaml"
METRIC_ORDER = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "mAP", "HIT@1", "CIDEr", "METEOR", "SODA_c", "F1", "mAP@0.5")
"""Metrics shown first in the evaluation table (others follow in the order of ``results.json``)."""
IGNORE_PATTERNS = [".*", "_*", "checkpoint-*", "**/parts/*", "*.partial"]
"""Not uploaded: hidden and staging folders, checkpoints, per-rank evaluation parts."""


# ---------------------------------------------------------------------------------------------------------- card


def find_results(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The ``results.json`` files of ``paths``: files as given, folders searched (newest evaluation step last)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(p.rglob(RESULTS_FILE), key=lambda f: (f.stat().st_mtime, str(f))))
        else:
            raise FileNotFoundError(f"--results {p}: no such file or folder; pass results.json files or their folders")
    return found


def latest_training_results(folder: Path) -> list[Path]:
    """The newest evaluation of a run folder's ``eval/step-N`` (evaluation during training), if any."""
    steps = [p for p in (folder / "eval").glob("step-*") if (p / RESULTS_FILE).is_file()]
    if not steps:
        return []
    return [max(steps, key=lambda p: int(p.name.split("-")[1])) / RESULTS_FILE]


def _metric_value(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def results_table(results: Sequence[Path]) -> str:
    """A markdown table: one row per ``results.json`` (benchmark, tasks, samples, metrics), ``""`` when none."""
    rows, columns = [], []
    for path in results:
        data = json.loads(Path(path).read_text())
        metrics = {k: v for k, v in data.get("metrics", {}).items() if not k.startswith("num_")}
        for name in metrics:
            if name not in columns:
                columns.append(name)
        rows.append((data.get("dataset", "?"), "+".join(data.get("tasks", [])),
                     data.get("counts", {}).get("samples", ""), metrics))  # fmt: skip
    if not rows:
        return ""
    columns.sort(key=lambda c: METRIC_ORDER.index(c) if c in METRIC_ORDER else len(METRIC_ORDER))
    lines = ["| benchmark | tasks | samples | " + " | ".join(columns) + " |",
             "|---|---|---|" + "---|" * len(columns)]  # fmt: skip
    for dataset, tasks, samples, metrics in rows:
        cells = [_metric_value(metrics[c]) if c in metrics else "" for c in columns]
        lines.append(f"| {dataset} | {tasks} | {samples} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _base_id(meta: dict) -> str | None:
    """The Hub id of a LoRA folder's base (``None``: merged, full, or a local base)."""
    return (meta.get("base") or {}).get("hub")


def _time_lines(time: dict) -> list[str]:
    parts = {
        "time_tokens": "time tokens added to the vocabulary",
        "time_embedding": "a learned time embedding on the visual tokens",
        "frame_text": "each frame's time written before its visual tokens",
        "numpro": "NumPro frame numbers drawn on the frames",
    }
    scheme = f"- time scheme: `{time.get('scheme', 'text')}`"
    lines = [scheme + (f" {time['scheme_kwargs']}" if time.get("scheme_kwargs") else "")]
    lines += [f"- {text}" for key, text in parts.items() if time.get(key)]
    lines += [f"- {key}" for key, value in time.items() if key not in parts and value is True]
    return lines


def _training_lines(train: dict) -> tuple[list[str], list[str]]:
    data, tuning, optim = train.get("data") or {}, train.get("tuning") or {}, train.get("optim") or {}
    sampling = [f"- {k}: {data[k]}" for k in ("fps", "num_frames", "max_frames", "min_pixels", "max_pixels")
                if data.get(k) is not None]  # fmt: skip
    recipe = []
    files = [Path(f).name for f in data.get("files") or []]
    if files:
        recipe.append(f"- data: {', '.join(files)}" + (f" (mix {data['mix']})" if data.get("mix") else ""))
    elif data.get("synthetic"):
        recipe.append("- data: vidllm.synthetic (fresh synthetic videos)")
    mode = tuning.get("mode")
    if mode == "lora":
        lora = tuning.get("lora") or {}
        targets = ", ".join(lora.get("targets", []))
        recipe.append(f"- tuning: LoRA r={lora.get('r')} alpha={lora.get('alpha')} on {targets}")
    elif mode:
        recipe.append(f"- tuning: {mode} fine-tuning")
    trained = [p for p in ("vision", "projector", "time_modules") if tuning.get(f"train_{p}")]
    if trained:
        recipe.append(f"- also trained: {', '.join(trained)}")
    if optim:
        max_steps = optim.get("max_steps") or -1
        steps = f"{max_steps} steps" if max_steps > 0 else f"{optim.get('epochs')} epochs"
        recipe.append(f"- optimiser: {optim.get('optimizer')}, lr {optim.get('lr')} ({optim.get('scheduler')}), "
                      f"{steps}, batch {optim.get('batch_size')} x {optim.get('grad_accum')} per device")  # fmt: skip
        per_part = {k: optim[k] for k in ("vision_lr", "projector_lr", "time_lr") if optim.get(k)}
        if per_part:
            recipe.append(f"- per-part learning rates: {per_part}")
    if train.get("trainer"):
        recipe.append(f"- TrainingArguments: {train['trainer']}")
    return sampling, recipe


def model_card(folder: str | os.PathLike, *, repo_id: str | None = None, results: Sequence[Path] = ()):
    """The :class:`huggingface_hub.ModelCard` of a vidllm model folder (see the module docstring).

    Args:
        folder: A folder written by ``adapter.save`` / the training recipe / ``vidllm export``.
        repo_id: The Hub repository it goes to (its title and the usage snippet).
        results: ``results.json`` files of the evaluation runner, one table row each.

    Raises:
        FileNotFoundError: ``folder`` has no ``vidllm.json``.
    """
    from huggingface_hub import ModelCard, ModelCardData

    folder = Path(folder)
    meta = read_meta(folder)
    if meta is None:
        raise FileNotFoundError(f"{folder} has no {META_FILE}; pass a folder written by vidllm (a run or an export)")
    config = meta.get("config") or {}
    time = config.get("time") or {}
    train_file = folder / TRAIN_CONFIG_FILE
    train = yaml.safe_load(train_file.read_text()) if train_file.is_file() else {}
    trained_on = str((train or {}).get("model", {}).get("path") or "")
    hub = split_hub_id(trained_on) if trained_on else None
    base = _base_id(meta) or (hub[0] if hub else None)  # a merged model: the base it was trained on
    lora = "base" in meta or "base_path" in meta
    name = repo_id or folder.resolve().name
    tags = ["vidllm", "video-temporal-grounding", meta.get("family", "")]
    tags += [f"time-{time.get('scheme', 'text')}", "lora" if lora else "merged"]
    data = ModelCardData(base_model=base, library_name="vidllm", pipeline_tag="video-text-to-text",
                         tags=[t for t in tags if t])  # fmt: skip
    form = (f"a LoRA adapter over `{base or 'its base model'}` (the base loads from the Hub with it)" if lora
            else "a standalone checkpoint (LoRA merged into the weights)")  # fmt: skip
    sampling, recipe = _training_lines(train or {})
    table = results_table(results)
    sections = [
        f"# {name.split('/')[-1]}",
        f"A time-aware video LLM trained with vidllm: {form}.",
        "## Base model",
        f"- {base or 'a local checkpoint'} ({meta.get('family')} family)",
        "## Time",
        "\n".join(_time_lines(time)),
        "## Sampling",
        "\n".join(sampling) or "- as the evaluation config says (no training config saved)",
        "## Training",
        "\n".join(recipe) or "- no training config saved in the folder",
        "## Evaluation",
        table or "No evaluation results were given (vidllm export --results RUN/results.json).",
        "## Use",
        "```python\nfrom vidllm.models import from_pretrained\n\n"
        f'adapter = from_pretrained("{name}")  # family, time components and base from vidllm.json\n```\n\n'
        f"```bash\nvidllm eval mr --model_path {name} --dataset charades_sta --gt_path GT --video_root VIDEOS\n```",
    ]
    content = f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"
    return ModelCard(content)


def write_model_card(folder: str | os.PathLike, *, repo_id: str | None = None, results: Sequence[Path] = ()) -> Path:
    """Write :func:`model_card` to ``folder/README.md``; returns its path."""
    path = Path(folder) / CARD_FILE
    model_card(folder, repo_id=repo_id, results=results).save(path)
    return path


# --------------------------------------------------------------------------------------------------------- upload


def check_portable(folder: str | os.PathLike) -> None:
    """Refuse a LoRA folder whose base is a local path: pushed, it would load on no other machine.

    Raises:
        UserError: Saying how to name the base by its Hub id, or to merge.
    """
    meta = read_meta(folder) or {}
    base = meta.get("base")
    if meta.get("base_path") or (base is not None and "hub" not in base):
        where = base.get("path") if base else meta.get("base_path")
        raise UserError(
            f"{folder} is a LoRA adapter over the local folder {where}; on the Hub it would load nowhere else. Name "
            "the base by its Hub id (vidllm export --base Qwen/Qwen2.5-VL-7B-Instruct, or model.path=<id> in "
            "training), or push a merged model (--merge)"
        )


def check_pushable_training(cfg) -> None:
    """Refuse ``trainer.push_to_hub`` for a LoRA run over a local base folder (before the model loads).

    Raises:
        UserError: Saying to train on the Hub id, or to push a merged export afterwards.
    """
    from vidllm.models.checkpoint import base_ref, is_lora_run, run_base

    if cfg.tuning.mode != "lora":
        return
    ref = base_ref(cfg.model.path)
    if "path" in ref:
        meta = read_meta(ref["path"]) if Path(ref["path"]).is_dir() else None
        if is_lora_run(meta):  # continuing a LoRA run: its base is what the new run records
            ref = run_base(Path(ref["path"]), meta)
    if "hub" not in ref:
        raise UserError(
            f"trainer.push_to_hub with LoRA over the local folder model.path={cfg.model.path}: the pushed adapter "
            "would load nowhere else. Set model.path to the base's Hub id (it loads from the HF cache), or push "
            "afterwards with vidllm export --lora RUN --merge --push_to_hub OWNER/NAME"
        )


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    results: Sequence[Path] = (),
    commit_message: str = "Upload vidllm model",
    api=None,
):
    """Write the model card into ``folder`` and upload the folder to ``repo_id`` (created when missing).

    Args:
        folder: A vidllm model folder (an export or a run folder).
        repo_id: ``owner/name``.
        private: Create the repository private (no effect on an existing one).
        token: A Hub token (default: ``huggingface_hub``'s: ``HF_TOKEN`` or the saved login).
        results: ``results.json`` files for the card's evaluation table.
        commit_message: The commit's message.
        api: A :class:`huggingface_hub.HfApi` (default: a new one, endpoint from ``HF_ENDPOINT``).

    Returns:
        The ``CommitInfo`` of the upload.

    Raises:
        UserError: A LoRA folder over a local base (:func:`check_portable`).
    """
    from huggingface_hub import HfApi

    check_portable(folder)
    api = api or HfApi(token=token)
    url = api.create_repo(repo_id, private=private, exist_ok=True, token=token)
    write_model_card(folder, repo_id=url.repo_id, results=results)
    info = api.upload_folder(repo_id=url.repo_id, folder_path=str(folder), commit_message=commit_message,
                             ignore_patterns=IGNORE_PATTERNS, token=token)  # fmt: skip
    logger.info("pushed %s to %s", folder, url)
    return info


def export_to_hub(
    lora: str | os.PathLike,
    repo_id: str,
    *,
    out: str | os.PathLike | None = None,
    results: Sequence[str | os.PathLike] = (),
    private: bool | None = None,
    token: str | None = None,
    api=None,
    **export_kwargs: Any,
):
    """``vidllm export ... --push_to_hub REPO``: export the run (:func:`vidllm.train.export.export`), then push it.

    Args:
        lora: The LoRA run folder.
        repo_id: The Hub repository.
        out: Where the export is kept (default: a temporary folder, removed after the upload).
        results: ``results.json`` files or folders for the card (default: the run's newest ``eval/step-N``).
        private: Create the repository private.
        token: A Hub token.
        api: A :class:`huggingface_hub.HfApi`.
        **export_kwargs: ``base``, ``merge``, ``dtype``, ``overwrite`` of ``export``.

    Returns:
        The ``CommitInfo`` of the upload.
    """
    import tempfile

    from vidllm.train.export import export

    found = find_results(results) if results else latest_training_results(Path(lora))
    with tempfile.TemporaryDirectory(prefix="vidllm-push-") as tmp:
        folder = export(lora, out if out is not None else Path(tmp) / "model", **export_kwargs)
        return push_folder(folder, repo_id, private=private, token=token, results=found, api=api)
