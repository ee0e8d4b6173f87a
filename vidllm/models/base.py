"""What every adapter shares, written once: loading and saving (through :mod:`vidllm.models.checkpoint`), the
input template, batching, the loss forward, generation (streaming included), LoRA.

A family is a subclass that fills in the hooks below (the Qwen-VL trio is one class with per-family traits,
:mod:`vidllm.models.qwen_vl`; LongVA and Video-LLaMA rebuild their own model classes). ``docs/adding-a-family.md``
shows a sixth family in one small file.

Hooks of loading (called in this order by :func:`vidllm.models.checkpoint.load`):

* :meth:`check_config` -- refuse what the family cannot do, before anything loads;
* :meth:`load_processor` -- tokenizer + frame processor of the folder (a saved folder's tokenizer has the time tokens);
* :meth:`load_base_model` -- the Hugging Face model from the base folder (**required**);
* :meth:`prepare_model` -- family fix-ups once both exist (extra placeholder rows, unused parts dropped);
* :meth:`time_token_sources` -- which embedding rows initialise each new time token;
* :meth:`build_layout` / :meth:`build_modules` -- the prompt layout and the time modules;
* :meth:`attach_modules` -- register the modules (and, for stock HF classes, hook their seams);
* :meth:`write_full_weights` -- how a full (non-LoRA) save writes the weights.

Hooks of inputs and running:

* :meth:`encode_video` -- one sampled video -> pixels, grid, times and the text that replaces its placeholder
  (**required**);
* :meth:`finish_sample` -- family fields added to a built sample (token types, ...);
* :meth:`check_batch`, :meth:`generation_inputs`, :meth:`generation_defaults` -- forward / generate details.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from vidllm.models import checkpoint
from vidllm.models.builders import build_layout, build_video_modules
from vidllm.models.components.layout import VideoLayout
from vidllm.models.components.time_tokens import init_rows_from
from vidllm.models.components.video_hook import VideoTimeModules, register
from vidllm.models.config import LoraSettings, ModelConfig
from vidllm.models.inputs import (
    SampledVideo,
    assemble_sample,
    collate,
    count_videos,
    prepare_frames,
    tokenize_conversation,
    with_numpro_hint,
)
from vidllm.models.lora import apply_lora_settings, language_model_linear_names
from vidllm.models.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclass
class EncodedVideo:
    """One video as the family feeds it to its model.

    Attributes:
        expansion: The text that replaces the video's placeholder in the rendered chat.
        pixels: The processor's pixel tensor of this video.
        grid: ``(1, 3)`` grid (``video_grid_thw`` row).
        times: Seconds of each frame group (or frame) whose tokens the model sees, ``float32``.
        fields: Extra per-video values the model takes (``second_per_grid_ts``...), one float each.
    """

    expansion: str
    pixels: torch.Tensor
    grid: torch.Tensor
    times: torch.Tensor
    fields: dict[str, float] = field(default_factory=dict)


class VideoAdapterBase:
    """The shared adapter; a family subclass sets :attr:`name` and fills in the hooks.

    Args:
        config: Model configuration.

    Attributes:
        name: Registry name.
        model_types: ``config.json`` ``model_type`` values of this family's checkpoints besides :attr:`name`
            (family detection).
        example_checkpoint: A checkpoint named in error messages.
        numpro_in_prepare: NumPro numbers are drawn by :func:`~vidllm.models.inputs.prepare_frames` (``False``
            when the family draws them itself, after its own resize).
        config: The effective configuration (after :meth:`load`, the components of a saved folder).
        model: The Hugging Face model (peft-wrapped after :meth:`apply_lora`); ``None`` before :meth:`load`.
        processor: The processor; ``None`` before :meth:`load`.
        layout: Prompt layout of videos.
        time_token_ids: Vocabulary ids of the time tokens (empty without ``time.time_tokens``).
        base: How the base model was named (:func:`vidllm.models.checkpoint.base_ref`).
        base_path: The local folder of the base weights.
    """

    name: ClassVar[str] = ""
    model_types: ClassVar[tuple[str, ...]] = ()
    example_checkpoint: ClassVar[str] = "Qwen2.5-VL-7B-Instruct"
    numpro_in_prepare: ClassVar[bool] = True

    def __init__(self, config: ModelConfig):
        self.config = config
        self.model = None
        self.processor = None
        self.layout: VideoLayout | None = None
        self.time_token_ids: list[int] = []
        self.base: dict[str, str] = {}
        self.base_path: Path | None = None

    # ------------------------------------------------------------------------------------------ loading and saving

    def load(
        self, path: str | Path | None = None, *, trainable: bool = False, base: str | Path | None = None
    ) -> VideoAdapterBase:
        """Load a folder or Hub id: a base checkpoint or a folder written by :meth:`save`; returns ``self``.

        Args:
            path: Folder or Hub id (default ``config.path``).
            trainable: Keep a saved LoRA adapter trainable (resuming training).
            base: For a LoRA run, the base model to load it over instead of the one the run names.
        """
        checkpoint.load(self, path, trainable=trainable, base=base)
        return self

    def save(self, out_dir: str | Path, *, state_dict: dict | None = None) -> Path:
        """Write the model (full or LoRA), processor, time modules and ``vidllm.json`` (``state_dict``: the gathered
        state under DeepSpeed ZeRO-3)."""
        self._require_loaded()
        return checkpoint.save(self, out_dir, state_dict=state_dict)

    def check_config(self, config: ModelConfig) -> None:
        """Refuse a configuration the family cannot run (with the fix); nothing by default."""

    def load_processor(self, folder: Path):
        """The processor of ``folder`` (default: ``AutoProcessor``)."""
        from transformers import AutoProcessor  # pulls in torchvision: only when loading

        return AutoProcessor.from_pretrained(folder)

    def load_base_model(self, folder: Path, runtime: Runtime, processor):
        """The Hugging Face model of ``folder`` on ``runtime``'s device, dtype and attention."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_base_model")

    def prepare_model(self, model, processor, config: ModelConfig) -> None:
        """Family fix-ups between loading and the time components; nothing by default."""

    def time_token_sources(self, tokenizer, scheme) -> dict[int, list[int]]:
        """``{new token id: [ids whose embeddings it starts from]}`` (default: every id of each init string)."""
        return init_rows_from(tokenizer, scheme)

    def build_layout(self, config: ModelConfig) -> VideoLayout:
        """The prompt layout of videos."""
        return build_layout(config, native_frame_text=False)

    def build_modules(self, config: ModelConfig, layout: VideoLayout, model) -> VideoTimeModules:
        """The time modules (time embedding, slots) at the width of the LLM's visual tokens."""
        return build_video_modules(config, layout, hidden_size=model.config.text_config.hidden_size,
                                   absolute_time=False)  # fmt: skip

    def attach_modules(self, model, modules: VideoTimeModules) -> None:
        """Register the modules on the model (the family's model class calls them)."""
        register(model, modules)

    def write_full_weights(self, model, out: Path, state: dict[str, torch.Tensor]) -> None:
        """Write a full save's weights (default: ``save_pretrained``)."""
        model.save_pretrained(out, state_dict=state)

    def _require_loaded(self):
        if self.model is None:
            raise RuntimeError(f"{self.name}: call .load() before using the adapter")
        return checkpoint.unwrap(self.model)

    # ------------------------------------------------------------------------------------------------------ inputs

    @property
    def video_placeholder(self) -> str:
        """The token the chat template writes for a video part."""
        return self.processor.video_token

    def encode_video(self, video: SampledVideo) -> EncodedVideo:
        """One video's pixels, grid, times and prompt text."""
        raise NotImplementedError(f"{type(self).__name__} must implement encode_video")

    def replaced_placeholder(self) -> str | None:
        """A longer text around the placeholder that the video's expansion replaces whole when the prompt holds
        it (Qwen3-VL: ``<|vision_start|><|video_pad|><|vision_end|>``); ``None``: the placeholder alone."""
        return None

    def finish_sample(self, sample: dict[str, torch.Tensor], videos: Sequence[EncodedVideo]) -> None:
        """Add family fields to a built sample (in place); nothing by default."""

    def build_inputs(
        self,
        messages: Sequence[dict],
        videos: Sequence[Any] = (),
        *,
        add_generation_prompt: bool = False,
        durations: Sequence[float | None] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One sample: token ids, labels, pixels, grids and times.

        Args:
            messages: Chat messages; each ``{"type": "video"}`` part takes the next of ``videos``.
            videos: ``(frames uint8 (T,H,W,3), timestamps float (T,) seconds)`` pairs or objects with
                ``frames``/``timestamps`` (a :class:`vidllm.video.VideoFrames` also brings ``sample_fps`` and
                ``duration``).
            add_generation_prompt: End with the assistant prompt (for :meth:`generate`); no labels.
            durations: Each video's duration in seconds (default: the video object's ``duration``), needed by the
                ``bins`` scheme's frame text.

        Returns:
            ``input_ids``, ``attention_mask`` of shape `(1, L)`, ``labels`` (when an assistant turn is trained),
            and with videos ``pixel_values_videos``, ``video_grid_thw`` `(n_videos, 3)`, ``video_timestamps``
            `(total groups,)` plus the family's fields.
        """
        self._require_loaded()
        cfg = self.config
        if count_videos(messages) != len(videos):
            raise ValueError(f"the messages have {count_videos(messages)} video parts but {len(videos)} videos came")
        if cfg.time.numpro:
            messages = with_numpro_hint(messages)
        numpro = cfg.time.numpro and self.numpro_in_prepare
        encoded = [
            self.encode_video(prepare_frames(v, numpro=numpro, duration=durations[i] if durations else None))
            for i, v in enumerate(videos)
        ]
        ids, labels = tokenize_conversation(
            self.processor,
            messages,
            [e.expansion for e in encoded],
            add_generation_prompt=add_generation_prompt,
            video_pad=self.video_placeholder,
            wrapped_pad=self.replaced_placeholder(),
        )
        sample = assemble_sample(
            ids, labels, [e.pixels for e in encoded], [e.grid for e in encoded], [e.times for e in encoded]
        )
        for key in dict.fromkeys(k for e in encoded for k in e.fields):
            sample[key] = torch.tensor([e.fields[key] for e in encoded], dtype=torch.float32)
        self.finish_sample(sample, encoded)
        return sample

    # ----------------------------------------------------------------------------------------------------- running

    def collate(self, samples: Sequence[dict[str, torch.Tensor]], *, padding_side: str = "right") -> dict:
        """Batch samples from :meth:`build_inputs` (``left`` padding for generation)."""
        return collate(samples, self.processor.tokenizer.pad_token_id, padding_side)

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        """Refuse a batch the model would silently misread; nothing by default."""

    def forward(self, batch: dict[str, torch.Tensor]):
        """Run the model on a batch (with ``labels``: ``.loss``)."""
        self._require_loaded()
        self.check_batch(batch)
        device = next(self.model.parameters()).device
        return self.model(**checkpoint.move_to(batch, device))

    def generation_inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Keyword arguments of ``model.generate`` for a left-padded batch (default: the batch without labels)."""
        device = next(self.model.parameters()).device
        return checkpoint.move_to({k: v for k, v in batch.items() if k != "labels"}, device)

    def generation_defaults(self) -> dict[str, Any]:
        """Defaults of ``generate`` the caller may override: greedy, 64 new tokens."""
        return {"max_new_tokens": 64, "do_sample": False}

    @torch.no_grad()
    def generate_output(self, batch: dict[str, torch.Tensor], **gen_kwargs: Any):
        """``model.generate``'s own output (token ids, or with ``return_dict_in_generate=True`` and
        ``output_scores=True`` the scores too) for a left-padded batch; ``streamer=`` streams the text."""
        self._require_loaded()
        inputs = self.generation_inputs(batch)
        return self.model.generate(**inputs, **{**self.generation_defaults(), **gen_kwargs})

    def generate(self, batch: dict[str, torch.Tensor], **gen_kwargs: Any) -> list[str]:
        """Greedy by default (``max_new_tokens=64``); returns the decoded new text of each row.

        ``streamer=`` (a Hugging Face streamer) receives the text as it is generated.
        """
        out = self.generate_output(batch, **gen_kwargs)
        sequences = out.sequences if hasattr(out, "sequences") else out
        new = sequences[:, batch["input_ids"].shape[1] :]
        return self.processor.tokenizer.batch_decode(new, skip_special_tokens=True)

    def lora_target_modules(self, modules: Sequence[str] = LoraSettings.modules) -> list[str]:
        """Full names of the language model's linear layers to adapt (never the vision side's)."""
        return language_model_linear_names(self._require_loaded(), modules)

    def apply_lora(self, settings: LoraSettings) -> None:
        """Wrap the model with LoRA (see :mod:`vidllm.models.lora`); ``modules_to_save`` may name vision-side
        modules trained fully beside it (the projector)."""
        targets = self.lora_target_modules(settings.modules)
        self.model = apply_lora_settings(
            self.model, settings, target_modules=targets, time_token_ids=self.time_token_ids
        )
