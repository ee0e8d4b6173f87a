"""Released Video-LLaMA / VTG-LLM weights (LAVIS / MiniGPT-4 key layout) -> :mod:`vidllm.models.videollama_model`.

The released files, and the names in them (checked against the public code; see :data:`KEY_MAP` for each rule):

* ``eva_vit_g.pth`` (LAVIS BLIP-2): the EVA ViT-g alone, unprefixed -- ``cls_token``, ``pos_embed``,
  ``patch_embed.proj.*``, ``blocks.N.{norm1,norm2}.*``, ``blocks.N.attn.qkv.weight`` (no bias),
  ``blocks.N.attn.{q_bias,v_bias}``, ``blocks.N.attn.proj.*``, ``blocks.N.mlp.{fc1,fc2}.*``. LAVIS builds 39 blocks
  (``create_eva_vit_g``: depth 39, 1408 wide, 16 heads, mlp 6144, LayerNorm eps 1e-6, no final norm) and loads with
  ``strict=False``, so later blocks in the file are unused.
* a Q-Former file (``blip2_pretrained_flant5xxl.pth`` for Video-LLaMA, ``instruct_blip_vicuna7b_trimmed.pth`` for
  VTG-LLM): ``Qformer.bert.embeddings.LayerNorm.*``, ``Qformer.bert.encoder.layer.N.attention.self.{query,key,value}``,
  ``...attention.output.{dense,LayerNorm}``, ``...crossattention.*`` (every 2nd layer), ``...intermediate_query``,
  ``...output_query``, ``query_tokens``, ``ln_vision.*``. The text-side parts (word/position embeddings,
  ``intermediate`` / ``output``, ``cls``) are not used without Q-Former text input and are skipped.
* ``VL_LLaMA_2_7B_Finetuned.pth`` (Video-LLaMA-2): ``video_frame_position_embedding.weight`` (32 rows),
  ``video_Qformer.bert.*`` (2 layers, cross-attention in each), ``video_query_tokens``, ``llama_proj.*``.
* ``vtgllm.pth`` (VTG-LLM): ``video_frame_position_embedding.weight`` (96 rows), ``video_time_position_embedding``
  (8192 x 768, one row per second), ``sampler.slots`` (768 x 256), ``llama_proj.*``, the trained ``Qformer.*`` and
  ``query_tokens``, LoRA ``llama_model.base_model.model.model.layers.N.self_attn.{q,k,v,o}_proj.lora_{A,B}[.default]
  .weight`` (r = alpha = 32: merged with scale 1) and the full ``embed_tokens`` / ``lm_head`` with the time tokens.
* LLaMA-2 in Hugging Face layout (``llama-2-7b-chat-hf``): ``model.*``, ``lm_head.weight``; read as
  ``llama_model.model.*`` / ``llama_model.lm_head.weight``, as LAVIS names them.

EVA's attention has a query and a value bias and no key bias; transformers' ``Blip2Attention`` holds one
``qkv.bias = cat(q_bias, 0, v_bias)`` (the mapping transformers' BLIP-2 conversion script made), so the two biases
combine into one tensor and split back (a key bias only shifts every score of a row equally, so it is zero and stays
without effect).

The rules are name templates in :data:`KEY_MAP` and regular expressions in :data:`SKIPPED`: when a released file
names a weight differently, edit one line there. :func:`convert_state_dict` reports every key it skipped and
refuses unknown ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

VISION = "model.visual.vision_model."
QFORMER = "model.visual.qformer."
MERGER = "model.visual.merger."
LLM = "model.language_model."
TIME = "model.vidllm."

# Placeholders of the templates below: each matches one dotted piece (``{rest}``: the remainder).
PLACEHOLDERS = {
    "n": r"\d+",
    "w": r"weight|bias",
    "a": r"attention|crossattention",
    "p": r"query|key|value",
    "d": r"dense|LayerNorm",
    "f": r"fc1|fc2",
    "q": r"intermediate_query|output_query",
    "rest": r".+",
}

# (released LAVIS name, our name), with {placeholders}. Edit one line when a released file names a weight differently.
KEY_MAP: list[tuple[str, str]] = [
    # EVA ViT-g (eva_vit.py: VisionTransformer / Block / Attention / Mlp)
    ("visual_encoder.cls_token", VISION + "embeddings.class_embedding"),
    ("visual_encoder.pos_embed", VISION + "embeddings.position_embedding"),
    ("visual_encoder.patch_embed.proj.{w}", VISION + "embeddings.patch_embedding.{w}"),
    ("visual_encoder.blocks.{n}.norm1.{w}", VISION + "encoder.layers.{n}.layer_norm1.{w}"),
    ("visual_encoder.blocks.{n}.norm2.{w}", VISION + "encoder.layers.{n}.layer_norm2.{w}"),
    ("visual_encoder.blocks.{n}.attn.qkv.weight", VISION + "encoder.layers.{n}.self_attn.qkv.weight"),
    ("visual_encoder.blocks.{n}.attn.proj.{w}", VISION + "encoder.layers.{n}.self_attn.projection.{w}"),
    ("visual_encoder.blocks.{n}.mlp.{f}.{w}", VISION + "encoder.layers.{n}.mlp.{f}.{w}"),
    # (visual_encoder.blocks.{n}.attn.q_bias / v_bias -> encoder.layers.{n}.self_attn.qkv.bias: see _QKV_BIAS)
    ("ln_vision.{w}", VISION + "post_layernorm.{w}"),
    # BLIP-2 Q-Former (Qformer.py: BertEmbeddings.LayerNorm; BertLayer.{attention,crossattention}.{self,output},
    # intermediate_query, output_query)
    ("query_tokens", "model.visual.query_tokens"),
    ("Qformer.bert.embeddings.LayerNorm.{w}", QFORMER + "layernorm.{w}"),
    ("Qformer.bert.encoder.layer.{n}.{a}.self.{p}.{w}", QFORMER + "encoder.layer.{n}.{a}.attention.{p}.{w}"),
    ("Qformer.bert.encoder.layer.{n}.{a}.output.{d}.{w}", QFORMER + "encoder.layer.{n}.{a}.output.{d}.{w}"),
    ("Qformer.bert.encoder.layer.{n}.{q}.{d}.{w}", QFORMER + "encoder.layer.{n}.{q}.{d}.{w}"),
    # Video-LLaMA's video side (video_llama.py: video_frame_position_embedding, video_Qformer, video_query_tokens,
    # llama_proj)
    ("video_frame_position_embedding.weight", MERGER + "frame_position_embedding.weight"),
    ("video_query_tokens", MERGER + "video_query_tokens"),
    ("video_Qformer.bert.embeddings.LayerNorm.{w}", MERGER + "video_qformer.layernorm.{w}"),
    (
        "video_Qformer.bert.encoder.layer.{n}.{a}.self.{p}.{w}",
        MERGER + "video_qformer.encoder.layer.{n}.{a}.attention.{p}.{w}",
    ),
    (
        "video_Qformer.bert.encoder.layer.{n}.{a}.output.{d}.{w}",
        MERGER + "video_qformer.encoder.layer.{n}.{a}.output.{d}.{w}",
    ),
    ("video_Qformer.bert.encoder.layer.{n}.{q}.{d}.{w}", MERGER + "video_qformer.encoder.layer.{n}.{q}.{d}.{w}"),
    ("llama_proj.{w}", MERGER + "proj.{w}"),
    # VTG-LLM (vtgllm.py: video_time_position_embedding, SlotSampler.slots)
    ("video_time_position_embedding", TIME + "time_embedding.table.weight"),
    ("sampler.slots", TIME + "compressor.slots"),
    # LLaMA-2 in HF layout, prefixed llama_model. by LAVIS (peft's llama_model.base_model.model. is read the same)
    ("llama_model.lm_head.weight", "lm_head.weight"),
    ("llama_model.model.{rest}", LLM + "{rest}"),
]


def _regex(template: str) -> re.Pattern:
    pieces = re.split(r"\{(\w+)\}", template)
    out = ""
    for i, piece in enumerate(pieces):
        out += f"(?P<{piece}>{PLACEHOLDERS[piece]})" if i % 2 else re.escape(piece)
    return re.compile(out)


_FORWARD = [(_regex(src), dst) for src, dst in KEY_MAP]
_BACKWARD = [(_regex(dst), src) for src, dst in KEY_MAP]
_PEFT_PREFIX = "llama_model.base_model.model."


_QKV_BIAS = re.compile(r"visual_encoder\.blocks\.(\d+)\.attn\.(q_bias|v_bias)")
_LORA = re.compile(
    r"llama_model\.base_model\.model\.model\.(layers\.\d+\.(?:self_attn|mlp)\.\w+)\.lora_(A|B)(?:\.default)?\.weight"
)

# Keys of the released files that the model does not use (LAVIS loads them with strict=False and drops them).
SKIPPED: list[str] = [
    r"(video_)?Qformer\.cls\..+",  # the BERT LM head
    r"(video_)?Qformer\.bert\.embeddings\.(word_embeddings|position_embeddings)\..+",  # text input only
    r"(video_)?Qformer\.bert\.embeddings\.position_ids",
    r"(video_)?Qformer\.bert\.encoder\.layer\.\d+\.(intermediate|output)\.(dense|LayerNorm)\..+",  # text FFN
    r"visual_encoder\.(norm|fc_norm|head)\..+",  # EVA's classifier parts (unused by LAVIS)
    r"audio_.+",  # Video-LLaMA's audio branch (ImageBind, audio Q-Former): not part of the video model
    r"(llm_proj|t5_proj|vision_proj|text_proj|itm_head)\..+",  # heads of other BLIP-2 / InstructBLIP models
    r"temp",
    r"llama_model\..*rotary_emb\.inv_freq",
]


@dataclass
class Converted:
    """The result of :func:`convert_state_dict`.

    Attributes:
        state: Our names -> tensors.
        skipped: Released keys deliberately not used (:data:`SKIPPED`, ViT blocks past ``vision_depth``).
        lora: LoRA pairs merged into the LLM weights (``layers.N.self_attn.q_proj`` ...).
    """

    state: dict[str, torch.Tensor]
    skipped: list[str] = field(default_factory=list)
    lora: list[str] = field(default_factory=list)


def _rename(key: str, rules) -> str | None:
    for regex, template in rules:
        m = regex.fullmatch(key)
        if m:
            return template.format(**m.groupdict())
    return None


def convert_state_dict(
    released: Mapping[str, torch.Tensor], *, vision_depth: int | None = None, lora_scale: float = 1.0
) -> Converted:
    """Rename a (merged) released state dict to our names.

    Args:
        released: LAVIS names -> tensors (the files merged in load order: later files win, as LAVIS loads them).
        vision_depth: ViT blocks the model has (39 for EVA ViT-g in LAVIS); later blocks are skipped. ``None``
            keeps all.
        lora_scale: ``lora_alpha / r`` of the LoRA weights (VTG-LLM: 32 / 32), merged as ``W += scale * B @ A``.

    Returns:
        The converted weights and what was skipped.

    Raises:
        KeyError: Keys no rule knows (listed), or a LoRA pair without its base weight.
    """
    out: dict[str, torch.Tensor] = {}
    skipped, unknown = [], []
    biases: dict[str, dict[str, torch.Tensor]] = {}
    lora: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in released.items():
        block = re.match(r"visual_encoder\.blocks\.(\d+)\.", key)
        if block and vision_depth is not None and int(block.group(1)) >= vision_depth:
            skipped.append(key)
            continue
        if m := _QKV_BIAS.fullmatch(key):
            biases.setdefault(m.group(1), {})[m.group(2)] = value
            continue
        if m := _LORA.fullmatch(key):
            lora.setdefault(m.group(1), {})[m.group(2)] = value
            continue
        if any(re.fullmatch(p, key) for p in SKIPPED):
            skipped.append(key)
            continue
        if key.startswith(_PEFT_PREFIX):
            key = "llama_model." + key[len(_PEFT_PREFIX) :]
        name = _rename(key, _FORWARD)
        if name is None:
            unknown.append(key)
        else:
            out[name] = value
    if unknown:
        raise KeyError(
            f"{len(unknown)} released keys match no rule of vidllm.models.videollama_weights.KEY_MAP (nor SKIPPED): "
            f"{sorted(unknown)[:20]}; add a rule for them"
        )
    for layer, pair in biases.items():
        if set(pair) != {"q_bias", "v_bias"}:
            raise KeyError(f"visual_encoder.blocks.{layer}.attn has {sorted(pair)}; EVA needs both q_bias and v_bias")
        q, v = pair["q_bias"], pair["v_bias"]
        out[VISION + f"encoder.layers.{layer}.self_attn.qkv.bias"] = torch.cat([q, torch.zeros_like(q), v])
    for module, pair in lora.items():
        target = LLM + module + ".weight"
        if set(pair) != {"A", "B"} or target not in out:
            raise KeyError(f"LoRA {module}: got {sorted(pair)}, base weight {'found' if target in out else 'missing'}")
        base = out[target]
        delta = (pair["B"].float() @ pair["A"].float()) * lora_scale
        out[target] = (base.float() + delta).to(base.dtype)
    return Converted(out, sorted(skipped), sorted(lora))


def to_released(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of :func:`convert_state_dict` (without LoRA): our names -> LAVIS names.

    Used to write test checkpoints in the released layout and to check the map both ways.

    Raises:
        KeyError: A weight no rule maps back.
    """
    out: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        m = re.fullmatch(re.escape(VISION) + r"encoder\.layers\.(\d+)\.self_attn\.qkv\.bias", name)
        if m:
            q, k, v = value.chunk(3)
            if k.abs().max() > 0:
                logger.warning("%s has a non-zero key bias, which EVA cannot hold; it is dropped", name)
            out[f"visual_encoder.blocks.{m.group(1)}.attn.q_bias"] = q.clone()
            out[f"visual_encoder.blocks.{m.group(1)}.attn.v_bias"] = v.clone()
            continue
        released = _rename(name, _BACKWARD)
        if released is None:
            raise KeyError(f"{name} has no released name in KEY_MAP")
        out[released] = value
    return out


# ------------------------------------------------------------------------------------------------------ reading


def read_released_file(path: str | Path, *, prefix: str = "") -> dict[str, torch.Tensor]:
    """A LAVIS ``.pth`` (or ``.safetensors``) file as a flat state dict.

    Args:
        path: The file; a ``{"model": state}`` checkpoint is unwrapped.
        prefix: Put before every key (``"visual_encoder."`` for the standalone ``eva_vit_g.pth``).
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
            state = state["model"]
    # Other VTG-LLM checkpoints spell the parts differently; vtgllm.py renames them the same way when loading.
    renamed = {}
    for key, value in state.items():
        key = key.replace("vision_encoder", "visual_encoder").replace("vision_layernorm", "ln_vision")
        key = re.sub(r"^qformer\.", "Qformer.", key)
        renamed[prefix + key] = value
    return renamed


def read_llama_folder(folder: str | Path) -> dict[str, torch.Tensor]:
    """The LLaMA weights of a Hugging Face folder, named as LAVIS names them (``llama_model.`` + HF name)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors"))
    state: dict[str, torch.Tensor] = {}
    if files:
        for f in files:
            state.update(load_file(str(f)))
    else:
        for f in sorted(folder.glob("pytorch_model*.bin")):
            state.update(torch.load(f, map_location="cpu", weights_only=True))
    if not state:
        raise FileNotFoundError(f"{folder} holds no *.safetensors or pytorch_model*.bin; expected a LLaMA-2 HF folder")
    return {"llama_model." + k: v for k, v in state.items()}


def merge_sources(sources: Iterable[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Later sources override earlier ones, as LAVIS's successive ``load_state_dict(strict=False)`` calls do."""
    merged: dict[str, torch.Tensor] = {}
    for source in sources:
        merged.update(source)
    return merged
