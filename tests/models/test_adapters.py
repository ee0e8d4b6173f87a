"""Every family x every component (and all together) on tiny checkpoints loaded like real ones."""

from __future__ import annotations

import math

import pytest
import torch
from tiny_models import FAMILIES, family_component_cases, synthetic_video, tiny_model_config, video_messages

from vidllm.models import LoraSettings, get_adapter
from vidllm.models.checkpoint import inner_model, unwrap
from vidllm.models.components.video_hook import attached

CASES = family_component_cases()  # the full matrix in the full suite, a sample in the fast tier


def _answer(adapter) -> str:
    return adapter.config.time.make_scheme(fps=2.0).format_span(1.0, 2.5)


def _train_sample(adapter, num_frames: int = 8):
    video = synthetic_video(num_frames, fps=2.0)
    return adapter.collate([adapter.build_inputs(video_messages(answer=_answer(adapter)), [video])])


def _prompt(adapter, num_frames: int = 8, seed: int = 0):
    video = synthetic_video(num_frames, fps=2.0, seed=seed)
    return adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)


def _new_parameters(adapter) -> dict[str, torch.Tensor]:
    """What vidllm added that must learn: time-token rows, time embedding, slot queries."""
    out = {}
    modules = attached(adapter.model)
    if modules.time_embedding is not None:
        out["time_embedding"] = modules.time_embedding.table.weight
    if modules.compressor is not None:
        out["slots"] = modules.compressor.queries
    return out


@pytest.mark.parametrize("family, component", CASES)
def test_forward_backward_generate(make_adapter, family, component):
    adapter = make_adapter(family, component)
    batch = _train_sample(adapter)
    assert (batch["labels"] != -100).sum() > 0
    out = adapter.forward(batch)
    assert math.isfinite(out.loss.item())
    out.loss.backward()
    for name, param in _new_parameters(adapter).items():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    if adapter.time_token_ids:
        grad = unwrap(adapter.model).get_input_embeddings().weight.grad
        used = [i for i in adapter.time_token_ids if (batch["input_ids"] == i).any()]
        assert used and grad[used].abs().sum() > 0
        out_grad = unwrap(adapter.model).get_output_embeddings().weight.grad
        assert out_grad[adapter.time_token_ids].abs().sum() > 0
    texts = adapter.generate(adapter.collate([_prompt(adapter)], padding_side="left"), max_new_tokens=4)
    assert len(texts) == 1 and isinstance(texts[0], str)


@pytest.mark.parametrize("family, component", CASES)
def test_save_load_reproduces_logits(make_adapter, tiny_folders, tmp_path, family, component):
    adapter = make_adapter(family, component)
    batch = _train_sample(adapter)
    model = adapter.model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    adapter.forward(batch).loss.backward()
    optimizer.step()  # move every new parameter away from its initial value
    model.eval()
    with torch.no_grad():
        expected = adapter.forward(batch).logits
    folder = adapter.save(tmp_path / "saved")
    reloaded = get_adapter(family)(tiny_model_config(tiny_folders[family], family)).load(folder)
    assert reloaded.config.time == adapter.config.time and reloaded.config.compression == adapter.config.compression
    with torch.no_grad():
        got = reloaded.forward(
            reloaded.collate(
                [reloaded.build_inputs(video_messages(answer=_answer(adapter)), [synthetic_video(8, 2.0)])]
            )
        ).logits
    assert torch.equal(expected, got)


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
@pytest.mark.parametrize("family", FAMILIES)
def test_lora_scope_trainables_and_reload(make_adapter, tmp_path, family):
    adapter = make_adapter(family, "all")
    targets = adapter.lora_target_modules()
    assert targets and all(t.startswith("model.language_model.layers.") for t in targets)
    visual_linear = [
        n
        for n, m in unwrap(adapter.model).named_modules()
        if ".visual." in f".{n}." and isinstance(m, torch.nn.Linear)
    ]
    assert visual_linear and not set(visual_linear) & set(targets)
    adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0))
    trainable = [n for n, p in adapter.model.named_parameters() if p.requires_grad]
    lora = [n for n in trainable if "lora_" in n]
    assert lora and all(".language_model.layers." in n for n in lora)
    assert not any(".visual." in n for n in trainable)
    assert all("lora_" in n or "trainable_tokens_delta" in n or ".vidllm." in n for n in trainable)
    deltas = [p for n, p in adapter.model.named_parameters() if "trainable_tokens_delta" in n]
    assert len(deltas) == 2 and all(d.shape[0] == len(adapter.time_token_ids) for d in deltas)  # rows only
    batch = _train_sample(adapter)
    optimizer = torch.optim.SGD([p for p in adapter.model.parameters() if p.requires_grad], lr=0.5)
    adapter.model.train()
    loss = adapter.forward(batch).loss
    loss.backward()
    assert all(d.grad is not None and d.grad.abs().sum() > 0 for d in deltas)
    optimizer.step()
    adapter.model.eval()
    with torch.no_grad():
        expected = adapter.forward(batch).logits
    folder = adapter.save(tmp_path / "lora")
    assert (folder / "adapter_model.safetensors").is_file() and not (folder / "model.safetensors").exists()
    reloaded = get_adapter(family)(adapter.config).load(folder)
    with torch.no_grad():
        assert torch.equal(expected, reloaded.forward(batch).logits)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("component", ["slots_video", "slots_frame", "slot_attention"])
def test_compression_shortens_the_sequence(make_adapter, family, component):
    plain, compressed = make_adapter(family, "none"), make_adapter(family, component)
    groups, native = 4, 4  # 8 frames -> 4 groups; 16x16 frames -> 4 merged tokens per group
    a, b = _train_sample(plain), _train_sample(compressed)
    video_id = plain.processor.video_token_id
    slots = compressed.config.compression.num_slots
    per_frame = compressed.config.compression.per == "frame"
    assert (a["input_ids"] == video_id).sum() == groups * native
    assert (b["input_ids"] == video_id).sum() == (groups * slots if per_frame else slots)
    saved = groups * native - (groups * slots if per_frame else slots)
    if family != "qwen3_vl" or per_frame:
        assert a["input_ids"].shape[1] - b["input_ids"].shape[1] == saved
    else:  # per-video slots also drop Qwen3-VL's per-frame time text and markers
        assert a["input_ids"].shape[1] - b["input_ids"].shape[1] > saved
    assert math.isfinite(compressed.forward(b).loss.item())


@pytest.mark.parametrize("family", FAMILIES)
def test_untrained_time_embedding_changes_nothing(make_adapter, family):
    plain, timed = make_adapter(family, "none"), make_adapter(family, "time_embedding")
    with torch.no_grad():
        assert torch.equal(plain.forward(_train_sample(plain)).logits, timed.forward(_train_sample(timed)).logits)


@pytest.mark.parametrize("family", FAMILIES)
def test_time_survives_compression(make_adapter, family):
    """The same frames at other times give other slots: the time embedding is applied before pooling."""
    adapter = make_adapter(family, "all")
    with torch.no_grad():
        attached(adapter.model).time_embedding.table.weight.normal_()
    frames, ts = synthetic_video(8, fps=2.0)
    outs = []
    for start in (0.0, 30.0):
        sample = adapter.build_inputs(video_messages(), [(frames, ts + start)], add_generation_prompt=True)
        feats = inner_model(adapter.model).get_video_features(
            sample["pixel_values_videos"],
            sample["video_grid_thw"],
            video_timestamps=sample["video_timestamps"],
            return_dict=True,
        )
        outs.append(feats.pooler_output[0])
    assert outs[0].shape == outs[1].shape and not torch.allclose(outs[0], outs[1])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("component", ["none", "all"])
def test_batch_with_padding_matches_single_samples(make_adapter, family, component):
    adapter = make_adapter(family, component)
    answer = _answer(adapter)
    samples = [
        adapter.build_inputs(video_messages(answer=answer), [synthetic_video(8, 2.0, seed=1)]),
        adapter.build_inputs(video_messages("Where?", answer=answer), [synthetic_video(4, 1.0, seed=2)]),
    ]
    with torch.no_grad():
        batched = adapter.forward(adapter.collate(samples)).logits
        for row, sample in enumerate(samples):
            single = adapter.forward(adapter.collate([sample])).logits[0]
            assert torch.allclose(batched[row, : single.shape[0]], single, atol=1e-5)
    prompts = [_prompt(adapter, 8, seed=1), _prompt(adapter, 4, seed=2)]
    together = adapter.generate(adapter.collate(prompts, padding_side="left"), max_new_tokens=3)
    alone = [adapter.generate(adapter.collate([p], padding_side="left"), max_new_tokens=3)[0] for p in prompts]
    assert together == alone


def test_video_count_must_match(make_adapter):
    adapter = make_adapter("qwen2_vl")
    with pytest.raises(ValueError, match="1 video parts but 2 videos"):
        adapter.build_inputs(video_messages(), [synthetic_video(4), synthetic_video(4)])
    with pytest.raises(ValueError, match=r"frames must be uint8"):
        adapter.build_inputs(video_messages(), [(torch.zeros(4, 16, 16, 3).numpy(), [0, 1, 2, 3])])


def test_qwen2_5_refuses_video_batch_without_token_types(make_adapter):
    adapter = make_adapter("qwen2_5_vl")
    batch = _train_sample(adapter)
    batch.pop("mm_token_type_ids")
    with pytest.raises(ValueError, match="1-D positions"):
        adapter.forward(batch)


def test_unloaded_adapter_says_so():
    from vidllm.models import ModelConfig

    with pytest.raises(RuntimeError, match="call .load"):
        get_adapter("qwen3_vl")(ModelConfig(family="qwen3_vl")).build_inputs(video_messages(), [])


def test_missing_folder_says_how_to_fix(tmp_path):
    from vidllm.models import ModelConfig

    with pytest.raises(FileNotFoundError, match="set model.path"):
        get_adapter("qwen2_5_vl")(ModelConfig(path=str(tmp_path / "nope"))).load()


@pytest.mark.parametrize("family", FAMILIES)
def test_adapters_follow_the_protocol(make_adapter, family):
    from vidllm.models import VideoLLMAdapter

    adapter = make_adapter(family)
    assert isinstance(adapter, VideoLLMAdapter) and adapter.name == family


@pytest.mark.parametrize("family", FAMILIES)
def test_frame_pixel_bounds_resize_frames(make_adapter, family):
    """32x32 frames bounded per frame (Qwen3-VL's processor budget is per video: scaled by the frame count)."""
    video = synthetic_video(8, 2.0, size=32)
    for side, grid in ((16, [4, 4, 4]), (32, [4, 8, 8])):
        adapter = make_adapter(family, frame_max_pixels=side * side, frame_min_pixels=side * side)
        sample = adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)
        assert sample["video_grid_thw"].tolist() == [grid]


def test_image_parts_are_refused_with_a_fix(make_adapter):
    adapter = make_adapter("qwen2_5_vl")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]}]
    with pytest.raises(ValueError, match="video of one frame"):
        adapter.build_inputs(messages, [])


def test_loading_leaves_the_callers_config_alone(tiny_folders):
    config = tiny_model_config(tiny_folders["qwen2_vl"], "qwen2_vl")
    before = config.to_dict()
    get_adapter("qwen2_vl")(config).load()
    assert config.to_dict() == before


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_lora_with_tied_embeddings(tmp_path):
    """Tied input/output embeddings (Qwen2-VL-2B, Qwen2.5-VL-3B): one set of time-token rows, trained and reloaded."""
    from vidllm.models.tiny import write_tiny_checkpoint

    folder = write_tiny_checkpoint("qwen2_5_vl", tmp_path / "tied", tie_word_embeddings=True)
    adapter = get_adapter("qwen2_5_vl")(tiny_model_config(folder, "qwen2_5_vl", "time_tokens")).load()
    model = unwrap(adapter.model)
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0))
    deltas = [p for n, p in adapter.model.named_parameters() if "trainable_tokens_delta" in n]
    assert len(deltas) == 1
    batch = _train_sample(adapter)
    adapter.model.train()
    adapter.forward(batch).loss.backward()
    assert deltas[0].grad.abs().sum() > 0
    torch.optim.SGD([p for p in adapter.model.parameters() if p.requires_grad], lr=0.5).step()
    adapter.model.eval()
    with torch.no_grad():
        expected = adapter.forward(batch).logits
    reloaded = get_adapter("qwen2_5_vl")(adapter.config).load(adapter.save(tmp_path / "saved"))
    with torch.no_grad():
        assert torch.equal(expected, reloaded.forward(batch).logits)
