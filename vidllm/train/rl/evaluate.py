"""A held-out reward: greedy answers of a model on synthetic samples it never saw, scored by :mod:`vidllm.rewards`
(what the CI learning check and ``docs/rl.md``'s measurements read; benchmark numbers come from the evaluation
runner)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidllm.data.batches import Clip
from vidllm.data.messages import to_messages
from vidllm.rewards import THINK_PROMPT, RewardSettings, Target, score_answer


def generation_sample(adapter, record, clip: Clip | None, *, think: bool = False) -> tuple[dict, Target]:
    """The generation inputs of one question (its frames, the run's time scheme, Time-R1's instruction with
    ``think``) and the :class:`~vidllm.rewards.Target` its answer is scored against."""
    if think:
        record = record.replace(prompt=record.prompt.rstrip() + THINK_PROMPT)
    fps = clip.sample_fps if clip is not None else None
    messages = to_messages(record, adapter.config.time.make_scheme(fps=fps), with_answer=False)
    if clip is None:
        text_only = [{**m, "content": [p for p in m["content"] if p.get("type") != "video"]}
                     if not isinstance(m["content"], str) else m for m in messages]  # fmt: skip
        sample = adapter.build_inputs(text_only, [], add_generation_prompt=True)
    else:
        sample = adapter.build_inputs(messages, [clip], add_generation_prompt=True, durations=[clip.duration])
    target = Target.from_record(record, fps=fps)
    if target.duration is None and clip is not None:
        target = Target.from_dict({**target.to_dict(), "duration": clip.duration})
    return sample, target


@dataclass(frozen=True)
class HeldOut:
    """Mean rewards of a held-out set.

    Attributes:
        tiou: Mean first-interval tIoU (unparsed answers count 0).
        r1_5: Fraction with tIoU >= 0.5.
        r1_7: Fraction with tIoU >= 0.7.
        format: Fraction of answers that parse in the run's scheme.
        count: Samples scored.
    """

    tiou: float
    r1_5: float
    r1_7: float
    format: float
    count: int


@torch.no_grad()
def synthetic_heldout(adapter, synthetic, *, fps: float, count: int, batch_size: int = 8, max_new_tokens: int = 24,
                      settings: RewardSettings | None = None, sampling: dict | None = None) -> HeldOut:  # fmt: skip
    """Greedy answers of ``adapter`` on samples ``0..count-1`` of the synthetic stream ``synthetic`` (a
    :class:`~vidllm.synthetic.dataset.SyntheticDataConfig`, with a seed the training did not use).

    ``sampling`` (e.g. ``{"do_sample": True, "temperature": 1.0}``) scores sampled answers instead: the policy's
    expected reward on unseen questions, what GRPO maximises (seed the RNG first for a repeatable number)."""
    from vidllm.synthetic.dataset import draw_sample

    settings = settings or RewardSettings()
    was_training = adapter.model.training
    adapter.model.eval()
    scored = []
    for start in range(0, count, batch_size):
        samples, targets = [], []
        for i in range(start, min(start + batch_size, count)):
            record, frames, times = draw_sample(synthetic, i, fps)
            sample, target = generation_sample(adapter, record, Clip(frames, times, fps, record.duration),
                                               think=settings.think)  # fmt: skip
            samples.append(sample)
            targets.append(target)
        batch = adapter.collate(samples, padding_side="left")
        answers = adapter.generate(batch, max_new_tokens=max_new_tokens, **(sampling or {}))
        for answer, target in zip(answers, targets, strict=True):
            scored.append(score_answer(answer, target, adapter.config.time.make_scheme(fps=fps), settings))
    adapter.model.train(was_training)
    ious = [s.iou or 0.0 for s in scored]
    n = max(len(scored), 1)
    return HeldOut(sum(ious) / n, sum(i >= 0.5 for i in ious) / n, sum(i >= 0.7 for i in ious) / n,
                   sum(s.rewards["format"] == 1.0 for s in scored) / n, len(scored))  # fmt: skip
