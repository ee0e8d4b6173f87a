"""The Hugging Face ``Trainer`` with what a time-aware video LLM needs, and nothing else.

Overridden, each for one reason:

* :meth:`VidllmTrainer.create_optimizer` -- one parameter group per part (LLM, vision tower, projector, time
  components) with its own learning rate (weight decay never on biases and norms); DeepSpeed's CPU Adam when
  ZeRO-Offload moves the optimizer to the CPU.
* :meth:`VidllmTrainer.compute_loss` -- takes the batch's count of skipped records out before the model sees it, and
  (through :func:`answer_token_loss`) averages the loss over every answer token of the global batch -- all ranks
  and accumulation steps -- so a run on 8 GPUs computes what one process computes on the same samples. (Qwen-VL
  models declare ``accepts_loss_kwargs = False``, which would otherwise average per-rank means.)
* :meth:`VidllmTrainer._get_train_sampler` -- length-grouped batches (``data.group_by_length``,
  :mod:`vidllm.data.sampler`), from lengths estimated without decoding a video.
* :meth:`VidllmTrainer.log` -- adds ``skipped_samples``, summed over ranks, to each log line.
* :meth:`VidllmTrainer.evaluate` -- with an ``evaluation:`` section, grounding metrics of the evaluation runner on a
  held-out file (:mod:`vidllm.train.grounding_eval`) instead of a loss over an eval dataset.
* :meth:`VidllmTrainer._save_checkpoint` -- writes each ``checkpoint-N`` into a staging folder and renames it into
  the run folder once complete (:mod:`vidllm.train.checkpoints`), so a kill while saving never leaves a
  half-written checkpoint that resuming would pick.
* :meth:`VidllmTrainer._save` -- writes checkpoints in the adapter's own format (``adapter.save``: LoRA adapter or
  full weights, time embedding and slots, tokenizer and processor, ``vidllm.json``) plus ``train_config.yaml``, so
  every checkpoint is a model the evaluation runner loads.
* :meth:`VidllmTrainer.create_model_card` / :meth:`VidllmTrainer._push_from_checkpoint` -- with
  ``trainer.push_to_hub``, the pushed run folder is a loadable vidllm model (``vidllm.json``, time modules, tokenizer)
  with vidllm's model card (:mod:`vidllm.train.publish`), not only the adapter weights.
* :meth:`VidllmTrainer._load_from_checkpoint` -- restores the time modules too when resuming without DeepSpeed
  (DeepSpeed's own checkpoint already holds every trainable parameter).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from transformers import Trainer
from transformers.loss.loss_utils import ForCausalLMLoss
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, rotate_checkpoints

from vidllm.config import save_config
from vidllm.data.batches import SKIPPED_KEY
from vidllm.models.checkpoint import META_FILE, MODULES_FILE
from vidllm.models.components.video_hook import attached
from vidllm.train.checkpoints import STAGING_DIR, publish

logger = logging.getLogger(__name__)

PARTS = ("llm", "vision", "projector", "time")
"""Parameter groups, each with its own learning rate."""

TRAIN_CONFIG_FILE = "train_config.yaml"
"""The full vidllm training config, written next to every saved model (sampling, time components, tuning)."""

# The projector, also inside peft's copy of a fully trained tower (visual.modules_to_save.default.merger...).
_PROJECTOR = re.compile(r"\.visual\.(?:.*\.)?(?:merger|deepstack_merger_list)\.")


def parameter_part(name: str) -> str:
    """Which part a parameter belongs to, from its full name (peft-wrapped or not).

    Returns:
        ``time`` (vidllm's time embedding and slots, and LoRA's time-token rows), ``projector`` (the vision tower's
        ``merger``), ``vision`` (the rest of the vision tower) or ``llm``.
    """
    dotted = f".{name}"
    if ".vidllm." in dotted or "trainable_tokens_delta" in name:
        return "time"
    if _PROJECTOR.search(dotted):
        return "projector"
    if ".visual." in dotted:
        return "vision"
    return "llm"


def answer_token_loss(outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
    """Next-token cross-entropy summed over the answer tokens, divided by the answer tokens of the global batch.

    Args:
        outputs: The model output (``logits`` of shape `(batch, seq, vocab)`).
        labels (`torch.LongTensor` of shape `(batch, seq)`): -100 outside the answers.
        num_items_in_batch: Answer tokens (after the shift) of the whole optimizer step, all ranks; ``None``: this
            batch's.

    Returns:
        The loss (a scalar tensor).
    """
    logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
    return ForCausalLMLoss(logits, labels, logits.shape[-1], num_items_in_batch=num_items_in_batch)


class VidllmTrainer(Trainer):
    """``transformers.Trainer`` for a vidllm adapter's model.

    Args:
        *args: As for ``Trainer``.
        adapter: The loaded adapter whose ``model`` is trained (its ``save`` writes the checkpoints).
        learning_rates: Learning rate of each of :data:`PARTS`.
        train_config: The vidllm training config, saved beside each checkpoint.
        grounding: A :class:`~vidllm.train.grounding_eval.GroundingEvaluator` that :meth:`evaluate` runs.
        **kwargs: As for ``Trainer``.
    """

    def __init__(
        self, *args, adapter, learning_rates: Mapping[str, float], train_config=None, grounding=None, **kwargs
    ):
        kwargs.setdefault("compute_loss_func", answer_token_loss)
        super().__init__(*args, **kwargs)
        missing = [p for p in PARTS if p not in learning_rates]
        if missing:
            raise ValueError(f"learning_rates lacks {missing}; give one for each of {PARTS}")
        self.adapter = adapter
        self.learning_rates = dict(learning_rates)
        self.train_config = train_config
        self.grounding = grounding
        self.skipped_records = 0
        self._staging = False

    # ------------------------------------------------------------------------------------------------ optimizer

    def _offloads_optimizer(self) -> bool:
        ds = getattr(self.args, "hf_deepspeed_config", None)
        if ds is None:
            return False
        offload = ds.config.get("zero_optimization", {}).get("offload_optimizer") or {}
        return offload.get("device") in ("cpu", "nvme")

    def parameter_groups(self, model) -> list[dict[str, Any]]:
        """The optimizer's groups: per part, with and without weight decay; empty groups left out."""
        decay = set(self.get_decay_parameter_names(model))
        buckets: dict[tuple[str, bool], list[torch.nn.Parameter]] = {}
        for name, param in model.named_parameters():
            if param.requires_grad:
                buckets.setdefault((parameter_part(name), name in decay), []).append(param)
        groups = []
        for (part, decays), params in sorted(buckets.items()):
            groups.append(
                {
                    "params": params,
                    "lr": self.learning_rates[part],
                    "weight_decay": self.args.weight_decay if decays else 0.0,
                }
            )
            logger.info(
                "optimizer group %s%s: %d tensors, %d parameters, lr %g",
                part,
                " (decay)" if decays else "",
                len(params),
                sum(p.numel() for p in params),
                self.learning_rates[part],
            )
        if not groups:
            raise ValueError("no trainable parameters; check the tuning section (tuning.mode, tuning.train_*)")
        return groups

    def create_optimizer(self, model=None) -> torch.optim.Optimizer:
        """AdamW (the ``optim.optimizer`` class) over :meth:`parameter_groups`."""
        if self.optimizer is not None:
            return self.optimizer
        model = self.model if model is None else model
        groups = self.parameter_groups(model)
        args = self.args
        if self._offloads_optimizer():
            from deepspeed.ops.adam import DeepSpeedCPUAdam

            self.optimizer = DeepSpeedCPUAdam(
                groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon,
                weight_decay=args.weight_decay, adamw_mode=True,
            )  # fmt: skip
            return self.optimizer
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(args, model)
        for key in ("params", "model", "optimizer_dict"):
            if key in optimizer_kwargs:
                raise ValueError(
                    f"optim.optimizer={args.optim!r} builds its own parameter groups, which would drop the per-part "
                    "learning rates; use an AdamW variant (adamw_torch, adamw_torch_fused, adamw_8bit...)"
                )
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def _get_train_sampler(self, train_dataset=None):
        """Length-grouped order when ``data.group_by_length`` applies (shuffled, batches of 2+); else Trainer's."""
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        data = getattr(self.train_config, "data", None)
        batch = self.args.per_device_train_batch_size
        if data is None or not (data.group_by_length and data.shuffle and batch > 1 and hasattr(dataset, "lengths")):
            return super()._get_train_sampler(train_dataset)
        from vidllm.data.sampler import LengthGroupedSampler

        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        logger.info("length-grouped batches: groups of %d samples (batch %d x %d processes)", batch *
                    self.args.world_size, batch, self.args.world_size)  # fmt: skip
        return LengthGroupedSampler(dataset.lengths(), batch * self.args.world_size, seed=seed)

    # ----------------------------------------------------------------------------------------------- loss, logs

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The model's loss; the batch's ``num_skipped`` is counted and removed first."""
        skipped = inputs.pop(SKIPPED_KEY, None)
        if skipped is not None:
            self.skipped_records += int(skipped)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add ``skipped_samples`` (records skipped so far, all ranks) to the training log lines."""
        if "loss" in logs:
            count = torch.tensor(self.skipped_records, device=self.args.device, dtype=torch.long)
            if self.args.world_size > 1:
                count = self.accelerator.reduce(count, reduction="sum")
            logs["skipped_samples"] = int(count.item())
        super().log(logs, start_time)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Grounding metrics on the held-out file (with ``grounding``), logged and passed to the callbacks as
        ``Trainer.evaluate`` does; without it, ``Trainer.evaluate``."""
        if self.grounding is None or eval_dataset is not None:
            return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        metrics = self.grounding.evaluate(self, metric_key_prefix)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    # ------------------------------------------------------------------------------------------ save and resume

    def _get_output_dir(self, trial) -> str:
        """The run folder; while a checkpoint is being written, its staging folder (``<run>/.saving``)."""
        run_dir = super()._get_output_dir(trial)
        return os.path.join(run_dir, STAGING_DIR) if self._staging else run_dir

    def _save_checkpoint(self, model, trial) -> None:
        """``Trainer``'s checkpoint (model, optimizer, scheduler, RNG, trainer state), written atomically.

        Every rank writes into ``<run>/.saving/checkpoint-N`` (DeepSpeed writes its shards from all ranks); once all
        are done the main process renames the folder to ``<run>/checkpoint-N`` and only then rotates old ones.
        """
        run_dir = Path(super()._get_output_dir(trial))
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staged = run_dir / STAGING_DIR / name
        if self.args.should_save and staged.exists():  # left by a run killed while saving this step
            shutil.rmtree(staged)
        self.accelerator.wait_for_everyone()
        self._staging = True
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging = False
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            publish(staged, run_dir / name)
            if self.state.best_model_checkpoint == str(staged):
                self.state.best_model_checkpoint = str(run_dir / name)
            rotate_checkpoints(output_dir=str(run_dir), save_total_limit=self.args.save_total_limit,
                               best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=True)  # fmt: skip
        self.accelerator.wait_for_everyone()

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Write the model in the adapter's format (``state_dict``: DeepSpeed's gathered weights) and the config."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        self.adapter.model = self.model
        self.adapter.save(output_dir, state_dict=state_dict or None)
        if self.train_config is not None:
            save_config(self.train_config, Path(output_dir) / TRAIN_CONFIG_FILE)
        torch.save(self.args, os.path.join(output_dir, "training_args.bin"))

    def create_model_card(self, **kwargs) -> None:
        """vidllm's model card (base, time components, sampling, recipe, the newest evaluation) in the run folder."""
        if not self.is_world_process_zero():
            return
        from vidllm.train.publish import latest_training_results, write_model_card

        out = Path(self.args.output_dir)
        write_model_card(out, repo_id=self.hub_model_id, results=latest_training_results(out))

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        """Copy the whole model of ``checkpoint_folder`` (not only its weights) into the run folder, write the card,
        then push as ``Trainer`` does."""
        if self.is_world_process_zero() and self.args.hub_strategy != "end":
            from vidllm.train.export import is_model_file

            for item in Path(checkpoint_folder).iterdir():
                if item.is_file() and is_model_file(item.name):
                    shutil.copy2(item, Path(self.args.output_dir) / item.name)
            if (Path(self.args.output_dir) / META_FILE).is_file():
                self.create_model_card()
        super()._push_from_checkpoint(checkpoint_folder)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        """Load the LoRA adapter (as ``Trainer`` does) or the full weights, then the time modules.

        Full weights go through ``from_pretrained``: ``save_pretrained`` writes the checkpoint's original key names
        (``model.layers.*``), which ``Trainer``'s non-strict ``load_state_dict`` would silently skip.
        """
        target = model if model is not None else self.model
        if hasattr(target, "peft_config"):
            super()._load_from_checkpoint(resume_from_checkpoint, model)
        else:
            load_full_weights(target, resume_from_checkpoint)
        modules_file = Path(resume_from_checkpoint) / MODULES_FILE
        if modules_file.is_file():
            state = load_file(str(modules_file))
            if state:
                attached(target).load_state_dict(state, strict=True)


def load_full_weights(model, folder: str | os.PathLike) -> None:
    """Load a ``save_pretrained`` folder's weights into ``model`` in place (all but vidllm's own modules).

    Raises:
        RuntimeError: When a weight of the model is not in the folder, or the folder has weights the model lacks.
    """
    param = next(model.parameters())
    fresh = type(model).from_pretrained(str(folder), dtype=param.dtype)
    missing, unexpected = model.load_state_dict(fresh.state_dict(), strict=False)
    missing = [k for k in missing if ".vidllm." not in f".{k}"]
    if missing or unexpected:
        raise RuntimeError(
            f"{folder} does not match the model being trained: missing {missing[:3]}, unexpected {unexpected[:3]}; "
            "resume with the same model.path and model components"
        )
    logger.info("loaded the full weights of %s", folder)
