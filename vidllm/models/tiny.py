"""Tiny Qwen-VL checkpoints built locally (no download, a few hundred KB each): the quickstart's scratch model, the
benchmarks' and the tests' models.

Each family is built from its real configuration class with shrunken sizes (hidden 32, 2 layers, a 1-2 block vision
tower with 4-pixel patches) and random weights, next to a small byte-level BPE tokenizer with Qwen's special tokens
and a Qwen-style chat template, and written to a folder -- which is then loaded through the same code path as a real
checkpoint (``adapter.load(folder)``).

>>> folder = write_tiny_checkpoint("qwen2_5_vl", tmp_path / "tiny")          # doctest: +SKIP
>>> frames, timestamps = synthetic_video(num_frames=8, fps=2.0)              # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")

SPECIAL_TOKENS = (
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# A Qwen-style template: system/user/assistant turns, one <|video_pad|> / <|image_pad|> per visual part.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = (
    "You are a helpful assistant.",
    "When does the man open the door? Answer with the start and end time in seconds.",
    "The man opens the door from 12.5 to 20.0 seconds.",
    "A woman is cooking in the kitchen, then she washes the dishes.",
    "From Frame 3 to Frame 9. The event happens between 3 and 7 seconds.",
    "Describe the video. Find the moment when the red square is visible.",
    "The number drawn on each frame is the frame's number, counting from 0 in the order the frames are shown.",
    "0 1 2 3 4 5 6 7 8 9 . - , : ; ? ! < > ( ) [ ] seconds second frame frames time start end",
)

PATCH = 4  # spatial patch of the tiny vision towers (pixels)
MERGE = 2  # 2x2 patch merge, as in the real models
FRAME = 16  # default frame side: 4x4 patches -> 4 LLM tokens per frame group


def build_tokenizer(corpus: tuple[str, ...] = (), vocab_size: int = 420):
    """A small byte-level BPE tokenizer with Qwen's pre-tokenizer and special tokens (``Qwen2Tokenizer``).

    Args:
        corpus: Extra sentences the merges are learned from (words seen often become single tokens).
        vocab_size: Size of the learned vocabulary (before the special tokens).
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
        show_progress=False,
    )
    bpe.train_from_iterator((list(_CORPUS) + list(corpus)) * 4, trainer)
    model = json.loads(bpe.to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=model["vocab"],
        merges=[tuple(m) for m in model["merges"]],
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _token_ids(tokenizer) -> dict:
    ids = tokenizer.convert_tokens_to_ids
    return {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }


def _text_config(tokenizer, spare_rows: int, **extra) -> dict:
    return {
        "vocab_size": len(tokenizer) + spare_rows,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 8192,
        "bos_token_id": None,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2]},
        **extra,
    }


def tiny_config(family: str, tokenizer, *, spare_rows: int = 8):
    """The family's real configuration class with tiny sizes.

    Args:
        family: ``qwen2_vl``, ``qwen2_5_vl`` or ``qwen3_vl``.
        tokenizer: From :func:`build_tokenizer` (sets the vocabulary and special token ids).
        spare_rows: Embedding rows beyond the tokenizer, as real Qwen checkpoints have.
    """
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3VLConfig

    ids = _token_ids(tokenizer)
    if family == "qwen2_vl":
        vision = {"depth": 1, "embed_dim": 32, "hidden_size": 32, "num_heads": 2, "mlp_ratio": 2}
        vision.update(patch_size=PATCH, temporal_patch_size=2, spatial_merge_size=MERGE)
        return Qwen2VLConfig(text_config=_text_config(tokenizer, spare_rows), vision_config=vision, **ids)
    if family == "qwen2_5_vl":
        vision = {"depth": 2, "hidden_size": 32, "out_hidden_size": 32, "intermediate_size": 64, "num_heads": 2}
        vision.update(patch_size=PATCH, temporal_patch_size=2, spatial_merge_size=MERGE, tokens_per_second=2)
        vision.update(window_size=PATCH * MERGE * 2, fullatt_block_indexes=[1])
        return Qwen2_5_VLConfig(text_config=_text_config(tokenizer, spare_rows), vision_config=vision, **ids)
    if family == "qwen3_vl":
        rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2], "mrope_interleaved": True}
        text = _text_config(tokenizer, spare_rows, head_dim=16, rope_parameters=rope)
        vision = {"depth": 2, "hidden_size": 32, "out_hidden_size": 32, "intermediate_size": 64, "num_heads": 2}
        vision.update(patch_size=PATCH, temporal_patch_size=2, spatial_merge_size=MERGE)
        vision.update(num_position_embeddings=16, deepstack_visual_indexes=[0])
        return Qwen3VLConfig(text_config=text, vision_config=vision, **ids)
    raise ValueError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")


def build_processor(family: str, tokenizer, *, frame: int = FRAME, patch: int = PATCH):
    """The family's processor around ``tokenizer``; frames of ``frame x frame`` pixels keep their size."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLProcessor, Qwen3VLProcessor
    from transformers.models.qwen2_vl import Qwen2VLImageProcessor, Qwen2VLVideoProcessor
    from transformers.models.qwen3_vl import Qwen3VLVideoProcessor

    pixels = frame * frame
    sizes = {"patch_size": patch, "temporal_patch_size": 2, "merge_size": MERGE}
    image = Qwen2VLImageProcessor(size={"shortest_edge": pixels, "longest_edge": pixels}, **sizes)
    if family == "qwen3_vl":  # Qwen3-VL's size bounds the whole video (frames x pixels)
        video = Qwen3VLVideoProcessor(size={"shortest_edge": 2 * pixels, "longest_edge": 4096 * pixels}, **sizes)
        return Qwen3VLProcessor(
            image_processor=image, tokenizer=tokenizer, video_processor=video, chat_template=CHAT_TEMPLATE
        )
    video = Qwen2VLVideoProcessor(size={"shortest_edge": pixels, "longest_edge": pixels}, **sizes)
    cls = Qwen2VLProcessor if family == "qwen2_vl" else Qwen2_5_VLProcessor
    return cls(image_processor=image, tokenizer=tokenizer, video_processor=video, chat_template=CHAT_TEMPLATE)


def write_tiny_checkpoint(
    family: str,
    folder: str | Path,
    *,
    seed: int = 0,
    spare_rows: int = 8,
    frame: int = FRAME,
    tie_word_embeddings: bool = False,
) -> Path:
    """Build a tiny random model of ``family`` and write it, with its processor, to ``folder``.

    Args:
        family: ``qwen2_vl``, ``qwen2_5_vl`` or ``qwen3_vl``.
        folder: Output folder (created).
        seed: Seed of the random weights.
        spare_rows: Embedding rows beyond the tokenizer's vocabulary.
        frame: Frame side in pixels that the processor keeps.
        tie_word_embeddings: Tie the output layer to the input embeddings.

    Returns:
        The folder, loadable like a real checkpoint.
    """
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLForConditionalGeneration,
        Qwen3VLForConditionalGeneration,
    )

    classes = {
        "qwen2_vl": Qwen2VLForConditionalGeneration,
        "qwen2_5_vl": Qwen2_5_VLForConditionalGeneration,
        "qwen3_vl": Qwen3VLForConditionalGeneration,
    }
    folder = Path(folder)
    tokenizer = build_tokenizer()
    config = tiny_config(family, tokenizer, spare_rows=spare_rows)
    config.tie_word_embeddings = tie_word_embeddings
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = classes[family](config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(folder)
    build_processor(family, tokenizer, frame=frame).save_pretrained(folder)
    return folder


def synthetic_video(
    num_frames: int = 8, fps: float = 2.0, *, size: int = FRAME, start: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Random frames with their timestamps, as :mod:`vidllm.video` returns a sampling.

    Returns:
        ``frames``: ``uint8`` of shape ``(num_frames, size, size, 3)``; ``timestamps``: float64 seconds
        ``start + k / fps``.
    """
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (num_frames, size, size, 3), dtype=np.uint8)
    return frames, start + np.arange(num_frames, dtype=np.float64) / fps


def video_messages(question: str = "When does the man open the door?", answer: str | None = None) -> list[dict]:
    """A one-video conversation in the HF multimodal chat format (with the answer when given)."""
    messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": question}]}]
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages
