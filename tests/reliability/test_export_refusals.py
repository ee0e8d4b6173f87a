"""Item 1 (and 7, export): ``vidllm export`` never writes a wrong model and never modifies its source."""

from __future__ import annotations

import shutil

import torch
from reliability_helpers import FAMILY, one_line_error

from vidllm.eval.model_source import folder_hash
from vidllm.models import ModelConfig, load_model
from vidllm.models.tiny import synthetic_video, video_messages


def _logits(folder) -> torch.Tensor:
    adapter = load_model(ModelConfig(family=FAMILY, path=str(folder), device="cpu"))
    sample = adapter.build_inputs(video_messages(answer="1.0 - 2.0 seconds"), [synthetic_video(8, 1.0)])
    batch = adapter.collate([sample])
    with torch.no_grad():
        return adapter.forward(batch).logits


def test_merge_into_a_folder_holding_an_adapter_is_refused_and_overwrite_gives_the_right_model(
    cli, lora_folder, tiny_checkpoint, tmp_path
):
    out = tmp_path / "exported"
    code, _, _ = cli("export", "--lora", lora_folder, "--out", out)  # a LoRA export: adapter_config.json in out
    assert code == 0 and (out / "adapter_config.json").is_file()
    (out / "NOTES.txt").write_text("mine")
    code, _, err = cli("export", "--lora", lora_folder, "--out", out, "--merge")
    line = one_line_error(err)
    assert code == 2 and "is not empty" in line and "--overwrite" in line
    assert (out / "adapter_config.json").is_file()  # nothing was written
    code, _, _ = cli("export", "--lora", lora_folder, "--out", out, "--merge", "--overwrite")
    assert code == 0
    assert not (out / "adapter_config.json").exists() and not (out / "adapter_model.safetensors").exists()
    assert (out / "model.safetensors").is_file() and (out / "NOTES.txt").read_text() == "mine"
    clean = tmp_path / "clean"
    assert cli("export", "--lora", lora_folder, "--out", clean, "--merge")[0] == 0
    expected = _logits(lora_folder)  # base + LoRA, as trained
    assert torch.allclose(_logits(clean), expected, atol=1e-5)
    assert torch.allclose(_logits(out), expected, atol=1e-5)  # LoRA applied once, not twice
    assert not list(tmp_path.glob(".*export-partial"))  # the staging folder is gone


def test_out_is_the_lora_folder_is_refused_and_the_source_is_untouched(cli, lora_folder, tmp_path, no_model):
    run = tmp_path / "run"
    shutil.copytree(lora_folder, run)
    before = folder_hash(run)["sha256"]
    for extra in ((), ("--overwrite",)):
        code, _, err = cli("export", "--lora", run, "--out", run, "--merge", *extra)
        assert code == 2 and "is the --lora folder" in one_line_error(err)
    assert folder_hash(run)["sha256"] == before  # base_path and the adapter are still there


def test_out_is_the_base_checkpoint_is_refused(cli, lora_folder, tiny_checkpoint, no_model):
    code, _, err = cli("export", "--lora", lora_folder, "--out", tiny_checkpoint, "--merge", "--overwrite")
    assert code == 2 and "is the --base folder" in one_line_error(err)


def test_base_of_another_family_is_refused_before_loading(
    cli, lora_folder, other_family_checkpoint, tmp_path, no_model
):
    code, _, err = cli("export", "--lora", lora_folder, "--out", tmp_path / "x", "--merge",
                       "--base", other_family_checkpoint)  # fmt: skip
    line = one_line_error(err)
    assert code == 2 and "'qwen2_vl'" in line and "qwen2_5_vl" in line and "--base" in line
    assert not (tmp_path / "x").exists()
