"""Constants and helpers of the integration tests (imported by their conftest and tests)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TASKS_DIR = Path(__file__).resolve().parent / "lmms_eval_tasks"
FAMILY = "qwen2_vl"
FRAME = 16
TRAINED_FPS = 2.0
TRAINED_MAX_FRAMES = 8


def lmms_python() -> Path | None:
    """The interpreter of lmms-eval's virtualenv, if there is one."""
    given = os.environ.get("VIDLLM_LMMS_PYTHON")
    path = Path(given) if given else REPO / ".venv-lmms" / "bin" / "python"
    return path if path.is_file() else None


def lmms_env(tmp: Path) -> dict[str, str]:
    """Environment of an lmms-eval subprocess: this checkout's vidllm, offline, caches under ``tmp``, one thread."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.update(HF_HOME=str(tmp / "hf"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1",
               TOKENIZERS_PARALLELISM="false", WANDB_MODE="disabled", GRADIO_ANALYTICS_ENABLED="False")  # fmt: skip
    return env
