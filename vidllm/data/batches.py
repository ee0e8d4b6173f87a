"""Records -> training samples -> batches: frames read with :mod:`vidllm.video`, prompts built by the model adapter.

One sample is one record: its video is sampled (``fps`` or ``num_frames``, a frame cap, a pixel budget), its
conversation is written in the run's time scheme (:func:`vidllm.data.messages.to_messages`), and the adapter turns
both into token ids, labels and pixels (``adapter.build_inputs``), so the labels cover exactly the assistant's answer
(time tokens included) and the prompt holds exactly as many visual placeholders as the model receives features.

Length: a sample longer than ``max_length`` tokens is never truncated (a cut inside the visual tokens is what makes
other toolkits crash with "video features and video tokens do not match"); its frames are thinned evenly until it
fits, and a sample that does not fit with ``min_frames`` frames is skipped with the reason logged.

Bad input: a missing, empty or undecodable video, an answer that cannot be written or a sample too long is skipped,
logged and counted; the dataset then serves the next record in order instead, so batches keep their size and a run
never stops for one bad file. Each sample says how many records were skipped to produce it (``num_skipped``), and
:class:`VideoBatchCollator` sums them per batch, so the trainer can report a count that is exact across data-loader
workers and ranks. ``max_consecutive_failures`` unusable records in a row stop the run with the last reason (a wrong
``video_root`` must not silently skip everything).

Large files: pass the :class:`~vidllm.data.load.ArrowRecords` of ``load_records(..., use_arrow=True)``; records are
then built from a memory-mapped Arrow table when indexed, so 8 workers share one copy.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidllm.data.messages import to_messages
from vidllm.data.records import Record
from vidllm.data.sampler import LengthModel, estimate_length
from vidllm.models.inputs import CONCAT_KEYS, IGNORE_INDEX
from vidllm.video import VideoDecodeError, read_frames

logger = logging.getLogger(__name__)

SKIPPED_KEY = "num_skipped"
"""Batch key holding how many records were skipped to fill the batch (a ``torch.LongTensor`` scalar)."""


@dataclass(frozen=True)
class FrameSampling:
    """How frames are read for training (the arguments of :func:`vidllm.video.read_frames`).

    Attributes:
        fps: Frames per second (exclusive with ``num_frames``).
        num_frames: Frames spread evenly over the video.
        max_frames: Most frames per video.
        min_pixels: Smallest frame area.
        max_pixels: Largest frame area.
        size_multiple: Frame sides are multiples of this (the model's patch size x merge size).
        backend: Video decoder.
        threads: Decoder threads (1 inside data-loader workers).
    """

    fps: float | None = 1.0
    num_frames: int | None = None
    max_frames: int | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    size_multiple: int | None = None
    backend: str = "auto"
    threads: int = 0


@dataclass(frozen=True)
class Clip:
    """Sampled frames handed to ``adapter.build_inputs``.

    Attributes:
        frames: ``uint8`` array of shape ``(T, H, W, 3)``.
        timestamps: float64 array of shape ``(T,)``, seconds.
        sample_fps: Rate of the sample grid (the ``frames`` scheme and NumPro number frames by it).
        duration: The video's length in seconds.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    sample_fps: float
    duration: float | None


class SkipSample(Exception):
    """A record that cannot become a training sample; the message is the logged reason."""


def thin_indices(num_frames: int, keep: int, *, uniform_grid: bool) -> np.ndarray:
    """Indices of ``keep`` of ``num_frames`` frames spread evenly over the clip.

    Args:
        num_frames: Frames available.
        keep: Frames wanted (at most ``num_frames``).
        uniform_grid: Keep every ``k``-th frame (an integer stride), so the result is again a sampling at a fixed
            rate; frame numbers (NumPro, the ``frames`` scheme) stay exact. Otherwise spread ``keep`` frames as evenly
            as the frames allow, which keeps more of them.

    Returns:
        `np.ndarray` of int, increasing, of length ``<= keep``.
    """
    if keep >= num_frames:
        return np.arange(num_frames)
    if uniform_grid:
        return np.arange(0, num_frames, math.ceil(num_frames / keep))
    return np.unique(np.linspace(0, num_frames - 1, keep).round().astype(int))


def thin_clip(clip: Clip, keep: int, *, uniform_grid: bool) -> Clip:
    """The clip with ``keep`` frames spread evenly (see :func:`thin_indices`); the rate follows the new spacing."""
    idx = thin_indices(len(clip.frames), keep, uniform_grid=uniform_grid)
    if uniform_grid and len(idx) > 1:
        fps = clip.sample_fps / int(idx[1] - idx[0])
    else:
        gaps = np.diff(clip.timestamps[idx])
        fps = 1.0 / float(np.median(gaps)) if len(gaps) and np.median(gaps) > 0 else clip.sample_fps
    return Clip(clip.frames[idx], clip.timestamps[idx], fps, clip.duration)


def _without_video(messages: list[dict]) -> list[dict]:
    out = []
    for m in messages:
        content = m["content"]
        if not isinstance(content, str):
            content = [p for p in content if p.get("type") != "video"]
        out.append({**m, "content": content})
    return out


def encode_record(adapter, record: Record, clip: Clip | None) -> dict[str, torch.Tensor]:
    """One training sample: the record's conversation in the adapter's time scheme, with its frames.

    Args:
        adapter: A loaded model adapter.
        record: The question and its targets (seconds).
        clip: The sampled frames, or ``None`` for a text-only record.

    Returns:
        The adapter's model inputs (``input_ids``, ``labels``, pixels...).

    Raises:
        SkipSample: The answer cannot be written in the scheme, or the adapter refuses the sample.
    """
    scheme = adapter.config.time.make_scheme(fps=clip.sample_fps if clip is not None else None)
    try:
        messages = to_messages(record, scheme, with_answer=True)
        if clip is None:
            return adapter.build_inputs(_without_video(messages), [])
        return adapter.build_inputs(messages, [clip], durations=[clip.duration])
    except ValueError as e:
        raise SkipSample(f"cannot build the sample: {e}") from None


class VideoInstructionDataset(torch.utils.data.Dataset):
    """Training samples built from records by a loaded model adapter.

    A record whose ``video`` is empty becomes a text-only sample (no pixels), e.g. for mixing plain instruction data.

    Args:
        records: A sequence of :class:`~vidllm.data.records.Record` (a list, or ``ArrowRecords``).
        adapter: A loaded :class:`~vidllm.models.protocol.VideoLLMAdapter` (its processor and configuration).
        sampling: How frames are read.
        video_root: Folder the records' video paths are relative to.
        max_length: Most tokens per sample.
        min_frames: Fewest frames a too-long sample may be thinned to.
        max_consecutive_failures: Unusable records in a row before :meth:`__getitem__` raises.

    Attributes:
        skipped: Reasons (first words) of the records this process skipped, counted (per worker process).
    """

    def __init__(
        self,
        records: Sequence[Record],
        adapter,
        *,
        sampling: FrameSampling,
        video_root: str | Path | None = None,
        max_length: int = 8192,
        min_frames: int = 2,
        max_consecutive_failures: int = 64,
    ):
        if len(records) == 0:
            raise ValueError("no training records; check data.files and the load report above")
        self.records = records
        self.adapter = adapter
        self.sampling = sampling
        self.video_root = video_root
        self.max_length = max_length
        self.min_frames = min_frames
        self.max_consecutive_failures = max_consecutive_failures
        self.skipped: Counter[str] = Counter()
        time_cfg = adapter.config.time
        # Frame numbers (NumPro) and the frames scheme need a fixed-rate grid when frames are thinned.
        self._uniform_grid = time_cfg.scheme == "frames" or time_cfg.numpro

    def __len__(self) -> int:
        return len(self.records)

    def length_model(self) -> LengthModel:
        """Sampling and token sizes of this dataset's samples, for :func:`~vidllm.data.sampler.estimate_length`."""
        vp = getattr(self.adapter.processor, "video_processor", None)
        side = getattr(vp, "patch_size", 14) * getattr(vp, "merge_size", 2)
        pixels = self.sampling.max_pixels or getattr(vp, "max_pixels", None) or 128 * side * side
        s = self.sampling
        return LengthModel(fps=s.fps, num_frames=s.num_frames, max_frames=s.max_frames,
                           frames_per_group=getattr(vp, "temporal_patch_size", 1) or 1,
                           tokens_per_group=max(1, pixels // (side * side)), max_length=self.max_length)  # fmt: skip

    def lengths(self) -> list[int]:
        """Estimated tokens of every record's sample (no video is read), for length-grouped batching."""
        model = self.length_model()
        time_cfg = self.adapter.config.time
        scheme = time_cfg.make_scheme(fps=model.fps) if time_cfg.scheme != "bins" else None
        return [estimate_length(self.records[i], model, scheme) for i in range(len(self.records))]

    def __getitem__(self, index: int) -> dict[str, Any]:
        """The sample of record ``index``, or of the next usable record (with ``num_skipped`` saying how many).

        Returns:
            The adapter's sample (``input_ids``, ``attention_mask``, ``labels`` of shape `(1, L)`, pixels...) plus
            ``num_skipped`` (int).

        Raises:
            RuntimeError: After ``max_consecutive_failures`` unusable records in a row.
        """
        reason = ""
        for tries in range(min(self.max_consecutive_failures, len(self))):
            i = (index + tries) % len(self)
            record = self.records[i]
            try:
                sample = self.build(record)
            except SkipSample as e:
                reason = str(e)
                self.skipped[reason.split(":", 1)[0]] += 1
                logger.warning("skipping record %s (%s): %s", i, record.source or record.video, reason)
                continue
            sample[SKIPPED_KEY] = tries
            return sample
        raise RuntimeError(
            f"{min(self.max_consecutive_failures, len(self))} records in a row from index {index} could not be used; "
            f"the last: {reason}. Check data.video_root and the data files (or raise data.max_consecutive_failures)"
        )

    def read_clip(self, record: Record) -> Clip | None:
        """The record's sampled frames (``None`` for a text-only record).

        Raises:
            SkipSample: The video is missing, unreadable or has no frames.
        """
        if not record.video:
            return None
        path = record.video_path(self.video_root)
        s = self.sampling
        try:
            video = read_frames(
                path,
                fps=s.fps,
                num_frames=s.num_frames,
                max_frames=s.max_frames,
                min_pixels=s.min_pixels,
                max_pixels=s.max_pixels,
                size_multiple=s.size_multiple,
                backend=s.backend,
                threads=s.threads,
            )
        except FileNotFoundError:
            raise SkipSample(f"missing video: {path} does not exist") from None
        except VideoDecodeError as e:
            raise SkipSample(f"unreadable video: {e.path}: {e.reason}") from None
        if len(video.frames) == 0:
            raise SkipSample(f"empty video: {path} gave no frames")
        duration = record.duration if record.duration is not None else video.duration
        return Clip(video.frames, video.timestamps, float(video.sample_fps), duration)

    def encode(self, record: Record, clip: Clip | None) -> dict[str, torch.Tensor]:
        """Messages in the run's time scheme -> the adapter's model inputs (see :func:`encode_record`)."""
        return encode_record(self.adapter, record, clip)

    def build(self, record: Record) -> dict[str, torch.Tensor]:
        """The sample of one record, thinned to ``max_length`` tokens.

        Raises:
            SkipSample: With the reason.
        """
        clip = self.read_clip(record)
        sample = self.encode(record, clip)
        length = sample["input_ids"].shape[-1]
        if length <= self.max_length:
            return sample
        if clip is None or len(clip.frames) <= self.min_frames:
            raise SkipSample(
                f"too long: {length} tokens > data.max_length={self.max_length} with "
                f"{0 if clip is None else len(clip.frames)} frames"
            )
        return self._fit(record, clip, length)

    def _fit(self, record: Record, clip: Clip, length: int) -> dict[str, torch.Tensor]:
        """Thin the frames evenly until the sample fits: the length is linear in the frame count, so two builds
        locate the count, and a few more steps settle rounding (frame-time text, temporal groups)."""
        frames = len(clip.frames)
        half = max(self.min_frames, frames // 2)
        trial = thin_clip(clip, half, uniform_grid=self._uniform_grid)
        trial_sample = self.encode(record, trial)
        trial_length = trial_sample["input_ids"].shape[-1]
        per_frame = (length - trial_length) / max(frames - len(trial.frames), 1)
        if trial_length <= self.max_length and per_frame > 0:
            keep = len(trial.frames) + int((self.max_length - trial_length) // per_frame)
        else:
            keep = len(trial.frames)
        keep = min(keep, frames - 1)
        while keep >= self.min_frames:
            candidate = thin_clip(clip, keep, uniform_grid=self._uniform_grid)
            sample = self.encode(record, candidate)
            got = sample["input_ids"].shape[-1]
            if got <= self.max_length:
                logger.debug("thinned %s from %d to %d frames (%d tokens)", record.video, frames, keep, got)
                return sample
            keep = min(keep - 1, len(candidate.frames) - 1)
        raise SkipSample(
            f"too long: {length} tokens > data.max_length={self.max_length} even with {self.min_frames} frames "
            f"({trial_length} tokens with {len(trial.frames)}); raise data.max_length or lower the pixel budget"
        )


class VideoBatchCollator:
    """Batch samples with the adapter's ``collate`` (right padding) and sum their ``num_skipped``.

    With ``ensure_video``, a batch without any video gets a placeholder video: two black frames whose visual tokens
    are appended after the first sample's last token, with labels ignored. A causal model's loss on the real tokens is
    unchanged (nothing before the placeholder can attend to it), but the vision tower and the time modules run on every
    rank in every step -- without this, DeepSpeed ZeRO-3 hangs when one rank's batch has a video and another's has
    none (the ranks then gather different parameters), and DDP finds unused parameters.

    Args:
        adapter: The loaded adapter whose :meth:`collate` pads and concatenates.
        ensure_video: Add the placeholder video to batches without a video (distributed training).
    """

    def __init__(self, adapter, *, ensure_video: bool = False):
        self.adapter = adapter
        self.ensure_video = ensure_video
        self._placeholder: dict[str, torch.Tensor] | None = None

    def placeholder_video(self) -> dict[str, torch.Tensor]:
        """The placeholder sample: a user turn holding a video of two black frames (built once)."""
        if self._placeholder is None:
            vp = self.adapter.processor.video_processor
            side = vp.patch_size * vp.merge_size
            clip = Clip(np.zeros((2, side, side, 3), np.uint8), np.array([0.0, 0.5]), 2.0, 1.0)
            messages = [{"role": "user", "content": [{"type": "video"}]}]
            self._placeholder = self.adapter.build_inputs(messages, [clip], durations=[1.0])
        return self._placeholder

    def with_placeholder_video(self, sample: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``sample`` (without a video) followed by the placeholder video's tokens, which are never trained on."""
        fake = self.placeholder_video()
        out = dict(sample)
        for key in ("input_ids", "attention_mask", "mm_token_type_ids"):
            if key in sample:
                out[key] = torch.cat([sample[key], fake[key].to(sample[key].dtype)], dim=-1)
        if "labels" in sample:
            ignored = torch.full_like(fake["input_ids"], IGNORE_INDEX)
            out["labels"] = torch.cat([sample["labels"], ignored], dim=-1)
        for key in CONCAT_KEYS:
            if key in fake:
                out[key] = fake[key]
        return out

    def __call__(self, samples: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Returns the adapter's batch plus ``num_skipped`` (`torch.LongTensor` scalar)."""
        skipped = sum(int(s.get(SKIPPED_KEY, 0)) for s in samples)
        samples = [{k: v for k, v in s.items() if k != SKIPPED_KEY} for s in samples]
        if self.ensure_video and not any("pixel_values_videos" in s for s in samples):
            samples[0] = self.with_placeholder_video(samples[0])
        batch = self.adapter.collate(samples)
        batch[SKIPPED_KEY] = torch.tensor(skipped, dtype=torch.long)
        return batch
