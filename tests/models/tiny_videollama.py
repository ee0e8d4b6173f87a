"""Tiny Video-LLaMA / VTG-LLM checkpoints for tests, written in the *released* layout and converted like real ones.

:func:`write_released` builds a random tiny model from the real config classes (Blip2Vision / Blip2QFormer /
LLaMA, 28-pixel frames, 32-wide ViT, 16-wide Q-Formers, 32-wide 2-layer LLaMA) and writes it the way the authors
published theirs: ``eva_vit_g.pth`` (unprefixed ViT), a Q-Former ``.pth`` (``Qformer.bert.*``, ``query_tokens``,
``ln_vision``, plus the unused text parts), the video ``.pth`` (``video_Qformer``, ``video_frame_position_embedding``,
``llama_proj``, or VTG-LLM's ``video_time_position_embedding``, ``sampler.slots`` and LoRA pairs) and a LLaMA HF
folder with a small LLaMA-style tokenizer (Metaspace BPE with byte fallback). :func:`write_tiny_checkpoint` then runs
:func:`vidllm.models.videollama.convert_released` on it.

>>> folder = write_tiny_checkpoint(tmp_path / "tiny", kind="vtgllm")     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import torch

KINDS = ("videollama", "vtgllm")
FRAME = 28  # 2 x 2 patches of 14 pixels
NUM_SLOTS = 3
MAX_SECONDS = 63

_CORPUS = (
    "You are a helpful assistant. When does the man open the door?",
    "The video contains 8 frames sampled at 0.0, 0.5, 1.0 seconds. The man opens the door from 12.5 to 20.0 seconds.",
    "A woman is cooking in the kitchen, then she washes the dishes. Find the moment when the red square is visible.",
    "0 1 2 3 4 5 6 7 8 9 . - , : ; ? ! < > ( ) [ ] / INST SYS seconds second frame frames time start end Video",
)


def build_llama_tokenizer():
    """A small LLaMA-style tokenizer: ``<unk>``/``<s>``/``</s>`` at 0-2, byte-fallback pieces, Metaspace BPE."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaTokenizer

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    bpe.train_from_iterator(list(_CORPUS) * 4, trainer)
    trained = json.loads(bpe.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<0x{i:02X}>": 3 + i for i in range(256)})
    for token in sorted(trained["vocab"], key=trained["vocab"].get):
        vocab.setdefault(token, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    return LlamaTokenizer(vocab=vocab, merges=merges)


def tiny_config(vocab_size: int, *, video_qformer: bool, max_frame_pos: int = 16):
    """The tiny :class:`~vidllm.models.videollama_model.VideoLlamaConfig`."""
    from vidllm.models.videollama_model import VideoLlamaConfig

    qformer = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32}
    return VideoLlamaConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": FRAME,
            "patch_size": 14,
        },  # fmt: skip
        qformer_config={**qformer, "encoder_hidden_size": 32, "cross_attention_frequency": 2},
        video_qformer_config={**qformer, "encoder_hidden_size": 16, "cross_attention_frequency": 1}
        if video_qformer
        else None,
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 4096,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "pad_token_id": 0,
        },  # fmt: skip
        num_query_tokens=4,
        num_video_query_tokens=3,
        max_frame_pos=max_frame_pos,
    )


def _random_state(config, seed: int) -> dict[str, torch.Tensor]:
    from vidllm.models.videollama_model import VideoLlamaForConditionalGeneration

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VideoLlamaForConditionalGeneration(config)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for key, value in state.items():  # no zero or identity weights anywhere: every mapping error shows
            if key.endswith("qkv.bias"):
                q, _, v = value.chunk(3)
                state[key] = torch.cat([torch.randn_like(q), torch.zeros_like(q), torch.randn_like(v)]) * 0.1
            else:
                state[key] = value + torch.randn_like(value) * 0.05
    return state


def write_released(folder: str | Path, *, kind: str = "vtgllm", seed: int = 0) -> tuple[dict, dict[str, torch.Tensor]]:
    """Write a tiny model in the released layout.

    Args:
        folder: Output folder (created).
        kind: ``videollama`` (video Q-Former) or ``vtgllm`` (time embedding, slots, LoRA, time-token rows).
        seed: Seed of the random weights.

    Returns:
        ``(paths, truth)``: keyword arguments of :func:`~vidllm.models.videollama.convert_released` (``llama``,
        ``vit``, ``files``) and the weights the conversion must produce (our names; ``model.vidllm.*`` for the time
        modules).
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    from vidllm.models import videollama_weights as W
    from vidllm.models.videollama import prepare_tokenizer
    from vidllm.time import get_scheme

    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_llama_tokenizer()
    base_vocab = len(tokenizer)
    llama_dir = folder / "llama-2-7b-chat-hf"
    tokenizer.save_pretrained(llama_dir)
    full = prepare_tokenizer(build_llama_tokenizer())
    if kind == "vtgllm":
        from vidllm.models.components.time_tokens import add_time_tokens

        add_time_tokens(full, get_scheme("vtgllm"))
    config = tiny_config(len(full), video_qformer=kind == "videollama")
    truth = _random_state(config, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    if kind == "vtgllm":
        truth[W.TIME + "time_embedding.table.weight"] = torch.randn(MAX_SECONDS + 1, 16, generator=gen)
        truth[W.TIME + "compressor.slots"] = torch.randn(16, NUM_SLOTS, generator=gen)
    released = W.to_released(truth)
    llm = {k: v for k, v in released.items() if k.startswith("llama_model.")}
    other = {k: v for k, v in released.items() if not k.startswith("llama_model.")}

    # LLaMA-2 HF folder: the base vocabulary only (no <ImageHere>, no time tokens), LoRA-free base weights.
    text = LlamaConfig(**{**config.text_config.to_dict(), "vocab_size": base_vocab})
    base = {k[len("llama_model.") :]: v.clone() for k, v in llm.items()}
    base["model.embed_tokens.weight"] = base["model.embed_tokens.weight"][:base_vocab].clone()
    base["lm_head.weight"] = base["lm_head.weight"][:base_vocab].clone()
    if kind == "vtgllm":  # LoRA on q/v of every layer: the released base + B @ A must give the truth
        peft = "llama_model.base_model.model."
        video = {peft + "model.embed_tokens.weight": llm["llama_model.model.embed_tokens.weight"],
                 peft + "lm_head.weight": llm["llama_model.lm_head.weight"]}  # fmt: skip
        for layer in range(config.text_config.num_hidden_layers):
            for proj in ("q_proj", "v_proj"):
                name = f"layers.{layer}.self_attn.{proj}"
                a = torch.randn(4, 32, generator=gen) * 0.1
                b = torch.randn(base[f"model.{name}.weight"].shape[0], 4, generator=gen) * 0.1
                base[f"model.{name}.weight"] = truth[W.LLM + name + ".weight"] - b @ a
                video[f"llama_model.base_model.model.model.{name}.lora_A.default.weight"] = a
                video[f"llama_model.base_model.model.model.{name}.lora_B.default.weight"] = b
    else:
        video = {}
    model = LlamaForCausalLM(text)
    model.load_state_dict(base, strict=True)
    model.save_pretrained(llama_dir)

    vit = {k[len("visual_encoder.") :]: v for k, v in other.items() if k.startswith("visual_encoder.")}
    torch.save(vit, folder / "eva_vit_g.pth")
    qformer = {k: v for k, v in other.items() if k.startswith(("Qformer.", "query_tokens", "ln_vision."))}
    # the unused text side of a released Q-Former file, which the conversion must skip
    qformer["Qformer.bert.embeddings.word_embeddings.weight"] = torch.zeros(10, 16)
    qformer["Qformer.bert.encoder.layer.0.intermediate.dense.weight"] = torch.zeros(32, 16)
    qformer["Qformer.cls.predictions.bias"] = torch.zeros(10)
    torch.save({"model": qformer}, folder / "qformer.pth")
    rest = {k: v for k, v in other.items() if k not in qformer and not k.startswith("visual_encoder.")}
    video.update(rest)
    name = "vtgllm.pth" if kind == "vtgllm" else "VL_LLaMA_2_7B_Finetuned.pth"
    torch.save({"model": video}, folder / name)
    paths = {"llama": llama_dir, "vit": folder / "eva_vit_g.pth", "files": [folder / "qformer.pth", folder / name]}
    return paths, truth


def write_tiny_checkpoint(folder: str | Path, *, kind: str = "vtgllm", seed: int = 0) -> Path:
    """A tiny released-layout model converted into ``folder / "converted"`` (float32), loadable by the adapter."""
    from vidllm.models.videollama import convert_released

    folder = Path(folder)
    paths, _ = write_released(folder / "released", kind=kind, seed=seed)
    return convert_released(folder / "converted", **paths, vision_depth=2, vision_heads=2, qformer_heads=2,
                            dtype="float32")  # fmt: skip


def tiny_model_config(folder: str | Path, **overrides):
    """A CPU :class:`~vidllm.models.config.ModelConfig` of the ``videollama`` family at ``folder``."""
    from vidllm.models.config import ModelConfig

    return ModelConfig(family="videollama", path=str(folder), device="cpu", dtype="float32", **overrides)
