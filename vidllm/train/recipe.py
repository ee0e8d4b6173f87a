"""The training recipe, in the order it runs: setup -> train -> save.

    vidllm train --config train_configs/tiny_cpu.yaml model.path=/tmp/tiny data.files=[train.jsonl]
    torchrun --nproc_per_node=8 -m vidllm.train --config train_configs/qwen2_5_vl_7b_lora_vtg_it.yaml

One process per device (``torchrun`` sets the ranks), Hugging Face ``Trainer`` on ``accelerate``, DeepSpeed ZeRO-2/3
(and their CPU-offload variants) from ``configs/deepspeed/``. The device is CUDA, an Ascend NPU when ``torch_npu``
is installed (backend ``hccl``), or the CPU (backend ``gloo``; DeepSpeed with ``DS_ACCELERATOR=cpu``).

:func:`setup` builds everything from a :class:`~vidllm.train.config.TrainConfig`:

0. the checks that need no model (:mod:`vidllm.train.preflight`: paths; the checkpoint to resume and its settings,
   :func:`resume_checkpoint`), so a mistake costs seconds, not a model load;
1. the ``TrainingArguments`` (:func:`training_arguments`) -- before the model, because they start the process group
   and tell ``from_pretrained`` to shard at load time under ZeRO-3;
2. the records (Arrow-cached, built once on the main process), checked against the video root and
   ``data.max_length`` -- still before the model;
3. the model through its adapter, with the time components, and what trains (:func:`build_adapter`,
   :func:`select_trainable`), then the dataset and collator (:func:`build_dataset`);
4. the :class:`~vidllm.train.trainer.VidllmTrainer`.

:func:`train` runs it (resuming the newest complete checkpoint with ``resume=true``); :func:`save` writes the final
model in the adapter's format plus ``train_config.yaml`` into ``checkpoint.output_dir``; :func:`cleanup` leaves the
process group.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidllm.data.batches import FrameSampling, VideoBatchCollator, VideoInstructionDataset
from vidllm.data.records import Record
from vidllm.train.config import TrainConfig, TuningConfig, load_train_config

logger = logging.getLogger(__name__)

BACKENDS = {"cuda": "nccl", "npu": "hccl", "cpu": "gloo"}
"""Process-group backend by device kind."""


@dataclass
class TrainJob:
    """Everything :func:`setup` built.

    Attributes:
        config: The training configuration.
        args: The Hugging Face ``TrainingArguments`` derived from it.
        adapter: The model adapter (its ``model`` is what trains).
        dataset: The training samples.
        trainer: The trainer.
        resume_from: The checkpoint folder training continues from, if any.
    """

    config: TrainConfig
    args: Any
    adapter: Any
    dataset: VideoInstructionDataset
    trainer: Any
    resume_from: str | None = None


# ----------------------------------------------------------------------------------------------------- 1. runtime


def device_kind() -> str:
    """``cuda``, ``npu`` (Ascend, through ``torch_npu``) or ``cpu``."""
    import torch

    from vidllm.models.runtime import npu_available

    if torch.cuda.is_available():
        return "cuda"
    if npu_available():
        return "npu"
    return "cpu"


def available_reporters(wanted: Sequence[str]) -> list[str]:
    """The trackers of ``wanted`` that are installed (``all``: every one installed); the others are dropped with a
    warning.

    Raises:
        ConfigError: A name ``transformers`` does not integrate.
    """
    from transformers.integrations.integration_utils import (
        INTEGRATION_TO_CALLBACK,
        get_available_reporting_integrations,
    )

    from vidllm.config import ConfigError

    if list(wanted) in (["all"], ["none"]):
        return list(wanted)
    unknown = [name for name in wanted if name not in INTEGRATION_TO_CALLBACK]
    if unknown:
        raise ConfigError(
            f"logging.report_to: {', '.join(unknown)} is not a tracker transformers integrates; use any of "
            f"{', '.join(INTEGRATION_TO_CALLBACK)}, all, or []"
        )
    installed = set(get_available_reporting_integrations()) | {"flyte", "kubeflow"}  # those two check themselves
    out = []
    for name in wanted:
        if name in installed:
            out.append(name)
        else:
            logger.warning("logging.report_to lists %s, which is not installed; pip install %s", name, name)
    return out


def training_arguments(cfg: TrainConfig, kind: str, cls=None, **fields: Any):
    """The ``TrainingArguments`` of ``cfg`` on a ``kind`` device (``cuda``, ``npu``, ``cpu``).

    vidllm's groups set the fields of :data:`~vidllm.train.config.TRAINER_OWNED`; the ``trainer:`` section sets any
    other field (it wins over the defaults chosen here: ``save_strategy``, ``dataloader_pin_memory``,
    ``ddp_backend``...). With an ``evaluation:`` section, evaluation defaults to every ``checkpoint.save_steps``.

    Creating them starts the distributed process group under ``torchrun`` and, with a ZeRO-3 DeepSpeed config,
    makes ``from_pretrained`` partition the weights while loading. ``cls`` is a ``TrainingArguments`` subclass
    (TRL's ``GRPOConfig`` for ``method: grpo``) and ``fields`` its own fields.

    Raises:
        ConfigError: ``TrainingArguments`` refuses the combination (its message, naming the ``trainer:`` keys).
    """
    from transformers import TrainingArguments

    from vidllm.config import ConfigError

    cls = cls or TrainingArguments

    o, d, ck, lg = cfg.optim, cfg.data, cfg.checkpoint, cfg.logging
    bf16 = o.bf16 if o.bf16 is not None else kind in ("cuda", "npu")
    reporters = available_reporters(lg.report_to)
    ds_path = cfg.deepspeed_path()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1  # set by torchrun
    extra: dict[str, Any] = {}
    if ds_path is not None and not distributed:
        single_process_group()
    if kind == "cpu" and ds_path is not None:
        extra["accelerator_config"] = {"use_configured_state": start_cpu_deepspeed()}
    elif kind == "cpu" and distributed:
        extra["use_cpu"] = True  # accelerate runs DDP over gloo on CPUs only when told so
    if cfg.evaluation is not None:
        extra.update(eval_strategy="steps", eval_steps=ck.save_steps)
    kwargs = dict(
        output_dir=ck.output_dir,
        per_device_train_batch_size=o.batch_size,
        gradient_accumulation_steps=o.grad_accum,
        num_train_epochs=o.epochs,
        max_steps=o.max_steps,
        learning_rate=o.lr,
        lr_scheduler_type=o.scheduler,
        lr_scheduler_kwargs={"min_lr": o.min_lr} if o.scheduler == "cosine_with_min_lr" else None,
        warmup_steps=o.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=o.weight_decay,
        adam_beta1=o.adam_beta1,
        adam_beta2=o.adam_beta2,
        adam_epsilon=o.adam_epsilon,
        optim=o.optimizer,
        max_grad_norm=o.max_grad_norm,
        bf16=bf16,
        activation_checkpointing=o.gradient_checkpointing,
        seed=o.seed,
        data_seed=o.seed,
        logging_steps=lg.steps,
        report_to=reporters or "none",
        run_name=lg.run_name,
        log_level="info" if lg.level == "debug" else "warning",  # transformers' own messages
        log_level_replica="warning",
        save_strategy="steps",
        save_steps=ck.save_steps,
        save_total_limit=ck.save_total_limit,
        dataloader_num_workers=d.num_workers,
        dataloader_persistent_workers=d.num_workers > 0,
        dataloader_pin_memory=kind == "cuda",
        train_sampling_strategy="random" if d.shuffle else "sequential",
        remove_unused_columns=False,  # video_timestamps / num_skipped are not in forward's signature
        label_names=["labels"],
        deepspeed=str(ds_path) if ds_path else None,
        ddp_backend=BACKENDS[kind] if distributed else None,
        # every trained parameter takes part in every step (batches without a video get a placeholder one)
        ddp_find_unused_parameters=False,
        **extra,
        **fields,
    )
    kwargs.update(cfg.trainer)  # checked against TrainingArguments' fields when the config loaded
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        given = ", ".join(f"trainer.{k}" for k in cfg.trainer) or "no trainer: keys"
        raise ConfigError(f"TrainingArguments refused the settings ({given}): {' '.join(str(e).split())}") from None


def single_process_group() -> None:
    """The environment of a one-process group, as ``torchrun --nproc_per_node=1`` would set it: DeepSpeed always
    runs in a process group and otherwise looks for MPI."""
    if "RANK" in os.environ:
        return
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))


def start_cpu_deepspeed() -> bool:
    """Start DeepSpeed on CPUs: its accelerator set to ``cpu`` and the process group on ``gloo``.

    ``TrainingArguments`` pass no backend to accelerate when DeepSpeed is on, which on a machine without GPUs leaves
    every process alone (world size 1). The shared ``PartialState`` is therefore created here, for DeepSpeed over
    gloo, and the arguments reuse it (``use_configured_state``).

    Returns:
        ``True``: a configured state was created.
    """
    os.environ.setdefault("DS_ACCELERATOR", "cpu")  # DeepSpeed picks its accelerator when imported
    from accelerate import PartialState

    os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"
    try:
        PartialState(backend="gloo")
    finally:
        del os.environ["ACCELERATE_USE_DEEPSPEED"]
    return True


def zero_stage(args) -> int:
    """The DeepSpeed ZeRO stage of ``args`` (0 without DeepSpeed)."""
    ds = getattr(args, "hf_deepspeed_config", None)
    return int(ds.config.get("zero_optimization", {}).get("stage", 0)) if ds is not None else 0


# ------------------------------------------------------------------------------------------------------- 2. model


def training_model_config(cfg: TrainConfig, args):
    """``cfg.model`` with the runtime of this process: device, dtype and the data's pixel budget.

    Under ZeRO-3 the weights load on the CPU and are partitioned onto the devices while loading; otherwise each rank
    loads straight onto its own device.
    """
    model = copy.deepcopy(cfg.model)
    if cfg.data.min_pixels is not None:
        model.frame_min_pixels = cfg.data.min_pixels
    if cfg.data.max_pixels is not None:
        model.frame_max_pixels = cfg.data.max_pixels
    if model.dtype == "auto":
        model.dtype = "bfloat16" if args.bf16 else "float32"
    model.device = "cpu" if zero_stage(args) == 3 else str(args.device)
    return model


def full_module_names(model, pattern: str) -> list[str]:
    """Full names of the modules of ``model`` whose name matches ``pattern`` (``re.search``)."""
    return [name for name, _ in model.named_modules() if re.search(pattern, name)]


def lora_modules_to_save(model, tuning: TuningConfig) -> list[str]:
    """Vision-side modules trained fully beside LoRA (saved in the adapter): the tower, or only the projector."""
    if tuning.train_vision:
        return full_module_names(model, r"(^|\.)visual$")
    if tuning.train_projector:
        return full_module_names(model, r"\.visual\.(merger|deepstack_merger_list\.\d+)$")
    return []


def select_trainable(adapter, tuning: TuningConfig) -> dict[str, int]:
    """Wrap with LoRA (``tuning.mode: lora``) and set ``requires_grad`` part by part.

    Returns:
        Trainable parameters per part (``llm``, ``vision``, ``projector``, ``time``).

    Raises:
        ValueError: Full fine-tuning asked of a LoRA folder.
    """
    from vidllm.train.trainer import PARTS, parameter_part

    is_lora = hasattr(adapter.model, "peft_config")
    if tuning.mode == "lora" and not is_lora:
        adapter.apply_lora(tuning.lora_settings(lora_modules_to_save(adapter.model, tuning)))
    elif tuning.mode == "full" and is_lora:
        raise ValueError(
            "tuning.mode=full but model.path is a LoRA folder; merge it first (vidllm export --merge) or use "
            "tuning.mode=lora"
        )
    wanted = {"llm": tuning.train_llm, "vision": tuning.train_vision, "projector": tuning.train_projector,
              "time": tuning.train_time_modules}  # fmt: skip
    counts = dict.fromkeys(PARTS, 0)
    for name, param in adapter.model.named_parameters():
        part = parameter_part(name)
        train = wanted[part]
        if tuning.mode == "lora" and part == "llm":
            train = "lora_" in name  # the base weights stay frozen
        elif tuning.mode == "lora" and part in ("vision", "projector"):
            train = train and "modules_to_save" in name  # peft's trained copy, not the original
        param.requires_grad_(train)
        counts[part] += param.numel() if train else 0
    logger.info("trainable parameters: %s", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return counts


def build_adapter(cfg: TrainConfig, args):
    """Load the model with its time components and make the configured parts trainable."""
    import torch

    from vidllm.models import load_model

    model_cfg = training_model_config(cfg, args)
    adapter = load_model(model_cfg, trainable=True)  # a folder, a Hub id or a run to resume from
    select_trainable(adapter, cfg.tuning)
    if zero_stage(args) == 0 and model_cfg.dtype != "float32":
        # Without DeepSpeed there are no fp32 master weights: keep the trained parameters in fp32 under autocast.
        for param in adapter.model.parameters():
            if param.requires_grad:
                param.data = param.data.to(torch.float32)
    return adapter


# -------------------------------------------------------------------------------------------------------- 3. data


class ConcatRecords(Sequence):
    """Several record sequences (lists or memory-mapped ``ArrowRecords``) read as one, without copying them."""

    def __init__(self, parts: Sequence[Sequence[Record]]):
        self.parts = [p for p in parts if len(p)]
        self.ends = []
        total = 0
        for part in self.parts:
            total += len(part)
            self.ends.append(total)

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def __getitem__(self, index: int) -> Record:
        if not -len(self) <= index < len(self):
            raise IndexError(f"record {index} of {len(self)}")
        index %= len(self)
        k = bisect_right(self.ends, index)
        return self.parts[k][index - (self.ends[k - 1] if k else 0)]


def load_training_records(cfg: TrainConfig, args) -> Sequence[Record]:
    """Read and check every file of ``data.files`` (the main process builds the Arrow caches, then the others map
    them)."""
    from vidllm.data.load import load_records

    d = cfg.data
    parts = []
    with args.main_process_first(local=False, desc="reading the instruction files"):
        for path in d.files:
            records, report = load_records(
                path,
                format=d.format,
                video_root=d.video_root,
                strip_prefix=d.strip_prefix,
                use_arrow=d.use_arrow,
                cache_dir=d.cache_dir,
            )
            parts.append(records)
    records = ConcatRecords(parts)
    logger.info("%d training records from %d files", len(records), len(d.files))
    if d.mix:  # MR + TAD (or any groups) at configured ratios
        from vidllm.data.mix import mix_records

        return mix_records(records, parts, d.files, d.mix, by=d.mix_by, seed=cfg.optim.seed)
    return records


def build_dataset(cfg: TrainConfig, adapter, records: Sequence[Record], *, distributed: bool):
    """The dataset and collator: frames read as ``data`` says, at the sizes the model's processor keeps."""
    d = cfg.data
    vp = adapter.processor.video_processor
    sampling = FrameSampling(
        fps=d.fps,
        num_frames=d.num_frames,
        max_frames=d.max_frames,
        min_pixels=adapter.config.frame_min_pixels,
        max_pixels=adapter.config.frame_max_pixels,
        size_multiple=vp.patch_size * vp.merge_size,
        backend=d.video_backend,
        threads=1 if d.num_workers > 0 else 0,
    )
    dataset = VideoInstructionDataset(
        records,
        adapter,
        sampling=sampling,
        video_root=d.video_root,
        max_length=d.max_length,
        min_frames=d.min_frames,
        max_consecutive_failures=d.max_consecutive_failures,
    )
    return dataset, VideoBatchCollator(adapter, ensure_video=distributed)


def build_synthetic_dataset(cfg: TrainConfig, adapter, args):
    """Fresh synthetic samples (``data.synthetic``): by default one per training slot, so no sample repeats."""
    from vidllm.synthetic.dataset import SyntheticInstructionDataset

    o = cfg.optim
    slots = max(o.max_steps, 1) * o.batch_size * o.grad_accum * args.world_size
    dataset = SyntheticInstructionDataset(cfg.data.synthetic, adapter, fps=cfg.data.fps, num_samples=slots)
    logger.info("synthetic data: %d fresh samples (%s frames)", len(dataset), cfg.data.synthetic.frames)
    return dataset, VideoBatchCollator(adapter, ensure_video=args.world_size > 1)


# ------------------------------------------------------------------------------------------------------ 4. resume


def resume_checkpoint(cfg: TrainConfig) -> str | None:
    """The checkpoint to continue from, or ``None`` for a fresh run (reads no weights).

    With ``resume: true`` the newest *complete* ``checkpoint-N`` is taken (:mod:`vidllm.train.checkpoints`); newer
    incomplete ones (a kill while saving) are passed over with a warning naming them. The checkpoint's saved
    settings are compared with ``cfg`` (:func:`~vidllm.train.checkpoints.check_resume_settings`).

    Raises:
        UserError: A fresh run (``resume: false``) would write over checkpoints already in ``output_dir``;
            ``checkpoint.resume_from`` is incomplete; the settings changed in a way resume cannot honour.
        FileNotFoundError: ``checkpoint.resume_from`` does not exist.
    """
    from vidllm.errors import UserError
    from vidllm.train.checkpoints import check_resume_settings, checkpoint_problem, newest_complete

    out = Path(cfg.checkpoint.output_dir)
    if cfg.checkpoint.resume_from:
        folder = Path(cfg.checkpoint.resume_from)
        if not folder.is_dir():
            raise FileNotFoundError(f"checkpoint.resume_from={folder}: no such folder")
        problem = checkpoint_problem(folder)
        if problem:
            raise UserError(
                f"checkpoint.resume_from={folder} is incomplete ({problem}; a run killed while saving?); pass "
                "another checkpoint-N, or resume=true to take the newest complete one"
            )
        check_resume_settings(folder, cfg)
        return str(folder)
    last, skipped = newest_complete(out)
    if not cfg.resume:
        if last is not None:
            raise UserError(
                f"{out} already holds {last.name}; continue it with resume=true, or choose another "
                "checkpoint.output_dir"
            )
        if skipped:
            raise UserError(
                f"{out} holds only incomplete checkpoints ({', '.join(p.name for p, _ in skipped)}: {skipped[0][1]}); "
                "resume=true starts over and saves over them, or choose another checkpoint.output_dir"
            )
        return None
    for folder, problem in skipped:
        logger.warning("skipping %s: %s (a run killed while saving?); resuming from %s", folder, problem,
                       last.name if last else "the beginning")  # fmt: skip
    if last is None:
        logger.warning("resume=true but %s holds no complete checkpoint yet; starting from the beginning", out)
        return None
    check_resume_settings(last, cfg)
    return str(last)


# --------------------------------------------------------------------------------------------------------- recipe


def setup(cfg: TrainConfig, *, callbacks: Sequence[Any] = ()) -> TrainJob:
    """Build the arguments, model, data and trainer of ``cfg``.

    Args:
        cfg: The training configuration.
        callbacks: Extra ``transformers.TrainerCallback`` objects.

    Returns:
        The :class:`TrainJob`.
    """
    if cfg.method == "grpo":  # reinforcement learning: vidllm.train.rl
        from vidllm.train.rl.recipe import setup as setup_grpo

        return setup_grpo(cfg, callbacks=callbacks)
    from transformers import set_seed

    from vidllm.train import preflight
    from vidllm.train.trainer import VidllmTrainer

    cfg.check_runnable()
    preflight.check_paths(cfg)  # before anything loads: one line naming every bad path
    resume_from = resume_checkpoint(cfg)
    kind = device_kind()
    args = training_arguments(cfg, kind)
    if args.push_to_hub:  # a LoRA run over a local base would load nowhere else
        from vidllm.train.publish import check_pushable_training

        check_pushable_training(cfg)
    logger.info(
        "device %s, %d process(es), DeepSpeed %s, bf16 %s",
        args.device,
        args.world_size,
        f"ZeRO-{zero_stage(args)}" if cfg.deepspeed else "off",
        args.bf16,
    )
    records = None
    if cfg.data.synthetic is None:  # read and checked before the model loads, so a bad file costs seconds
        records = load_training_records(cfg, args)
        preflight.check_records(cfg, records)
    grounding = None
    if cfg.evaluation is not None:  # the held-out file and its videos, checked before the model loads
        from vidllm.train.grounding_eval import GroundingEvaluator

        grounding = GroundingEvaluator(cfg)
    set_seed(cfg.optim.seed)  # LoRA and new modules start the same on every rank and every run
    adapter = build_adapter(cfg, args)
    if records is None:
        dataset, collator = build_synthetic_dataset(cfg, adapter, args)
    else:
        dataset, collator = build_dataset(cfg, adapter, records, distributed=args.world_size > 1)
    trainer = VidllmTrainer(
        model=adapter.model,
        args=args,
        train_dataset=dataset,
        eval_dataset=grounding.queries if grounding is not None else None,
        data_collator=collator,
        callbacks=list(callbacks),
        adapter=adapter,
        learning_rates=part_learning_rates(cfg.optim),
        train_config=cfg,
        grounding=grounding,
    )
    return TrainJob(cfg, args, adapter, dataset, trainer, resume_from)


def part_learning_rates(o) -> dict[str, float]:
    """The learning rate of each trained part (``optim.*_lr``, ``null``: ``optim.lr``)."""
    return {"llm": o.lr, "vision": o.vision_lr or o.lr, "projector": o.projector_lr or o.lr, "time": o.time_lr or o.lr}


def train(job: TrainJob):
    """Run the training loop (from ``job.resume_from`` when set); returns the ``TrainOutput``."""
    if job.resume_from:
        logger.info("resuming from %s", job.resume_from)
    return job.trainer.train(resume_from_checkpoint=job.resume_from)


def save(job: TrainJob) -> Path:
    """Write the final model (adapter format), ``train_config.yaml`` and ``trainer_state.json`` to the run folder
    (and, with ``trainer.push_to_hub``, upload it with a model card)."""
    out = Path(job.config.checkpoint.output_dir)
    if job.args.push_to_hub:  # trainer.push_to_hub: save, write vidllm's model card, upload the run folder
        job.trainer.save_state()
        job.trainer.push_to_hub(commit_message="End of training")
    else:
        job.trainer.save_model(str(out))
        job.trainer.save_state()
    if job.dataset.skipped:
        logger.info("records skipped in the main process: %s", dict(job.dataset.skipped))
    if job.args.should_save:
        logger.info("saved the trained model to %s", out)
    return out


def cleanup(job: TrainJob) -> None:
    """Leave the process group in order (every rank waits for the others), so no rank exits while others still talk
    to it; a no-op in a single process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def run(cfg: TrainConfig, *, callbacks: Sequence[Any] = ()) -> Path:
    """``setup`` -> ``train`` -> ``save`` -> ``cleanup``; returns the run folder."""
    job = setup(cfg, callbacks=callbacks)
    train(job)
    out = save(job)
    cleanup(job)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and ``key=value`` overrides."""
    parser.add_argument("--config", help="training YAML (train_configs/*.yaml)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. optim.lr=2e-4")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vidllm.train --config FILE [key=value ...]`` (also under ``torchrun``)."""
    parser = argparse.ArgumentParser(prog="vidllm.train", description="Train a time-aware video LLM.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    from vidllm.errors import run_command

    def start() -> int:
        cfg = load_train_config(args.config, args.overrides)
        rank = int(os.environ.get("RANK", "0"))
        logging.basicConfig(
            level=cfg.logging.level.upper() if rank == 0 else logging.WARNING,
            format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s",
        )
        run(cfg)
        return 0

    return run_command("vidllm.train", start)  # a user's mistake: one line per rank, no traceback
