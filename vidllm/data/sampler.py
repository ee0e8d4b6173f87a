"""Length-grouped batching: samples of similar length share a batch, so few padded positions are computed.

A video sample's length is mostly its visual tokens (frames x tokens per frame), and instruction data mixes 30-s
Charades clips with 150-s QVHighlights and 5-minute YouCook2 videos, so random batches pad a lot (``bench/padding.py``
measures it on real annotation files). Lengths are *estimated* from the records, without decoding a video
(:func:`estimate_length`: frames from the duration and the sampling, tokens per frame from the pixel budget, text from
the prompt and the rendered answer); the estimate only orders samples, it never cuts one.

:func:`grouped_order` is the whole policy (pure, seeded by ``(seed, epoch)``): a random permutation, cut into
mega-batches of ``megabatch`` groups; each mega-batch is sorted by length and cut into groups of ``group`` samples
(``group`` = per-device batch x processes: the samples of one micro-step on all ranks); the full groups are shuffled,
the longest first (an out-of-memory shows at step one), a partial group last. Every index appears once per epoch.

Why it does not change the loss: each sample's loss does not depend on its batch mates -- padding is masked in the
attention and in the labels, positions are computed per sample, and there is no batch statistic -- so grouping only
changes which samples share an optimizer step, as another shuffle would. (The loss of a step is averaged over the
answer tokens of that step, so the weight of each token follows its step's token count, as with any shuffle.)
:class:`LengthGroupedSampler` is what the trainer uses (``data.group_by_length``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vidllm.data.records import Record, render_answer
from vidllm.time import TimeScheme, get_scheme


@dataclass(frozen=True)
class LengthModel:
    """How many tokens a record becomes, roughly (see :func:`estimate_length`).

    Attributes:
        fps: Frames sampled per second (``None`` with ``num_frames``).
        num_frames: Frames per video, spread evenly.
        max_frames: Most frames per video.
        frames_per_group: Frames merged into one temporal group (Qwen-VL: 2).
        tokens_per_group: LLM tokens of one temporal group at the pixel budget (e.g. 128 at 128 x 28 x 28 pixels).
        chars_per_token: Characters per text token (digits count one token each, as Qwen's tokenizer splits them).
        template_tokens: Chat template, system prompt and special tokens around the text.
        max_length: Samples longer than this are thinned to it by the dataset (the estimate is capped there).
        default_duration: Duration assumed for a record without one.
    """

    fps: float | None = 1.0
    num_frames: int | None = None
    max_frames: int | None = None
    frames_per_group: int = 2
    tokens_per_group: int = 128
    chars_per_token: float = 4.0
    template_tokens: int = 24
    max_length: int | None = None
    default_duration: float = 60.0

    def frames(self, duration: float | None) -> int:
        """Frames sampled from a video of ``duration`` seconds."""
        if self.num_frames is not None:
            n = self.num_frames
        else:
            n = max(1, math.floor((duration if duration is not None else self.default_duration) * (self.fps or 1.0)))
        return min(n, self.max_frames) if self.max_frames else n


def text_tokens(text: str, chars_per_token: float = 4.0) -> int:
    """Tokens of ``text``, estimated: one per digit, ``chars_per_token`` characters per token for the rest."""
    digits = sum(c.isdigit() for c in text)
    return digits + math.ceil((len(text) - digits) / chars_per_token)


def estimate_length(record: Record, model: LengthModel, scheme: TimeScheme | None = None) -> int:
    """Tokens of ``record``'s training sample, estimated without reading the video.

    Args:
        record: The record.
        model: Sampling and token sizes.
        scheme: Time scheme the answer is written in (default: plain seconds).

    Returns:
        Visual tokens + prompt and answer tokens + the template, at most ``model.max_length``.
    """
    visual = 0
    if record.video:
        visual = math.ceil(model.frames(record.duration) / model.frames_per_group) * model.tokens_per_group
    try:
        answer = render_answer(record, scheme or get_scheme("text"))
    except ValueError:
        answer = record.answer or ""
    text = record.prompt + " " + answer + "".join(u + a for u, a in record.history) + (record.system or "")
    total = visual + text_tokens(text, model.chars_per_token) + model.template_tokens
    return min(total, model.max_length) if model.max_length else total


def grouped_order(
    lengths: Sequence[int], group: int, *, seed: int = 0, epoch: int = 0, megabatch: int = 50
) -> np.ndarray:
    """An epoch's order of ``range(len(lengths))`` in which each run of ``group`` indices has similar lengths.

    Args:
        lengths: Length of each sample.
        group: Samples of one micro-step (per-device batch size x processes).
        seed: Run seed.
        epoch: Epoch (each epoch draws another order).
        megabatch: Groups per mega-batch: larger sorts more globally (less padding), smaller keeps more randomness.

    Returns:
        `np.ndarray` of int64: a permutation of ``range(len(lengths))``.
    """
    if group < 1 or megabatch < 1:
        raise ValueError(f"group and megabatch must be >= 1, got group={group}, megabatch={megabatch}")
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(n)
    size = group * megabatch
    groups = []
    for start in range(0, n, size):
        mega = perm[start : start + size]
        mega = mega[np.argsort(-lengths[mega], kind="stable")]
        groups.extend(mega[i : i + group] for i in range(0, len(mega), group))
    if not groups:
        return np.zeros(0, dtype=np.int64)
    tail = [groups.pop()] if len(groups[-1]) < group else []
    groups = [groups[i] for i in rng.permutation(len(groups))]
    if groups:
        longest = int(np.argmax([lengths[g].max() for g in groups]))
        groups[0], groups[longest] = groups[longest], groups[0]
    return np.concatenate(groups + tail).astype(np.int64)


def padded_fraction(lengths: Sequence[int], order: Sequence[int], batch_size: int) -> float:
    """Fraction of the positions of right-padded batches (consecutive ``batch_size`` of ``order``) that are padding."""
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.asarray(order, dtype=np.int64)
    computed = real = 0
    for start in range(0, len(order), batch_size):
        batch = lengths[order[start : start + batch_size]]
        computed += int(batch.max()) * len(batch)
        real += int(batch.sum())
    return 1.0 - real / computed if computed else 0.0


class LengthGroupedSampler(torch.utils.data.Sampler[int]):
    """The indices of :func:`grouped_order`, a new order each epoch (``set_epoch``, called by the trainer).

    Under several processes, accelerate hands the per-device batches of this order to the ranks in turn, so the
    ``group = batch_size x world_size`` samples of one micro-step are similar on every rank.
    """

    def __init__(self, lengths: Sequence[int], group: int, *, seed: int = 0, megabatch: int = 50):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.group = group
        self.seed = seed
        self.megabatch = megabatch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s order next."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        order = grouped_order(self.lengths, self.group, seed=self.seed, epoch=self.epoch, megabatch=self.megabatch)
        return iter(order.tolist())
