"""Training: LoRA or full fine-tuning of a time-aware video LLM with Hugging Face ``Trainer`` and DeepSpeed.

* :mod:`vidllm.train.config` -- :class:`TrainConfig`, the typed configuration (YAML files in ``train_configs/``);
* :mod:`vidllm.train.recipe` -- the recipe: ``setup`` -> ``train`` -> ``save`` (``python -m vidllm.train``);
* :mod:`vidllm.train.trainer` -- the ``Trainer`` subclass (per-part learning rates, checkpoints in adapter format);
* :mod:`vidllm.train.export` -- merge a LoRA run into a standalone checkpoint;
* :mod:`vidllm.train.cli` -- ``vidllm train`` and ``vidllm export``;
* :mod:`vidllm.train.toy` -- a small synthetic training set with real videos.

Heavy imports (torch, transformers, DeepSpeed) happen inside the functions that need them.
"""

from vidllm.train.config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "load_train_config"]
