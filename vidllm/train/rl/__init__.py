"""Reinforcement learning with verifiable temporal rewards (``method: grpo``), on TRL's ``GRPOTrainer``.

* :mod:`vidllm.train.rl.config` -- the ``rl:`` section (:class:`~vidllm.train.rl.config.RLConfig`);
* :mod:`vidllm.train.rl.recipe` -- the setup the training recipe calls for ``method: grpo``;
* :mod:`vidllm.train.rl.trainer` -- the ``GRPOTrainer`` subclass and rollout (imports TRL, the ``rl`` extra).

The rewards themselves are :mod:`vidllm.rewards`. See ``docs/rl.md``.
"""
