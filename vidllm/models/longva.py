"""LongVA adapter: vidllm's time components on LongVA-7B (CLIP ViT-L/14-336 + Qwen2-7B-224K, LLaVA format).

LongVA checkpoints are not loadable by transformers' auto classes; :mod:`vidllm.models.longva_model` rebuilds the
model from transformers' CLIP and Qwen2 classes and :mod:`vidllm.models.longva_weights` maps the LLaVA weight names
onto it. Inputs follow LongVA's own inference and training code:

* frames: CLIP preprocessing at 336x336 (shortest side to 336 bicubic, centre crop, CLIP mean/std); with NumPro the
  frames are first resized to the square, as NumPro's preprocessing does (336x336, then numbered), so a number drawn
  bottom right is never cropped away;
* prompt: the ``qwen_1_5`` conversation (ChatML, system "You are a helpful assistant."), each video as ``<image>``
  then a newline before the user's text; the ``<image>`` placeholder expands to 144 tokens per frame, frames
  concatenated (no separators);
* time: LongVA has no notion of time of its own; the components give it one: time tokens, frame-time text (the time
  before each frame's tokens), NumPro numbering, the time embedding (per frame) and slots (per video or per frame).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vidllm.models.base import EncodedVideo, VideoAdapterBase
from vidllm.models.checkpoint import unwrap
from vidllm.models.components.numbering import number_video_frames
from vidllm.models.components.time_tokens import fit_embeddings
from vidllm.models.components.timestamp_text import frame_time_texts
from vidllm.models.config import ModelConfig
from vidllm.models.inputs import SampledVideo
from vidllm.models.runtime import Runtime

logger = logging.getLogger(__name__)

IMAGE_TOKEN = "<image>"
SYSTEM_PROMPT = "You are a helpful assistant."


# -------------------------------------------------------------------------------------------------------- processor


class LongVAFrameProcessor:
    """Frames -> CLIP pixels, as LongVA's ``image_processor.preprocess(frames)`` does for a video.

    Args:
        image_size: Side of the square CLIP input (336).
        patch_size: CLIP patch side (14).
        pool_stride: Spatial pooling after the projector (2); with ``patch_size`` it is what vidllm's frame readers
            use as the size multiple (``patch_size * merge_size``).
    """

    def __init__(self, image_size: int = 336, patch_size: int = 14, pool_stride: int = 2):
        from transformers import CLIPImageProcessor

        self.image_size = int(image_size)
        self.patch_size = int(patch_size)
        self.merge_size = int(pool_stride)
        side = {"height": self.image_size, "width": self.image_size}
        self.clip = CLIPImageProcessor(size={"shortest_edge": self.image_size}, crop_size=side)
        self.square = CLIPImageProcessor(size=side, do_center_crop=False)

    def to_square(self, frames: np.ndarray) -> np.ndarray:
        """Resize frames to ``image_size x image_size`` (aspect ratio not kept), ``uint8`` `(T, S, S, 3)`."""
        from PIL import Image

        s = self.image_size
        if frames.shape[1:3] == (s, s):
            return frames
        return np.stack([np.asarray(Image.fromarray(f).resize((s, s), Image.BICUBIC)) for f in frames])

    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        """Preprocess.

        Args:
            frames: ``uint8`` array of shape `(T, H, W, 3)`.

        Returns:
            `torch.FloatTensor` of shape `(T, 3, image_size, image_size)`.
        """
        return self.clip(images=list(frames), return_tensors="pt")["pixel_values"]


def render_qwen_1_5(messages: Sequence[dict], add_generation_prompt: bool, system: str = SYSTEM_PROMPT) -> str:
    """LongVA's ``qwen_1_5`` conversation (ChatML): each video part is ``<image>`` and a newline.

    Args:
        messages: Chat messages (HF format); a leading ``system`` message replaces the default system prompt.
        add_generation_prompt: End with the assistant's turn header.
        system: The default system prompt.

    Returns:
        The prompt text.
    """

    def text_of(content) -> str:
        if isinstance(content, str):
            return content
        pieces = []
        for part in content:
            if part.get("type") == "video":
                pieces.append(IMAGE_TOKEN + "\n")
            elif part.get("type") == "text":
                pieces.append(part["text"])
            else:
                raise ValueError(f"LongVA prompts hold text and video parts, got a {part.get('type')!r} part")
        return "".join(pieces)

    messages = list(messages)
    if messages and messages[0].get("role") == "system":
        system, messages = text_of(messages[0]["content"]), messages[1:]
    out = [f"<|im_start|>system\n{system}<|im_end|>\n"]
    out += [f"<|im_start|>{m['role']}\n{text_of(m['content'])}<|im_end|>\n" for m in messages]
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


class LongVAProcessor:
    """Tokenizer, frame processor and the ``qwen_1_5`` template, behind the calls vidllm's input helpers make.

    Args:
        tokenizer: The checkpoint's (Qwen2) tokenizer, with ``<image>`` added.
        video_processor: The frame processor (set once the model, which sizes it, is loaded).
    """

    video_token = IMAGE_TOKEN

    def __init__(self, tokenizer, video_processor: LongVAFrameProcessor | None):
        self.tokenizer = tokenizer
        self.video_processor = video_processor

    @property
    def video_token_id(self) -> int:
        return self.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)

    def apply_chat_template(self, messages, tokenize: bool = False, add_generation_prompt: bool = False, **_) -> str:
        """The prompt text (``tokenize`` must be ``False``)."""
        if tokenize:
            raise ValueError("LongVAProcessor.apply_chat_template renders text only; tokenize with .tokenizer")
        return render_qwen_1_5(messages, add_generation_prompt)

    def save_pretrained(self, out: str | Path) -> None:
        """Write the tokenizer (with ``<image>`` and any time tokens)."""
        self.tokenizer.save_pretrained(out)


def load_tokenizer(folder: Path):
    """The folder's tokenizer with the ``<image>`` placeholder (a special token) added when missing."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer  # LongVA's; AutoTokenizer would try to read llava_qwen's config

    tokenizer = Qwen2Tokenizer.from_pretrained(folder)
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)], special_tokens=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = "<|endoftext|>"
    return tokenizer


# ---------------------------------------------------------------------------------------------------------- adapter


class LongVAAdapter(VideoAdapterBase):
    """LongVA (7B, 7B-DPO and fine-tunes in the LLaVA format) with vidllm's time components.

    Args:
        config: Model configuration (``family="longva"``).
    """

    name: ClassVar[str] = "longva"
    model_types: ClassVar[tuple[str, ...]] = ("llava_qwen",)  # config.json's model_type (family detection)
    example_checkpoint: ClassVar[str] = "lmms-lab/LongVA-7B-DPO"
    numpro_in_prepare: ClassVar[bool] = False  # NumPro numbers the 336x336 square (see encode_video)

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.raw_config: dict[str, Any] = {}

    def load_processor(self, folder: Path) -> LongVAProcessor:
        return LongVAProcessor(load_tokenizer(folder), None)

    def load_base_model(self, folder: Path, runtime: Runtime, processor):
        from vidllm.models import longva_weights

        model, self.raw_config, _ = longva_weights.load_llava_checkpoint(
            folder,
            image_token_id=processor.video_token_id,
            dtype=runtime.dtype,
            attn_implementation=runtime.attn_implementation,
            device_map={"": runtime.device} if runtime.device.type != "cpu" else None,
        )
        return model

    def prepare_model(self, model, processor, config: ModelConfig) -> None:
        fit_embeddings(model, len(processor.tokenizer))  # room for <image> (and time tokens) in a small vocabulary
        vision = model.config
        processor.video_processor = LongVAFrameProcessor(
            vision.vision_config.image_size, vision.vision_config.patch_size, vision.pool_stride
        )

    def write_full_weights(self, model, out: Path, state: dict[str, torch.Tensor]) -> None:
        """Full saves are written back in LongVA's LLaVA format."""
        from vidllm.models import longva_weights

        longva_weights.save_llava_checkpoint(model, self.raw_config, out, state)

    def encode_video(self, video: SampledVideo) -> EncodedVideo:
        """CLIP pixels of every frame, ``(frames, 12, 12)`` grids (the pooled token side) and frame times."""
        cfg, processor, layout = self.config, self.processor, self.layout
        base = unwrap(self.model)
        side, per_frame = base.config.pooled_side, base.config.tokens_per_frame
        frames = video.frames
        if cfg.time.numpro:  # NumPro numbers 336x336 frames: square first, so the crop keeps the number
            frames = number_video_frames(processor.video_processor.to_square(frames), start=0)
        texts = None
        if layout.frame_text:
            scheme = cfg.time.make_scheme(fps=video.fps)
            texts = frame_time_texts(video.timestamps, scheme, cfg.time.template(), duration=video.duration)
        count = len(frames)
        expansion = layout.placeholder(count, per_frame, pad=IMAGE_TOKEN, vision_start="", vision_end="", texts=texts)
        return EncodedVideo(expansion, processor.video_processor(frames), torch.tensor([[count, side, side]]),
                            torch.tensor(video.timestamps, dtype=torch.float32))  # fmt: skip

    def generation_inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The videos merged into the prompt's embeddings once, before decoding (``inputs_embeds``)."""
        inputs = super().generation_inputs(batch)
        embeds = unwrap(self.model).model.embed(
            inputs["input_ids"],
            inputs.get("pixel_values_videos"),
            inputs.get("video_grid_thw"),
            inputs.get("video_timestamps"),
        )
        return {"input_ids": inputs["input_ids"], "inputs_embeds": embeds, "attention_mask": inputs["attention_mask"]}

    def generation_defaults(self) -> dict[str, Any]:
        tokenizer = self.processor.tokenizer
        return {**super().generation_defaults(), "eos_token_id": tokenizer.convert_tokens_to_ids("<|im_end|>"),
                "pad_token_id": tokenizer.pad_token_id}  # fmt: skip
