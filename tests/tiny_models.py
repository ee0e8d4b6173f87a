"""Test-only helpers around the tiny checkpoints of :mod:`vidllm.models.tiny`: the component matrix the adapter tests
run every family through, and CPU model configs of a tiny folder. ``tests/`` is on ``sys.path`` (see
``tests/conftest.py``), so any test imports this module as ``tiny_models``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vidllm.models.tiny import FAMILIES, synthetic_video, video_messages, write_tiny_checkpoint

__all__ = [
    "COMMIT",
    "COMPONENTS",
    "FAMILIES",
    "component_settings",
    "fill_cache",
    "synthetic_video",
    "tiny_model_config",
    "video_messages",
    "write_tiny_checkpoint",
]

COMMIT = "0123456789abcdef0123456789abcdef01234567"
"""The commit of the repos :func:`fill_cache` writes."""


def fill_cache(cache: Path, repo_id: str, folder: Path) -> Path:
    """A Hugging Face hub cache holding ``folder`` as ``repo_id`` at :data:`COMMIT` (the layout huggingface_hub
    writes: refs/main -> snapshots/<commit>/files)."""
    storage = cache / f"models--{repo_id.replace('/', '--')}"
    (storage / "refs").mkdir(parents=True)
    (storage / "refs" / "main").write_text(COMMIT)
    snapshot = storage / "snapshots" / COMMIT
    shutil.copytree(folder, snapshot)
    return snapshot


COMPONENTS = (
    "none",
    "time_tokens",
    "time_embedding",
    "frame_text",
    "slots_video",
    "slots_frame",
    "slot_attention",
    "numpro",
    "all",
)


def component_settings(component: str) -> dict:
    """``time`` / ``compression`` settings of a named test case: each component alone, or ``all`` together.

    Compression keeps fewer tokens than the 4 per frame group of the tiny towers, so it shortens the sequence.
    """
    from vidllm.models.config import CompressionConfig, TimeConfig

    cases = {
        "none": {},
        "time_tokens": {"time": TimeConfig(scheme="vtgllm", time_tokens=True)},
        "time_embedding": {"time": TimeConfig(time_embedding=True)},
        "frame_text": {"time": TimeConfig(frame_text=True)},
        "slots_video": {"compression": CompressionConfig(enabled=True, num_slots=3, per="video")},
        "slots_frame": {"compression": CompressionConfig(enabled=True, num_slots=2, per="frame")},
        "slot_attention": {"compression": CompressionConfig(enabled=True, num_slots=3, per="video", iterations=2)},
        "numpro": {"time": TimeConfig(scheme="frames", numpro=True)},
        "all": {
            "time": TimeConfig(scheme="vtgllm", time_tokens=True, time_embedding=True, frame_text=True, numpro=True),
            "compression": CompressionConfig(enabled=True, num_slots=2, per="frame", iterations=1),
        },
    }
    if component not in cases:
        raise ValueError(f"unknown component case {component!r}; valid: {', '.join(cases)}")
    return cases[component]


def tiny_model_config(folder: str | Path, family: str, component: str = "none", **overrides):
    """A CPU :class:`~vidllm.models.config.ModelConfig` of ``family`` at ``folder`` with a component case."""
    from vidllm.models.config import ModelConfig

    return ModelConfig(family=family, path=str(folder), device="cpu", **component_settings(component), **overrides)


def fast_sample(values, fast) -> list:
    """``values`` as pytest parameters: those in ``fast`` plain (the fast tier), the others marked ``integration``
    (the full matrix runs in the full suite)."""
    import pytest

    out = []
    for value in values:
        args = value if isinstance(value, tuple) else (value,)
        out.append(value if value in fast else pytest.param(*args, marks=pytest.mark.integration))
    return out


def family_component_cases() -> list:
    """Every family x component case; the fast tier keeps ``none`` and ``all`` of every family and each other
    component on one family (in turn), so every family and every component stays in it."""
    others = [c for c in COMPONENTS if c not in ("none", "all")]
    fast = {(f, c) for f in FAMILIES for c in ("none", "all")}
    fast |= {(FAMILIES[i % len(FAMILIES)], c) for i, c in enumerate(others)}
    return fast_sample([(f, c) for f in FAMILIES for c in COMPONENTS], fast)
