"""Video-LLaMA / VTG-LLM adapter (``videollama``): EVA ViT-g -> BLIP-2 Q-Former -> frame positions + time embedding ->
slots (VTG-LLM) or video Q-Former (Video-LLaMA) -> linear -> LLaMA-2, with vidllm's time components.

Checkpoints: the released files are LAVIS state dicts plus a LLaMA-2 HF folder. :func:`convert_released` turns them
into one folder once (``python -m vidllm.models.videollama --help``):

* Video-LLaMA-2 (``eva_vit_g.pth`` + ``blip2_pretrained_flant5xxl.pth`` + ``VL_LLaMA_2_7B_Finetuned.pth`` +
  ``llama-2-7b-chat-hf``) -> a base folder: the caller's ``time`` / ``compression`` config adds components, as on any
  base checkpoint. ``--max_frame_pos 96`` stretches the 32 frame positions (nearest, as VTG-LLM does) for 96 frames.
* VTG-LLM (the same + ``instruct_blip_vicuna7b_trimmed.pth`` + ``vtgllm.pth``) -> a folder in vidllm's saved format
  (time tokens, time embedding, 256 slots), which loads with its own components.

Prompt format (VTG-LLM's ``conv_llava_llama_2`` / ``llama_v2_video_conversation``, LLaMA-2 chat)::

    <s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n<Video><ImageHere>x N</Video> The video contains T frames sampled at
    t1, t2, ... seconds. {question} [/INST] {answer} </s>

with the frame times in the run's time scheme (VTG-LLM: ``<TIME_ZERO><TIME_ZERO><TIME_ONE><TIME_TWO><TIME_DOT>
<TIME_FIVE>``), ``N`` the video's LLM features (K slots, 32 video queries, or ``T x 32``) and the system prompt
``" "`` as in VTG-LLM's training data unless the messages start with a system turn.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vidllm.models import checkpoint
from vidllm.models.components.layout import VideoLayout
from vidllm.models.components.time_embedding import TimeEmbedding
from vidllm.models.components.time_tokens import add_time_tokens, fit_embeddings, init_time_token_rows
from vidllm.models.components.video_hook import MODULE_NAME, VideoTimeModules, attached
from vidllm.models.config import CompressionConfig, LoraSettings, ModelConfig, TimeConfig
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

VIDEO_TOKEN = "<ImageHere>"
PROCESSOR_FILE = "videollama_processor.json"
DEFAULT_SYSTEM = " "  # VTG-LLM's training conversations (llama_v2_video_conversation.system)
# BLIP-2 / CLIP normalisation (LAVIS AlproVideo*Processor defaults).
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)

# LLaMA-2 chat as VTG-LLM renders it (SeparatorStyle.LLAMA_2): each video part is one <ImageHere>, which
# build_inputs expands to <Video><ImageHere> x N</Video> and the frame-time sentence.
CHAT_TEMPLATE = (
    "{%- set system = ' ' -%}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- if messages[0]['content'] is string -%}{%- set system = messages[0]['content'] -%}"
    "{%- else -%}{%- set system = messages[0]['content'] | map(attribute='text') | join('') -%}{%- endif -%}"
    "{%- set messages = messages[1:] -%}{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}{%- set content = message['content'] -%}{%- else -%}"
    "{%- set ns = namespace(text='') -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'video' -%}{%- set ns.text = ns.text + '" + VIDEO_TOKEN + "' -%}"
    "{%- else -%}{%- set ns.text = ns.text + part['text'] -%}{%- endif -%}{%- endfor -%}"
    "{%- set content = ns.text -%}{%- endif -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{ bos_token }}[INST] {% if loop.first %}<<SYS>>\n{{ system }}\n<</SYS>>\n\n{% endif %}{{ content }} [/INST]"
    "{%- elif message['role'] == 'assistant' -%}{{ ' ' + content + ' ' + eos_token }}{%- endif -%}"
    "{%- endfor -%}"
)


# -------------------------------------------------------------------------------------------------------- processor


@dataclass
class FrameProcessor:
    """Frames -> normalised 224 x 224 pixels, as LAVIS's video processors give them to EVA ViT-g.

    Attributes:
        size: Frame side in pixels (the ViT's ``image_size``).
        patch_size: ViT patch (frames read with sides a multiple of it).
        merge_size: 1 (no patch merge; with ``patch_size`` it sets vidllm's ``size_multiple``).
        mean: Per-channel mean.
        std: Per-channel std.
    """

    size: int = 224
    patch_size: int = 14
    merge_size: int = 1
    mean: tuple[float, ...] = MEAN
    std: tuple[float, ...] = STD

    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        """``uint8 (T, H, W, 3)`` -> ``float32 (T, 3, size, size)`` (bilinear resize, antialiased; the released
        pipelines resize inside decord while decoding)."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        if x.shape[-2:] != (self.size, self.size):
            x = torch.nn.functional.interpolate(
                x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True
            )
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std


class VideoLlamaProcessor:
    """The tokenizer (LLaMA-2 + ``<ImageHere>`` [+ time tokens]) and the :class:`FrameProcessor`.

    Args:
        tokenizer: A LLaMA tokenizer with ``<ImageHere>`` and the chat template.
        video_processor: Frame preprocessing.
    """

    def __init__(self, tokenizer, video_processor: FrameProcessor | None = None):
        self.tokenizer = tokenizer
        self.video_processor = video_processor or FrameProcessor()
        self.video_token = VIDEO_TOKEN

    @property
    def video_token_id(self) -> int:
        return self.tokenizer.convert_tokens_to_ids(VIDEO_TOKEN)

    def apply_chat_template(self, messages, **kwargs):
        return self.tokenizer.apply_chat_template(messages, chat_template=CHAT_TEMPLATE, **kwargs)

    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(folder)
        vp = self.video_processor
        info = {"size": vp.size, "patch_size": vp.patch_size, "merge_size": vp.merge_size, "mean": vp.mean,
                "std": vp.std}  # fmt: skip
        (folder / PROCESSOR_FILE).write_text(json.dumps(info, indent=2))

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> VideoLlamaProcessor:
        from transformers import AutoTokenizer

        folder = Path(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        info = json.loads((folder / PROCESSOR_FILE).read_text()) if (folder / PROCESSOR_FILE).is_file() else {}
        info = {k: tuple(v) if isinstance(v, list) else v for k, v in info.items()}
        return cls(tokenizer, FrameProcessor(**info))


def prepare_tokenizer(tokenizer):
    """Add ``<ImageHere>`` (special, as Video-LLaMA does) and the padding VTG-LLM uses (``<unk>``)."""
    if VIDEO_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens([VIDEO_TOKEN], special_tokens=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def last_piece_sources(tokenizer, scheme) -> dict[int, list[int]]:
    """VTG-LLM's time-token initialisation: each new row copies the row of the *last* piece of its string (``'0'``
    without the ``'▁'`` a LLaMA tokenizer puts before it: ``llama_tokenizer.encode(i)[-1]`` in vtgllm.py)."""
    sources = {}
    for token, strings in scheme.init_tokens().items():
        ids = [tokenizer.encode(s, add_special_tokens=False)[-1] for s in strings]
        sources[tokenizer.convert_tokens_to_ids(token)] = ids
    return sources


# ----------------------------------------------------------------------------------------------------------- loading


def check_config(config: ModelConfig) -> None:
    """Refuse what this family cannot do, with the fix."""
    if config.time.frame_text:
        raise ValueError(
            "time.frame_text is not used by the videollama family: its prompt always lists every frame's time in "
            "one sentence after the video (VTG-LLM's format); set time.frame_text=false"
        )
    if config.compression.enabled and config.compression.iterations:
        raise ValueError(
            "the videollama family uses VTG-LLM's one-step slots (sampler.slots); set compression.iterations=0"
        )


def build_modules(config: ModelConfig, layout: VideoLayout, width: int) -> VideoTimeModules:
    """Time embedding and VTG-LLM slots at the Q-Former width, initialised from ``config.seed``."""
    from vidllm.models.videollama_model import VTGLLMSlots

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        embedding = TimeEmbedding(config.time.max_seconds, width) if config.time.time_embedding else None
        comp = config.compression
        compressor = VTGLLMSlots(width, comp.num_slots) if comp.enabled else None
    return VideoTimeModules(layout, embedding, compressor, comp.per, absolute_time=False)


def _layout(config: ModelConfig) -> VideoLayout:
    comp = config.compression
    return VideoLayout(
        slots_per_video=comp.num_slots if comp.enabled and comp.per == "video" else None,
        slots_per_frame=comp.num_slots if comp.enabled and comp.per == "frame" else None,
    )


def load(config: ModelConfig, path: str | Path | None = None, *, family: str, trainable: bool = False):
    """Load a converted base folder or a folder written by ``adapter.save`` (like :func:`checkpoint.load`).

    Returns:
        A :class:`vidllm.models.checkpoint.Loaded`.
    """
    from safetensors.torch import load_file

    from vidllm.models.videollama_model import VideoLlamaForConditionalGeneration

    config = copy.deepcopy(config)
    path = Path(path or config.path).expanduser()
    meta = checkpoint.read_meta(path)
    base_path = path
    if meta is not None:
        if meta["family"] != family:
            raise ValueError(f"{path} was saved by the {meta['family']!r} adapter, not {family!r}; use that family")
        saved = ModelConfig.from_dict(meta["config"])
        for name in checkpoint.RUNTIME_FIELDS:
            setattr(saved, name, getattr(config, name))
        config = saved
        if meta.get("base_path"):
            base_path = Path(meta["base_path"])
    config.path = str(path)
    check_config(config)
    checkpoint._check_folder(base_path)
    runtime = resolve_runtime(config.device, config.dtype, config.attn_implementation)
    processor = VideoLlamaProcessor.from_pretrained(path)
    prepare_tokenizer(processor.tokenizer)
    extra = {"device_map": {"": runtime.device}} if runtime.device.type != "cpu" else {}
    model = VideoLlamaForConditionalGeneration.from_pretrained(
        base_path, dtype=runtime.dtype, attn_implementation=runtime.attn_implementation, **extra
    )
    if config.compression.enabled and model.model.visual.merger.video_qformer is not None:
        # VTG-LLM trains from Video-LLaMA with the video Q-Former replaced by slots (use_video_qformer: False).
        logger.info("compression on: the video Q-Former of %s is not used (VTG-LLM's slots replace it)", base_path)
        model.model.visual.merger.video_qformer = None
        model.model.visual.merger.video_query_tokens = None
        model.config.video_qformer_config = None
    model.config.video_token_id = processor.video_token_id
    token_ids: list[int] = []
    lora_folder = meta is not None and meta.get("base_path") is not None
    if config.time.time_tokens:
        scheme = config.time.make_scheme(fps=1.0)
        token_ids, added = add_time_tokens(processor.tokenizer, scheme)
        fit_embeddings(model, len(processor.tokenizer))
        if added or lora_folder:
            init_time_token_rows(model, last_piece_sources(processor.tokenizer, scheme))
    fit_embeddings(model, len(processor.tokenizer))
    layout = _layout(config)
    modules = build_modules(config, layout, model.config.qformer_config.hidden_size)
    param = next(model.parameters())
    setattr(model.model, MODULE_NAME, modules.to(device=param.device, dtype=param.dtype))
    if meta is not None:
        state = load_file(str(path / checkpoint.MODULES_FILE), device=str(runtime.device))
        modules.load_state_dict(state, strict=True)
    if lora_folder:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path), is_trainable=trainable)
        if trainable:
            attached(model).requires_grad_(True)
    model.eval()
    return checkpoint.Loaded(model, processor, config, layout, token_ids, base_path.resolve())


# ----------------------------------------------------------------------------------------------------------- adapter


def frame_time_sentence(times: Sequence[float], scheme, *, duration: float | None = None) -> str:
    """Video-LLaMA / VTG-LLM's sentence after the video: ``The video contains T frames sampled at a, b seconds. ``."""
    written = ", ".join(scheme.encode(float(t), duration=duration) for t in times)
    return f"The video contains {len(times)} frames sampled at {written} seconds. "


class VideoLLaMAAdapter:
    """Video-LLaMA (video Q-Former) and VTG-LLM (slots, time tokens, time embedding) with vidllm's time components.

    Args:
        config: Model configuration (``family="videollama"``).
    """

    name: ClassVar[str] = "videollama"

    def __init__(self, config: ModelConfig):
        self.config = config
        self.model = None
        self.processor = None
        self.time_token_ids: list[int] = []
        self._loaded: checkpoint.Loaded | None = None

    def load(self, path: str | Path | None = None, *, trainable: bool = False) -> VideoLLaMAAdapter:
        """Load a converted folder (:func:`convert_released`) or a folder written by :meth:`save`."""
        self._loaded = load(self.config, path, family=self.name, trainable=trainable)
        self.config, self.model, self.processor = self._loaded.config, self._loaded.model, self._loaded.processor
        self.time_token_ids = self._loaded.time_token_ids
        return self

    def _require_loaded(self) -> checkpoint.Loaded:
        if self._loaded is None:
            raise RuntimeError(f"{self.name}: call .load() before using the adapter")
        self._loaded.model = self.model
        return self._loaded

    def tokens_per_video(self, frames: int) -> int:
        """LLM features of a video of ``frames`` frames: slots, video queries or every frame's queries."""
        model_config = checkpoint.unwrap(self.model).config
        comp = self.config.compression
        if comp.enabled:
            return comp.num_slots if comp.per == "video" else frames * comp.num_slots
        if model_config.use_video_qformer:
            return model_config.num_video_query_tokens
        return frames * model_config.num_query_tokens

    def build_inputs(
        self,
        messages: Sequence[dict],
        videos: Sequence[Any] = (),
        *,
        add_generation_prompt: bool = False,
        durations: Sequence[float | None] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One sample: token ids, labels, pixels, frame counts and frame times.

        Args:
            messages: Chat messages; each ``{"type": "video"}`` part takes the next of ``videos``.
            videos: ``(frames uint8 (T,H,W,3), timestamps float (T,) seconds)`` pairs or objects with
                ``frames``/``timestamps``.
            add_generation_prompt: End after ``[/INST]`` (for :meth:`generate`); no labels.
            durations: Each video's duration in seconds (for the ``bins`` scheme).

        Returns:
            ``input_ids``, ``attention_mask`` of shape `(1, L)`, ``labels`` (when an assistant turn is trained),
            ``pixel_values_videos`` `(sum T, 3, 224, 224)`, ``video_grid_thw`` `(n_videos, 3)` = ``(T, 16, 16)`` and
            ``video_timestamps`` `(sum T,)`.
        """
        self._require_loaded()
        cfg, processor = self.config, self.processor
        if count_videos(messages) != len(videos):
            raise ValueError(f"the messages have {count_videos(messages)} video parts but {len(videos)} videos came")
        if cfg.time.numpro:
            messages = with_numpro_hint(messages)
        vp = processor.video_processor
        side = vp.size // vp.patch_size
        pixels, grids, times, expansions = [], [], [], []
        for i, given in enumerate(videos):
            video = prepare_frames(given, numpro=cfg.time.numpro, duration=durations[i] if durations else None)
            frames = len(video.timestamps)
            scheme = cfg.time.make_scheme(fps=video.fps)
            sentence = frame_time_sentence(video.timestamps, scheme, duration=video.duration)
            placeholders = VIDEO_TOKEN * self.tokens_per_video(frames)
            expansions.append(f"<Video>{placeholders}</Video> {sentence}")
            pixels.append(vp(video.frames))
            grids.append(torch.tensor([[frames, side, side]]))
            times.append(torch.tensor(video.timestamps, dtype=torch.float32))
        ids, labels = tokenize_conversation(
            processor, messages, expansions, add_generation_prompt=add_generation_prompt, video_pad=VIDEO_TOKEN
        )
        return assemble_sample(ids, labels, pixels, grids, times)

    def collate(self, samples: Sequence[dict[str, torch.Tensor]], *, padding_side: str = "right") -> dict:
        """Batch samples (``left`` padding for generation)."""
        return collate(samples, self.processor.tokenizer.pad_token_id, padding_side)

    def forward(self, batch: dict[str, torch.Tensor]):
        """Run the model on a batch (with ``labels``: ``.loss``)."""
        self._require_loaded()
        device = next(self.model.parameters()).device
        return self.model(**checkpoint.move_to(batch, device))

    @torch.no_grad()
    def generate(self, batch: dict[str, torch.Tensor], **gen_kwargs: Any) -> list[str]:
        """Greedy by default (``max_new_tokens=64``); returns the decoded new text of each row."""
        self._require_loaded()
        device = next(self.model.parameters()).device
        inputs = checkpoint.move_to({k: v for k, v in batch.items() if k != "labels"}, device)
        tokenizer = self.processor.tokenizer
        gen_kwargs = {"max_new_tokens": 64, "do_sample": False, "pad_token_id": tokenizer.pad_token_id,
                      "eos_token_id": tokenizer.eos_token_id, **gen_kwargs}  # fmt: skip
        out = self.model.generate(**inputs, **gen_kwargs)
        return tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    def lora_target_modules(self, modules: Sequence[str] = LoraSettings.modules) -> list[str]:
        """LLaMA's linear layers (never the ViT's, the Q-Formers' or ``llama_proj``)."""
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


# -------------------------------------------------------------------------------------------------------- conversion


def _count_layers(state: dict, prefix: str) -> int:
    import re

    found = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
    return max(found) + 1 if found else 0


def infer_config(state: dict, text_config, *, vision_heads: int, qformer_heads: int, use_video_qformer: bool):
    """A :class:`VideoLlamaConfig` from the shapes of converted weights (head counts cannot be read off)."""
    from vidllm.models.videollama_model import VideoLlamaConfig
    from vidllm.models.videollama_weights import MERGER, QFORMER, VISION

    patch = state[VISION + "embeddings.patch_embedding.weight"]
    positions = state[VISION + "embeddings.position_embedding"].shape[1] - 1
    vision = {
        "hidden_size": patch.shape[0],
        "patch_size": patch.shape[-1],
        "image_size": patch.shape[-1] * round(positions**0.5),
        "intermediate_size": state[VISION + "encoder.layers.0.mlp.fc1.weight"].shape[0],
        "num_hidden_layers": _count_layers(state, VISION + "encoder.layers."),
        "num_attention_heads": vision_heads,
        "layer_norm_eps": 1e-6,
    }

    def qformer(prefix: str) -> dict:
        layers = _count_layers(state, prefix + "encoder.layer.")
        crossed = [
            i for i in range(layers) if f"{prefix}encoder.layer.{i}.crossattention.attention.key.weight" in state
        ]
        return {
            "hidden_size": state[prefix + "layernorm.weight"].shape[0],
            "num_hidden_layers": layers,
            "num_attention_heads": qformer_heads,
            "intermediate_size": state[prefix + "encoder.layer.0.intermediate_query.dense.weight"].shape[0],
            "encoder_hidden_size": state[prefix + "encoder.layer.0.crossattention.attention.key.weight"].shape[1],
            "cross_attention_frequency": crossed[1] - crossed[0] if len(crossed) > 1 else layers,
        }

    video = qformer(MERGER + "video_qformer.") if use_video_qformer else None
    return VideoLlamaConfig(
        vision_config=vision,
        qformer_config=qformer(QFORMER),
        video_qformer_config=video,
        text_config=text_config.to_dict(),
        num_query_tokens=state["model.visual.query_tokens"].shape[1],
        num_video_query_tokens=state[MERGER + "video_query_tokens"].shape[1] if use_video_qformer else 32,
        max_frame_pos=state[MERGER + "frame_position_embedding.weight"].shape[0],
    )


def stretch_frame_positions(weight: torch.Tensor, rows: int) -> torch.Tensor:
    """VTG-LLM's ``interpolate_frame_pos_embed``: nearest-neighbour resampling of the frame position rows."""
    x = weight.float().t().unsqueeze(0)
    return torch.nn.functional.interpolate(x, size=rows, mode="nearest")[0].t().to(weight.dtype)


def convert_released(
    out_dir: str | Path,
    *,
    llama: str | Path,
    files: Sequence[str | Path],
    vit: str | Path | None = None,
    vision_depth: int = 39,
    vision_heads: int = 16,
    qformer_heads: int = 12,
    max_frame_pos: int | None = None,
    lora_scale: float = 1.0,
    dtype: str = "bfloat16",
    frame_size: int | None = None,
) -> Path:
    """Convert released Video-LLaMA / VTG-LLM weights into a folder the adapter loads.

    Args:
        out_dir: Folder to write.
        llama: The LLaMA-2 HF folder (``llama-2-7b-chat-hf``, with its tokenizer).
        files: LAVIS checkpoints in load order, later ones winning (Q-Former file, ``VL_LLaMA_2_7B_Finetuned.pth``,
            then ``vtgllm.pth``).
        vit: ``eva_vit_g.pth`` (unprefixed ViT weights).
        vision_depth: ViT blocks kept (LAVIS: 39).
        vision_heads: ViT heads (EVA ViT-g: 16).
        qformer_heads: Q-Former heads (BERT-base: 12).
        max_frame_pos: Resample the frame position embedding to this many rows (VTG-LLM: 96).
        lora_scale: ``alpha / r`` of LoRA weights in ``files`` (VTG-LLM: 1).
        dtype: Dtype of the written weights.
        frame_size: Frame side the processor resizes to (default: the ViT's image size).

    Returns:
        ``out_dir``: a base folder (Video-LLaMA), or a saved vidllm folder when the files hold VTG-LLM's time
        embedding / slots / time-token rows.
    """
    from transformers import AutoTokenizer, LlamaConfig

    from vidllm.models import videollama_weights as W
    from vidllm.models.videollama_model import VideoLlamaForConditionalGeneration
    from vidllm.time import get_scheme

    sources = [W.read_llama_folder(llama)]
    if vit is not None:
        sources.append(W.read_released_file(vit, prefix="visual_encoder."))
    sources += [W.read_released_file(f) for f in files]
    converted = W.convert_state_dict(W.merge_sources(sources), vision_depth=vision_depth, lora_scale=lora_scale)
    state = converted.state
    logger.info("skipped %d released keys (unused by the model): %s", len(converted.skipped), converted.skipped[:8])
    vtgllm = any(k.startswith(W.TIME) for k in state)
    text_config = LlamaConfig.from_pretrained(llama)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(llama))
    time = TimeConfig()
    compression = CompressionConfig()
    if vtgllm:  # VTG-LLM's 11 time tokens follow <ImageHere>, in its order
        scheme = get_scheme("vtgllm")
        add_time_tokens(tokenizer, scheme)
        emb = state.get(W.TIME + "time_embedding.table.weight")
        time = TimeConfig(scheme="vtgllm", time_tokens=True, time_embedding=emb is not None,
                          max_seconds=emb.shape[0] - 1 if emb is not None else 3600)  # fmt: skip
        if W.TIME + "compressor.slots" in state:
            compression = CompressionConfig(enabled=True, num_slots=state[W.TIME + "compressor.slots"].shape[1])
    use_video_qformer = W.MERGER + "video_query_tokens" in state and not compression.enabled
    if not use_video_qformer:
        for key in [k for k in state if k.startswith(W.MERGER + "video_q")]:
            del state[key]  # VTG-LLM does not use Video-LLaMA's video Q-Former
    frame_key = W.MERGER + "frame_position_embedding.weight"
    if max_frame_pos and state[frame_key].shape[0] != max_frame_pos:
        state[frame_key] = stretch_frame_positions(state[frame_key], max_frame_pos)
    config = infer_config(state, text_config, vision_heads=vision_heads, qformer_heads=qformer_heads,
                          use_video_qformer=use_video_qformer)  # fmt: skip
    config.video_token_id = tokenizer.convert_tokens_to_ids(VIDEO_TOKEN)
    config.text_config.vocab_size = max(len(tokenizer), state[W.LLM + "embed_tokens.weight"].shape[0])
    model = VideoLlamaForConditionalGeneration(config)
    model_state = model.state_dict()
    given_rows = state[W.LLM + "embed_tokens.weight"].shape[0]
    for key in ("model.language_model.embed_tokens.weight", "lm_head.weight"):
        given = state[key]
        if given.shape[0] < model_state[key].shape[0]:  # rows for <ImageHere> (and new time tokens)
            grown = model_state[key].clone().zero_()
            grown[: given.shape[0]] = given
            state[key] = grown
    modules_state = {k[len(W.TIME) :]: v for k, v in state.items() if k.startswith(W.TIME)}
    llm_state = {k: v for k, v in state.items() if not k.startswith(W.TIME)}
    missing = sorted(set(model_state) - set(llm_state))
    unexpected = sorted(set(llm_state) - set(model_state))
    if missing or unexpected:
        raise KeyError(f"converted weights do not fit the model: missing {missing[:20]}, unexpected {unexpected[:20]}")
    model.load_state_dict(llm_state, strict=True)
    if vtgllm and len(tokenizer) > given_rows:  # the files hold no rows for the time tokens: VTG-LLM's init
        init_time_token_rows(model, last_piece_sources(tokenizer, get_scheme("vtgllm")))
    model.to(getattr(torch, dtype))
    out = Path(out_dir)
    size = frame_size or config.vision_config.image_size
    processor = VideoLlamaProcessor(tokenizer, FrameProcessor(size=size, patch_size=config.vision_config.patch_size))
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, do_sample=False,
    )  # fmt: skip
    if not vtgllm:
        model.save_pretrained(out)
        processor.save_pretrained(out)
        return out
    model_config = ModelConfig(family=VideoLLaMAAdapter.name, path=str(out), time=time, compression=compression)
    layout = _layout(model_config)
    modules = build_modules(model_config, layout, config.qformer_config.hidden_size)
    modules.load_state_dict(modules_state, strict=True)
    setattr(model.model, MODULE_NAME, modules.to(getattr(torch, dtype)))
    loaded = checkpoint.Loaded(model, processor, model_config, layout, [], out.resolve())
    return checkpoint.save(loaded, out, family=VideoLLaMAAdapter.name)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m vidllm.models.videollama OUT --llama DIR --vit eva_vit_g.pth FILE...``"""
    parser = argparse.ArgumentParser(description=convert_released.__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("files", nargs="*", help="LAVIS checkpoints in load order (Q-Former, Video-LLaMA, VTG-LLM)")
    parser.add_argument("--llama", required=True, help="LLaMA-2 HF folder (llama-2-7b-chat-hf)")
    parser.add_argument("--vit", help="eva_vit_g.pth")
    parser.add_argument("--max_frame_pos", type=int, help="resample the frame positions (VTG-LLM: 96)")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    out = convert_released(args.out, llama=args.llama, files=args.files, vit=args.vit,
                           max_frame_pos=args.max_frame_pos, dtype=args.dtype)  # fmt: skip
    logger.info("wrote %s", out)


if __name__ == "__main__":
    main()
