"""``method: grpo``: the training recipe's setup for GRPO (:func:`setup`); ``train``/``save``/``cleanup`` are the SFT
recipe's own (:mod:`vidllm.train.recipe`).

    python -m vidllm.train --config train_configs/synthetic_grpo.yaml model.path=runs/sft

The steps are the SFT recipe's, with two differences: the arguments are a TRL ``GRPOConfig`` built by the same
:func:`~vidllm.train.recipe.training_arguments` plus the ``rl`` fields, and the dataset is a table of prompt rows
(the question and the row's index); each row's video is read and built by the adapter when it is sampled.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from vidllm.data.batches import Clip, SkipSample
from vidllm.rewards import RewardSettings
from vidllm.train.config import TrainConfig

logger = logging.getLogger(__name__)


def grpo_fields(cfg: TrainConfig) -> dict[str, Any]:
    """The ``GRPOConfig`` fields of ``cfg.rl`` (on top of the ``TrainingArguments`` of the SFT recipe)."""
    rl = cfg.rl
    fields: dict[str, Any] = {
        "num_generations": rl.num_generations,
        "temperature": rl.temperature,
        "top_p": rl.top_p,
        "top_k": rl.top_k,
        "max_completion_length": rl.max_completion_length,
        "beta": rl.beta,
        "epsilon": rl.epsilon,
        "epsilon_high": rl.epsilon_high,
        "loss_type": rl.loss_type,
        "scale_rewards": rl.scale_rewards,
        "num_iterations": rl.num_iterations,
        "reward_weights": list(rl.active_rewards().values()),
        "use_vllm": rl.use_vllm,
        "vllm_mode": rl.vllm_mode,
        "log_completions": rl.log_completions,
        "shuffle_dataset": cfg.data.shuffle,
        "disable_dropout": True,
    }
    return fields


def grpo_arguments(cfg: TrainConfig, kind: str):
    """The TRL ``GRPOConfig``: :func:`vidllm.train.recipe.training_arguments` with the ``rl`` fields."""
    from trl import GRPOConfig

    from vidllm.train.recipe import training_arguments

    return training_arguments(cfg, kind, cls=GRPOConfig, **grpo_fields(cfg))


class PromptSource:
    """The rows GRPO samples from: records of the data files (their videos read as SFT reads them) or fresh
    synthetic samples; ``source(i) -> (record, clip)``.

    A file record whose video cannot be read is replaced by the next readable one (and counted in ``skipped``).
    """

    def __init__(self, cfg: TrainConfig, adapter, records=None, *, distributed: bool = False):
        self.cfg = cfg
        self.records = records
        self.dataset = None
        if records is not None:
            from vidllm.train.recipe import build_dataset

            self.dataset, _ = build_dataset(cfg, adapter, records, distributed=distributed)

    def prompts(self, count: int) -> list[str]:
        """The question of each of the first ``count`` rows (what TRL logs as the prompt)."""
        if self.records is not None:
            return [self.records[i].prompt for i in range(count)]
        from vidllm.synthetic.dataset import draw_record

        return [draw_record(self.cfg.data.synthetic, i)[0].prompt for i in range(count)]

    def __call__(self, index: int) -> tuple[Any, Clip | None]:
        if self.records is None:
            from vidllm.synthetic.dataset import draw_sample

            record, frames, times = draw_sample(self.cfg.data.synthetic, index, self.cfg.data.fps)
            return record, Clip(frames, times, self.cfg.data.fps, record.duration)
        reason = ""
        for k in range(min(len(self.records), self.cfg.data.max_consecutive_failures)):
            record = self.records[(index + k) % len(self.records)]
            if record.task == "qa" and not self.cfg.rl.rewards.get("format"):
                continue
            try:
                return record, self.dataset.read_clip(record)
            except SkipSample as e:
                reason = str(e)
                self.dataset.skipped[reason.split(":", 1)[0]] += 1
        raise RuntimeError(f"no usable record from index {index}: {reason}; check data.video_root and data.files")


def prompt_dataset(source: PromptSource, count: int):
    """TRL's train dataset: one row per prompt (``prompt`` for TRL's logs, ``vidllm_index`` for the rollout)."""
    from datasets import Dataset

    from vidllm.train.rl.trainer import ROW_KEY

    return Dataset.from_dict({"prompt": source.prompts(count), ROW_KEY: list(range(count))})


def setup(cfg: TrainConfig, *, callbacks: Sequence[Any] = ()):
    """Build the GRPO run of ``cfg`` (``method: grpo``): arguments, model, prompt rows, rewards, trainer.

    Returns:
        A :class:`vidllm.train.recipe.TrainJob` (``train``/``save``/``cleanup`` as for SFT).
    """
    from transformers import set_seed

    from vidllm.train import preflight
    from vidllm.train import recipe as sft
    from vidllm.train.rl.trainer import RewardFunctions, VideoGRPOTrainer

    cfg.check_runnable()
    preflight.check_paths(cfg)
    resume_from = sft.resume_checkpoint(cfg)
    kind = sft.device_kind()
    check_group_size(cfg, int(os.environ.get("WORLD_SIZE", "1")))  # before the arguments start the process group
    args = grpo_arguments(cfg, kind)
    logger.info("GRPO: device %s, %d process(es), G=%d, loss %s, beta %g", args.device, args.world_size,
                cfg.rl.num_generations, cfg.rl.loss_type, cfg.rl.beta)  # fmt: skip
    records = None
    if cfg.data.synthetic is None:
        records = sft.load_training_records(cfg, args)
        preflight.check_records(cfg, records)
    set_seed(cfg.optim.seed)
    adapter = sft.build_adapter(cfg, args)
    source = PromptSource(cfg, adapter, records, distributed=args.world_size > 1)
    o = cfg.optim
    if records is not None:
        count = len(records)
    else:
        count = cfg.data.synthetic.num_samples or max(o.max_steps, 1) * o.batch_size * o.grad_accum * args.world_size
    dataset = prompt_dataset(source, count)
    rl = cfg.rl
    settings = RewardSettings(think=rl.think, f1_threshold=rl.f1_threshold, highlight_min_score=rl.highlight_min_score)
    rewards = RewardFunctions(lambda fps: adapter.config.time.make_scheme(fps=fps), rl.active_rewards(), settings)
    heldout = None
    if rl.eval_steps:
        heldout = heldout_scorer(cfg, adapter, settings)
    trainer = VideoGRPOTrainer(
        adapter=adapter,
        source=source,
        rewards=rewards,
        learning_rates=sft.part_learning_rates(o),
        train_config=cfg,
        skip_zero_variance=rl.skip_zero_variance,
        think=rl.think,
        heldout=heldout,
        heldout_steps=rl.eval_steps,
        args=args,
        train_dataset=dataset,
        callbacks=list(callbacks),
    )
    job = sft.TrainJob(cfg, args, adapter, dataset, trainer, resume_from)
    job.dataset = source.dataset if source.dataset is not None else _NoSkips()
    return job


def heldout_scorer(cfg: TrainConfig, adapter, settings: RewardSettings):
    """``() -> HeldOut`` of ``rl.eval_samples`` samples of the synthetic stream with seed ``rl.eval_seed``."""
    import dataclasses

    from vidllm.train.rl.evaluate import synthetic_heldout

    stream = dataclasses.replace(cfg.data.synthetic, seed=cfg.rl.eval_seed, num_samples=0)
    rl = cfg.rl

    def score():
        return synthetic_heldout(adapter, stream, fps=cfg.data.fps, count=rl.eval_samples,
                                 max_new_tokens=rl.max_completion_length, settings=settings)  # fmt: skip

    return score


class _NoSkips:
    skipped: dict = {}


def check_group_size(cfg: TrainConfig, world_size: int) -> None:
    """The completions of one generation batch must form whole groups.

    Raises:
        ValueError: ``optim.batch_size x optim.grad_accum x processes`` is not a multiple of ``rl.num_generations``.
    """
    o, g = cfg.optim, cfg.rl.num_generations
    total = o.batch_size * o.grad_accum * world_size
    if total % g:
        raise ValueError(
            f"optim.batch_size={o.batch_size} x optim.grad_accum={o.grad_accum} x {world_size} process(es) = {total} "
            f"completions per step is not a multiple of rl.num_generations={g}; make it one (optim.batch_size={g})"
        )
