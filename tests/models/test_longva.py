"""LongVA on a tiny checkpoint written in the LLaVA code base's format: the weight map, the architecture, every time
component, save/load, LoRA scope, a training run with the NumPro-FT recipe and an evaluation run. The real
checkpoint (not downloadable here) runs with ``-m slow`` when VIDLLM_LONGVA_7B names a local LongVA-7B(-DPO) folder:

    VIDLLM_LONGVA_7B=/models/LongVA-7B-DPO OMP_NUM_THREADS=1 .venv/bin/python -m pytest -m slow \\
        tests/models/test_longva.py
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from tiny_longva import CLIP_FOLDER, write_tiny_longva
from tiny_models import component_settings, fast_sample, synthetic_video, video_messages

from vidllm.models import LoraSettings, ModelConfig, get_adapter, load_model
from vidllm.models.checkpoint import unwrap
from vidllm.models.components.video_hook import attached
from vidllm.models.longva import IMAGE_TOKEN, render_qwen_1_5
from vidllm.models.longva_model import LongVAConfig, pool_frames
from vidllm.models.longva_weights import (
    load_llava_checkpoint,
    longva_config,
    to_llava_key,
    to_vidllm_key,
)

REPO = Path(__file__).resolve().parents[2]
TOKENS = 4  # 28x28 frames, 7-px patches: a 4x4 grid pooled 2x2
COMPONENTS = ("none", "time_tokens", "time_embedding", "frame_text", "slots_video", "slots_frame", "numpro", "all")


@pytest.fixture(scope="session")
def longva_folder(tmp_path_factory) -> Path:
    return write_tiny_longva(tmp_path_factory.mktemp("longva") / "base")


def make(folder, component: str = "none", **overrides):
    config = ModelConfig(family="longva", path=str(folder), device="cpu", **component_settings(component), **overrides)
    return get_adapter("longva")(config).load()


def answer(adapter) -> str:
    return adapter.config.time.make_scheme(fps=0.5).format_span(2.0, 4.0)


def train_batch(adapter, frames: int = 4, seed: int = 0):
    video = synthetic_video(frames, fps=0.5, size=40, seed=seed)
    return adapter.collate([adapter.build_inputs(video_messages(answer=answer(adapter)), [video])])


def prompt(adapter, frames: int = 4, seed: int = 0):
    video = synthetic_video(frames, fps=0.5, size=40, seed=seed)
    return adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)


# ------------------------------------------------------------------------------------------------- weights & config


def _file_tensors(folder: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)


def test_every_checkpoint_weight_lands_where_the_map_says(tmp_path):
    folder = write_tiny_longva(tmp_path / "ckpt", with_image_newline=True)
    model, raw, report = load_llava_checkpoint(
        folder, image_token_id=0, dtype=torch.float32, attn_implementation="sdpa"
    )
    state = model.state_dict()
    stored = _file_tensors(folder)
    mapped = {}
    for key, tensor in stored.items():
        target = to_vidllm_key(key)
        if target is None:
            assert key in report.ignored
            continue
        assert to_llava_key(target) == key
        assert torch.equal(state[target], tensor), key
        mapped[target] = key
    assert set(mapped) == set(state)  # every weight of the model came from the checkpoint, none left over
    assert report.ignored == ["model.image_newline"] and report.vision_from == "checkpoint"
    assert raw["model_type"] == "llava_qwen"
    assert any(k.startswith("model.vision_tower.vision_tower.vision_model.encoder.layers.1.") for k in stored)


def test_tower_missing_from_the_checkpoint_comes_from_the_clip_folder(tmp_path):
    with_tower = write_tiny_longva(tmp_path / "a", seed=3)
    without = write_tiny_longva(tmp_path / "b", seed=3, with_tower=False)
    assert not any("vision_tower" in k for k in _file_tensors(without))
    a, _, _ = load_llava_checkpoint(with_tower, image_token_id=0, dtype=torch.float32, attn_implementation="sdpa")
    b, _, report = load_llava_checkpoint(without, image_token_id=0, dtype=torch.float32, attn_implementation="sdpa")
    assert report.vision_from == str(without / CLIP_FOLDER)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name


def test_foreign_layouts_are_refused(tmp_path):
    with pytest.raises(KeyError, match="not part of LongVA's layout"):
        to_vidllm_key("model.vision_resampler.weight")
    raw = json.loads((write_tiny_longva(tmp_path / "c") / "config.json").read_text())
    with pytest.raises(ValueError, match="mm_patch_merge_type"):
        longva_config({**raw, "mm_patch_merge_type": "spatial_unpad"}, None, image_token_id=0)
    with pytest.raises(ValueError, match="not a LongVA checkpoint"):
        make_q = tmp_path / "q"
        make_q.mkdir()
        (make_q / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
        load_llava_checkpoint(make_q, image_token_id=0, dtype=torch.float32, attn_implementation="sdpa")


def test_released_sizes_give_144_tokens_per_frame():
    config = LongVAConfig(text_config={"hidden_size": 3584})
    assert (config.vision_config.image_size, config.vision_config.patch_size) == (336, 14)
    assert config.patches_per_side == 24 and config.tokens_per_frame == 144
    assert (config.vision_feature_layer, config.vision_feature_select, config.projector_type) == (
        -2,
        "patch",
        "mlp2x_gelu",
    )


def test_visual_path_is_penultimate_patches_projected_then_pooled(longva_folder):
    adapter = make(longva_folder)
    visual = unwrap(adapter.model).model.visual
    pixels = torch.randn(3, 3, 28, 28)
    with torch.no_grad():
        got = visual(pixels)
        hidden = visual.vision_tower(pixels, output_hidden_states=True).hidden_states[-2][:, 1:]  # CLS dropped
        projected = visual.merger[2](torch.nn.functional.gelu(visual.merger[0](hidden)))  # (3, 16, 32)
        grid = projected.view(3, 4, 4, -1)
        expected = torch.stack(
            [grid[:, y : y + 2, x : x + 2].mean((1, 2)) for y in (0, 2) for x in (0, 2)], dim=1
        )  # 2x2 average, row-major
    assert got.shape == (3, TOKENS, 32)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.equal(pool_frames(projected, 4, 1, "average"), projected)


# ------------------------------------------------------------------------------------------------------ the prompt


def test_prompt_is_qwen_1_5_with_one_placeholder_per_visual_token(longva_folder):
    messages = video_messages(answer="From 2.0 to 4.0 seconds.")
    assert render_qwen_1_5(messages, False) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<image>\nWhen does the man open the door?<|im_end|>\n"
        "<|im_start|>assistant\nFrom 2.0 to 4.0 seconds.<|im_end|>\n"
    )
    adapter = make(longva_folder)
    sample = adapter.build_inputs(messages, [synthetic_video(4, fps=0.5, size=40)])
    tokenizer = adapter.processor.tokenizer
    ids = sample["input_ids"][0]
    assert (ids == tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)).sum() == 4 * TOKENS
    assert sample["pixel_values_videos"].shape == (4, 3, 28, 28)
    assert sample["video_grid_thw"].tolist() == [[4, 2, 2]]
    assert sample["video_timestamps"].tolist() == [0.0, 2.0, 4.0, 6.0]
    labelled = tokenizer.decode(ids[sample["labels"][0] != -100])
    assert labelled == "From 2.0 to 4.0 seconds.<|im_end|>"


def test_frame_text_and_numpro_layouts(longva_folder):
    timed = make(longva_folder, "frame_text")
    text = timed.processor.tokenizer.decode(prompt(timed)["input_ids"][0])
    run = IMAGE_TOKEN * TOKENS
    assert f"<0 seconds>{run}<2 seconds>{run}<4 seconds>{run}<6 seconds>{run}\n" in text.replace(
        ".0 seconds", " seconds"
    )
    plain, numbered = make(longva_folder), make(longva_folder, "numpro")
    a, b = prompt(plain), prompt(numbered)
    assert "counting from 0" in numbered.processor.tokenizer.decode(b["input_ids"][0])
    assert not torch.equal(a["pixel_values_videos"], b["pixel_values_videos"])  # numbers drawn
    frames = np.zeros((1, 40, 80, 3), np.uint8)
    assert numbered.processor.video_processor.to_square(frames).shape == (1, 28, 28, 3)


# ------------------------------------------------------------------------------------------- model & components


def _new_parameters(adapter) -> dict[str, torch.Tensor]:
    modules = attached(adapter.model)
    out = {}
    if modules.time_embedding is not None:
        out["time_embedding"] = modules.time_embedding.table.weight
    if modules.compressor is not None:
        out["slots"] = modules.compressor.queries
    return out


@pytest.mark.parametrize("component", fast_sample(COMPONENTS, {"none", "all", "numpro"}))
def test_forward_backward_generate(longva_folder, component):
    adapter = make(longva_folder, component)
    batch = train_batch(adapter)
    assert (batch["labels"] != -100).sum() > 0
    out = adapter.forward(batch)
    assert math.isfinite(out.loss.item())
    out.loss.backward()
    for name, param in _new_parameters(adapter).items():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    merger = unwrap(adapter.model).model.visual.merger
    assert merger[0].weight.grad.abs().sum() > 0  # the loss reaches the projector
    if adapter.time_token_ids:
        grad = unwrap(adapter.model).get_input_embeddings().weight.grad
        used = [i for i in adapter.time_token_ids if (batch["input_ids"] == i).any()]
        assert used and grad[used].abs().sum() > 0
    texts = adapter.generate(adapter.collate([prompt(adapter)], padding_side="left"), max_new_tokens=4)
    assert len(texts) == 1 and isinstance(texts[0], str)


@pytest.mark.parametrize("component", ["slots_video", "slots_frame"])
def test_compression_shortens_the_sequence(longva_folder, component):
    plain, compressed = make(longva_folder), make(longva_folder, component)
    image_id = plain.processor.video_token_id
    slots = compressed.config.compression.num_slots
    expected = 4 * slots if compressed.config.compression.per == "frame" else slots
    assert (train_batch(plain)["input_ids"] == image_id).sum() == 4 * TOKENS
    batch = train_batch(compressed)
    assert (batch["input_ids"] == image_id).sum() == expected
    assert math.isfinite(compressed.forward(batch).loss.item())


def test_untrained_time_embedding_changes_nothing(longva_folder):
    plain, timed = make(longva_folder), make(longva_folder, "time_embedding")
    with torch.no_grad():
        assert torch.equal(plain.forward(train_batch(plain)).logits, timed.forward(train_batch(timed)).logits)


def test_batch_with_padding_matches_single_samples(longva_folder):
    adapter = make(longva_folder, "all")
    samples = [
        adapter.build_inputs(video_messages(answer=answer(adapter)), [synthetic_video(4, 0.5, size=40, seed=1)]),
        adapter.build_inputs(video_messages("Where?", answer=answer(adapter)), [synthetic_video(2, 0.5, seed=2)]),
    ]
    with torch.no_grad():
        batched = adapter.forward(adapter.collate(samples)).logits
        for row, sample in enumerate(samples):
            single = adapter.forward(adapter.collate([sample])).logits[0]
            assert torch.allclose(batched[row, : single.shape[0]], single, atol=1e-5)
    prompts = [prompt(adapter, 4, seed=1), prompt(adapter, 2, seed=2)]
    together = adapter.generate(adapter.collate(prompts, padding_side="left"), max_new_tokens=3)
    alone = [adapter.generate(adapter.collate([p], padding_side="left"), max_new_tokens=3)[0] for p in prompts]
    assert together == alone


def _step(adapter, batch) -> None:
    optimizer = torch.optim.SGD([p for p in adapter.model.parameters() if p.requires_grad], lr=0.5)
    adapter.model.train()
    adapter.forward(batch).loss.backward()
    optimizer.step()
    adapter.model.eval()


@pytest.mark.parametrize("component", ["none", "all"])
def test_full_save_is_a_llava_checkpoint_that_reloads_exactly(longva_folder, tmp_path, component):
    adapter = make(longva_folder, component)
    batch = train_batch(adapter)
    _step(adapter, batch)
    with torch.no_grad():
        expected = adapter.forward(batch).logits
    folder = adapter.save(tmp_path / "full")
    raw = json.loads((folder / "config.json").read_text())
    assert raw["model_type"] == "llava_qwen" and raw["architectures"] == ["LlavaQwenForCausalLM"]
    keys = set(_file_tensors(folder))
    assert "model.mm_projector.0.weight" in keys and "model.layers.0.self_attn.q_proj.weight" in keys
    assert any(k.startswith("model.vision_tower.vision_tower.vision_model.") for k in keys)
    reloaded = load_model(ModelConfig(family="longva", path=str(folder), device="cpu"))
    assert reloaded.config.time == adapter.config.time
    with torch.no_grad():
        got = reloaded.forward(train_batch(reloaded)).logits
    assert torch.equal(expected, got)


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_lora_scope_projector_trainable_and_reload(longva_folder, tmp_path):
    adapter = make(longva_folder, "all")
    targets = adapter.lora_target_modules()
    assert len(targets) == 2 * 7 and all(t.startswith("model.language_model.layers.") for t in targets)
    adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0, modules_to_save=("model.visual.merger",)))
    trainable = [n for n, p in adapter.model.named_parameters() if p.requires_grad]
    lora = [n for n in trainable if "lora_" in n]
    assert lora and all(".language_model.layers." in n for n in lora)
    assert not any(".vision_tower." in n for n in trainable)
    projector = [n for n in trainable if ".visual.merger." in n]
    assert projector and all("modules_to_save" in n for n in projector)
    assert all("lora_" in n or "trainable_tokens_delta" in n or ".vidllm." in n or n in projector for n in trainable)
    batch = train_batch(adapter)
    _step(adapter, batch)
    with torch.no_grad():
        expected = adapter.forward(batch).logits
    folder = adapter.save(tmp_path / "lora")
    assert (folder / "adapter_model.safetensors").is_file() and not (folder / "model.safetensors").exists()
    reloaded = get_adapter("longva")(adapter.config).load(folder)
    with torch.no_grad():
        assert torch.equal(expected, reloaded.forward(batch).logits)
    reloaded.model = reloaded.model.merge_and_unload()  # what `vidllm export --merge` does
    merged = load_model(ModelConfig(family="longva", path=str(reloaded.save(tmp_path / "merged")), device="cpu"))
    with torch.no_grad():
        assert torch.allclose(expected, merged.forward(batch).logits, atol=1e-4)


def test_eval_detects_the_family_from_llava_qwen(longva_folder):
    from vidllm.eval.model_source import detect_family

    assert detect_family(str(longva_folder), None, "qwen2_5_vl") == "longva"


def test_video_count_and_loading_errors(longva_folder, tmp_path):
    adapter = make(longva_folder)
    with pytest.raises(ValueError, match="1 video parts but 2 videos"):
        adapter.build_inputs(video_messages(), [synthetic_video(2), synthetic_video(2)])
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_model(ModelConfig(family="longva", path=str(tmp_path), device="cpu"))
    with pytest.raises(RuntimeError, match="call .load"):
        get_adapter("longva")(ModelConfig(family="longva")).build_inputs(video_messages(), [])


# --------------------------------------------------------------------------------------------- train and evaluate


def test_numpro_ft_recipe_yaml():
    from vidllm.train.config import load_train_config

    cfg = load_train_config(REPO / "train_configs" / "numpro_ft_longva_7b.yaml")
    assert cfg.model.family == "longva" and cfg.model.time.numpro and cfg.model.time.scheme == "frames"
    assert (cfg.tuning.mode, cfg.tuning.lora.r, cfg.tuning.lora.alpha) == ("lora", 64, 128)
    assert cfg.tuning.train_projector and not cfg.tuning.train_vision
    assert cfg.data.fps == 0.5 and cfg.optim.lr == 1e-4


@pytest.mark.integration  # a training run
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_train_run_with_the_numpro_ft_recipe_on_the_tiny_model(longva_folder, tmp_path):
    from vidllm.train import recipe
    from vidllm.train.config import load_train_config
    from vidllm.train.toy import write_toy_set

    records, videos = write_toy_set(tmp_path / "toy", num_videos=2, seed=0)
    overrides = [
        f"model.path={longva_folder}", "model.dtype=float32", "model.attn_implementation=sdpa", "deepspeed=null",
        f"data.files=[{records}]", f"data.video_root={videos}", "data.use_arrow=false", "data.num_workers=0",
        "data.max_frames=4", "data.min_frames=2", "data.max_length=512", "data.video_backend=pyav",
        "tuning.lora.r=4", "tuning.lora.alpha=8", "optim.max_steps=3", "optim.batch_size=2", "optim.grad_accum=1",
        "optim.lr=0.01", "optim.gradient_checkpointing=false", "optim.bf16=false", "optim.scheduler=constant",
        "optim.warmup_ratio=0.0", f"checkpoint.output_dir={tmp_path / 'run'}", "checkpoint.save_steps=100",
        "logging.report_to=[]",
    ]  # fmt: skip
    cfg = load_train_config(REPO / "train_configs" / "numpro_ft_longva_7b.yaml", overrides)
    out = recipe.run(cfg)
    assert (out / "adapter_model.safetensors").is_file() and (out / "vidllm.json").is_file()
    trained = get_adapter("longva")(ModelConfig(family="longva", path=str(longva_folder), device="cpu")).load(out)
    assert trained.config.time.numpro
    fresh = make(longva_folder)
    moved = unwrap(trained.model).model.visual.merger
    merger = moved.modules_to_save["default"] if hasattr(moved, "modules_to_save") else moved
    assert not torch.equal(merger[0].weight, unwrap(fresh.model).model.visual.merger[0].weight)  # projector trained


def test_eval_runner_with_family_longva(longva_folder, tmp_path):
    from vidllm.config import load_config
    from vidllm.eval.config import EvalConfig
    from vidllm.eval.runner import evaluate
    from vidllm.synthetic import SceneSpec, render, sample_scene
    from vidllm.video.extract import write_clip

    shared = REPO / "tests" / "fixtures" / "benchmarks" / "charades_sta" / "test.caption_coco_format.json"
    annotations = json.loads(shared.read_text())["annotations"][:2]
    gt = tmp_path / "test.caption_coco_format.json"
    gt.write_text(json.dumps({"annotations": annotations}))
    (tmp_path / "videos").mkdir()
    for k, name in enumerate(sorted({a["image_id"] for a in annotations})):
        scene = sample_scene(SceneSpec(duration=(8.0, 8.0), event_length=(2.0, 4.0)), np.random.default_rng(k))
        write_clip(tmp_path / "videos" / name, render(scene, np.arange(0, 8.0, 1.0), 32, 32), 1.0)
    overrides = [
        "dataset=charades_sta", "tasks=[mr]", f"gt_path='{gt}'", f"video_root='{tmp_path / 'videos'}'",
        f"model.path='{longva_folder}'", "model.device=cpu", f"output_dir='{tmp_path / 'out'}'",
        "sampling.fps=0.5", "sampling.max_frames=4", "generation.max_new_tokens=8", "num_workers=1",
    ]  # fmt: skip
    result = evaluate(load_config(EvalConfig, overrides=overrides))
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == len(annotations) and result is not None
    assert all(s["status"] not in ("video_error", "error") and isinstance(s["answer"], str) for s in samples), samples


@pytest.mark.slow
def test_real_longva_checkpoint():
    folder = os.environ.get("VIDLLM_LONGVA_7B")
    if not folder:
        pytest.skip("set VIDLLM_LONGVA_7B to a local lmms-lab/LongVA-7B(-DPO) folder")
    adapter = load_model(ModelConfig(family="longva", path=folder, **component_settings("numpro")))
    assert unwrap(adapter.model).config.tokens_per_frame == 144
    video = synthetic_video(8, fps=0.5, size=336)
    batch = adapter.collate([adapter.build_inputs(video_messages(answer="From Frame 1 to Frame 3"), [video])])
    assert (batch["input_ids"] == adapter.processor.video_token_id).sum() == 8 * 144
    assert torch.isfinite(adapter.forward(batch).loss)
    texts = adapter.generate(adapter.collate([prompt(adapter, 8)], padding_side="left"), max_new_tokens=16)
    assert texts[0].strip()
