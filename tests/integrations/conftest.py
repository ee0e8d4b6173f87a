"""Fixtures of the integration tests: a tiny checkpoint, an adapter over it, synthetic videos, lmms-eval's venv.

lmms-eval pins ``av<16`` while vidllm's environment runs av 18, so it lives in a second virtualenv that
``scripts/setup.sh`` creates (``.venv-lmms``, or the interpreter named by ``VIDLLM_LMMS_PYTHON``); the tests that
need lmms-eval run it there in a subprocess and skip, saying so, when it is absent.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from lmms_helpers import FAMILY, FRAME, TRAINED_FPS, TRAINED_MAX_FRAMES, lmms_env, lmms_python
from tiny_models import tiny_model_config
from transformers.utils import logging as hf_logging

from vidllm.models import LoraSettings, get_adapter
from vidllm.models.config import TimeConfig
from vidllm.models.tiny import write_tiny_checkpoint
from vidllm.synthetic import SceneSpec
from vidllm.synthetic.benchmark import write_benchmark

hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny Qwen2-VL checkpoint folder (frames of 16 x 16 pixels keep their size)."""
    return write_tiny_checkpoint(FAMILY, tmp_path_factory.mktemp("tiny") / "base", frame=FRAME)


@pytest.fixture(scope="session")
def frames_lora(tiny_base, tmp_path_factory) -> Path:
    """A LoRA folder over :func:`tiny_base` trained (zero steps) to answer in NumPro frame numbers, with the training
    config the recipe saves beside it (2 fps, at most 8 frames)."""
    adapter = get_adapter(FAMILY)(tiny_model_config(tiny_base, FAMILY, time=TimeConfig(scheme="frames"))).load()
    adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0))
    folder = adapter.save(tmp_path_factory.mktemp("lora") / "adapter")
    (folder / "train_config.yaml").write_text(f"data:\n  fps: {TRAINED_FPS}\n  max_frames: {TRAINED_MAX_FRAMES}\n")
    return folder


@pytest.fixture(scope="session")
def synthetic_docs(tmp_path_factory) -> list[dict]:
    """Moment-retrieval docs of the local lmms-eval task: two rendered vidllm.synthetic videos (8 s, 16 x 16) and
    their questions, as ``{"video": absolute path, "caption", "timestamp": [start, end], "qid"}``."""
    out = tmp_path_factory.mktemp("synthetic")
    spec = SceneSpec(duration=(8.0, 8.0), num_events=(1, 2), event_length=(2.0, 4.0))
    paths = write_benchmark(out, num_videos=2, spec=spec, seed=3, tasks=("mr",), size=(FRAME, FRAME), video_fps=2.0)
    annotations = json.loads(paths["tvg"].read_text())["annotations"]
    return [{"video": str(paths["videos"] / a["image_id"]), "caption": a["caption"], "timestamp": a["timestamp"],
             "qid": a["id"]} for a in annotations]  # fmt: skip


@pytest.fixture(scope="session")
def lmms(tmp_path_factory) -> Path:
    """lmms-eval's interpreter, checked to hold lmms-eval, av<16 and vidllm's entry point (skips without the venv)."""
    python = lmms_python()
    if python is None:
        pytest.skip(
            "lmms-eval's virtualenv is absent (.venv-lmms; scripts/setup.sh creates it, VIDLLM_LMMS_PYTHON names "
            "another): lmms-eval 0.7.3 pins av<16, which vidllm's environment does not hold"
        )
    probe = (  # cheap: lmms-eval's own import takes seconds; the tests import it anyway
        "import av, importlib.util; from importlib.metadata import entry_points\n"
        "assert importlib.util.find_spec('lmms_eval'), 'lmms_eval is not installed'\n"
        "assert 'vidllm' in {e.name for e in entry_points(group='lmms_eval.models')}, 'no vidllm entry point'\n"
        "assert int(av.__version__.split('.')[0]) < 16, f'av {av.__version__}: lmms-eval 0.7.3 needs av<16'"
    )
    tmp = tmp_path_factory.mktemp("lmms-probe")
    done = subprocess.run([str(python), "-c", probe], env=lmms_env(tmp), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:  # present but broken: a failure, not a skip
        pytest.fail(
            f"{python} cannot run lmms-eval with --model vidllm (rerun scripts/setup.sh):\n{done.stderr[-3000:]}"
        )
    return python
