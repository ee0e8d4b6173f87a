"""GRPO for vidllm adapters on TRL's ``GRPOTrainer``: the objective, advantages, clipping, KL and loss variants are
TRL's; vidllm supplies the videos, the prompts, the decoding and the rewards.

TRL's own multimodal path knows images only, so videos go through three places:

* ``rollout_func`` (TRL's documented generation hook, :class:`VideoRollout`): each prompt row is built by the
  adapter (``build_inputs`` with the row's sampled frames, in the run's time scheme and time components) and
  sampled with ``adapter.generate_output``; the row's :class:`~vidllm.rewards.Target` rides along as an extra field
  the reward functions receive.
* :meth:`VideoGRPOTrainer._get_per_token_logps_and_entropies` -- the same forward as TRL's (``fused_lm_head``,
  completion-only labels, chunks of ``batch_size``), plus the rows' video fields (pixels, grids, frame times,
  ``second_per_grid_ts``). ``tests/train/test_grpo.py`` checks that it gives TRL's log-probabilities and loss on
  identical inputs.
* :meth:`VideoGRPOTrainer._generate_and_score_completions` -- TRL's, plus a row index that follows TRL's shuffles
  and splits so the loss forward finds each row's video, and the zero-variance group filter (``rl/skipped_groups``).

Checkpoints are written as every vidllm run writes them (:class:`~vidllm.train.trainer.VidllmTrainer`: adapter
format, atomic ``checkpoint-N``, per-part learning rates), so a GRPO run evaluates like an SFT run.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from trl import GRPOTrainer
from trl.models import unwrap_model_for_generation

from vidllm.data.batches import Clip
from vidllm.models.inputs import CONCAT_KEYS
from vidllm.rewards import RewardSettings, Target, score_answer
from vidllm.train.rl.evaluate import generation_sample
from vidllm.train.trainer import VidllmTrainer

logger = logging.getLogger(__name__)

ROW_KEY = "vidllm_index"
"""Dataset column: the row's index in its prompt source."""
TARGET_KEY = "vidllm_target"
"""Extra rollout field: the row's :class:`~vidllm.rewards.Target` as a dict (what the rewards read)."""
_ORDER_KEY = "vidllm_row"  # position of a row in its generation batch, through TRL's shuffle and split
PER_TOKEN_KEYS = ("mm_token_type_ids",)
VISION_TOKENS = ("<|video_pad|>", "<|image_pad|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<video>",
                 "<image>")  # fmt: skip


# ---------------------------------------------------------------------------------------------------- rewards


class RewardFunctions:
    """TRL reward functions, one per weighted component of ``rl.rewards``, scoring each completion once.

    Each function is named after its component (TRL logs ``rewards/<name>/mean`` and ``/std``) and returns ``None``
    for rows whose task it does not apply to. Also logged per batch: ``rl/tiou`` (mean first-interval IoU of the
    ``mr`` rows), ``rl/format_pass`` and ``rl/unparsed`` (fractions of the completions).

    Args:
        scheme_of: ``fps -> TimeScheme`` of the run (the ``frames`` scheme depends on the sampling rate).
        weights: Component -> weight (components with weight 0 left out).
        settings: How the answers are read.
    """

    def __init__(self, scheme_of: Callable[[float | None], Any], weights: dict[str, float], settings: RewardSettings):
        self.scheme_of = scheme_of
        self.weights = dict(weights)
        self.settings = settings
        self._completions: Sequence | None = None
        self._scores: list = []
        self.unparsed = 0
        self.scored = 0

    def functions(self) -> list[Callable[..., list[float | None]]]:
        """The TRL reward functions, in the order of :attr:`weights`."""
        return [self._function(name) for name in self.weights]

    def _function(self, name: str):
        def reward(prompts, completions, **kwargs) -> list[float | None]:
            return [s.rewards[name] for s in self.score(completions, kwargs[TARGET_KEY], kwargs.get("log_metric"))]

        reward.__name__ = name
        return reward

    def score(self, completions: Sequence, targets: Sequence[dict], log_metric=None) -> list:
        """Every completion's :class:`~vidllm.rewards.Scored` (computed once per batch)."""
        if completions is self._completions:  # the same batch, asked by the next reward function
            return self._scores
        texts = [_completion_text(c) for c in completions]
        scores = []
        for text, raw in zip(texts, targets, strict=True):
            target = Target.from_dict(raw)
            scores.append(score_answer(text, target, self.scheme_of(target.fps), self.settings))
        self._completions, self._scores = completions, scores  # held, so its identity is not reused
        unparsed = sum(not s.parsed for s in scores)
        self.unparsed += unparsed
        self.scored += len(scores)
        if log_metric is not None and scores:
            log_metric("rl/unparsed", unparsed / len(scores))
            log_metric("rl/format_pass", sum(s.rewards["format"] == 1.0 for s in scores) / len(scores))
            ious = [s.iou for s in scores if s.iou is not None]
            if ious:
                log_metric("rl/tiou", sum(ious) / len(ious))
        return scores


def _completion_text(completion) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):  # conversational
        return str(completion[-1].get("content") or "")
    return ""


# --------------------------------------------------------------------------------------------------- rollout


class VideoRollout:
    """TRL ``rollout_func``: builds each row with the adapter and samples one completion per row.

    Args:
        adapter: The loaded adapter whose model trains.
        source: ``index -> (record, clip)`` of the prompt rows.
        think: Ask for Time-R1's ``<think>``/``<answer>`` template.
    """

    def __init__(self, adapter, source: Callable[[int], tuple[Any, Clip | None]], *, think: bool):
        self.adapter = adapter
        self.source = source
        self.think = think

    def build(self, index: int) -> tuple[dict[str, torch.Tensor], dict]:
        """The generation inputs of row ``index`` and its target (as a dict)."""
        record, clip = self.source(index)
        sample, target = generation_sample(self.adapter, record, clip, think=self.think)
        return sample, target.to_dict()

    def placeholder_ids(self) -> list[int]:
        """The vocabulary ids of the visual placeholder and wrapper tokens (never sampled)."""
        tokenizer = self.adapter.processor.tokenizer
        names = {self.adapter.video_placeholder, *VISION_TOKENS}
        ids = {tokenizer.convert_tokens_to_ids(n) for n in names if n}
        return sorted(i for i in ids if i is not None and i != tokenizer.unk_token_id)

    def __call__(self, prompts: list, trainer: VideoGRPOTrainer) -> dict[str, list]:
        rows = trainer.batch_rows
        if len(rows) != len(prompts):
            raise RuntimeError(f"{len(prompts)} prompts but {len(rows)} row indices: the index column is lost")
        built: dict[int, tuple[dict, dict]] = {}
        for index in rows:
            if index not in built:
                built[index] = self.build(index)
        samples = [built[i][0] for i in rows]
        batch = self.adapter.collate(samples, padding_side="left")
        length = batch["input_ids"].shape[1]
        tokenizer = self.adapter.processor.tokenizer
        sampling = {
            "do_sample": True,
            "temperature": trainer.temperature,
            "top_p": trainer.top_p,
            "top_k": trainer.top_k or None,
            "max_new_tokens": trainer.max_completion_length,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": trainer.eos_token_ids,
            "suppress_tokens": self.placeholder_ids(),  # a sampled placeholder would not match the visual features
        }
        with unwrap_model_for_generation(
            trainer.model_wrapped,
            trainer.accelerator,
            gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
            gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
        ):
            out = self.adapter.generate_output(batch, **sampling)
        sequences = out.sequences if hasattr(out, "sequences") else out
        completion_ids = [_until_eos(row.tolist(), trainer.eos_token_ids) for row in sequences[:, length:].cpu()]
        trainer.batch_videos = [_video_fields(s) for s in samples]
        return {
            "prompt_ids": [s["input_ids"][0].tolist() for s in samples],
            "completion_ids": completion_ids,
            "logprobs": None,
            TARGET_KEY: [built[i][1] for i in rows],
        }


def _until_eos(ids: list[int], eos: Sequence[int]) -> list[int]:
    """The completion up to and including its first EOS (what TRL keeps of a ``generate`` output)."""
    for k, t in enumerate(ids):
        if t in eos:
            return ids[: k + 1]
    return ids


def logits_logps(logits: torch.Tensor, labels: torch.Tensor, temperature: float, entropy: bool = True):
    """Per-token log-probabilities of ``labels`` (and the entropies) from full logits: what TRL's fused LM head
    returns, computed the plain way (for heads it cannot read).

    Args:
        logits: `(batch, seq, vocab)`.
        labels: `(batch, seq)`, ``-100`` where not scored.
        temperature: The sampling temperature the logits are divided by.
        entropy: Also return the entropies.

    Returns:
        ``(log_probs, entropies)`` of shape `(batch, seq - 1)` as TRL's ``FusedCausalLMOutput`` has them: position
        ``t`` scores ``labels[t + 1]`` from the logits at ``t``; unscored positions are 0.
    """
    logp = torch.log_softmax(logits[:, :-1].float() / temperature, dim=-1)
    target = labels[:, 1:]
    valid = target != -100
    token = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1) * valid
    ent = None
    if entropy:
        ent = -(logp.exp() * logp).sum(-1) * valid
    return token, ent


def _video_fields(sample: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in sample.items() if k in CONCAT_KEYS or k in PER_TOKEN_KEYS}


# --------------------------------------------------------------------------------------------------- trainer


class _VidllmInit(VidllmTrainer):
    """Passes the vidllm arguments set before ``GRPOTrainer.__init__`` on to :class:`VidllmTrainer` (which TRL's
    ``__init__`` reaches through ``super()`` without them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, **self._vidllm_kwargs)


class VideoGRPOTrainer(GRPOTrainer, _VidllmInit):
    """TRL's ``GRPOTrainer`` on a vidllm adapter (see the module docstring).

    Args:
        adapter: The loaded adapter (``adapter.model`` trains; LoRA already applied by the recipe).
        source: ``index -> (record, clip)`` of the dataset's rows (column ``vidllm_index``).
        rewards: The reward functions.
        learning_rates: Per-part learning rates (:class:`~vidllm.train.trainer.VidllmTrainer`).
        train_config: The vidllm config saved beside each checkpoint.
        skip_zero_variance: Leave groups whose rewards are all equal out of the loss.
        think: Ask for Time-R1's template.
        heldout: ``() -> HeldOut`` scores of held-out samples, logged every ``heldout_steps`` steps.
        heldout_steps: Steps between held-out evaluations (0: none).
        **kwargs: ``args`` (a ``GRPOConfig``), ``train_dataset``, ``callbacks`` as for ``GRPOTrainer``.
    """

    def __init__(self, *, adapter, source, rewards: RewardFunctions, learning_rates, train_config=None,
                 skip_zero_variance: bool = True, think: bool = False, heldout=None, heldout_steps: int = 0,
                 **kwargs):  # fmt: skip
        self._vidllm_kwargs = {"adapter": adapter, "learning_rates": learning_rates, "train_config": train_config}
        self.rewards = rewards
        self.skip_zero_variance = skip_zero_variance
        self.batch_rows: list[int] = []
        self.batch_videos: list[dict[str, torch.Tensor]] | None = None
        self._rows: torch.Tensor | None = None  # rows of the current loss forward (None: the batch in order)
        self.skipped_groups = 0
        self.heldout = heldout  # () -> vidllm.train.rl.evaluate.HeldOut, or None
        self.heldout_steps = heldout_steps
        self._fused_head: bool | None = None
        with warnings.catch_warnings():  # TRL marks rollout_func experimental; it is the generation hook we need
            warnings.filterwarnings("ignore", message="You are using 'rollout_func'")
            super().__init__(
                model=adapter.model,
                reward_funcs=rewards.functions(),
                processing_class=adapter.processor.tokenizer,  # decodes the completions; videos are ours
                rollout_func=VideoRollout(adapter, source, think=think),
                **kwargs,
            )

    # ------------------------------------------------------------------------------------- generation + scoring

    def _generate_and_score_completions(self, inputs):
        self.batch_rows = [int(x[ROW_KEY]) for x in inputs]
        self._rows = None
        output = super()._generate_and_score_completions(inputs)
        n = output["completion_ids"].shape[0]
        output[_ORDER_KEY] = torch.arange(n, device=output["completion_ids"].device)
        if self.skip_zero_variance:
            self._skip_flat_groups(output)
        return output

    def _skip_flat_groups(self, output: dict) -> None:
        """Mask the completions of groups whose advantages are all 0 (equal rewards) and log how many groups."""
        mode = "train" if self.model.training else "eval"
        g = self.num_generations if mode == "train" else self.num_generations_eval
        advantages = self.accelerator.gather(output["advantages"])
        flat = (advantages.view(-1, g) == 0).all(dim=1)
        per_row = flat.repeat_interleave(g)
        n = output["advantages"].shape[0]
        local = per_row[self.accelerator.process_index * n : (self.accelerator.process_index + 1) * n]
        keep = (~local).unsqueeze(1).to(output["completion_mask"].dtype)
        output["completion_mask"] = output["completion_mask"] * keep
        output["num_items_in_batch"] = self.accelerator.gather(output["completion_mask"].sum()).sum()  # all ranks
        count = int(flat.sum().item())
        self.skipped_groups += count
        self._metrics[mode]["rl/skipped_groups"].append(float(count))

    # ------------------------------------------------------------------------------------------ loss forward

    def _compute_loss(self, model, inputs):
        self._rows = inputs.get(_ORDER_KEY)
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self._rows = None

    def _video_inputs(self, rows: Sequence[int], prompt_length: int, completion_length: int) -> dict[str, Any]:
        """The video fields of ``rows`` batched as the adapter's collate batches them; per-token fields left-padded
        to the prompt and extended with zeros over the completion (as TRL extends ``mm_token_type_ids``)."""
        videos = [self.batch_videos[r] for r in rows]
        out: dict[str, Any] = {}
        device = self.accelerator.device
        for key in CONCAT_KEYS:
            parts = [v[key] for v in videos if key in v]
            if parts:
                out[key] = torch.cat(parts, dim=0).to(device)
        for key in PER_TOKEN_KEYS:
            if any(key in v for v in videos):
                rows_ = []
                for v in videos:
                    row = v[key].reshape(-1)
                    pad = row.new_zeros(prompt_length - row.shape[0])
                    rows_.append(torch.cat([pad, row, row.new_zeros(completion_length)]))
                out[key] = torch.stack(rows_).to(device)
        return out

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
                                           compute_entropy=False, compute_aux_loss=False, **multimodal):  # fmt: skip
        """TRL's forward (``fused_lm_head``, completion-only labels, chunks), with the rows' video fields."""
        if not self.batch_videos:
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size, compute_entropy, compute_aux_loss,
                **multimodal,
            )  # fmt: skip
        rows = list(range(input_ids.size(0))) if self._rows is None else self._rows.tolist()
        batch_size = batch_size or input_ids.size(0)
        prompt_length = input_ids.size(1) - logits_to_keep
        all_logps, all_entropies, all_aux = [], [], []
        for start in range(0, input_ids.size(0), batch_size):
            end = min(start + batch_size, input_ids.size(0))
            ids, mask = input_ids[start:end], attention_mask[start:end]
            model_inputs = {"input_ids": ids, "attention_mask": mask}
            model_inputs.update(self._video_inputs(rows[start:end], prompt_length, logits_to_keep))
            if compute_aux_loss:
                model_inputs["output_router_logits"] = True
            labels = ids.masked_fill(mask == 0, -100)
            labels[:, :-logits_to_keep] = -100
            with self.accelerator.autocast():
                if self.fused_head:
                    outputs = model(**model_inputs, labels=labels, fused_lm_head=True)
                    logps, entropy = outputs.log_probs, outputs.entropy
                else:
                    outputs = model(**model_inputs, use_cache=False)
                    logps, entropy = logits_logps(outputs.logits, labels, self.temperature, compute_entropy)
            all_logps.append(logps[:, -logits_to_keep:])
            if compute_entropy:
                all_entropies.append(entropy[:, -logits_to_keep:])
            if compute_aux_loss:
                all_aux.append(outputs.aux_loss)
        logps = torch.cat(all_logps, dim=0)
        entropies = torch.cat(all_entropies, dim=0) if compute_entropy else None
        aux = torch.stack(all_aux).mean() if compute_aux_loss else None
        return logps, entropies, aux

    @property
    def fused_head(self) -> bool:
        """Whether TRL's fused LM head can score this model: it runs ``model.base_model`` (the backbone of a stock
        Hugging Face class; not of every vidllm family) and reads ``lm_head.weight`` and ``.bias`` directly, which
        peft's trainable-token wrapper (LoRA with time tokens) does not expose -- nor would its delta rows count."""
        if self._fused_head is None:
            model = self.accelerator.unwrap_model(self.model)
            head = model.get_output_embeddings()
            base = model.get_base_model() if hasattr(model, "get_base_model") else model
            backbone = getattr(base, "base_model", None)  # what the fused head runs (vidllm's own classes: not always)
            self._fused_head = (
                hasattr(head, "bias")
                and "TrainableTokens" not in type(head).__name__
                and backbone is not None
                and backbone is not base
                and type(backbone).forward is not torch.nn.Module.forward
            )
        return self._fused_head

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """TRL's metrics, plus the running count of unparsed completions and skipped groups, and every
        ``heldout_steps`` steps the held-out scores (``heldout/*``)."""
        if "loss" in logs:
            logs["rl/unparsed_total"] = float(self.rewards.unparsed)
            logs["rl/skipped_groups_total"] = float(self.skipped_groups)
            step = self.state.global_step
            if self.heldout is not None and self.heldout_steps and step % self.heldout_steps == 0:
                scores = self.heldout()
                logs.update({"heldout/miou": scores.tiou, "heldout/r1_5": scores.r1_5, "heldout/r1_7": scores.r1_7,
                             "heldout/format": scores.format})  # fmt: skip
        super().log(logs, start_time)
