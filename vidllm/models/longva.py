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

import copy
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vidllm.models.builders import build_layout, build_video_modules
from vidllm.models.checkpoint import (
    FORMAT_VERSION,
    META_FILE,
    MODULES_FILE,
    RUNTIME_FIELDS,
    move_to,
    read_meta,
    unwrap,
)
from vidllm.models.components.numbering import number_video_frames
from vidllm.models.components.time_tokens import add_time_tokens, fit_embeddings, init_rows_from, init_time_token_rows
from vidllm.models.components.timestamp_text import frame_time_texts
from vidllm.models.components.video_hook import MODULE_NAME, attached, vidllm_state_dict
from vidllm.models.config import LoraSettings, ModelConfig
from vidllm.models.inputs import (
    assemble_sample,
    collate,
    count_videos,
    prepare_frames,
    tokenize_conversation,
    with_numpro_hint,
)
from vidllm.models.lora import apply_lora_settings, language_model_linear_names
from vidllm.models.runtime import resolve_runtime

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
        video_processor: The frame processor.
    """

    video_token = IMAGE_TOKEN

    def __init__(self, tokenizer, video_processor: LongVAFrameProcessor):
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


class LongVAAdapter:
    """LongVA (7B, 7B-DPO and fine-tunes in the LLaVA format) with vidllm's time components.

    Args:
        config: Model configuration (``family="longva"``).
    """

    name: ClassVar[str] = "longva"
    model_types: ClassVar[tuple[str, ...]] = ("llava_qwen",)  # config.json's model_type (family detection)

    def __init__(self, config: ModelConfig):
        self.config = config
        self.model = None
        self.processor = None
        self.time_token_ids: list[int] = []
        self.layout = None
        self.base_path: Path | None = None
        self.raw_config: dict[str, Any] = {}

    def load(self, path: str | Path | None = None, *, trainable: bool = False) -> LongVAAdapter:
        """Load a local folder: a LongVA checkpoint (LLaVA format) or a folder written by :meth:`save`."""
        from vidllm.models import longva_weights

        config = copy.deepcopy(self.config)
        path = Path(path or config.path).expanduser()
        meta = read_meta(path)
        base_path = path
        if meta is not None:
            if meta["family"] != self.name:
                raise ValueError(f"{path} was saved by the {meta['family']!r} adapter, not {self.name!r}")
            saved = ModelConfig.from_dict(meta["config"])
            for name in RUNTIME_FIELDS:
                setattr(saved, name, getattr(config, name))
            config = saved
            if meta.get("base_path"):
                base_path = Path(meta["base_path"])
        config.path = str(path)
        if not (base_path / "config.json").is_file():
            raise FileNotFoundError(
                f"model folder {str(base_path)!r} has no config.json; set model.path to a local LongVA checkpoint "
                "folder (e.g. a downloaded lmms-lab/LongVA-7B-DPO)"
            )
        runtime = resolve_runtime(config.device, config.dtype, config.attn_implementation)
        tokenizer = load_tokenizer(path)
        device_map = {"": runtime.device} if runtime.device.type != "cpu" else None
        model, raw, _ = longva_weights.load_llava_checkpoint(
            base_path,
            image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
            dtype=runtime.dtype,
            attn_implementation=runtime.attn_implementation,
            device_map=device_map,
        )
        lora_folder = meta is not None and meta.get("base_path") is not None
        fit_embeddings(model, len(tokenizer))  # room for <image> (and time tokens) in a small vocabulary
        token_ids: list[int] = []
        if config.time.time_tokens:
            scheme = config.time.make_scheme(fps=1.0)
            token_ids, added = add_time_tokens(tokenizer, scheme)
            fit_embeddings(model, len(tokenizer))
            if added or lora_folder:  # a full save already holds trained rows
                init_time_token_rows(model, init_rows_from(tokenizer, scheme))
        layout = build_layout(config, native_frame_text=False)
        modules = build_video_modules(
            config, layout, hidden_size=model.config.text_config.hidden_size, absolute_time=False
        )
        param = next(model.parameters())
        modules.to(device=param.device, dtype=param.dtype)
        setattr(model.model, MODULE_NAME, modules)
        if meta is not None:
            modules.load_state_dict(load_file(str(path / MODULES_FILE), device=str(runtime.device)), strict=True)
        if lora_folder:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(path), is_trainable=trainable)
            if trainable:
                attached(model).requires_grad_(True)
        model.eval()
        vision = unwrap(model).config
        frames = LongVAFrameProcessor(
            vision.vision_config.image_size, vision.vision_config.patch_size, vision.pool_stride
        )
        self.config, self.model, self.processor = config, model, LongVAProcessor(tokenizer, frames)
        self.time_token_ids, self.layout, self.base_path, self.raw_config = token_ids, layout, base_path.resolve(), raw
        return self

    def _require_loaded(self):
        if self.model is None:
            raise RuntimeError(f"{self.name}: call .load() before using the adapter")
        return unwrap(self.model)

    def build_inputs(
        self,
        messages: Sequence[dict],
        videos: Sequence[Any] = (),
        *,
        add_generation_prompt: bool = False,
        durations: Sequence[float | None] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One sample: token ids, labels, pixels, per-video frame grids and frame times.

        Args:
            messages: Chat messages; each ``{"type": "video"}`` part takes the next of ``videos``.
            videos: ``(frames uint8 (T,H,W,3), timestamps float (T,) seconds)`` pairs or objects with
                ``frames``/``timestamps``.
            add_generation_prompt: End with the assistant prompt (for :meth:`generate`); no labels.
            durations: Each video's duration in seconds (default: the video object's ``duration``).

        Returns:
            ``input_ids``, ``attention_mask`` of shape `(1, L)`, ``labels`` (when an assistant turn is trained),
            ``pixel_values_videos`` `(total frames, 3, 336, 336)`, ``video_grid_thw`` `(n_videos, 3)` (frames and the
            12x12 token grid) and ``video_timestamps`` `(total frames,)` seconds.
        """
        base = self._require_loaded()
        cfg, processor, layout = self.config, self.processor, self.layout
        if count_videos(messages) != len(videos):
            raise ValueError(f"the messages have {count_videos(messages)} video parts but {len(videos)} videos came")
        if cfg.time.numpro:
            messages = with_numpro_hint(messages)
        side, per_frame = base.config.pooled_side, base.config.tokens_per_frame
        pixels, grids, times, expansions = [], [], [], []
        for i, given in enumerate(videos):
            video = prepare_frames(given, numpro=False, duration=durations[i] if durations else None)
            frames = video.frames
            if cfg.time.numpro:  # NumPro numbers 336x336 frames: square first, so the crop keeps the number
                frames = number_video_frames(processor.video_processor.to_square(frames), start=0)
            texts = None
            if layout.frame_text:
                scheme = cfg.time.make_scheme(fps=video.fps)
                texts = frame_time_texts(video.timestamps, scheme, cfg.time.template(), duration=video.duration)
            count = len(frames)
            expansions.append(
                layout.placeholder(count, per_frame, pad=IMAGE_TOKEN, vision_start="", vision_end="", texts=texts)
            )
            pixels.append(processor.video_processor(frames))
            grids.append(torch.tensor([[count, side, side]]))
            times.append(torch.tensor(video.timestamps, dtype=torch.float32))
        ids, labels = tokenize_conversation(
            processor, messages, expansions, add_generation_prompt=add_generation_prompt, video_pad=IMAGE_TOKEN
        )
        return assemble_sample(ids, labels, pixels, grids, times)

    def collate(self, samples: Sequence[dict[str, torch.Tensor]], *, padding_side: str = "right") -> dict:
        """Batch samples (``left`` padding for generation)."""
        return collate(samples, self.processor.tokenizer.pad_token_id, padding_side)

    def forward(self, batch: dict[str, torch.Tensor]):
        """Run the model on a batch (with ``labels``: ``.loss``)."""
        self._require_loaded()
        device = next(self.model.parameters()).device
        return self.model(**move_to(batch, device))

    @torch.no_grad()
    def generate(self, batch: dict[str, torch.Tensor], **gen_kwargs: Any) -> list[str]:
        """Greedy by default (``max_new_tokens=64``); returns the decoded new text of each row.

        The videos are merged into the prompt's embeddings once, before decoding (``inputs_embeds``).
        """
        base = self._require_loaded()
        device = next(self.model.parameters()).device
        inputs = move_to({k: v for k, v in batch.items() if k != "labels"}, device)
        embeds = base.model.embed(
            inputs["input_ids"],
            inputs.get("pixel_values_videos"),
            inputs.get("video_grid_thw"),
            inputs.get("video_timestamps"),
        )
        tokenizer = self.processor.tokenizer
        gen_kwargs = {
            "max_new_tokens": 64,
            "do_sample": False,
            "eos_token_id": tokenizer.convert_tokens_to_ids("<|im_end|>"),
            "pad_token_id": tokenizer.pad_token_id,
            **gen_kwargs,
        }
        out = self.model.generate(
            input_ids=inputs["input_ids"], inputs_embeds=embeds, attention_mask=inputs["attention_mask"], **gen_kwargs
        )
        return tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    def lora_target_modules(self, modules: Sequence[str] = LoraSettings.modules) -> list[str]:
        """The Qwen2 decoder's linear layers (never CLIP's or the projector's)."""
        return language_model_linear_names(self._require_loaded(), modules)

    def apply_lora(self, settings: LoraSettings) -> None:
        """Wrap the model with LoRA (see :mod:`vidllm.models.lora`); ``modules_to_save`` may name the projector
        (``model.visual.merger``), which NumPro-FT trains beside LoRA."""
        targets = self.lora_target_modules(settings.modules)
        self.model = apply_lora_settings(
            self.model, settings, target_modules=targets, time_token_ids=self.time_token_ids
        )

    def save(self, out_dir: str | Path, *, state_dict: dict | None = None) -> Path:
        """Write the model (LoRA adapter, or full weights in LongVA's LLaVA format), tokenizer, time modules and
        ``vidllm.json`` (``state_dict``: the gathered state under DeepSpeed ZeRO-3)."""
        from vidllm.models import longva_weights

        self._require_loaded()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.processor.save_pretrained(out)
        model = self.model
        meta: dict[str, Any] = {"format": FORMAT_VERSION, "family": self.name, "config": self.config.to_dict()}
        marker = f".{MODULE_NAME}."
        if hasattr(model, "peft_config"):
            given = {"state_dict": state_dict} if state_dict is not None else {}
            model.save_pretrained(out, save_embedding_layers=False, **given)
            meta["base_path"] = str(self.base_path)
        else:
            full = state_dict if state_dict is not None else model.state_dict()
            state = {k: v for k, v in full.items() if marker not in f".{k}"}
            longva_weights.save_llava_checkpoint(model, self.raw_config, out, state)
        modules = vidllm_state_dict(model)
        if state_dict is not None:  # the gathered values win over the (possibly sharded) module's own
            gathered = {f".{k}".split(marker, 1)[1]: v for k, v in state_dict.items() if marker in f".{k}"}
            modules.update({k: v.detach().cpu() for k, v in gathered.items()})
        save_file(modules, str(out / MODULES_FILE))
        meta["config"]["path"] = str(out)
        (out / META_FILE).write_text(json.dumps(meta, indent=2))
        logger.info("saved %s model to %s", self.name, out)
        return out
