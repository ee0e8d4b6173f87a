"""vidllm as an lmms-eval model: ``lmms-eval --model vidllm --model_args pretrained=BASE,lora=ADAPTER --tasks ...``.

lmms-eval 0.7.3 finds third-party models through the Python entry-point group ``lmms_eval.models``
(``ModelRegistryV2.load_entrypoint_manifests`` in ``lmms_eval/models/registry_v2.py``; the older
``LMMS_EVAL_PLUGINS`` variable is deprecated there). vidllm's ``pyproject.toml`` declares::

    [project.entry-points."lmms_eval.models"]
    vidllm = "vidllm.integrations.lmms_eval:manifests"

so installing vidllm next to lmms-eval is all it takes. This module stays light (lmms-eval imports it while it builds
its registry, before a model is chosen); the model class lives in :mod:`vidllm.integrations.lmms_eval.model` (which
imports lmms-eval) and everything it does with vidllm in :mod:`vidllm.integrations.lmms_eval.backend` (which does
not). See ``docs/lmms-eval.md``.
"""

from __future__ import annotations

from typing import Any

MODEL_ID = "vidllm"
"""The name given to ``lmms-eval --model``."""

MODEL_CLASS = "vidllm.integrations.lmms_eval.model.VidLLM"


def manifests() -> Any:
    """The entry-point payload: lmms-eval's ``ModelManifest`` for ``--model vidllm`` (a "simple" model)."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_ID, simple_class_path=MODEL_CLASS)
