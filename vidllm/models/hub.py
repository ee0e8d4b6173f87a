"""Where a model's files are: a local folder, or a Hugging Face Hub id resolved through ``huggingface_hub``'s cache.

``Qwen/Qwen2.5-VL-7B-Instruct`` is looked up with :func:`huggingface_hub.snapshot_download`, so the usual cache
(``HF_HOME`` / ``HF_HUB_CACHE``), tokens and ``HF_HUB_OFFLINE=1`` (cache only, no request) all apply. A path that
exists locally always wins over an id of the same spelling.

A folder inside the cache (``.../models--Qwen--Qwen2.5-VL-7B-Instruct/snapshots/<commit>``) is recognised as that
id and revision (:func:`cached_repo_of`), so a run trained on it records the id, which loads on any machine.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

#: ``owner/name`` (optionally ``owner/name@revision``), as the Hub spells repository ids.
HUB_ID = re.compile(r"(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*)(?:@(?P<revision>[\w./-]+))?")

#: Files no vidllm loader reads; not downloaded.
IGNORE_PATTERNS = ["*.gguf", "*.onnx", "*.msgpack", "*.h5", "*.ot", "*.tflite", "original/*", "onnx/*"]


def split_hub_id(name: str) -> tuple[str, str | None] | None:
    """``(repo_id, revision)`` when ``name`` is spelled like a Hub id and is not a local path, else ``None``."""
    name = str(name)
    if Path(name).expanduser().exists() or name.startswith((".", "/", "~")):
        return None
    match = HUB_ID.fullmatch(name)
    if match is None:
        return None
    return match["repo"], match["revision"]


def cached_repo_of(folder: str | Path) -> tuple[str, str] | None:
    """``(repo_id, commit)`` when ``folder`` is a snapshot in a Hugging Face cache, else ``None``."""
    parts = Path(folder).resolve().parts
    for i in range(len(parts) - 2):
        if parts[i].startswith("models--") and parts[i + 1] == "snapshots":
            owner_name = parts[i][len("models--") :].split("--")
            if len(owner_name) >= 2:
                return "/".join(owner_name[:1] + ["--".join(owner_name[1:])]), parts[i + 2]
    return None


def resolve_folder(name_or_path: str | Path, *, revision: str | None = None, what: str = "model") -> Path:
    """The local folder of ``name_or_path``: the folder itself, or the Hub snapshot of an id.

    Args:
        name_or_path: A local folder or a Hub id (``owner/name`` or ``owner/name@revision``).
        revision: Branch, tag or commit of a Hub id (wins over ``@revision``).
        what: Named in errors (``model``, ``base model``).

    Raises:
        FileNotFoundError: Neither a local folder nor a Hub id that resolves (offline: not in the cache), with
            what to do.
    """
    path = Path(str(name_or_path)).expanduser()
    if path.is_dir():
        return path
    hub = split_hub_id(str(name_or_path))
    if hub is None:
        raise FileNotFoundError(
            f"{what} {str(name_or_path)!r}: no such folder and not a Hugging Face Hub id (owner/name); set model.path "
            "to a local checkpoint folder or a Hub id such as Qwen/Qwen2.5-VL-7B-Instruct"
        )
    repo_id, given_revision = hub
    from huggingface_hub import constants, snapshot_download

    try:
        folder = snapshot_download(repo_id, revision=revision or given_revision, ignore_patterns=IGNORE_PATTERNS)
    except Exception as e:  # offline and not cached, unknown repo, gated, no network...
        offline = " (HF_HUB_OFFLINE is set: only the local cache is read)" if constants.HF_HUB_OFFLINE else ""
        raise FileNotFoundError(
            f"{what} {str(name_or_path)!r} is not a local folder and could not be fetched from the Hugging Face Hub"
            f"{offline}: {type(e).__name__}: {e}; download it first (huggingface-cli download {repo_id}) or pass a "
            "local folder"
        ) from e
    logger.info("%s %s resolved to %s", what, name_or_path, folder)
    return Path(folder)
