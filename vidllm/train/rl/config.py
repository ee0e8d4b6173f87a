"""The ``rl:`` section of a training config: GRPO on TRL's ``GRPOTrainer`` with verifiable temporal rewards.

Set ``method: grpo`` in a training YAML; the model, data, tuning, optimisation, DeepSpeed and checkpoint sections
keep their meaning (``optim.batch_size`` is the completions per device per step, ``optim.max_steps`` the optimiser
steps). See ``docs/rl.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidllm.rewards import COMPONENTS

LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo")
"""TRL 1.x ``GRPOConfig.loss_type`` values offered: GRPO (per-sequence mean), Dr. GRPO (a global constant),
DAPO (token level over the global batch), BNPO (token level over the local batch)."""

SCALE_REWARDS = ("group", "batch", "none")


@dataclass
class RLConfig:
    """GRPO settings (``method: grpo``).

    Attributes:
        num_generations: Completions sampled per prompt (the group size ``G``).
        temperature: Sampling temperature of the completions.
        top_p: Nucleus sampling mass.
        top_k: Top-k sampling (0: off).
        max_completion_length: Most new tokens per completion.
        beta: KL coefficient against the reference (the starting) model; 0 drops the reference model.
        epsilon: PPO clip range (low side; also the high side unless ``epsilon_high`` is set).
        epsilon_high: Upper clip range (DAPO's clip-higher); ``null``: ``epsilon``.
        loss_type: TRL's loss aggregation (:data:`LOSS_TYPES`).
        scale_rewards: Advantage normalisation by the group's std (``group``), the batch's (``batch``) or none
            (``none``: Dr. GRPO).
        num_iterations: Policy updates per generation batch (GRPO's mu).
        rewards: Weight of each reward component (:data:`vidllm.rewards.COMPONENTS`); components with weight 0 are
            not computed.
        f1_threshold: tIoU threshold of the ``f1`` reward.
        highlight_min_score: GT saliency above this is a positive clip of the ``highlight`` reward.
        think: Time-R1's template: the question asks for ``<think>...</think><answer>...</answer>`` and rewards read
            the answer tag.
        skip_zero_variance: Leave groups whose rewards are all equal out of the loss (TVG-R1's difficulty control;
            their advantages are 0 anyway, but they still count in the token normalisation and the KL term); the
            count is logged as ``rl/skipped_groups``.
        use_vllm: Generate with vLLM through TRL (GPU only). Refused for now (:func:`vllm_refusal`): for good with
            the time embedding and slots, which vLLM's model classes lack; for stock models until TRL's vLLM
            backend passes videos.
        vllm_mode: ``colocate`` (vLLM in the training processes) or ``server`` (``trl vllm-serve``).
        log_completions: Log sampled completions with their rewards (TRL's table).
        eval_steps: Every this many steps, score greedy answers on held-out synthetic samples and log
            ``heldout/miou``, ``heldout/r1_5``, ``heldout/r1_7``, ``heldout/format`` (0: off; ``data.synthetic`` runs
            only -- a run on files is evaluated from its checkpoints with the evaluation runner).
        eval_samples: Held-out samples per evaluation.
        eval_seed: Seed of the held-out synthetic stream (not the training stream's).
    """

    num_generations: int = field(default=4, metadata={"help": "completions per prompt (group size)"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass"})
    top_k: int = field(default=0, metadata={"help": "top-k sampling (0: off)"})
    max_completion_length: int = field(default=64, metadata={"help": "most new tokens per completion"})
    beta: float = field(default=0.0, metadata={"help": "KL coefficient (0: no reference model)"})
    epsilon: float = field(default=0.2, metadata={"help": "clip range"})
    epsilon_high: float | None = field(default=None, metadata={"help": "upper clip range (null: epsilon)"})
    loss_type: str = field(default="dapo", metadata={"help": "TRL loss variant", "choices": list(LOSS_TYPES)})
    scale_rewards: str = field(
        default="group", metadata={"help": "advantage normalisation", "choices": list(SCALE_REWARDS)}
    )
    num_iterations: int = field(default=1, metadata={"help": "updates per generation batch"})
    rewards: dict[str, float] = field(
        default_factory=lambda: {"tiou": 1.0, "f1": 1.0, "highlight": 1.0, "dvc": 1.0, "format": 0.5},
        metadata={"help": "weight per reward component"},
    )
    f1_threshold: float = field(default=0.5, metadata={"help": "tIoU threshold of the f1 reward"})
    highlight_min_score: float = field(default=0.0, metadata={"help": "GT saliency above this is positive"})
    think: bool = field(default=False, metadata={"help": "Time-R1 <think>/<answer> template"})
    skip_zero_variance: bool = field(default=True, metadata={"help": "leave zero-variance groups out"})
    use_vllm: bool = field(default=False, metadata={"help": "generate with vLLM through TRL (GPU)"})
    vllm_mode: str = field(default="colocate", metadata={"help": "vLLM mode", "choices": ["colocate", "server"]})
    log_completions: bool = field(default=False, metadata={"help": "log completions with their rewards"})
    eval_steps: int = field(default=0, metadata={"help": "steps between held-out evaluations (0: off)"})
    eval_samples: int = field(default=32, metadata={"help": "held-out samples per evaluation"})
    eval_seed: int = field(default=99, metadata={"help": "seed of the held-out synthetic stream"})

    def __post_init__(self):
        if self.num_generations < 2:
            raise ValueError(
                f"rl.num_generations must be >= 2 (GRPO compares completions within a group), got "
                f"{self.num_generations}"
            )
        if self.temperature <= 0:
            raise ValueError(f"rl.temperature must be > 0 (sampling), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"rl.top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0 or self.max_completion_length < 1 or self.num_iterations < 1:
            raise ValueError(
                "rl.top_k must be >= 0 and rl.max_completion_length, rl.num_iterations >= 1; got "
                f"{self.top_k}, {self.max_completion_length}, {self.num_iterations}"
            )
        if self.beta < 0 or self.epsilon <= 0 or (self.epsilon_high is not None and self.epsilon_high < self.epsilon):
            raise ValueError(
                f"rl.beta must be >= 0, rl.epsilon > 0 and rl.epsilon_high >= rl.epsilon; got beta={self.beta}, "
                f"epsilon={self.epsilon}, epsilon_high={self.epsilon_high}"
            )
        unknown = sorted(set(self.rewards) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"rl.rewards: unknown components {unknown}; valid: {', '.join(COMPONENTS)}")
        bad = {k: v for k, v in self.rewards.items() if not v >= 0}
        if bad or not any(self.rewards.values()):
            raise ValueError(
                f"rl.rewards needs weights >= 0, at least one > 0; got {self.rewards} (e.g. {{tiou: 1, format: 0.5}})"
            )
        if not 0 < self.f1_threshold <= 1:
            raise ValueError(f"rl.f1_threshold must be in (0, 1], got {self.f1_threshold}")

    def active_rewards(self) -> dict[str, float]:
        """The components with a weight > 0, in :data:`~vidllm.rewards.COMPONENTS` order."""
        return {k: float(self.rewards[k]) for k in COMPONENTS if self.rewards.get(k, 0) > 0}


def vllm_refusal(model) -> str | None:
    """Why vLLM cannot generate for ``model`` (a :class:`~vidllm.models.config.ModelConfig`).

    vLLM runs its own model classes, which have none of vidllm's modules: the time embedding (added to the visual
    tokens) and the slots (which replace them) would be silently missing from the sampled completions -- refused for
    good. Time tokens (rows of the vocabulary, after ``vidllm export --merge``), frame text and NumPro are plain inputs
    vLLM could take, but TRL's vLLM backend passes no videos (:data:`VLLM_VIDEO`), so those are refused too until it
    does. Returns ``None`` only once that is lifted.
    """
    if model.time.time_embedding:
        return "model.time.time_embedding adds a learned embedding to the visual tokens, which vLLM's model lacks"
    if model.compression.enabled:
        return "model.compression (slots) replaces the visual tokens with learned slots, which vLLM's model lacks"
    return VLLM_VIDEO


VLLM_VIDEO = (
    "TRL's vLLM backend (TRL 1.16, trl/generation/vllm_generation.py) sends images only to vLLM "
    "(multi_modal_data 'image'), so the videos would not reach it; video prompts through vLLM are not implemented"
)
"""Why even a stock model is refused for now: what is missing is the video input of TRL's vLLM generation."""


def check_grpo(cfg) -> None:
    """Cross-section rules of ``method: grpo`` (a :class:`~vidllm.train.config.TrainConfig`).

    Raises:
        ValueError: vLLM asked for a model it cannot represent; an evaluation: section; a data mix by file.
    """
    rl = cfg.rl
    if cfg.evaluation is not None:
        raise ValueError(
            "the evaluation: section (grounding metrics during training) runs with method: sft; for method: grpo "
            "drop it and use rl.eval_steps (data.synthetic runs) or evaluate the checkpoints with vidllm eval"
        )
    if rl.use_vllm:
        reason = vllm_refusal(cfg.model)
        if reason:
            raise ValueError(f"rl.use_vllm=true is refused: {reason}; set rl.use_vllm=false (generate with the model)")
    if rl.eval_steps < 0 or rl.eval_samples < 1:
        raise ValueError(f"rl.eval_steps must be >= 0 and rl.eval_samples >= 1; got {rl.eval_steps}, {rl.eval_samples}"
                         )  # fmt: skip
    if rl.eval_steps and cfg.data.synthetic is None:
        raise ValueError(
            "rl.eval_steps evaluates on held-out synthetic samples, but the run reads data.files; set rl.eval_steps=0 "
            "and evaluate the checkpoints with the evaluation runner (vidllm eval)"
        )
    if rl.eval_steps and cfg.deepspeed and "zero3" in str(cfg.deepspeed):
        raise ValueError("rl.eval_steps generates without gathering ZeRO-3 shards; with zero3 set rl.eval_steps=0")
    if rl.think and rl.max_completion_length < 32:
        raise ValueError(
            f"rl.think=true asks for reasoning before the answer, but rl.max_completion_length="
            f"{rl.max_completion_length} leaves no room; raise it (Time-R1: 1024)"
        )
