"""Typed settings of ``vidllm quickstart`` (a YAML or ``key=value`` overrides set the same fields).

The defaults are the main job of the README: ~15 minutes on 2 CPU cores for the model, the blind baseline and the
constant-span baseline. ``ablation=[...]`` adds variants to the table (each costs one more training run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidllm.config import load_config
from vidllm.quickstart.model import ScratchModelConfig
from vidllm.quickstart.variants import VARIANTS
from vidllm.synthetic.dataset import SyntheticDataConfig


def default_scenes() -> SyntheticDataConfig:
    """16-s videos with one event (a shape that is visible, or visible and pulsing) among 12 shape/colour pairs."""
    return SyntheticDataConfig(
        duration=[16.0, 16.0], num_events=[1, 1], kinds=["visible", "pulse"], event_length=[2.0, 8.0], tasks=["mr"]
    )


@dataclass
class QuickstartConfig:
    """One quickstart run: benchmark, model, training budget, baselines and ablation.

    Attributes:
        output_dir: Everything goes here (model, held-out set, runs, evaluations, ``summary.md``).
        seed: Seeds the model, the training stream and the held-out set (each from its own stream).
        variant: Time components of the main model (:data:`vidllm.quickstart.variants.VARIANTS`).
        baselines: Also train the blind model (frames shuffled in time) and fit the best constant span.
        blind_frames: How the blind model's frames hide time: ``shuffled`` or ``blank``.
        ablation: More variants to train and score with the same budget (``[all]``: every variant).
        scenes: What the videos and questions are (training stream and held-out set alike).
        fps: Frames per second the model sees.
        test_videos: Held-out videos (written as mp4 with ground truth).
        constant_fit_samples: Training questions the constant span is chosen on.
        model: Sizes of the from-scratch Qwen2-VL.
        steps: Optimiser steps per trained model (each step sees ``batch_size`` fresh samples).
        batch_size: Samples per step.
        lr: Peak learning rate.
        time_lr: Peak learning rate of what vidllm adds (time embedding, slots, time-token rows); ``null``: ``lr``.
        warmup_ratio: Fraction of the steps warming up (then linear decay to 0).
        workers: Data-loader processes rendering samples next to the training process.
        eval_batch_size: Questions per ``generate`` call in evaluation.
    """

    output_dir: str = field(default="quickstart_out", metadata={"help": "output folder"})
    seed: int = field(default=0, metadata={"help": "seed of everything"})
    variant: str = field(default="time_embedding", metadata={"help": "main model's time components",
                                                          "choices": list(VARIANTS)})  # fmt: skip
    baselines: bool = field(default=True, metadata={"help": "blind model and constant span"})
    blind_frames: str = field(default="shuffled", metadata={"help": "blind model frames",
                                                            "choices": ["shuffled", "blank"]})  # fmt: skip
    ablation: list[str] = field(default_factory=list, metadata={"help": "more variants for the table, or [all]"})
    scenes: SyntheticDataConfig = field(default_factory=default_scenes)
    fps: float = field(default=2.0, metadata={"help": "frames per second the model sees"})
    test_videos: int = field(default=100, metadata={"help": "held-out videos"})
    constant_fit_samples: int = field(default=4000, metadata={"help": "training questions for the constant span"})
    model: ScratchModelConfig = field(default_factory=ScratchModelConfig)
    steps: int = field(default=750, metadata={"help": "optimiser steps per model"})
    batch_size: int = field(default=32, metadata={"help": "samples per step"})
    lr: float = field(default=5e-4, metadata={"help": "peak learning rate"})
    time_lr: float | None = field(default=None, metadata={"help": "learning rate of the time modules (null: lr)"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "warm-up fraction"})
    workers: int = field(default=1, metadata={"help": "data-loader processes"})
    eval_batch_size: int = field(default=32, metadata={"help": "questions per generate call"})

    def __post_init__(self):
        if isinstance(self.scenes, dict):
            self.scenes = SyntheticDataConfig(**self.scenes)
        if isinstance(self.model, dict):
            self.model = ScratchModelConfig(**self.model)
        if self.ablation == ["all"]:
            self.ablation = list(VARIANTS)
        bad = [v for v in [self.variant, *self.ablation] if v not in VARIANTS]
        if bad:
            raise ValueError(f"unknown variants {bad}; valid: {', '.join(VARIANTS)} (or ablation=[all])")
        if self.scenes.frames != "real":
            raise ValueError("scenes.frames must stay 'real'; the blind baseline is set by blind_frames")
        if "mr" not in self.scenes.tasks:
            raise ValueError(f"scenes.tasks={self.scenes.tasks}: the quickstart scores moment retrieval; include mr")
        if self.scenes.size != self.model.frame:
            raise ValueError(
                f"scenes.size={self.scenes.size} but model.frame={self.model.frame}; the frames are drawn at the size "
                "the model's processor keeps -- set both"
            )
        for name in ("test_videos", "steps", "batch_size", "eval_batch_size", "constant_fit_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.fps > 0 or not self.lr > 0:
            raise ValueError(f"fps and lr must be > 0, got fps={self.fps} lr={self.lr}")

    def runs(self) -> list[tuple[str, str, str]]:
        """The models to train: ``(run name, variant, frames)``, the main model first."""
        runs = [(self.variant, self.variant, "real")]
        if self.baselines:
            runs.append((f"blind_{self.variant}", self.variant, self.blind_frames))
        runs += [(v, v, "real") for v in self.ablation if v != self.variant]
        return runs


def load_quickstart_config(path: str | None = None, overrides=()) -> QuickstartConfig:
    """A :class:`QuickstartConfig` from a YAML file and ``key=value`` overrides."""
    return load_config(QuickstartConfig, path, overrides)
