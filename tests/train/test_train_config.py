"""Every shipped training YAML loads into the typed config (nothing is built); bad values are refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidllm.config import ConfigError, save_config
from vidllm.train.config import DEEPSPEED_DIR, TrainConfig, load_train_config
from vidllm.train.recipe import resume_checkpoint
from vidllm.train.trainer import parameter_part

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "train_configs").glob("*.yaml"))


def test_configs_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"tiny_cpu", "vtgllm_qwen2_vl_7b_vtg_it", "numpro_ft_qwen2_vl_7b"} <= names
    assert {"qwen2_5_vl_7b_lora_vtg_it", "qwen2_5_vl_7b_full_vtg_it"} <= names
    assert {p.stem for p in DEEPSPEED_DIR.glob("*.json")} == {"zero2", "zero3", "zero2_offload", "zero3_offload"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_yaml_loads_and_starts_with_its_command(path, tmp_path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ") and "vidllm" in first and f"train_configs/{path.name}" in first
    cfg = load_train_config(path)
    assert isinstance(cfg, TrainConfig)
    if cfg.deepspeed:
        assert cfg.deepspeed_path().is_file()
    # what the run saves beside its model reads back to the same config
    again = load_train_config(save_config(cfg, tmp_path / "saved.yaml"))
    assert again == cfg


def test_published_recipes_keep_their_settings():
    vtgllm = load_train_config(REPO / "train_configs" / "vtgllm_qwen2_vl_7b_vtg_it.yaml")
    assert (vtgllm.tuning.lora.r, vtgllm.tuning.lora.alpha) == (32, 32)
    assert vtgllm.tuning.lora.targets == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert vtgllm.data.num_frames == 96 and vtgllm.model.compression.enabled and vtgllm.model.time.time_tokens
    numpro = load_train_config(REPO / "train_configs" / "numpro_ft_qwen2_vl_7b.yaml")
    assert (numpro.tuning.lora.r, numpro.tuning.lora.alpha, numpro.optim.lr) == (64, 128, 1e-4)
    assert (numpro.optim.scheduler, numpro.optim.epochs, numpro.data.fps) == ("cosine", 3, 0.5)
    assert numpro.model.time.numpro and numpro.model.time.scheme == "frames" and numpro.deepspeed == "zero2"
    for name in ("qwen2_5_vl_7b_lora_vtg_it", "qwen2_5_vl_7b_full_vtg_it"):
        cfg = load_train_config(REPO / "train_configs" / f"{name}.yaml")
        assert cfg.deepspeed == "zero3" and cfg.model.family == "qwen2_5_vl"


@pytest.mark.parametrize("path", sorted(DEEPSPEED_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_deepspeed_files_leave_batch_and_precision_to_the_trainer(path):
    ds = json.loads(path.read_text())
    assert ds["train_micro_batch_size_per_gpu"] == "auto" and ds["gradient_accumulation_steps"] == "auto"
    assert ds["bf16"]["enabled"] == "auto" and "optimizer" not in ds  # per-part learning rates need our optimizer
    if ds["zero_optimization"]["stage"] == 3:
        assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


@pytest.mark.parametrize(
    "override, words",
    [
        ("tuning.mode=qlora", ["tuning.mode", "lora, full", "qlora"]),
        ("model.family=llava", ["model.family", "qwen2_5_vl", "llava"]),
        ("optim.scheduler=step", ["optim.scheduler", "cosine", "step"]),
        ("data.format=csv", ["data.format", "vtg_it", "csv"]),
        ("optim.lr=fast", ["optim.lr", "a number", "fast"]),
        ("optim.batch_size=0", ["optim.batch_size"]),
        ("data.num_frames=32", ["data.fps", "data.num_frames"]),
        ("optim.scheduler=cosine_with_min_lr", ["optim.min_lr"]),
        ("tuning.lora.rank=8", ["unknown field tuning.lora.rank", "alpha, dropout, r, targets"]),
        ("deepspeed=zero4", ["zero4", "zero2", "zero3_offload"]),
    ],
)
def test_bad_value_names_the_field_and_what_is_allowed(override, words):
    with pytest.raises((ConfigError, FileNotFoundError)) as e:
        load_train_config(REPO / "train_configs" / "tiny_cpu.yaml", [override])
    for word in words:
        assert word in str(e.value), (word, str(e.value))


def test_pixel_budget_is_set_once():
    with pytest.raises(ConfigError, match="data.max_pixels=256 and model.frame_max_pixels=512 differ"):
        load_train_config(REPO / "train_configs" / "tiny_cpu.yaml", ["model.frame_max_pixels=512"])


def test_runnable_needs_real_paths():
    cfg = load_train_config(REPO / "train_configs" / "tiny_cpu.yaml")
    with pytest.raises(ValueError, match="model.path is empty"):
        cfg.check_runnable()


def test_a_fresh_run_never_overwrites_checkpoints(tmp_path):
    (tmp_path / "checkpoint-5").mkdir()
    cfg = load_train_config(REPO / "train_configs" / "tiny_cpu.yaml", [f"checkpoint.output_dir={tmp_path}"])
    with pytest.raises(ValueError, match="resume=true"):
        resume_checkpoint(cfg)
    cfg.resume = True
    # an empty checkpoint-5 is incomplete (a kill while saving): resume starts over instead of failing on it
    # (complete checkpoints: tests/reliability/test_checkpoint_resume.py)
    assert resume_checkpoint(cfg) is None


@pytest.mark.parametrize(
    "name, part",
    [
        ("base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.default.weight", "llm"),
        ("model.language_model.embed_tokens.weight", "llm"),
        ("lm_head.weight", "llm"),
        ("base_model.model.model.language_model.embed_tokens.token_adapter.trainable_tokens_delta.default", "time"),
        ("base_model.model.model.vidllm.time_embedding.table.weight", "time"),
        ("model.visual.blocks.0.attn.qkv.weight", "vision"),
        ("model.visual.merger.mlp.0.weight", "projector"),
        ("base_model.model.model.visual.merger.modules_to_save.default.ln_q.weight", "projector"),
        ("base_model.model.model.visual.modules_to_save.default.merger.mlp.0.weight", "projector"),
        ("model.visual.deepstack_merger_list.0.norm.weight", "projector"),
    ],
)
def test_parameter_parts(name, part):
    assert parameter_part(name) == part
