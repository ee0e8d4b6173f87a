"""Messages + frames with timestamps -> model inputs. Shared, pure helpers; each adapter composes them.

The chat template renders each video as one ``<|video_pad|>``; that token is replaced by the video's expansion
(:meth:`~vidllm.models.components.layout.VideoLayout.placeholder`), the whole text is tokenized once, and labels
keep the assistant turns only (from the first token after ``<|im_start|>assistant\\n`` through ``<|im_end|>``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vidllm.models.components.frame_groups import check_timestamps, sampling_fps
from vidllm.models.components.numbering import NUMPRO_HINT, number_video_frames
from vidllm.models.components.positions import IMAGE, VIDEO

IGNORE_INDEX = -100

# Keys whose tensors are concatenated along dim 0 when samples are batched (not padded).
CONCAT_KEYS = (
    "pixel_values_videos",
    "video_grid_thw",
    "video_timestamps",
    "second_per_grid_ts",
    "pixel_values",
    "image_grid_thw",
)


def unpack_video(video: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, timestamps)`` from a tuple or from an object with ``frames`` and ``timestamps`` attributes.

    Returns:
        ``frames``: ``uint8`` array of shape ``(T, H, W, 3)``; ``timestamps``: float64 array of shape ``(T,)``.

    Raises:
        ValueError: For a wrong shape, dtype or timestamp count.
    """
    if isinstance(video, tuple | list) and len(video) == 2:
        frames, timestamps = video
    elif hasattr(video, "frames") and hasattr(video, "timestamps"):
        frames, timestamps = video.frames, video.timestamps
    else:
        raise ValueError(
            f"a video must be (frames, timestamps) or have .frames and .timestamps, got {type(video).__name__}"
        )
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 of shape (T, H, W, 3), got {frames.dtype} {frames.shape}")
    return frames, check_timestamps(timestamps, frames.shape[0])


def count_parts(messages: Sequence[dict], kind: str) -> int:
    """Number of ``{"type": kind}`` parts in the messages."""
    return sum(
        1
        for m in messages
        if not isinstance(m.get("content"), str)
        for part in m.get("content", [])
        if part.get("type") == kind
    )


def count_videos(messages: Sequence[dict]) -> int:
    """Number of ``{"type": "video"}`` parts in the messages.

    Raises:
        ValueError: When the messages hold images, which the adapters do not build inputs for.
    """
    if count_parts(messages, "image"):
        raise ValueError(
            "the messages hold image parts; build_inputs takes videos only -- pass a still image as a video "
            "of one frame with timestamp 0"
        )
    return count_parts(messages, "video")


def with_numpro_hint(messages: Sequence[dict]) -> list[dict]:
    """A copy of ``messages`` with :data:`NUMPRO_HINT` as a text part right after each video."""
    out = copy.deepcopy(list(messages))
    for m in out:
        if isinstance(m.get("content"), str):
            continue
        parts = []
        for part in m["content"]:
            parts.append(part)
            if part.get("type") == "video":
                parts.append({"type": "text", "text": NUMPRO_HINT + " "})
        m["content"] = parts
    return out


@dataclass(frozen=True)
class SampledVideo:
    """A video ready for the processor.

    Attributes:
        frames: ``uint8`` array of shape ``(T, H, W, 3)`` (numbered for NumPro).
        timestamps: float64 array of shape ``(T,)``, seconds.
        fps: Sampling rate (the reader's ``sample_fps`` when given, else ``1 / median frame gap``).
        duration: The video's duration in seconds, when known.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    fps: float
    duration: float | None


def prepare_frames(video: Any, *, numpro: bool, duration: float | None = None) -> SampledVideo:
    """Unpack a video, take its sampling rate and duration, and for NumPro draw the frame numbers.

    Args:
        video: ``(frames, timestamps)`` or an object with ``frames``/``timestamps`` (and optionally ``sample_fps``,
            ``duration``, as :class:`vidllm.video.VideoFrames` has).
        numpro: Draw frame numbers.
        duration: Overrides the object's duration.
    """
    frames, timestamps = unpack_video(video)
    fps = getattr(video, "sample_fps", None) or sampling_fps(timestamps)
    if duration is None:
        duration = getattr(video, "duration", None)
    if numpro:
        frames = number_video_frames(frames, start=0)
    return SampledVideo(frames, timestamps, float(fps), duration)


def encode_pixels(
    video_processor, frames: np.ndarray, *, min_pixels: int | None, max_pixels: int | None, per_video_budget: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the checkpoint's video processor on already-sampled frames.

    Args:
        video_processor: ``processor.video_processor``.
        frames: ``uint8`` array of shape ``(T, H, W, 3)``.
        min_pixels: Per-frame lower bound (``None``: the processor's).
        max_pixels: Per-frame upper bound (``None``: the processor's).
        per_video_budget: The processor's ``size`` bounds the whole video (Qwen3-VL) rather than one frame. With a
            bound set, every frame is then sized here as qwen-vl-utils' per-frame ``smart_resize`` sizes it
            (:func:`per_frame_size`), resized with the processor's own filter, and given to the processor as is.

    Returns:
        ``pixel_values_videos`` of shape `(t * h * w, patch_dim)` and ``video_grid_thw`` of shape `(1, 3)`.
    """
    kwargs: dict[str, Any] = {"do_sample_frames": False, "return_tensors": "pt", "cap_pixels_per_frame": False}
    if min_pixels is not None or max_pixels is not None:
        if per_video_budget:
            size = per_frame_size(video_processor, frames.shape[0], frames.shape[1:3], min_pixels, max_pixels)
            frames = resize_like_processor(video_processor, frames, size)
            kwargs["do_resize"] = False
        else:
            size = dict(video_processor.size)
            if min_pixels is not None:
                size["shortest_edge"] = min_pixels
            if max_pixels is not None:
                size["longest_edge"] = max_pixels
            kwargs["size"] = size
    out = video_processor(videos=[frames], **kwargs)
    return out["pixel_values_videos"], out["video_grid_thw"]


def per_frame_size(
    video_processor, num_frames: int, frame_size: tuple[int, int], min_pixels: int | None, max_pixels: int | None
) -> tuple[int, int]:
    """``(height, width)`` of every frame under per-frame bounds, as qwen-vl-utils' ``smart_resize(height, width,
    factor=patch * merge, min_pixels, max_pixels)`` gives it (:func:`vidllm.video.fit_pixels`).

    A bound left ``None`` is the processor's whole-video bound shared out over the frames (padded to the temporal
    patch), which is what that bound means per frame.
    """
    from vidllm.video.resize import fit_pixels

    patch_t = video_processor.temporal_patch_size
    padded = num_frames + (-num_frames % patch_t)
    size = video_processor.size
    low = min_pixels if min_pixels is not None else size["shortest_edge"] // padded
    high = max_pixels if max_pixels is not None else size["longest_edge"] // padded
    factor = video_processor.patch_size * video_processor.merge_size
    return fit_pixels(int(frame_size[0]), int(frame_size[1]), low, max(low, high), factor)


def resize_like_processor(video_processor, frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frames`` (``uint8 (T, H, W, 3)``) resized to ``size`` with the processor's filter (antialiased, on
    ``uint8``, as its own resize step does); the frames themselves when they already have that size."""
    if tuple(frames.shape[1:3]) == tuple(size):
        return frames
    from torchvision.transforms.v2 import functional as tvF
    from transformers.image_utils import pil_torch_interpolation_mapping

    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    resized = tvF.resize(video, list(size), interpolation=pil_torch_interpolation_mapping[video_processor.resample],
                         antialias=True)  # fmt: skip
    return resized.permute(0, 2, 3, 1).contiguous().numpy()


def _render(processor, messages: Sequence[dict], add_generation_prompt: bool) -> str:
    return processor.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)


def _expand(text: str, pad: str, expansions: Sequence[str], wrapped: str | None = None) -> tuple[str, int]:
    """Replace the video placeholders of ``text`` in order; where ``wrapped`` (a text around ``pad``) stands, it is
    replaced whole, else ``pad`` alone."""
    pattern = re.escape(pad) if wrapped is None else f"{re.escape(wrapped)}|{re.escape(pad)}"
    pieces = re.split(pattern, text)
    used = len(pieces) - 1
    if used > len(expansions):
        raise ValueError(
            f"the prompt has {used} video placeholders but {len(expansions)} videos were given; "
            "pass one video per {'type': 'video'} part"
        )
    out = [pieces[0]]
    for i, piece in enumerate(pieces[1:]):
        out.append(expansions[i])
        out.append(piece)
    return "".join(out), used


def tokenize_conversation(
    processor,
    messages: Sequence[dict],
    expansions: Sequence[str],
    *,
    add_generation_prompt: bool,
    video_pad: str,
    wrapped_pad: str | None = None,
) -> tuple[list[int], list[int] | None]:
    """Render, expand the video placeholders and tokenize; label the assistant turns.

    Args:
        processor: The checkpoint's processor (chat template + tokenizer).
        messages: Chat messages (HF multimodal format).
        expansions: The expansion text of each video, in order.
        add_generation_prompt: End with the assistant prompt (generation); no labels then.
        video_pad: The video placeholder token.
        wrapped_pad: A text around ``video_pad`` (e.g. ``<|vision_start|><|video_pad|><|vision_end|>``) that an
            expansion replaces whole where the prompt holds it, as Qwen3-VL's processor of its release does.

    Returns:
        ``(input_ids, labels)``; ``labels`` is ``None`` when no assistant turn is trained on.

    Raises:
        ValueError: When the chat template is not prefix-stable (a turn's rendering changes later ones).
    """
    full = _render(processor, messages, add_generation_prompt)
    text, used = _expand(full, video_pad, expansions, wrapped_pad)
    if used != len(expansions):
        raise ValueError(f"{len(expansions)} videos were given but the prompt has {used} video placeholders")
    spans: list[tuple[int, int]] = []
    if not add_generation_prompt:
        for i, m in enumerate(messages):
            if m.get("role") != "assistant":
                continue
            before = _expand(_render(processor, messages[:i], True), video_pad, expansions, wrapped_pad)[0]
            through = _expand(_render(processor, messages[: i + 1], False), video_pad, expansions, wrapped_pad)[0]
            if not (text.startswith(through) and through.startswith(before)):
                raise ValueError(
                    "the chat template renders earlier turns differently once later turns follow; "
                    "labels need a prefix-stable template (the Qwen-VL templates are)"
                )
            spans.append((len(before), len(through.rstrip())))
    enc = processor.tokenizer(text, add_special_tokens=False, return_offsets_mapping=bool(spans))
    ids = list(enc["input_ids"])
    if not spans:
        return ids, None
    labels = [IGNORE_INDEX] * len(ids)
    for k, (begin, _end) in enumerate(enc["offset_mapping"]):
        if any(lo <= begin < hi for lo, hi in spans):
            labels[k] = ids[k]
    return ids, labels


def assemble_sample(
    ids: Sequence[int],
    labels: Sequence[int] | None,
    pixels: Sequence[torch.Tensor] = (),
    grids: Sequence[torch.Tensor] = (),
    times: Sequence[torch.Tensor] = (),
) -> dict[str, torch.Tensor]:
    """One sample's tensors from the tokenized conversation and its videos' parts.

    Args:
        ids: Token ids of the conversation.
        labels: Their labels (``None`` for a generation prompt).
        pixels: Each video's pixel tensor (concatenated along the first dimension).
        grids: Each video's ``(1, 3)`` grid.
        times: Each video's frame or group times in seconds.

    Returns:
        ``input_ids``, ``attention_mask`` (and ``labels``) of shape `(1, L)`; with videos ``pixel_values_videos``,
        ``video_grid_thw`` `(n_videos, 3)` and ``video_timestamps``.
    """
    input_ids = torch.tensor([list(ids)])
    sample = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    if labels is not None:
        sample["labels"] = torch.tensor([list(labels)])
    if pixels:
        sample["pixel_values_videos"] = torch.cat(list(pixels))
        sample["video_grid_thw"] = torch.cat(list(grids))
        sample["video_timestamps"] = torch.cat(list(times))
    return sample


def mm_token_types(input_ids: torch.Tensor, image_token_id: int, video_token_id: int) -> torch.Tensor:
    """0 for text, 1 for image placeholders, 2 for video placeholders (`torch.IntTensor`, same shape)."""
    types = torch.zeros_like(input_ids, dtype=torch.int)
    types[input_ids == image_token_id] = IMAGE
    types[input_ids == video_token_id] = VIDEO
    return types


def collate(samples: Sequence[dict[str, torch.Tensor]], pad_token_id: int, padding_side: str = "right") -> dict:
    """Batch samples from ``adapter.build_inputs``: pad the per-token tensors, concatenate the visual ones.

    Args:
        samples: Dicts with ``input_ids`` of shape `(1, L_i)` etc.
        pad_token_id: Id written into padding.
        padding_side: ``right`` for training, ``left`` for generation.

    Returns:
        A batch dict; per-token tensors have shape `(batch, max L_i)`.
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    length = max(s["input_ids"].shape[-1] for s in samples)
    fills = {"input_ids": pad_token_id, "attention_mask": 0, "labels": IGNORE_INDEX, "mm_token_type_ids": 0}
    batch: dict[str, torch.Tensor] = {}
    for key, fill in fills.items():
        present = [key in s for s in samples]
        if not any(present):
            continue
        if not all(present):
            raise ValueError(f"{key!r} is in some samples but not all; build every sample the same way")
        rows = []
        for s in samples:
            row = s[key].reshape(-1)
            pad = torch.full((length - row.shape[0],), fill, dtype=row.dtype)
            rows.append(torch.cat([row, pad] if padding_side == "right" else [pad, row]))
        batch[key] = torch.stack(rows)
    for key in CONCAT_KEYS:
        parts = [s[key] for s in samples if key in s]
        if parts:
            batch[key] = torch.cat(parts, dim=0)
    return batch


def generation_inputs(model, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Keyword arguments of ``model.generate`` for a batch from ``collate(..., padding_side="left")``.

    ``generate`` accepts no extra keywords, so the videos are encoded here -- through the model's own (hooked)
    ``get_video_features``, with the group times -- and passed as ``mm_encoder_outputs``; ``video_grid_thw`` stays
    for the position ids.

    Args:
        model: The (peft-wrapped) Hugging Face model.
        batch: Model inputs; ``labels`` are dropped.

    Returns:
        A dict for ``model.generate(**kwargs)``, on the model's device.
    """
    from vidllm.models.checkpoint import inner_model, move_to

    device = next(model.parameters()).device
    inputs = move_to({k: v for k, v in batch.items() if k != "labels"}, device)
    timestamps = inputs.pop("video_timestamps", None)
    if "pixel_values_videos" in inputs:
        features = inner_model(model).get_video_features(
            inputs.pop("pixel_values_videos"), inputs["video_grid_thw"], video_timestamps=timestamps, return_dict=True
        )
        inputs["mm_encoder_outputs"] = {"video": features}
    return inputs
