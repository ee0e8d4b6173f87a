"""Publishing: ``trainer.push_to_hub`` from training and ``vidllm export --push_to_hub``, against a local stand-in
for the Hub's upload API (``tests/fake_hub.py``; ``huggingface_hub`` makes the same calls as against the Hub).
The uploaded folders load with vidllm's loader (the base by its Hub id, from a pre-filled cache) and carry a model
card with the evaluation table."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from fake_hub import FakeHub
from huggingface_hub import ModelCard
from tiny_models import fill_cache

from vidllm.errors import UserError
from vidllm.models import ModelConfig, load_model
from vidllm.models.tiny import synthetic_video, video_messages
from vidllm.synthetic import SceneSpec
from vidllm.synthetic.benchmark import write_benchmark
from vidllm.synthetic.tasks import PROMPTS
from vidllm.train import recipe
from vidllm.train.cli import add_subcommands
from vidllm.train.publish import check_portable, results_table

BASE_ID = "vidllm-test/tiny-qwen2.5-vl"


@pytest.fixture
def hub(tmp_path, monkeypatch, tiny_checkpoint):
    """The fake Hub as ``HF_ENDPOINT``, and a cache holding the tiny base as :data:`BASE_ID`."""
    import huggingface_hub.constants as constants
    import transformers.utils.hub as transformers_hub

    cache = tmp_path / "cache"
    fill_cache(cache, BASE_ID, tiny_checkpoint)
    with FakeHub(tmp_path / "hub") as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(transformers_hub, "_hf_api", None)  # transformers' shared HfApi, built on ENDPOINT
        monkeypatch.setenv("HF_TOKEN", "hf_fake")
        yield server


def logits(adapter) -> torch.Tensor:
    answer = adapter.config.time.make_scheme(fps=2.0).format_span(1.0, 2.5)
    batch = adapter.collate([adapter.build_inputs(video_messages(answer=answer), [synthetic_video(8, 2.0)])])
    with torch.no_grad():
        return adapter.forward(batch).logits


def export_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    runners = add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", *argv])
    return runners[args.command](args)


@pytest.mark.integration  # two trainings' worth of CPU (~20 s): a run with evaluation, then a merge
def test_training_and_export_push_loadable_folders_with_a_card(make_config, hub, tmp_path):
    spec = SceneSpec(duration=(8.0, 8.0), num_events=(1, 1), event_length=(2.0, 4.0))
    held_out = write_benchmark(tmp_path / "held_out", num_videos=2, spec=spec, seed=7, tasks=("mr",), video_fps=2.0)
    cfg = make_config(f"model.path={BASE_ID}", "optim.max_steps=2", "checkpoint.save_steps=2",
                      "trainer.push_to_hub=true", "trainer.hub_model_id=user/tiny-vtg",  # every_save: step 2, end
                      "evaluation.dataset=synthetic", f"evaluation.gt_path={held_out['tvg']}",
                      f"evaluation.video_root={held_out['videos']}", f"evaluation.prompt={json.dumps(PROMPTS['mr'])}",
                      "evaluation.max_new_tokens=12")  # fmt: skip
    run = recipe.run(cfg)
    assert hub.repos["user/tiny-vtg"]["commits"] == ["Training in progress, step 2", "End of training"]
    at_checkpoint = set(hub.repos["user/tiny-vtg"]["files"][0])  # the checkpoint's push is a whole vidllm model
    assert {"vidllm.json", "vidllm_modules.safetensors", "adapter_model.safetensors", "tokenizer.json",
            "train_config.yaml", "README.md"} <= at_checkpoint, at_checkpoint  # fmt: skip
    pushed = hub.folder("user/tiny-vtg")
    expected = logits(load_model(ModelConfig(path=str(run), device="cpu")))
    # the pushed run folder is a vidllm model: the LoRA, vidllm.json naming the base by id, time modules, tokenizer
    assert torch.equal(logits(load_model(ModelConfig(path=str(pushed), device="cpu"))), expected)
    assert not any(p.name.startswith("checkpoint-") for p in pushed.iterdir())
    card = ModelCard.load(pushed / "README.md")
    assert card.data.base_model == BASE_ID and card.data.library_name == "vidllm" and "vidllm" in card.data.tags
    results = json.loads((run / "eval" / "step-2" / "results.json").read_text())
    assert "| synthetic | mr | 2 |" in card.text and f"{results['metrics']['R1@0.5']:.2f}" in card.text
    assert "time scheme: `vtgllm`" in card.text and "- fps: 1.0" in card.text and "LoRA r=8" in card.text

    # vidllm export --lora RUN --push_to_hub REPO --merge --private: a standalone checkpoint and its card
    assert export_cli("--lora", str(run), "--push_to_hub", "user/tiny-vtg-merged", "--merge", "--private") == 0
    merged = hub.folder("user/tiny-vtg-merged")
    assert hub.repos["user/tiny-vtg-merged"]["private"] and (merged / "model.safetensors").is_file()
    assert not (merged / "adapter_config.json").exists() and (merged / "train_config.yaml").is_file()
    assert torch.allclose(logits(load_model(ModelConfig(path=str(merged), device="cpu"))), expected, atol=1e-5)
    merged_card = ModelCard.load(merged / "README.md")
    assert "merged" in merged_card.data.tags and "| synthetic | mr | 2 |" in merged_card.text
    assert merged_card.data.base_model == BASE_ID  # from the train_config.yaml the export carries


def test_a_lora_folder_over_a_local_base_is_not_pushed(tmp_path, make_config):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "vidllm.json").write_text(json.dumps({"format": 2, "family": "qwen2_5_vl",
                                                              "base": {"path": "../base"}}))  # fmt: skip
    with pytest.raises(UserError, match="--base Qwen/Qwen2.5-VL-7B-Instruct.*--merge"):
        check_portable(tmp_path / "run")
    with pytest.raises(UserError, match="trainer.push_to_hub with LoRA over the local folder"):
        recipe.setup(make_config("trainer.push_to_hub=true", "trainer.hub_model_id=user/x"))
    with pytest.raises(UserError, match="--out DIR"):
        export_cli("--lora", str(tmp_path / "run"))


def test_results_table_has_one_row_per_results_file(tmp_path):
    for name, r1 in (("a", 41.5), ("b", 12.25)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(
            {"dataset": "charades_sta", "tasks": ["mr"], "counts": {"samples": 3720},
             "metrics": {"mIoU": 30.0, "R1@0.5": r1, "num_unparseable": 4}}))  # fmt: skip
    table = results_table([tmp_path / "a" / "results.json", tmp_path / "b" / "results.json"])
    assert table.splitlines()[0] == "| benchmark | tasks | samples | R1@0.5 | mIoU |"
    assert "| charades_sta | mr | 3720 | 41.50 | 30.00 |" in table and "12.25" in table


def test_training_takes_a_hub_id_from_the_cache(make_config, tiny_checkpoint, tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    from vidllm.train import preflight

    fill_cache(tmp_path / "cache", BASE_ID, tiny_checkpoint)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    preflight.check_paths(make_config(f"model.path={BASE_ID}"))  # the cached snapshot, no request
    with pytest.raises(UserError, match="vidllm-test/not-cached.*HF_HUB_OFFLINE"):
        preflight.check_paths(make_config("model.path=vidllm-test/not-cached"))
