"""Typed settings of ``vidllm quickstart`` (a YAML or ``key=value`` overrides set the same fields).

The defaults are the main job of the README: the time lab's variable time (each training sample at 1-2 fps, 8-24 s),
the slots model (sinusoidal time embedding, 8 slots per video: the variant that generalised best across rate and
length), its blind baseline and the constant span, scored in distribution and on four shifted suites; ~12 minutes on
2 CPU cores. ``ablation=[...]`` adds variants to the table (each costs one more training run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidllm.config import load_config
from vidllm.models.tiny import FAMILIES
from vidllm.quickstart.model import ScratchModelConfig
from vidllm.quickstart.variants import VARIANTS
from vidllm.synthetic.dataset import SyntheticDataConfig
from vidllm.train.rl.config import LOSS_TYPES


def default_scenes() -> SyntheticDataConfig:
    """8-24-s videos, each training sample at its own rate in 1-2 fps, with one event (a shape that is visible, or
    visible and pulsing) among 12 shape/colour pairs: the time lab's variable time."""
    return SyntheticDataConfig(
        duration=[8.0, 24.0], fps=[1.0, 2.0], num_events=[1, 1], kinds=["visible", "pulse"], event_length=[2.0, 8.0],
        tasks=["mr"],
    )  # fmt: skip


@dataclass
class TestSuites:
    """Held-out suites beyond the in-distribution one (default ``test.fps=[0.5,4] test.durations=[20,48]``; ``[]``:
    none).

    Attributes:
        fps: Rate-shift suites: videos of the training lengths, sampled at each of these rates.
        durations: Length-shift suites: videos of exactly each of these lengths (s), at the main ``fps``.
        combined: Also every ``fps`` x ``durations`` pair.
        videos: Videos per shifted suite (0: ``test_videos``).
    """

    fps: list[float] = field(
        default_factory=lambda: [0.5, 4.0], metadata={"help": "rate-shift suites (sampling rates)"}
    )
    durations: list[float] = field(default_factory=lambda: [20.0, 48.0],
                                   metadata={"help": "length-shift suites (seconds)"})  # fmt: skip
    combined: bool = field(default=False, metadata={"help": "also every fps x duration"})
    videos: int = field(default=0, metadata={"help": "videos per shifted suite (0: test_videos)"})

    def __post_init__(self):
        if any(not f > 0 for f in self.fps) or any(not d > 0 for d in self.durations) or self.videos < 0:
            raise ValueError(f"test.fps and test.durations must be > 0 and test.videos >= 0, got {self.fps}, "
                             f"{self.durations}, {self.videos}")  # fmt: skip


@dataclass
class QuickstartRL:
    """The RL stage (``rl.enabled=true``): the main model, once trained, continues on fresh synthetic samples (a stream
    of its own, seed ``seed + RL_SEED_OFFSET``) with GRPO (``method: grpo``, :mod:`vidllm.train.rl`) and, as the
    honest baseline, with more SFT for the same optimiser steps and the same sequences per step (``more_sft``).

    Attributes:
        enabled: Run the stage (rows ``<variant>+grpo`` and ``<variant>+sft`` in the summary).
        steps: GRPO optimiser steps.
        batch_size: Completions per GRPO step (``batch_size / num_generations`` prompts).
        num_generations: Completions per prompt (the group size).
        lr: Learning rate of the continuation (constant, no warm-up).
        temperature: Sampling temperature of the completions.
        top_p: Nucleus sampling mass.
        max_completion_length: Most new tokens per completion.
        rewards: Weight of each reward component (:data:`vidllm.rewards.COMPONENTS`).
        f1_threshold: tIoU threshold of the ``f1`` reward (it scores the ``tad`` questions, ``scenes.tasks=[mr,tad]``).
        loss_type: TRL's loss variant (``grpo``, ``dr_grpo``, ``dapo``, ``bnpo``).
        beta: KL coefficient against the SFT model (0: no reference model).
        num_iterations: Policy updates per generation batch.
        more_sft: Also continue the SFT model with supervised steps on the same fresh stream (the baseline).
        sft_steps: Steps of the more-SFT baseline, each of ``batch_size`` samples (0: ``steps``, i.e. as many
            optimiser steps and trained sequences as GRPO; GRPO also pays for sampling, so SFT gets less wall time).
        sft_lr: Learning rate of the more-SFT baseline (``null``: ``lr``).
        stream_seed: Seed of the stage's fresh stream (``null``: ``seed + RL_SEED_OFFSET``).
    """

    enabled: bool = field(default=False, metadata={"help": "run the RL stage (GRPO and more SFT)"})
    steps: int = field(default=100, metadata={"help": "GRPO steps"})
    batch_size: int = field(default=16, metadata={"help": "completions per GRPO step"})
    num_generations: int = field(default=4, metadata={"help": "completions per prompt (group size)"})
    lr: float = field(default=5e-5, metadata={"help": "learning rate of the continuation"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass"})
    max_completion_length: int = field(default=24, metadata={"help": "most new tokens per completion"})
    rewards: dict[str, float] = field(default_factory=lambda: {"tiou": 1.0, "format": 0.2},
                                      metadata={"help": "weight per reward component"})  # fmt: skip
    f1_threshold: float = field(default=0.5, metadata={"help": "tIoU threshold of the f1 reward"})
    loss_type: str = field(default="dapo", metadata={"help": "TRL loss variant", "choices": list(LOSS_TYPES)})
    beta: float = field(default=0.0, metadata={"help": "KL coefficient (0: no reference model)"})
    num_iterations: int = field(default=1, metadata={"help": "updates per generation batch"})
    more_sft: bool = field(default=True, metadata={"help": "also continue with more SFT (the baseline)"})
    sft_steps: int = field(default=0, metadata={"help": "more-SFT steps (0: steps)"})
    sft_lr: float | None = field(default=None, metadata={"help": "more-SFT learning rate (null: lr)"})
    stream_seed: int | None = field(default=None, metadata={"help": "seed of the fresh stream (null: seed + offset)"})

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or self.sft_steps < 0:
            raise ValueError(f"rl.steps and rl.batch_size must be >= 1 and rl.sft_steps >= 0, got {self.steps}, "
                             f"{self.batch_size}, {self.sft_steps}")  # fmt: skip
        if self.batch_size % self.num_generations:
            raise ValueError(
                f"rl.batch_size={self.batch_size} is not a multiple of rl.num_generations={self.num_generations}; "
                f"completions form whole groups (e.g. rl.batch_size={4 * self.num_generations})"
            )
        if not self.lr > 0 or (self.sft_lr is not None and not self.sft_lr > 0):
            raise ValueError(f"rl.lr and rl.sft_lr must be > 0, got {self.lr}, {self.sft_lr}")
        self.settings()  # the GRPO fields' own checks (group size, temperature, rewards, loss type), now

    def settings(self):
        """The :class:`~vidllm.train.rl.config.RLConfig` of the GRPO run."""
        from vidllm.train.rl.config import RLConfig

        return RLConfig(num_generations=self.num_generations, temperature=self.temperature, top_p=self.top_p,
                        max_completion_length=self.max_completion_length, beta=self.beta, loss_type=self.loss_type,
                        num_iterations=self.num_iterations, rewards=dict(self.rewards),
                        f1_threshold=self.f1_threshold)  # fmt: skip


@dataclass(frozen=True)
class Suite:
    """One held-out set: its name, the rate it is sampled at and its length range (s)."""

    name: str
    fps: float
    duration: tuple[float, float]


def suite_name(fps: float, duration: tuple[float, float]) -> str:
    """``"2fps_16s"``, ``"1.5fps_8-24s"``."""
    low, high = duration
    return f"{fps:g}fps_{low:g}s" if low == high else f"{fps:g}fps_{low:g}-{high:g}s"


@dataclass
class QuickstartConfig:
    """One quickstart run: benchmark, model, training budget, baselines and ablation.

    Attributes:
        output_dir: Everything goes here (model, held-out set, runs, evaluations, ``summary.md``).
        seed: Seeds the model, the training stream and the held-out set (each from its own stream).
        variant: Time components of the main model (:data:`vidllm.quickstart.variants.VARIANTS`).
        baselines: Also train the blind model (frames shuffled in time) and fit the best constant span.
        blind: With ``baselines``, train the blind model (``false``: the constant span only, e.g. to add suites to a
            finished run cheaply).
        blind_frames: How the blind model's frames hide time: ``shuffled`` or ``blank``.
        ablation: More variants to train and score with the same budget (``[all]``: every variant).
        scenes: What the videos and questions are (training stream and held-out sets alike; ``scenes.fps=[1,2]``
            draws a sampling rate per training sample, ``scenes.duration=[8,24]`` a length).
        fps: Frames per second the model sees (the in-distribution suite's rate; each training sample's when
            ``scenes.fps`` is empty).
        test_videos: Held-out videos of the in-distribution suite (written as mp4 with ground truth).
        test: Shifted held-out suites (rate, length, both); every trained model is evaluated on each.
        families: Model families (``qwen2_vl``, ``qwen2_5_vl``, ``qwen3_vl``): every run is repeated per family.
        seeds: Seeds to repeat everything with (``[]``: ``seed`` only); the summary gives mean and std.
        constant_fit_samples: Training questions the constant span is chosen on.
        model: Sizes of the from-scratch Qwen2-VL.
        steps: Optimiser steps per trained model (each step sees ``batch_size`` fresh samples).
        batch_size: Samples per step.
        lr: Peak learning rate.
        time_lr: Peak learning rate of what vidllm adds (time embedding, slots, time-token rows); ``null``: ``lr``.
        warmup_ratio: Fraction of the steps warming up (then linear decay to 0).
        workers: Data-loader processes rendering samples next to the training process.
        eval_batch_size: Questions per ``generate`` call in evaluation.
        rl: The RL stage (``rl.enabled=true``): the main model continued with GRPO and, as the baseline, with more
            SFT; both evaluated on every suite.
    """

    output_dir: str = field(default="quickstart_out", metadata={"help": "output folder"})
    seed: int = field(default=0, metadata={"help": "seed of everything"})
    variant: str = field(default="slots", metadata={"help": "main model's time components",
                                                 "choices": list(VARIANTS)})  # fmt: skip
    baselines: bool = field(default=True, metadata={"help": "blind model and constant span"})
    blind: bool = field(default=True, metadata={"help": "with baselines: train the blind model"})
    blind_frames: str = field(default="shuffled", metadata={"help": "blind model frames",
                                                            "choices": ["shuffled", "blank"]})  # fmt: skip
    ablation: list[str] = field(default_factory=list, metadata={"help": "more variants for the table, or [all]"})
    scenes: SyntheticDataConfig = field(default_factory=default_scenes)
    fps: float = field(default=1.5, metadata={"help": "frames per second the model sees"})
    test_videos: int = field(default=100, metadata={"help": "held-out videos"})
    test: TestSuites = field(default_factory=TestSuites)
    families: list[str] = field(default_factory=lambda: ["qwen2_vl"], metadata={"help": "model families",
                                                                               "choices": list(FAMILIES)})  # fmt: skip
    seeds: list[int] = field(default_factory=list, metadata={"help": "seeds to repeat with ([]: seed)"})
    constant_fit_samples: int = field(default=4000, metadata={"help": "training questions for the constant span"})
    model: ScratchModelConfig = field(default_factory=ScratchModelConfig)
    steps: int = field(default=1000, metadata={"help": "optimiser steps per model"})
    batch_size: int = field(default=32, metadata={"help": "samples per step"})
    lr: float = field(default=5e-4, metadata={"help": "peak learning rate"})
    time_lr: float | None = field(default=None, metadata={"help": "learning rate of the time modules (null: lr)"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "warm-up fraction"})
    workers: int = field(default=1, metadata={"help": "data-loader processes"})
    eval_batch_size: int = field(default=32, metadata={"help": "questions per generate call"})
    rl: QuickstartRL = field(default_factory=QuickstartRL)

    def __post_init__(self):
        if isinstance(self.scenes, dict):
            self.scenes = SyntheticDataConfig(**self.scenes)
        if isinstance(self.model, dict):
            self.model = ScratchModelConfig(**self.model)
        if isinstance(self.test, dict):
            self.test = TestSuites(**self.test)
        if isinstance(self.rl, dict):
            self.rl = QuickstartRL(**self.rl)
        bad_families = [f for f in self.families if f not in FAMILIES]
        if bad_families or not self.families or len(set(self.families)) < len(self.families):
            raise ValueError(f"families={self.families}: give distinct names of {', '.join(FAMILIES)}")
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
        if self.rl.enabled:
            from vidllm.rewards import TASK_COMPONENT

            scored = {TASK_COMPONENT[t] for t in self.scenes.tasks if t in TASK_COMPONENT} | {"format"}
            idle = sorted(k for k, w in self.rl.rewards.items() if w > 0 and k not in scored)
            if idle:
                raise ValueError(
                    f"rl.rewards {idle} score no question of scenes.tasks={self.scenes.tasks} (tiou: mr, f1: tad, "
                    f"highlight: vhd, dvc: dvc); drop them or add their task"
                )
        if not self.fps > 0 or not self.lr > 0:
            raise ValueError(f"fps and lr must be > 0, got fps={self.fps} lr={self.lr}")

    def suites(self) -> list[Suite]:
        """The held-out suites, the in-distribution one (``fps``, ``scenes.duration``) first."""
        trained = (float(self.scenes.duration[0]), float(self.scenes.duration[1]))
        pairs = [(self.fps, trained)]
        pairs += [(float(f), trained) for f in self.test.fps]
        pairs += [(self.fps, (float(d), float(d))) for d in self.test.durations]
        if self.test.combined:
            pairs += [(float(f), (float(d), float(d))) for f in self.test.fps for d in self.test.durations]
        suites: dict[str, Suite] = {}
        for fps, duration in pairs:
            suites.setdefault(suite_name(fps, duration), Suite(suite_name(fps, duration), fps, duration))
        return list(suites.values())

    def seed_list(self) -> list[int]:
        """The seeds to run (``seeds``, or ``[seed]``)."""
        return list(self.seeds) or [self.seed]

    def runs(self) -> list[tuple[str, str, str]]:
        """The models to train: ``(run name, variant, frames)``, the main model first."""
        runs = [(self.variant, self.variant, "real")]
        if self.baselines and self.blind:
            runs.append((f"blind_{self.variant}", self.variant, self.blind_frames))
        runs += [(v, v, "real") for v in self.ablation if v != self.variant]
        return runs


def load_quickstart_config(path: str | None = None, overrides=()) -> QuickstartConfig:
    """A :class:`QuickstartConfig` from a YAML file and ``key=value`` overrides (``rl=true``: ``rl.enabled=true``)."""

    def shorthand(override: str) -> str:
        key, _, value = override.partition("=")
        enable = key.strip() == "rl" and value.strip().lower() in ("true", "false")
        return f"rl.enabled={value}" if enable else override

    overrides = [shorthand(o) for o in overrides]
    return load_config(QuickstartConfig, path, overrides)
