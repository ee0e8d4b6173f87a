"""Which model an evaluation runs, loaded the way it was saved, and how it was trained to see videos.

* **Loading.** Through :func:`vidllm.models.from_pretrained`, the loader training, the demo and export use too.
  ``--model_path`` is a folder or a Hub id. ``--lora_path ADAPTER`` loads a folder written by the training recipe
  through ``adapter.save`` (peft LoRA weights, ``vidllm.json`` with the model config, ``vidllm_modules``), which
  rebuilds the time components it was trained with. ``vidllm.json`` names the base it was trained on (a Hub id, or
  a path relative to the run folder); ``--model_path`` may name another copy of it (the run was moved), and a
  warning says so when it differs. The family comes from ``vidllm.json``, else from the base ``config.json``'s
  ``model_type``, else from ``model.family``.
* **Sampling.** Frames must be sampled as in training. :func:`training_sampling` looks for the training config
  saved beside the checkpoint (:data:`TRAIN_CONFIG_FILES` in the adapter folder, its parent, then the model folder)
  and reads :data:`SAMPLING_KEYS` from its ``data.video`` / ``data.sampling`` / ``data`` / ``video`` /
  ``sampling`` section or its top level; :func:`resolve_sampling` fills the unset fields of the eval config from it.
* **Hashes.** :func:`folder_hash` fingerprints a checkpoint folder cheaply: SHA-256 over the name and size of every
  file directly in it (sub-folders such as a training run's ``checkpoint-N`` are not part of the saved model), and
  the file's full content when it is at most 16 MiB, else its first and last MiB. Weights retrained or replaced
  change it; hashing a 15 GB checkpoint reads a few MiB.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vidllm.eval.config import DEFAULT_FPS, DEFAULT_MAX_FRAMES, SamplingConfig
from vidllm.models import detect_family as models_detect_family
from vidllm.models import from_pretrained
from vidllm.models.checkpoint import META_FILE, is_lora_run, read_meta, resolve_base, run_base
from vidllm.models.config import ModelConfig, TimeConfig
from vidllm.models.hub import resolve_folder

logger = logging.getLogger(__name__)

TRAIN_CONFIG_FILES = ("train_config.yaml", "vidllm_train.yaml", "train_config.json", "vidllm_train.json")
"""File names of a saved vidllm training config, looked for in this order (the training recipe writes
``train_config.yaml`` next to the model it saves, with the sampling under ``data``)."""

SAMPLING_SECTIONS = (("data", "video"), ("data", "sampling"), ("data",), ("video",), ("sampling",), ())
SAMPLING_KEYS = ("fps", "num_frames", "max_frames", "min_pixels", "max_pixels")

FULL_HASH_LIMIT = 16 * 2**20
HASH_CHUNK = 2**20


# ----------------------------------------------------------------------------------------------------------- hashes


def folder_hash(path: str | os.PathLike) -> dict[str, Any]:
    """A cheap content fingerprint of a checkpoint folder (its files, not its sub-folders) or of one file.

    Returns:
        ``{"path": absolute path, "sha256": hex digest, "files": count, "bytes": total size}``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    root = Path(path).resolve()
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such checkpoint folder or file")
    if root.is_file():
        files = [root]
    else:
        files = sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
    digest = hashlib.sha256()
    total = 0
    for p in files:
        size = p.stat().st_size
        total += size
        digest.update(f"{p.name}\0{size}\0".encode())
        with p.open("rb") as f:
            if size <= FULL_HASH_LIMIT:
                digest.update(f.read())
            else:
                digest.update(f.read(HASH_CHUNK))
                f.seek(-HASH_CHUNK, os.SEEK_END)
                digest.update(f.read(HASH_CHUNK))
    return {"path": str(root), "sha256": digest.hexdigest(), "files": len(files), "bytes": total}


# --------------------------------------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class TrainingSampling:
    """Sampling settings found in a saved training config.

    Attributes:
        values: The :data:`SAMPLING_KEYS` it sets.
        source: The file they came from.
    """

    values: dict[str, Any]
    source: Path


def _read_config_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        logger.warning("%s: could not read it as a training config (%s); ignoring it", path, e)
        return None


def _sampling_section(data: Any) -> dict[str, Any]:
    for section in SAMPLING_SECTIONS:
        node = data
        for key in section:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            found = {k: node[k] for k in SAMPLING_KEYS if node.get(k) is not None}
            if found:
                return found
    return {}


def training_sampling(*folders: str | os.PathLike | None) -> TrainingSampling | None:
    """The sampling a checkpoint was trained with, from the first training config that sets any (or ``None``).

    Args:
        folders: Where to look, in order (e.g. the adapter folder, its parent, the model folder); ``None`` skipped.
    """
    for folder in folders:
        if not folder:
            continue
        for name in TRAIN_CONFIG_FILES:
            path = Path(folder) / name
            if path.is_file():
                values = _sampling_section(_read_config_file(path))
                if values:
                    return TrainingSampling(values, path)
    return None


@dataclass(frozen=True)
class ResolvedSampling:
    """The sampling of a run and where each value came from (``config``, ``checkpoint`` or ``default``).

    Attributes:
        fps: Frames per second (or ``None`` with ``num_frames``).
        num_frames: Frames per video (or ``None`` with ``fps``).
        max_frames: Cap on frames per video.
        min_pixels: Smallest decoded frame area.
        max_pixels: Largest decoded frame area.
        backend: Video decoder.
        sources: Field -> where its value came from.
        checkpoint_file: The training config read, if any.
    """

    fps: float | None
    num_frames: int | None
    max_frames: int | None
    min_pixels: int | None
    max_pixels: int | None
    backend: str = "auto"
    sources: dict[str, str] = field(default_factory=dict)
    checkpoint_file: str | None = None

    def read_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`vidllm.video.read_frames`."""
        return {
            "fps": self.fps,
            "num_frames": self.num_frames,
            "max_frames": self.max_frames,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "backend": self.backend,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the results file and the run fingerprint."""
        return {**self.read_kwargs(), "sources": dict(self.sources), "checkpoint_file": self.checkpoint_file}


def resolve_sampling(config: SamplingConfig, trained: TrainingSampling | None) -> ResolvedSampling:
    """Fill the unset sampling fields from the training config, then from the defaults.

    ``fps`` and ``num_frames`` are one choice: when the eval config sets either, the checkpoint's is not used.
    A value set in the eval config that differs from the training config's is kept and logged as a warning.
    """
    found = dict(trained.values) if trained is not None and config.from_checkpoint else {}
    out: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in SAMPLING_KEYS:
        mine = getattr(config, name)
        if mine is not None:
            out[name], sources[name] = mine, "config"
            if name in found and found[name] != mine:
                logger.warning("sampling.%s=%s differs from the %s the model was trained with (%s)",
                               name, mine, found[name], trained.source)  # fmt: skip
        elif name in found and not (name in ("fps", "num_frames") and (config.fps or config.num_frames)):
            out[name], sources[name] = found[name], "checkpoint"
        else:
            out[name] = None
    if out["fps"] is not None and out["num_frames"] is not None:  # a training config that sets both: fps wins
        out["num_frames"] = None
        sources.pop("num_frames", None)
    if out["fps"] is None and out["num_frames"] is None:
        out["fps"], sources["fps"] = DEFAULT_FPS, "default"
    if out["max_frames"] is None and out["num_frames"] is None:
        out["max_frames"], sources["max_frames"] = DEFAULT_MAX_FRAMES, "default"
    checkpoint_file = str(trained.source) if "checkpoint" in sources.values() else None
    return ResolvedSampling(**out, backend=config.backend, sources=sources, checkpoint_file=checkpoint_file)


def frame_read_kwargs(sampling: ResolvedSampling, adapter: Any) -> dict[str, Any]:
    """:func:`vidllm.video.read_frames` arguments that give the frames the model was trained on.

    As the training recipe reads them: frame sides a multiple of the processor's ``patch_size x merge_size``, and
    the pixel budget of the model config (``frame_min_pixels`` / ``frame_max_pixels``, which a saved folder brings)
    unless the sampling sets one.
    """
    kwargs = sampling.read_kwargs()
    processor = getattr(getattr(adapter, "processor", None), "video_processor", None)
    if processor is not None:
        kwargs["size_multiple"] = processor.patch_size * processor.merge_size
    config = getattr(adapter, "config", None)
    for name, model_name in (("min_pixels", "frame_min_pixels"), ("max_pixels", "frame_max_pixels")):
        if kwargs[name] is None:
            kwargs[name] = getattr(config, model_name, None)
    return kwargs


# ---------------------------------------------------------------------------------------------------------- loading


def detect_family(model_path: str | None, lora_path: str | None, default: str) -> str:
    """The adapter family: from ``vidllm.json`` (adapter, then model folder), the base ``config.json``'s
    ``model_type`` (:func:`vidllm.models.detect_family`), else ``default``."""
    for folder in (lora_path, model_path):
        found = models_detect_family(folder) if folder else None
        if found:
            return found
    return default


def saved_model_config(model_path: str | None, lora_path: str | None) -> dict[str, Any] | None:
    """The model config a saved folder brings (``vidllm.json``: time components, compression, pixel budget): the
    adapter's, else the model folder's; ``None`` for a plain checkpoint."""
    for folder in (lora_path, model_path):
        if folder and (Path(folder) / META_FILE).is_file():
            return read_meta(Path(folder))["config"]
    return None


@dataclass
class LoadedModel:
    """A loaded adapter and what the results file records about it.

    Attributes:
        adapter: The loaded model adapter (:class:`vidllm.models.VideoLLMAdapter`).
        family: Adapter family.
        model_path: The base checkpoint folder.
        lora_path: The adapter folder, if any.
    """

    adapter: Any
    family: str
    model_path: str
    lora_path: str | None


def resolve_paths(model: ModelConfig, lora_path: str | None) -> tuple[str, str | None, dict | None]:
    """``(local base folder, adapter folder, adapter vidllm.json)`` after checking that they exist and fit together.

    The base is ``--model_path`` (a folder or a Hub id, resolved through the Hugging Face cache), else the base the
    LoRA run names in its ``vidllm.json`` (a Hub id, or a path relative to the run folder); ``""`` for a fully
    fine-tuned adapter folder, which is a whole model.

    Raises:
        FileNotFoundError: A folder is missing (the message says which flag to fix).
        ValueError: ``lora_path`` is not a folder written by ``adapter.save``.
    """
    meta = None
    if lora_path:
        lora = Path(lora_path)
        if not lora.is_dir():
            raise FileNotFoundError(f"--lora_path {lora}: no such folder; pass the folder the training recipe wrote")
        meta = read_meta(lora)
        if meta is None:
            raise ValueError(
                f"--lora_path {lora} has no {META_FILE}; expected a folder written by the training recipe "
                "(adapter.save), which holds the LoRA weights, vidllm.json and vidllm_modules.safetensors"
            )
    if model.path:
        try:
            return str(resolve_folder(model.path, what="--model_path")), lora_path, meta
        except FileNotFoundError as e:
            raise FileNotFoundError(f"--model_path {model.path}: {e}") from e
    if is_lora_run(meta):
        return str(resolve_base(run_base(Path(lora_path), meta), run=Path(lora_path))), lora_path, meta
    if meta is not None:  # a fully fine-tuned folder is a whole model
        return "", lora_path, meta
    raise ValueError("no base model: pass --model_path (the checkpoint the adapter was trained on)")


def load_model(model: ModelConfig, lora_path: str | None = None) -> LoadedModel:
    """Load the base model, and the adapter over it, with :func:`vidllm.models.from_pretrained` (see the module
    docstring).

    Args:
        model: Base model configuration (family, path, runtime, components of a base checkpoint).
        lora_path: A folder written by ``adapter.save`` (LoRA or full), or ``None``.

    Returns:
        The loaded model.
    """
    base, lora_path, meta = resolve_paths(model, lora_path)
    family = detect_family(base or None, lora_path, model.family)
    config = dataclasses.replace(model, family=family)
    if lora_path is None:
        adapter = from_pretrained(model.path, family=family, config=config)
    elif is_lora_run(meta) and model.path:
        try:
            named = str(resolve_base(run_base(Path(lora_path), meta), run=Path(lora_path)))
        except FileNotFoundError:
            named = None
        if named is None or Path(named).resolve() != Path(base).resolve():
            logger.warning("%s was trained on %s; loading it over --model_path %s", lora_path,
                           meta.get("base") or meta.get("base_path"), model.path)  # fmt: skip
        adapter = from_pretrained(lora_path, base=base, family=family, config=config)
    else:
        adapter = from_pretrained(lora_path, family=family, config=config)
    if model.time != TimeConfig() and model.time != adapter.config.time and lora_path is not None:
        logger.warning("model.time from the eval config is ignored: %s brings its own time components (%s)",
                       lora_path, adapter.config.time)  # fmt: skip
    return LoadedModel(adapter, family, base, lora_path)
