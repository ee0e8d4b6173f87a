"""Qwen3-VL adapter: per-frame time text from the real frame times, plus the vidllm time components.

Qwen3-VL writes each frame group's time before its tokens (``<1.5 seconds><|vision_start|>...<|vision_end|>``);
transformers computes those times from ``video_metadata`` and assumes 24 fps without it. Here they come from the
frames' timestamps (any fps), and with ``time.frame_text`` they are written in the configured scheme. Per-video
compression leaves no frames to write times before: time then reaches the model through the time embedding.
DeepStack features are pooled with the same slot weights as the visual tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from vidllm.models import checkpoint
from vidllm.models.components.frame_groups import group_times
from vidllm.models.components.timestamp_text import QWEN3_NATIVE_TEMPLATE, frame_time_texts, qwen3_native_scheme
from vidllm.models.config import LoraSettings, ModelConfig
from vidllm.models.inputs import (
    assemble_sample,
    collate,
    count_videos,
    encode_pixels,
    generation_inputs,
    mm_token_types,
    prepare_frames,
    tokenize_conversation,
    with_numpro_hint,
)
from vidllm.models.lora import apply_lora_settings, language_model_linear_names

logger = logging.getLogger(__name__)


class Qwen3VLAdapter:
    """Qwen3-VL (dense 2B-32B Instruct/Thinking) with vidllm's time components.

    Args:
        config: Model configuration (``family="qwen3_vl"``).
    """

    name: ClassVar[str] = "qwen3_vl"

    def __init__(self, config: ModelConfig):
        self.config = config
        self.model = None
        self.processor = None
        self.time_token_ids: list[int] = []
        self._loaded: checkpoint.Loaded | None = None

    def load(self, path: str | Path | None = None, *, trainable: bool = False) -> Qwen3VLAdapter:
        """Load a local folder: a Qwen3-VL checkpoint or a folder written by :meth:`save`."""
        from transformers import Qwen3VLForConditionalGeneration  # seconds to import: only when loading

        self._loaded = checkpoint.load(
            Qwen3VLForConditionalGeneration,
            self.config,
            path,
            family=self.name,
            native_frame_text=True,
            absolute_time=False,
            trainable=trainable,
        )
        self.config, self.model, self.processor = self._loaded.config, self._loaded.model, self._loaded.processor
        self.time_token_ids = self._loaded.time_token_ids
        return self

    def _require_loaded(self) -> checkpoint.Loaded:
        if self._loaded is None:
            raise RuntimeError(f"{self.name}: call .load() before using the adapter")
        self._loaded.model = self.model
        return self._loaded

    def build_inputs(
        self,
        messages: Sequence[dict],
        videos: Sequence[Any] = (),
        *,
        add_generation_prompt: bool = False,
        durations: Sequence[float | None] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One sample: token ids (with frame-time text), labels, pixels, grids and group times.

        Args:
            messages: Chat messages; each ``{"type": "video"}`` part takes the next of ``videos``.
            videos: ``(frames uint8 (T,H,W,3), timestamps float (T,) seconds)`` pairs or objects with
                ``frames``/``timestamps``.
            add_generation_prompt: End with the assistant prompt (for :meth:`generate`); no labels.
            durations: Each video's duration in seconds (default: the video object's ``duration``), needed by the
                ``bins`` scheme's frame text.

        Returns:
            ``input_ids``, ``attention_mask``, ``mm_token_type_ids`` of shape `(1, L)`, ``labels`` (when an
            assistant turn is trained), ``pixel_values_videos``, ``video_grid_thw`` `(n_videos, 3)`,
            and ``video_timestamps`` `(total groups,)`.
        """
        loaded = self._require_loaded()
        cfg, processor, layout = self.config, self.processor, loaded.layout
        video_processor, tokenizer = processor.video_processor, processor.tokenizer
        if count_videos(messages) != len(videos):
            raise ValueError(f"the messages have {count_videos(messages)} video parts but {len(videos)} videos came")
        if cfg.time.numpro:
            messages = with_numpro_hint(messages)
        merge = video_processor.merge_size
        patch_t = video_processor.temporal_patch_size
        start, end = tokenizer.convert_ids_to_tokens(
            [self.model.config.vision_start_token_id, self.model.config.vision_end_token_id]
        )
        pixels, grids, times, expansions = [], [], [], []
        for i, given in enumerate(videos):
            video = prepare_frames(given, numpro=cfg.time.numpro, duration=durations[i] if durations else None)
            pixel_values, grid = encode_pixels(
                video_processor,
                video.frames,
                min_pixels=cfg.frame_min_pixels,
                max_pixels=cfg.frame_max_pixels,
                per_video_budget=True,
            )
            groups, height, width = grid[0].tolist()
            group_seconds = group_times(video.timestamps, patch_t)
            texts = None
            if layout.frame_text:
                if cfg.time.frame_text:
                    scheme, template = cfg.time.make_scheme(fps=video.fps), cfg.time.template()
                else:  # the model's own format
                    scheme, template = qwen3_native_scheme(), QWEN3_NATIVE_TEMPLATE
                texts = frame_time_texts(group_seconds, scheme, template, duration=video.duration)
            native = height * width // merge**2
            expansions.append(
                layout.placeholder(
                    groups, native, pad=processor.video_token, vision_start=start, vision_end=end, texts=texts
                )
            )
            pixels.append(pixel_values)
            grids.append(grid)
            times.append(torch.tensor(group_seconds, dtype=torch.float32))
        ids, labels = tokenize_conversation(
            processor,
            messages,
            expansions,
            add_generation_prompt=add_generation_prompt,
            video_pad=processor.video_token,
        )
        sample = assemble_sample(ids, labels, pixels, grids, times)
        sample["mm_token_type_ids"] = mm_token_types(
            sample["input_ids"], self.model.config.image_token_id, processor.video_token_id
        )
        return sample

    def collate(self, samples: Sequence[dict[str, torch.Tensor]], *, padding_side: str = "right") -> dict:
        """Batch samples (``left`` padding for generation)."""
        return collate(samples, self.processor.tokenizer.pad_token_id, padding_side)

    def forward(self, batch: dict[str, torch.Tensor]):
        """Run the model on a batch (with ``labels``: ``.loss``)."""
        self._require_loaded()
        if "pixel_values_videos" in batch and "mm_token_type_ids" not in batch:
            raise ValueError(
                "a video batch without mm_token_type_ids: Qwen3-VL cannot place the video tokens; "
                "build it with adapter.build_inputs / adapter.collate"
            )
        device = next(self.model.parameters()).device
        return self.model(**checkpoint.move_to(batch, device))

    @torch.no_grad()
    def generate(self, batch: dict[str, torch.Tensor], **gen_kwargs: Any) -> list[str]:
        """Greedy by default (``max_new_tokens=64``); returns the decoded new text of each row."""
        self._require_loaded()
        inputs = generation_inputs(self.model, batch)
        gen_kwargs = {"max_new_tokens": 64, "do_sample": False, **gen_kwargs}
        out = self.model.generate(**inputs, **gen_kwargs)
        return self.processor.tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    def lora_target_modules(self, modules: Sequence[str] = LoraSettings.modules) -> list[str]:
        """The language model's linear layers (never the vision tower's)."""
        self._require_loaded()
        return language_model_linear_names(checkpoint.unwrap(self.model), modules)

    def apply_lora(self, settings: LoraSettings) -> None:
        """Wrap the model with LoRA (see :mod:`vidllm.models.lora`)."""
        targets = self.lora_target_modules(settings.modules)
        self.model = apply_lora_settings(
            self.model, settings, target_modules=targets, time_token_ids=self.time_token_ids
        )

    def save(self, out_dir: str | Path, *, state_dict: dict | None = None) -> Path:
        """Write the model (full or LoRA), processor, time modules and config (``state_dict``: gathered state)."""
        return checkpoint.save(self._require_loaded(), out_dir, family=self.name, state_dict=state_dict)
