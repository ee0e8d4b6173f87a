"""Video-LLaMA / VTG-LLM (``videollama``) on tiny checkpoints written in the released LAVIS layout and converted like
the real ones: the weight map both ways, the two modes (video Q-Former, slots), time tokens and time embedding,
forward / backward / generate, save -> load, LoRA scope, a short ``vidllm train`` run and the evaluation loader."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from tiny_videollama import NUM_SLOTS, tiny_model_config, write_released, write_tiny_checkpoint
from transformers.utils import logging as hf_logging

from vidllm.models import LoraSettings, ModelConfig, get_adapter
from vidllm.models import videollama_weights as W
from vidllm.models.checkpoint import unwrap
from vidllm.models.components.video_hook import attached
from vidllm.models.config import CompressionConfig
from vidllm.models.tiny import synthetic_video, video_messages
from vidllm.models.videollama import VIDEO_TOKEN, convert_released
from vidllm.time import parse_intervals
from vidllm.time.schemes import VTGLLM_DIGIT_TOKENS, VTGLLM_DOT_TOKEN

hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
KINDS = ("videollama", "vtgllm")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videollama")
    return {kind: write_tiny_checkpoint(root / kind, kind=kind) for kind in KINDS}


def load(folder, **overrides):
    return get_adapter("videollama")(tiny_model_config(folder, **overrides)).load()


def answer(adapter) -> str:
    return adapter.config.time.make_scheme(fps=2.0).format_span(1.0, 2.5)


def train_batch(adapter, frames: int = 8, seed: int = 0):
    video = synthetic_video(frames, fps=2.0, seed=seed)
    return adapter.collate([adapter.build_inputs(video_messages(answer=answer(adapter)), [video])])


def prompt(adapter, frames: int = 8, seed: int = 0):
    video = synthetic_video(frames, fps=2.0, seed=seed)
    return adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)


# ------------------------------------------------------------------------------------------------------ weight map


@pytest.mark.parametrize("kind", KINDS)
def test_key_map_round_trip_consumes_every_key(tmp_path, kind):
    _, truth = write_released(tmp_path / "r", kind=kind)
    released = W.to_released(truth)
    back = W.convert_state_dict(released)
    assert set(back.state) == set(truth) and not back.skipped
    assert all(torch.equal(back.state[k], truth[k]) for k in truth)
    assert (
        "visual_encoder.blocks.0.attn.q_bias" in released
        and "Qformer.bert.encoder.layer.0.attention.self.query.weight" in released
    )
    assert ("video_Qformer.bert.encoder.layer.1.crossattention.self.key.weight" in released) == (kind == "videollama")
    assert ("sampler.slots" in released and "video_time_position_embedding" in released) == (kind == "vtgllm")


def test_unknown_keys_are_refused_and_unused_ones_reported():
    with pytest.raises(KeyError, match="match no rule"):
        W.convert_state_dict({"mystery.weight": torch.zeros(1)})
    got = W.convert_state_dict(
        {
            "Qformer.cls.predictions.bias": torch.zeros(1),
            "audio_llama_proj.weight": torch.zeros(1),
            "visual_encoder.blocks.39.norm1.weight": torch.zeros(1),
        },  # fmt: skip
        vision_depth=39,
    )
    assert not got.state and len(got.skipped) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_conversion_reproduces_the_released_weights(tmp_path, kind):
    """LAVIS files + LLaMA HF folder -> our model: every weight as the released model has it (LoRA merged)."""
    paths, truth = write_released(tmp_path / "r", kind=kind)
    folder = convert_released(tmp_path / "c", **paths, vision_depth=2, vision_heads=2, qformer_heads=2,
                              dtype="float32")  # fmt: skip
    adapter = load(folder)
    state = unwrap(adapter.model).state_dict()
    image_row = adapter.processor.video_token_id
    for key, value in truth.items():
        got = state[key]
        if kind == "videollama" and key in ("model.language_model.embed_tokens.weight", "lm_head.weight"):
            keep = torch.arange(got.shape[0]) != image_row  # the <ImageHere> row is in no released file
            got, value = got[keep], value[keep]
        assert got.shape == value.shape, key
        assert torch.allclose(got, value, atol=1e-6), key
    assert set(state) == set(truth)


# ---------------------------------------------------------------------------------------------------------- modes


def test_video_qformer_mode(folders):
    adapter = load(folders["videollama"])
    model = unwrap(adapter.model)
    assert model.model.visual.merger.video_qformer is not None and model.config.use_video_qformer
    sample = prompt(adapter)
    assert int((sample["input_ids"] == adapter.processor.video_token_id).sum()) == model.config.num_video_query_tokens


def test_slot_mode_and_video_llama_to_vtgllm(folders):
    vtgllm = load(folders["vtgllm"])
    assert vtgllm.config.compression.enabled and vtgllm.config.compression.num_slots == NUM_SLOTS
    assert unwrap(vtgllm.model).model.visual.merger.video_qformer is None
    # VTG-LLM's recipe: Video-LLaMA weights with the video Q-Former replaced by slots
    switched = load(folders["videollama"], compression=CompressionConfig(enabled=True, num_slots=5))
    assert unwrap(switched.model).model.visual.merger.video_qformer is None
    sample = prompt(switched, frames=6)
    assert int((sample["input_ids"] == switched.processor.video_token_id).sum()) == 5
    plain = load(folders["videollama"], compression=CompressionConfig(enabled=True, num_slots=2, per="frame"))
    assert int((prompt(plain, frames=6)["input_ids"] == plain.processor.video_token_id).sum()) == 12
    with pytest.raises(ValueError, match="iterations=0"):
        load(folders["videollama"], compression=CompressionConfig(enabled=True, iterations=1))


def test_too_many_frames_for_the_frame_positions(folders):
    adapter = load(folders["videollama"])
    with pytest.raises(ValueError, match="max_frame_pos"):
        adapter.forward(train_batch(adapter, frames=20))


# ----------------------------------------------------------------------------------------------------- time tokens


def test_vtgllm_time_tokens_prompt_and_labels(folders):
    adapter = load(folders["vtgllm"])
    tok = adapter.processor.tokenizer
    tokens = [*VTGLLM_DIGIT_TOKENS, VTGLLM_DOT_TOKEN]
    ids = tok.convert_tokens_to_ids(tokens)
    assert adapter.time_token_ids == ids and ids == list(range(ids[0], ids[0] + 11))
    assert ids[0] == adapter.processor.video_token_id + 1  # VTG-LLM: <ImageHere>, then the 11 time tokens
    batch = train_batch(adapter)
    text = tok.decode(batch["input_ids"][0])
    assert text.startswith("<s>[INST] <<SYS>>\n \n<</SYS>>\n\n<Video>" + VIDEO_TOKEN)
    assert (
        "The video contains 8 frames sampled at <TIME_ZERO><TIME_ZERO><TIME_ZERO><TIME_ZERO><TIME_DOT><TIME_ZERO>, "
        in text
    )
    assert text.rstrip().endswith("[/INST] " + answer(adapter) + " </s>")
    labelled = batch["labels"][0][batch["labels"][0] != -100]
    assert tok.decode(labelled).strip() == answer(adapter) + " </s>"
    assert parse_intervals(tok.decode(labelled, skip_special_tokens=True)) == [(1.0, 2.5)]


def test_time_embedding_reads_whole_seconds(folders):
    adapter = load(folders["vtgllm"])
    model = unwrap(adapter.model).model
    frames, ts = synthetic_video(4, fps=1.0)
    outs = []
    for shift in (0.0, 0.3, 30.0):
        sample = adapter.build_inputs(video_messages(), [(frames, ts + shift)], add_generation_prompt=True)
        with torch.no_grad():
            outs.append(model.get_video_features(sample["pixel_values_videos"], sample["video_grid_thw"],
                                                 sample["video_timestamps"])[0])  # fmt: skip
    assert torch.equal(outs[0], outs[1]) and not torch.allclose(outs[0], outs[2])


# ------------------------------------------------------------------------------------ forward, generate, save, LoRA


@pytest.mark.parametrize("kind", KINDS)
def test_forward_backward_generate(folders, kind):
    adapter = load(folders[kind])
    batch = train_batch(adapter)
    out = adapter.forward(batch)
    assert math.isfinite(out.loss.item())
    out.loss.backward()
    model = unwrap(adapter.model)
    assert model.model.visual.merger.proj.weight.grad.abs().sum() > 0
    if kind == "vtgllm":
        modules = attached(adapter.model)
        assert modules.time_embedding.table.weight.grad.abs().sum() > 0
        assert modules.compressor.slots.grad.abs().sum() > 0
        assert model.get_input_embeddings().weight.grad[adapter.time_token_ids].abs().sum() > 0
    texts = adapter.generate(adapter.collate([prompt(adapter)], padding_side="left"), max_new_tokens=4)
    assert len(texts) == 1 and isinstance(texts[0], str)


def test_batch_with_padding_matches_single_samples(folders):
    adapter = load(folders["vtgllm"])
    said = answer(adapter)
    samples = [
        adapter.build_inputs(video_messages(answer=said), [synthetic_video(8, 2.0, seed=1)]),
        adapter.build_inputs(video_messages("Where?", answer=said), [synthetic_video(4, 1.0, seed=2)]),
    ]
    with torch.no_grad():
        batched = adapter.forward(adapter.collate(samples)).logits
        for row, sample in enumerate(samples):
            single = adapter.forward(adapter.collate([sample])).logits[0]
            assert torch.allclose(batched[row, : single.shape[0]], single, atol=1e-5)
    prompts = [prompt(adapter, 8, seed=1), prompt(adapter, 4, seed=2)]
    together = adapter.generate(adapter.collate(prompts, padding_side="left"), max_new_tokens=3)
    alone = [adapter.generate(adapter.collate([p], padding_side="left"), max_new_tokens=3)[0] for p in prompts]
    assert together == alone


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_reproduces_logits(folders, tmp_path, kind):
    adapter = load(folders[kind])
    batch = train_batch(adapter)
    adapter.model.train()
    adapter.forward(batch).loss.backward()
    torch.optim.SGD(adapter.model.parameters(), lr=0.5).step()
    adapter.model.eval()
    with torch.no_grad():
        expected = adapter.forward(batch).logits
    reloaded = load(folders[kind]).load(adapter.save(tmp_path / "saved"))
    assert reloaded.config.time == adapter.config.time and reloaded.config.compression == adapter.config.compression
    with torch.no_grad():
        assert torch.equal(expected, reloaded.forward(train_batch(reloaded)).logits)


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_lora_scope_trainables_and_reload(folders, tmp_path):
    adapter = load(folders["vtgllm"])
    targets = adapter.lora_target_modules()
    assert targets and all(t.startswith("model.language_model.layers.") for t in targets)
    adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0))
    trainable = [n for n, p in adapter.model.named_parameters() if p.requires_grad]
    assert [n for n in trainable if "lora_" in n] and all(
        ".language_model.layers." in n for n in trainable if "lora_" in n
    )
    assert all("lora_" in n or "trainable_tokens_delta" in n or ".vidllm." in n for n in trainable)
    assert not any(".visual." in n for n in trainable)
    deltas = [p for n, p in adapter.model.named_parameters() if "trainable_tokens_delta" in n]
    assert len(deltas) == 2 and all(d.shape[0] == 11 for d in deltas)  # time-token rows only, input and output
    batch = train_batch(adapter)
    adapter.model.train()
    adapter.forward(batch).loss.backward()
    assert all(d.grad is not None and d.grad.abs().sum() > 0 for d in deltas)
    torch.optim.SGD([p for p in adapter.model.parameters() if p.requires_grad], lr=0.5).step()
    adapter.model.eval()
    with torch.no_grad():
        expected = adapter.forward(batch).logits
    folder = adapter.save(tmp_path / "lora")
    assert (folder / "adapter_model.safetensors").is_file() and not (folder / "model.safetensors").exists()
    reloaded = get_adapter("videollama")(adapter.config).load(folder)
    with torch.no_grad():
        assert torch.equal(expected, reloaded.forward(batch).logits)


def test_protocol_registry_and_refusals(folders):
    from vidllm.models import MODELS, VideoLLMAdapter

    assert "videollama" in MODELS
    adapter = load(folders["videollama"])
    assert isinstance(adapter, VideoLLMAdapter) and adapter.name == "videollama"
    with pytest.raises(ValueError, match="frame_text"):
        load(folders["videollama"], time={"frame_text": True})
    with pytest.raises(ValueError, match="1 video parts but 2 videos"):
        adapter.build_inputs(video_messages(), [synthetic_video(4), synthetic_video(4)])


# --------------------------------------------------------------------------------------------------- train and eval


def test_shipped_yaml_loads():
    from vidllm.train.config import load_train_config

    cfg = load_train_config(REPO / "train_configs" / "vtgllm_videollama_7b.yaml")
    assert cfg.model.family == "videollama" and cfg.model.compression.num_slots == 256
    assert cfg.model.time.max_seconds == 8191 and cfg.data.num_frames == 96


@pytest.mark.integration  # a training run
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_train_run_and_eval_loader(folders, tmp_path):
    """3 LoRA steps of ``vidllm train`` (tiny CPU config) from Video-LLaMA with VTG-LLM's components, then the
    evaluation runner's loader reads the run (family from vidllm.json / config.json)."""
    from vidllm.eval.model_source import detect_family, frame_read_kwargs, load_model
    from vidllm.train import recipe
    from vidllm.train.config import load_train_config
    from vidllm.train.toy import write_toy_set

    records, videos = write_toy_set(tmp_path / "toy", num_videos=2, seed=0)
    base = folders["videollama"]
    cfg = load_train_config(REPO / "train_configs" / "tiny_cpu.yaml", [
        "model.family=videollama", f"model.path={base}", "model.compression.enabled=true",
        "model.compression.num_slots=3", f"data.files=[{records}]", f"data.video_root={videos}",
        f"checkpoint.output_dir={tmp_path / 'run'}", "optim.max_steps=3", "checkpoint.save_steps=100",
        "optim.batch_size=1", "data.max_pixels=784"])  # fmt: skip
    out = recipe.run(cfg)
    assert (out / "adapter_model.safetensors").is_file() and (out / "vidllm.json").is_file()
    assert detect_family(str(base), None, "qwen2_5_vl") == "videollama"  # from config.json's model_type
    loaded = load_model(ModelConfig(family="qwen2_5_vl", path=str(base), device="cpu"), str(out))
    assert loaded.family == "videollama" and loaded.adapter.config.compression.num_slots == 3
    assert frame_read_kwargs(type("S", (), {"read_kwargs": lambda self: {"min_pixels": None, "max_pixels": None}})(),
                             loaded.adapter)["size_multiple"] == 14  # fmt: skip
    texts = loaded.adapter.generate(loaded.adapter.collate([prompt(loaded.adapter)], padding_side="left"),
                                    max_new_tokens=3)  # fmt: skip
    assert isinstance(texts[0], str)
