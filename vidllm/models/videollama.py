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
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vidllm.models import checkpoint
from vidllm.models.base import EncodedVideo, VideoAdapterBase
from vidllm.models.components.layout import VideoLayout
from vidllm.models.components.time_embedding import TimeEmbedding
from vidllm.models.components.time_tokens import add_time_tokens, fit_embeddings, init_time_token_rows
from vidllm.models.components.video_hook import VideoTimeModules, register
from vidllm.models.config import CompressionConfig, ModelConfig, TimeConfig
from vidllm.models.inputs import SampledVideo
from vidllm.models.runtime import Runtime

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


# ----------------------------------------------------------------------------------------------------------- adapter


def frame_time_sentence(times: Sequence[float], scheme, *, duration: float | None = None) -> str:
    """Video-LLaMA / VTG-LLM's sentence after the video: ``The video contains T frames sampled at a, b seconds. ``."""
    written = ", ".join(scheme.encode(float(t), duration=duration) for t in times)
    return f"The video contains {len(times)} frames sampled at {written} seconds. "


class VideoLLaMAAdapter(VideoAdapterBase):
    """Video-LLaMA (video Q-Former) and VTG-LLM (slots, time tokens, time embedding) with vidllm's time components.

    Args:
        config: Model configuration (``family="videollama"``).
    """

    name: ClassVar[str] = "videollama"
    example_checkpoint: ClassVar[str] = "a folder written by python -m vidllm.models.videollama"

    def check_config(self, config: ModelConfig) -> None:
        """Refuse what this family cannot do, with the fix."""
        if config.time.frame_text:
            raise ValueError(
                "time.frame_text is not used by the videollama family: its prompt always lists every frame's time "
                "in one sentence after the video (VTG-LLM's format); set time.frame_text=false"
            )
        if config.compression.enabled and config.compression.iterations:
            raise ValueError(
                "the videollama family uses VTG-LLM's one-step slots (sampler.slots); set compression.iterations=0"
            )

    def load_processor(self, folder: Path) -> VideoLlamaProcessor:
        processor = VideoLlamaProcessor.from_pretrained(folder)
        prepare_tokenizer(processor.tokenizer)
        return processor

    def load_base_model(self, folder: Path, runtime: Runtime, processor):
        from vidllm.models.videollama_model import VideoLlamaForConditionalGeneration

        extra = {"device_map": {"": runtime.device}} if runtime.device.type != "cpu" else {}
        return VideoLlamaForConditionalGeneration.from_pretrained(
            folder, dtype=runtime.dtype, attn_implementation=runtime.attn_implementation, **extra
        )

    def prepare_model(self, model, processor, config: ModelConfig) -> None:
        if config.compression.enabled and model.model.visual.merger.video_qformer is not None:
            # VTG-LLM trains from Video-LLaMA with the video Q-Former replaced by slots (use_video_qformer: False).
            logger.info("compression on: the video Q-Former is not used (VTG-LLM's slots replace it)")
            model.model.visual.merger.video_qformer = None
            model.model.visual.merger.video_query_tokens = None
            model.config.video_qformer_config = None
        model.config.video_token_id = processor.video_token_id
        fit_embeddings(model, len(processor.tokenizer))  # room for <ImageHere>

    def time_token_sources(self, tokenizer, scheme) -> dict[int, list[int]]:
        return last_piece_sources(tokenizer, scheme)

    def build_layout(self, config: ModelConfig) -> VideoLayout:
        return _layout(config)

    def build_modules(self, config: ModelConfig, layout: VideoLayout, model) -> VideoTimeModules:
        return build_modules(config, layout, model.config.qformer_config.hidden_size)

    def tokens_per_video(self, frames: int) -> int:
        """LLM features of a video of ``frames`` frames: slots, video queries or every frame's queries."""
        model_config = checkpoint.unwrap(self.model).config
        comp = self.config.compression
        if comp.enabled:
            return comp.num_slots if comp.per == "video" else frames * comp.num_slots
        if model_config.use_video_qformer:
            return model_config.num_video_query_tokens
        return frames * model_config.num_query_tokens

    def encode_video(self, video: SampledVideo) -> EncodedVideo:
        """224 x 224 pixels of every frame, ``(T, 16, 16)`` grids, frame times and the frame-time sentence."""
        vp = self.processor.video_processor
        side = vp.size // vp.patch_size
        frames = len(video.timestamps)
        scheme = self.config.time.make_scheme(fps=video.fps)
        sentence = frame_time_sentence(video.timestamps, scheme, duration=video.duration)
        placeholders = VIDEO_TOKEN * self.tokens_per_video(frames)
        times = torch.tensor(video.timestamps, dtype=torch.float32)
        grid = torch.tensor([[frames, side, side]])
        return EncodedVideo(f"<Video>{placeholders}</Video> {sentence}", vp(video.frames), grid, times)

    def generation_defaults(self) -> dict[str, Any]:
        tokenizer = self.processor.tokenizer
        return {**super().generation_defaults(), "pad_token_id": tokenizer.pad_token_id,
                "eos_token_id": tokenizer.eos_token_id}  # fmt: skip


def build_modules(config: ModelConfig, layout: VideoLayout, width: int) -> VideoTimeModules:
    """Time embedding and VTG-LLM slots at the Q-Former width, initialised from ``config.seed``."""
    from vidllm.models.videollama_model import VTGLLMSlots

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        embedding = (
            TimeEmbedding(config.time.max_seconds, width, config.time.embedding_init, config.time.embedding_scale)
            if config.time.time_embedding
            else None
        )
        comp = config.compression
        compressor = VTGLLMSlots(width, comp.num_slots) if comp.enabled else None
    return VideoTimeModules(layout, embedding, compressor, comp.per, absolute_time=False)


def _layout(config: ModelConfig) -> VideoLayout:
    comp = config.compression
    return VideoLayout(
        slots_per_video=comp.num_slots if comp.enabled and comp.per == "video" else None,
        slots_per_frame=comp.num_slots if comp.enabled and comp.per == "frame" else None,
    )


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
    adapter = VideoLLaMAAdapter(ModelConfig(family=VideoLLaMAAdapter.name, path=str(out), time=time,
                                            compression=compression))  # fmt: skip
    adapter.layout = _layout(adapter.config)
    modules = build_modules(adapter.config, adapter.layout, config.qformer_config.hidden_size)
    modules.load_state_dict(modules_state, strict=True)
    register(model, modules)
    adapter.model, adapter.processor = model, processor
    return adapter.save(out)


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
