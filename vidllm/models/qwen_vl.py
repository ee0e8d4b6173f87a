"""The Qwen-VL trio (Qwen2-VL, Qwen2.5-VL, Qwen3-VL): one adapter, the differences as class attributes.

All three are stock Hugging Face classes; vidllm attaches at two seams (``get_video_features``, ``get_rope_index``,
:mod:`~vidllm.models.components.video_hook`) and builds the prompt itself, exactly as each release's processor does
when every component is off (tests compare with the stock processor and the release's position code). Traits:

* :attr:`~QwenVLAdapter.absolute_time` -- temporal positions are seconds (Qwen2.5-VL: ``second_per_grid_ts`` x
  ``tokens_per_second``, from the real frame times instead of the processor's 24-fps guess);
* :attr:`~QwenVLAdapter.native_frame_text` -- the model writes each frame group's time before its tokens
  (Qwen3-VL's ``<1.5 seconds><|vision_start|>...<|vision_end|>``), and those blocks replace the chat template's
  ``<|vision_start|><|video_pad|><|vision_end|>`` whole, as the processor published with Qwen3-VL
  (transformers 4.57) does (transformers >= 5.10 keeps an outer pair: 2 tokens per video the model never saw);
* :attr:`~QwenVLAdapter.per_video_budget` -- the processor's ``size`` bounds the whole video (Qwen3-VL): with
  ``frame_min_pixels`` / ``frame_max_pixels`` set, every frame is sized by qwen-vl-utils' per-frame
  ``smart_resize`` instead;
* :attr:`~QwenVLAdapter.extra_video_fields` -- per-video inputs the model takes beside the grid
  (``second_per_grid_ts``).

Text after a video starts one past the video's largest position, as the released models were trained
(transformers 5.x lets long videos overlap it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import torch

from vidllm.models.base import EncodedVideo, VideoAdapterBase
from vidllm.models.builders import build_layout, build_video_modules
from vidllm.models.components.frame_groups import group_times
from vidllm.models.components.layout import VideoLayout
from vidllm.models.components.timestamp_text import QWEN3_NATIVE_TEMPLATE, frame_time_texts, qwen3_native_scheme
from vidllm.models.components.video_hook import VideoTimeModules, attach
from vidllm.models.config import ModelConfig
from vidllm.models.inputs import SampledVideo, encode_pixels, generation_inputs, mm_token_types
from vidllm.models.runtime import Runtime

logger = logging.getLogger(__name__)

#: Per-video fields a Qwen-VL model may take, computed from a sampled video and the temporal patch size.
VIDEO_FIELDS = {
    "second_per_grid_ts": lambda video, temporal_patch: temporal_patch / video.fps,  # seconds per frame group
}


class QwenVLAdapter(VideoAdapterBase):
    """A Qwen-VL family with vidllm's time components; subclasses set the traits.

    Attributes:
        model_class: Name of the ``transformers`` class of the family.
        display_name: The family's name in messages.
        absolute_time: Temporal M-RoPE positions follow ``second_per_grid_ts`` (absolute time).
        native_frame_text: The family writes each frame group's time natively.
        per_video_budget: The video processor's ``size`` bounds a whole video, not a frame.
        extra_video_fields: Names in :data:`VIDEO_FIELDS` the model takes per video.
    """

    model_class: ClassVar[str] = ""
    display_name: ClassVar[str] = "Qwen-VL"
    absolute_time: ClassVar[bool] = False
    native_frame_text: ClassVar[bool] = False
    per_video_budget: ClassVar[bool] = False
    extra_video_fields: ClassVar[tuple[str, ...]] = ()

    def load_base_model(self, folder: Path, runtime: Runtime, processor):
        import transformers  # seconds to import: only when loading

        extra = {"device_map": {"": runtime.device}} if runtime.device.type != "cpu" else {}
        return getattr(transformers, self.model_class).from_pretrained(
            folder, dtype=runtime.dtype, attn_implementation=runtime.attn_implementation, **extra
        )

    def build_layout(self, config: ModelConfig) -> VideoLayout:
        return build_layout(config, native_frame_text=self.native_frame_text)

    def build_modules(self, config: ModelConfig, layout: VideoLayout, model) -> VideoTimeModules:
        return build_video_modules(config, layout, hidden_size=model.config.text_config.hidden_size,
                                   absolute_time=self.absolute_time)  # fmt: skip

    def attach_modules(self, model, modules: VideoTimeModules) -> None:
        attach(model, modules)

    def replaced_placeholder(self) -> str | None:
        if not (self.native_frame_text and self.layout.frame_text):
            return None
        start, end = self._vision_markers()
        return f"{start}{self.processor.video_token}{end}"

    def _vision_markers(self) -> tuple[str, str]:
        config = self.model.config
        return tuple(self.processor.tokenizer.convert_ids_to_tokens([config.vision_start_token_id,
                                                                     config.vision_end_token_id]))  # fmt: skip

    def frame_texts(self, group_seconds, video: SampledVideo) -> list[str] | None:
        """The time text before each frame group, or ``None`` when the layout writes none."""
        if not self.layout.frame_text:
            return None
        time = self.config.time
        if time.frame_text or not self.native_frame_text:
            scheme, template = time.make_scheme(fps=video.fps), time.template()
        else:  # the model's own format
            scheme, template = qwen3_native_scheme(), QWEN3_NATIVE_TEMPLATE
        return frame_time_texts(group_seconds, scheme, template, duration=video.duration)

    def encode_video(self, video: SampledVideo) -> EncodedVideo:
        cfg, processor = self.config, self.processor
        video_processor = processor.video_processor
        patch_t = video_processor.temporal_patch_size
        pixels, grid = encode_pixels(
            video_processor,
            video.frames,
            min_pixels=cfg.frame_min_pixels,
            max_pixels=cfg.frame_max_pixels,
            per_video_budget=self.per_video_budget,
        )
        groups, height, width = grid[0].tolist()
        group_seconds = group_times(video.timestamps, patch_t)
        start, end = self._vision_markers()
        expansion = self.layout.placeholder(
            groups,
            height * width // video_processor.merge_size**2,
            pad=processor.video_token,
            vision_start=start,
            vision_end=end,
            texts=self.frame_texts(group_seconds, video),
        )
        fields = {name: VIDEO_FIELDS[name](video, patch_t) for name in self.extra_video_fields}
        return EncodedVideo(expansion, pixels, grid, torch.tensor(group_seconds, dtype=torch.float32), fields)

    def finish_sample(self, sample: dict[str, torch.Tensor], videos) -> None:
        sample["mm_token_type_ids"] = mm_token_types(
            sample["input_ids"], self.model.config.image_token_id, self.processor.video_token_id
        )

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        if "pixel_values_videos" in batch and "mm_token_type_ids" not in batch:
            consequence = "would silently use 1-D positions" if self.absolute_time else "cannot place the video tokens"
            raise ValueError(
                f"a video batch without mm_token_type_ids: {self.display_name} {consequence}; "
                "build it with adapter.build_inputs / adapter.collate"
            )

    def generation_inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        return generation_inputs(self.model, batch)


class Qwen2VLAdapter(QwenVLAdapter):
    """Qwen2-VL (2B/7B/72B-Instruct): temporal positions count frame groups, so time reaches the model only through
    the components (time tokens, time embedding, frame-time text, NumPro)."""

    name: ClassVar[str] = "qwen2_vl"
    model_class: ClassVar[str] = "Qwen2VLForConditionalGeneration"
    display_name: ClassVar[str] = "Qwen2-VL"


class Qwen25VLAdapter(QwenVLAdapter):
    """Qwen2.5-VL (3B/7B/32B/72B-Instruct): absolute-time M-RoPE from the real frame times.

    ``mm_token_type_ids`` are always built (without them transformers 5.23 silently falls back to 1-D positions for
    this family; :meth:`forward` refuses a video batch without them).
    """

    name: ClassVar[str] = "qwen2_5_vl"
    model_class: ClassVar[str] = "Qwen2_5_VLForConditionalGeneration"
    display_name: ClassVar[str] = "Qwen2.5-VL"
    absolute_time: ClassVar[bool] = True
    extra_video_fields: ClassVar[tuple[str, ...]] = ("second_per_grid_ts",)


class Qwen3VLAdapter(QwenVLAdapter):
    """Qwen3-VL (dense 2B-32B Instruct/Thinking): per-frame time text from the real frame times (with
    ``time.frame_text`` in the configured scheme). Per-video compression leaves no frames to write times before:
    time then reaches the model through the time embedding. DeepStack features are pooled with the same slot weights
    as the visual tokens."""

    name: ClassVar[str] = "qwen3_vl"
    model_class: ClassVar[str] = "Qwen3VLForConditionalGeneration"
    display_name: ClassVar[str] = "Qwen3-VL"
    native_frame_text: ClassVar[bool] = True
    per_video_budget: ClassVar[bool] = True
