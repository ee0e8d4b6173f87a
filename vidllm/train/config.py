"""The typed configuration of a training run: model, data, tuning, optimisation, DeepSpeed, checkpoints, logging.

A YAML file in ``train_configs/`` only sets fields of :class:`TrainConfig`; ``key=value`` overrides on the command
line set the same fields (``optim.lr=2e-4``, ``tuning.lora.r=64``, ``resume=true``). Every field carries a ``help``
text and, where the values are a closed set, its ``choices``; a wrong value is refused with the field's dotted name
and what is allowed (:func:`vidllm.config.load_config`). Cross-field rules live in the ``__post_init__`` methods.

>>> cfg = load_train_config("train_configs/tiny_cpu.yaml", ["optim.max_steps=4"])  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidllm.assets import asset_dir
from vidllm.config import load_config
from vidllm.data.load import FORMATS
from vidllm.eval.config import BENCHMARK_NAMES, EVAL_TASKS
from vidllm.models.config import LoraSettings, ModelConfig
from vidllm.synthetic.dataset import SyntheticDataConfig
from vidllm.train.rl.config import RLConfig

DEEPSPEED_DIR = asset_dir("deepspeed")
"""Where the shipped DeepSpeed JSON files live (package data; the checkout's ``configs/deepspeed/`` points there);
``deepspeed: zero2`` names ``zero2.json`` in it."""

SCHEDULERS = ("linear", "cosine", "cosine_with_min_lr", "constant", "constant_with_warmup", "polynomial")
VIDEO_BACKENDS = ("auto", "torchcodec", "pyav", "decord")


@dataclass
class DataConfig:
    """Instruction files, where the videos are, and how frames are sampled.

    Attributes:
        files: Instruction files (VTG-IT / TimeIT JSON, LLaMA-Factory sharegpt, vidllm records); concatenated.
        video_root: Folder the records' video paths are relative to.
        allow_outside_root: Accept video paths that lead outside ``video_root`` (absolute, ``..`` or through a
            symlink whose target is elsewhere, e.g. a linked dataset folder); refused by default, before the model
            loads, so a data file cannot point training at files elsewhere on the machine.
        format: File format (``auto`` detects it from the first item).
        strip_prefix: Leading part of the stored video paths to remove.
        use_arrow: Cache the checked records as Arrow and memory-map them (one copy for all data-loader workers).
        cache_dir: Where the Arrow caches go (default ``$VIDLLM_CACHE/records``).
        fps: Frames sampled per second (exclusive with ``num_frames``).
        num_frames: Frames spread evenly over the video (exclusive with ``fps``).
        max_frames: Most frames per video; a long video at ``fps`` is sampled more sparsely, never cut off.
        min_frames: Fewest frames a too-long sample may be thinned to; below it the sample is skipped.
        min_pixels: Smallest frame area after resizing (also the model's ``frame_min_pixels``).
        max_pixels: Largest frame area after resizing (also the model's ``frame_max_pixels``).
        max_length: Most tokens of one sample; longer samples drop frames evenly (never text or visual tokens).
        video_backend: Decoder of :func:`vidllm.video.read_frames`.
        num_workers: Data-loader worker processes per rank.
        shuffle: Shuffle the records each epoch (seeded; ``false`` keeps file order).
        group_by_length: Batch records of similar estimated length together (:mod:`vidllm.data.sampler`), which
            leaves each sample's loss unchanged and cuts the padding; used when shuffling with batches of 2 or more.
        max_consecutive_failures: After this many unusable records in a row the run stops with the last reason
            (a wrong ``video_root`` should not silently skip the whole data set).
        mix: Sampling weights per task (``{mr: 1, tad: 1}``) or, with ``mix_by: file``, per file of ``files``; each
            epoch then draws the groups at these ratios (:mod:`vidllm.data.mix`). ``null``: every record once.
        mix_by: What the keys of ``mix`` name: ``task`` or ``file`` (a file as listed, its name or its stem).
        synthetic: Draw fresh synthetic samples (:mod:`vidllm.synthetic.dataset`) instead of reading ``files``;
            frames are rendered at ``fps`` (``num_frames`` is not used).
    """

    files: list[str] = field(default_factory=list, metadata={"help": "instruction files (json / jsonl)"})
    video_root: str | None = field(default=None, metadata={"help": "folder the video paths are relative to"})
    allow_outside_root: bool = field(
        default=False, metadata={"help": "accept video paths leading outside video_root (absolute, '..', symlinks)"}
    )
    format: str = field(default="auto", metadata={"help": "instruction file format", "choices": list(FORMATS)})
    strip_prefix: str | None = field(default=None, metadata={"help": "leading part of stored video paths to drop"})
    use_arrow: bool = field(default=True, metadata={"help": "memory-mapped Arrow cache of the records"})
    cache_dir: str | None = field(default=None, metadata={"help": "Arrow cache folder"})
    fps: float | None = field(default=1.0, metadata={"help": "frames sampled per second"})
    num_frames: int | None = field(default=None, metadata={"help": "frames per video, spread evenly"})
    max_frames: int | None = field(default=96, metadata={"help": "most frames per video"})
    min_frames: int = field(default=4, metadata={"help": "fewest frames a too-long sample may be thinned to"})
    min_pixels: int | None = field(default=None, metadata={"help": "smallest frame area in pixels"})
    max_pixels: int | None = field(default=None, metadata={"help": "largest frame area in pixels"})
    max_length: int = field(default=8192, metadata={"help": "most tokens per sample"})
    video_backend: str = field(default="auto", metadata={"help": "video decoder", "choices": list(VIDEO_BACKENDS)})
    num_workers: int = field(default=4, metadata={"help": "data-loader workers per rank"})
    shuffle: bool = field(default=True, metadata={"help": "shuffle the records each epoch"})
    group_by_length: bool = field(default=True, metadata={"help": "batch records of similar length together"})
    max_consecutive_failures: int = field(default=64, metadata={"help": "unusable records in a row before stopping"})
    mix: dict[str, float] | None = field(default=None, metadata={"help": "sampling weights per task or file"})
    mix_by: str = field(default="task", metadata={"help": "what data.mix weights", "choices": ["task", "file"]})
    synthetic: SyntheticDataConfig | None = field(
        default=None, metadata={"help": "train on fresh synthetic samples instead of files (vidllm.synthetic)"}
    )

    def __post_init__(self):
        if self.fps is not None and self.num_frames is not None:
            raise ValueError(
                f"data.fps={self.fps} and data.num_frames={self.num_frames} both set; sample by one of them "
                "(set the other to null)"
            )
        if self.fps is None and self.num_frames is None:
            raise ValueError("data.fps and data.num_frames are both null; set one (e.g. data.fps=1.0)")
        if self.fps is not None and self.fps <= 0:
            raise ValueError(f"data.fps must be > 0, got {self.fps}")
        for name in ("num_frames", "max_frames", "min_frames", "max_length", "max_consecutive_failures"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"data.{name} must be >= 1, got {value}")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0, got {self.num_workers}")
        if isinstance(self.synthetic, dict):
            self.synthetic = SyntheticDataConfig(**self.synthetic)
        if self.synthetic is not None and self.fps is None:
            raise ValueError("data.synthetic renders frames at data.fps; set data.fps (e.g. 2.0), not num_frames")
        if self.min_pixels and self.max_pixels and self.min_pixels > self.max_pixels:
            raise ValueError(f"data.min_pixels={self.min_pixels} > data.max_pixels={self.max_pixels}")
        if self.mix is not None:
            from vidllm.data.mix import check_weights

            self.mix = check_weights(self.mix)


@dataclass
class LoraConfig:
    """LoRA on the language model's linear layers.

    Attributes:
        r: Rank.
        alpha: Scale numerator (the update is scaled by ``alpha / r``).
        dropout: Dropout on the LoRA input.
        targets: Short names of the language model's linear layers to adapt (never the vision tower's).
    """

    r: int = field(default=16, metadata={"help": "LoRA rank"})
    alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    targets: list[str] = field(
        default_factory=lambda: list(LoraSettings.modules),
        metadata={"help": "language-model linear layers to adapt, e.g. [q_proj, k_proj, v_proj, o_proj]"},
    )

    def __post_init__(self):
        if self.r < 1 or self.alpha < 1:
            raise ValueError(f"tuning.lora.r and tuning.lora.alpha must be >= 1, got r={self.r} alpha={self.alpha}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"tuning.lora.dropout must be in [0, 1), got {self.dropout}")
        if not self.targets:
            raise ValueError("tuning.lora.targets is empty; name at least one layer, e.g. [q_proj, v_proj]")


@dataclass
class TuningConfig:
    """What is trained.

    Attributes:
        mode: ``lora`` (adapters on the LLM) or ``full`` (the LLM's own weights).
        lora: LoRA settings (``mode: lora``).
        train_llm: Train the language model (its weights in ``full`` mode; LoRA is always trained in ``lora`` mode).
        train_vision: Train the vision tower (without the projector).
        train_projector: Train the vision-language projector (the ``merger``).
        train_time_modules: Train what vidllm adds: time embedding, slots and, with LoRA, the time-token rows.
    """

    mode: str = field(default="lora", metadata={"help": "lora or full", "choices": ["lora", "full"]})
    lora: LoraConfig = field(default_factory=LoraConfig)
    train_llm: bool = field(default=True, metadata={"help": "train the language model"})
    train_vision: bool = field(default=False, metadata={"help": "train the vision tower"})
    train_projector: bool = field(default=False, metadata={"help": "train the vision-language projector"})
    train_time_modules: bool = field(default=True, metadata={"help": "train time embedding, slots, time tokens"})

    def __post_init__(self):
        if self.mode == "lora" and not self.train_llm:
            raise ValueError(
                "tuning.mode=lora adapts the language model, but tuning.train_llm=false; "
                "use tuning.mode=full to train only the vision tower / projector"
            )

    def lora_settings(self, modules_to_save: Sequence[str] = ()) -> LoraSettings:
        """The adapter-level :class:`~vidllm.models.config.LoraSettings`."""
        lora = self.lora
        return LoraSettings(lora.r, lora.alpha, lora.dropout, tuple(lora.targets), tuple(modules_to_save))


@dataclass
class OptimConfig:
    """Optimiser, schedule, batch and precision.

    Attributes:
        lr: Learning rate of the language model (LoRA or full).
        vision_lr: Learning rate of the vision tower (``null``: ``lr``).
        projector_lr: Learning rate of the projector (``null``: ``lr``).
        time_lr: Learning rate of the time embedding, slots and time-token rows (``null``: ``lr``).
        weight_decay: AdamW weight decay (never on biases and norms).
        adam_beta1: AdamW beta1.
        adam_beta2: AdamW beta2.
        adam_epsilon: AdamW epsilon.
        optimizer: A Hugging Face ``optim`` name (``adamw_torch``, ``adamw_torch_fused``...); with ZeRO-Offload
            DeepSpeed's CPU Adam is used instead.
        scheduler: Learning-rate schedule.
        min_lr: Floor of ``cosine_with_min_lr`` (required by it, unused otherwise).
        warmup_ratio: Fraction of the steps spent warming up linearly.
        epochs: Passes over the data.
        max_steps: Optimiser steps (overrides ``epochs`` when > 0).
        batch_size: Samples per device per micro-batch.
        grad_accum: Micro-batches per optimiser step.
        max_grad_norm: Gradient clipping (0 disables).
        bf16: Mixed precision in bfloat16 (``null``: on for GPU/NPU, off on CPU).
        gradient_checkpointing: Recompute activations in the backward pass (less memory, ~20% slower).
        seed: Seed of the LoRA initialisation, data order and dropout.
    """

    lr: float = field(default=1e-4, metadata={"help": "learning rate of the LLM / LoRA"})
    vision_lr: float | None = field(default=None, metadata={"help": "learning rate of the vision tower"})
    projector_lr: float | None = field(default=None, metadata={"help": "learning rate of the projector"})
    time_lr: float | None = field(default=None, metadata={"help": "learning rate of the time components"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    adam_beta1: float = field(default=0.9, metadata={"help": "AdamW beta1"})
    adam_beta2: float = field(default=0.999, metadata={"help": "AdamW beta2"})
    adam_epsilon: float = field(default=1e-8, metadata={"help": "AdamW epsilon"})
    optimizer: str = field(default="adamw_torch", metadata={"help": "Hugging Face optim name"})
    scheduler: str = field(default="cosine", metadata={"help": "learning-rate schedule", "choices": list(SCHEDULERS)})
    min_lr: float | None = field(default=None, metadata={"help": "floor of cosine_with_min_lr"})
    warmup_ratio: float = field(default=0.03, metadata={"help": "fraction of steps warming up"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the data"})
    max_steps: int = field(default=-1, metadata={"help": "optimiser steps (overrides epochs when > 0)"})
    batch_size: int = field(default=1, metadata={"help": "samples per device per micro-batch"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimiser step"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm (0: off)"})
    bf16: bool | None = field(default=None, metadata={"help": "bfloat16 mixed precision (null: on GPU/NPU)"})
    gradient_checkpointing: bool = field(default=True, metadata={"help": "recompute activations in backward"})
    seed: int = field(default=42, metadata={"help": "seed of init, data order and dropout"})

    def __post_init__(self):
        for name in ("lr", "vision_lr", "projector_lr", "time_lr"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"optim.{name} must be > 0, got {value}")
        if self.scheduler == "cosine_with_min_lr" and self.min_lr is None:
            raise ValueError("optim.scheduler=cosine_with_min_lr needs optim.min_lr (e.g. 1e-5)")
        if self.min_lr is not None and not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"optim.min_lr must be in [0, optim.lr={self.lr}], got {self.min_lr}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"optim.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError(
                f"optim.batch_size and optim.grad_accum must be >= 1, got {self.batch_size} and {self.grad_accum}"
            )
        if self.max_steps <= 0 and self.epochs <= 0:
            raise ValueError(f"set optim.max_steps > 0 or optim.epochs > 0 (got {self.max_steps} and {self.epochs})")


@dataclass
class CheckpointConfig:
    """Where the run writes and how often it checkpoints.

    Attributes:
        output_dir: Run folder: the final model (loadable by ``vidllm.models`` / the evaluation runner), the
            ``checkpoint-N`` folders, ``train_config.yaml`` and logs.
        save_steps: Optimiser steps between checkpoints.
        save_total_limit: Most checkpoints kept (oldest deleted first; ``null`` keeps all).
        resume_from: A ``checkpoint-N`` folder to resume from (``null`` with ``resume: true``: the latest one in
            ``output_dir``).
    """

    output_dir: str = field(default="", metadata={"help": "run folder"})
    save_steps: int = field(default=500, metadata={"help": "optimiser steps between checkpoints"})
    save_total_limit: int | None = field(default=3, metadata={"help": "checkpoints kept (null: all)"})
    resume_from: str | None = field(default=None, metadata={"help": "checkpoint folder to resume from"})

    def __post_init__(self):
        if self.save_steps < 1:
            raise ValueError(f"checkpoint.save_steps must be >= 1, got {self.save_steps}")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ValueError(f"checkpoint.save_total_limit must be >= 1 or null, got {self.save_total_limit}")


@dataclass
class LoggingConfig:
    """Loss curves and run tracking.

    Attributes:
        steps: Optimiser steps between log lines.
        report_to: Trackers, any that ``transformers`` integrates (``tensorboard``, ``wandb``, ``mlflow``,
            ``trackio``, ``comet_ml``...; ``all``: every one installed); one that is not installed is skipped with a
            warning, an unknown name is refused when training starts.
        run_name: Name of the run in the trackers.
        level: Log level of the main process (other ranks log warnings only); ``debug`` adds transformers' info.
    """

    steps: int = field(default=10, metadata={"help": "optimiser steps between log lines"})
    report_to: list[str] = field(
        default_factory=lambda: ["tensorboard"], metadata={"help": "trackers transformers integrates (or [])"}
    )
    run_name: str | None = field(default=None, metadata={"help": "run name in the trackers"})
    level: str = field(default="info", metadata={"help": "log level", "choices": ["debug", "info", "warning"]})

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"logging.steps must be >= 1, got {self.steps}")


@dataclass
class EvaluationConfig:
    """Grounding metrics on a held-out file while training (:mod:`vidllm.train.grounding_eval`).

    When this section is set, ``trainer.eval_strategy`` (default ``steps``, every ``checkpoint.save_steps``) decides
    when; each evaluation runs :func:`vidllm.eval.runner.evaluate` on the model being trained, with the training
    sampling, and logs its metrics as ``eval_<metric>`` (``eval_R1@0.5``, ``eval_mIoU``...) next to the loss, so
    ``trainer.metric_for_best_model`` / ``load_best_model_at_end`` can use them. Samples and ``results.json`` of step N
    go to ``<output_dir>/eval/step-N``. ``trainer.per_device_eval_batch_size`` is the generation batch.

    Attributes:
        dataset: The benchmark the held-out file belongs to (decides how it is read and scored).
        gt_path: The held-out ground-truth file (the form ``vidllm score`` reads).
        video_root: Folder of its videos.
        video_template: A video's path under ``video_root`` (``{vid}``: the benchmark's video id).
        tasks: What to ask (``mr`` for moment retrieval).
        limit: Evaluate only the first N queries (keeps evaluation short).
        prompt_set: Named evaluation prompts.
        prompt: A custom question template (overrides ``prompt_set``).
        max_new_tokens: Longest answer in tokens.
        num_workers: Video decoding threads.
    """

    dataset: str = field(default="", metadata={"help": "benchmark of the held-out file",
                                               "choices": ["", *BENCHMARK_NAMES]})  # fmt: skip
    gt_path: str = field(default="", metadata={"help": "held-out ground-truth file"})
    video_root: str = field(default="", metadata={"help": "folder of its videos"})
    video_template: str = field(default="{vid}.mp4", metadata={"help": "video path under video_root"})
    tasks: list[str] = field(default_factory=lambda: ["mr"], metadata={"help": "tasks to ask"})
    limit: int | None = field(default=None, metadata={"help": "first N queries only"})
    prompt_set: str = field(default="timechat", metadata={"help": "evaluation prompt set"})
    prompt: str | None = field(default=None, metadata={"help": "custom question template"})
    max_new_tokens: int = field(default=256, metadata={"help": "longest answer in tokens"})
    num_workers: int = field(default=1, metadata={"help": "video decoding threads"})

    def __post_init__(self):
        bad = [t for t in self.tasks if t not in EVAL_TASKS]
        if bad or not self.tasks:
            raise ValueError(f"evaluation.tasks must be among {', '.join(EVAL_TASKS)}, got {self.tasks}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"evaluation.limit must be >= 1 (or null), got {self.limit}")


TRAINER_OWNED = {
    "output_dir": "checkpoint.output_dir",
    "per_device_train_batch_size": "optim.batch_size",
    "gradient_accumulation_steps": "optim.grad_accum",
    "num_train_epochs": "optim.epochs",
    "max_steps": "optim.max_steps",
    "learning_rate": "optim.lr",
    "lr_scheduler_type": "optim.scheduler",
    "lr_scheduler_kwargs": "optim.min_lr",
    "warmup_steps": "optim.warmup_ratio",
    "weight_decay": "optim.weight_decay",
    "adam_beta1": "optim.adam_beta1",
    "adam_beta2": "optim.adam_beta2",
    "adam_epsilon": "optim.adam_epsilon",
    "optim": "optim.optimizer",
    "max_grad_norm": "optim.max_grad_norm",
    "bf16": "optim.bf16",
    "activation_checkpointing": "optim.gradient_checkpointing",
    "gradient_checkpointing": "optim.gradient_checkpointing",
    "seed": "optim.seed",
    "logging_steps": "logging.steps",
    "report_to": "logging.report_to",
    "run_name": "logging.run_name",
    "log_level": "logging.level",
    "save_steps": "checkpoint.save_steps",
    "save_total_limit": "checkpoint.save_total_limit",
    "resume_from_checkpoint": "checkpoint.resume_from",
    "dataloader_num_workers": "data.num_workers",
    "train_sampling_strategy": "data.shuffle",
    "deepspeed": "deepspeed",
}
"""``TrainingArguments`` fields that vidllm's own groups set, and the vidllm field that sets each (``optim.lr`` also
sets the per-part learning rates); ``trainer:`` refuses them, naming that field."""

TRAINER_FIXED = {
    "remove_unused_columns": "the collator's video_timestamps / num_skipped are not forward() arguments",
    "label_names": "the loss reads the collator's labels",
    "hub_token": "train_config.yaml is saved in the run folder (and uploaded); log in with `hf auth login` or set "
    "HF_TOKEN",
}
"""``TrainingArguments`` fields vidllm's training needs at one value, with the reason."""


def trainer_fields() -> list[str]:
    """The names ``TrainingArguments`` takes (imports ``transformers``)."""
    from transformers import TrainingArguments

    return [f.name for f in dataclasses.fields(TrainingArguments) if f.init and not f.name.startswith("_")]


def check_trainer_section(section: Mapping[str, Any]) -> None:
    """Refuse a ``trainer:`` key that ``TrainingArguments`` does not have, or that a vidllm group sets.

    Raises:
        ValueError: One line naming the field and the close matches, or the vidllm field to set instead.
    """
    if not section:
        return
    known = trainer_fields()
    for name in section:
        if name in TRAINER_OWNED:
            raise ValueError(
                f"trainer.{name} is set by vidllm's {TRAINER_OWNED[name]}; setting both would conflict -- set "
                f"{TRAINER_OWNED[name]} only (remove trainer.{name})"
            )
        if name in TRAINER_FIXED:
            raise ValueError(f"trainer.{name} cannot be changed: {TRAINER_FIXED[name]}; remove it")
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(
                f"trainer.{name}: not a transformers TrainingArguments field{hint}; see "
                "https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments"
            )


@dataclass
class TrainConfig:
    """One training run.

    Attributes:
        model: The model and its time components (:class:`~vidllm.models.config.ModelConfig`).
        data: Instruction data and frame sampling.
        tuning: What is trained.
        optim: Optimiser, schedule, batch, precision.
        deepspeed: DeepSpeed config: a JSON path, or a shipped name (``zero2``, ``zero3``, ``zero2_offload``,
            ``zero3_offload`` in ``configs/deepspeed/``); ``null`` trains without DeepSpeed (DDP under torchrun).
        checkpoint: Output folder and checkpoints.
        logging: Logging and trackers.
        resume: Continue the latest checkpoint of ``checkpoint.output_dir`` (or ``checkpoint.resume_from``).
        evaluation: Grounding metrics on a held-out file during training (``null``: none).
        trainer: Any other ``transformers.TrainingArguments`` field, passed through as given (``eval_strategy``,
            ``torch_compile``, ``push_to_hub``, ``hub_model_id``, ``fsdp``...); checked against
            ``TrainingArguments`` when the config loads. Fields a vidllm group sets (:data:`TRAINER_OWNED`, e.g.
            ``learning_rate`` is ``optim.lr``) are refused here.
        method: ``sft`` (supervised, the answers of the data) or ``grpo`` (reinforcement learning with verifiable
            temporal rewards on TRL's ``GRPOTrainer``, configured by ``rl``; ``docs/rl.md``).
        rl: GRPO settings (``method: grpo``).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    deepspeed: str | None = field(default=None, metadata={"help": "DeepSpeed JSON path or shipped name"})
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    resume: bool = field(default=False, metadata={"help": "continue the latest checkpoint"})
    evaluation: EvaluationConfig | None = field(
        default=None, metadata={"help": "grounding metrics on a held-out file during training"}
    )
    trainer: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "other transformers TrainingArguments fields, passed through"}
    )
    method: str = field(default="sft", metadata={"help": "training method", "choices": ["sft", "grpo"]})
    rl: RLConfig = field(default_factory=RLConfig)

    def __post_init__(self):
        check_trainer_section(self.trainer)
        strategy = self.trainer.get("eval_strategy", "no")
        if strategy not in ("no", None) and self.evaluation is None:
            raise ValueError(
                f"trainer.eval_strategy={strategy} needs something to evaluate: add an evaluation: section (a "
                "held-out ground-truth file, see docs/training.md), or drop trainer.eval_strategy"
            )
        data, model = self.data, self.model
        for name in ("min_pixels", "max_pixels"):
            ours, theirs = getattr(data, name), getattr(model, f"frame_{name}")
            if ours is not None and theirs is not None and ours != theirs:
                raise ValueError(
                    f"data.{name}={ours} and model.frame_{name}={theirs} differ; the frames are read and encoded "
                    f"with one pixel budget -- set only data.{name}"
                )
        synthetic = self.data.synthetic
        if synthetic is not None and self.optim.max_steps <= 0 and synthetic.num_samples == 0:
            raise ValueError(
                "data.synthetic has no length of its own: set optim.max_steps (one fresh sample per slot) or "
                "data.synthetic.num_samples (samples per epoch)"
            )
        if self.deepspeed is not None:
            self.deepspeed_path()  # fail at load time, not after the model is built
        if self.method == "grpo":
            from vidllm.train.rl.config import check_grpo

            check_grpo(self)

    def deepspeed_path(self) -> Path | None:
        """The DeepSpeed JSON file (a shipped name resolved in ``configs/deepspeed/``).

        Raises:
            FileNotFoundError: When neither a file nor a shipped name.
        """
        if self.deepspeed is None:
            return None
        given = Path(self.deepspeed).expanduser()
        if given.is_file():
            return given
        shipped = DEEPSPEED_DIR / f"{self.deepspeed}.json"
        if shipped.is_file():
            return shipped
        names = sorted(p.stem for p in DEEPSPEED_DIR.glob("*.json"))
        raise FileNotFoundError(
            f"deepspeed={self.deepspeed!r} is neither a file nor a shipped config; use a JSON path or one of "
            f"{', '.join(names)}"
        )

    def check_runnable(self) -> None:
        """The checks that need real paths (skipped when shipped YAMLs are validated with placeholder paths).

        Raises:
            ValueError: When the model path, data files or output folder are not set.
        """
        if not self.model.path:
            raise ValueError("model.path is empty; set it to a local checkpoint folder (model.path=/models/...)")
        if not self.data.files and self.data.synthetic is None:
            raise ValueError(
                "data.files is empty; list the instruction files (data.files=[train.json]) or set data.synthetic"
            )
        if not self.checkpoint.output_dir:
            raise ValueError("checkpoint.output_dir is empty; set the run folder (checkpoint.output_dir=runs/x)")


def load_train_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a training YAML with ``key=value`` overrides into a checked :class:`TrainConfig`.

    Raises:
        vidllm.config.ConfigError: Naming the field and the allowed values.
    """
    return load_config(TrainConfig, path, overrides)
