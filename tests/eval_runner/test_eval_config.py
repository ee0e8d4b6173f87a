"""EvalConfig: every shipped eval_configs/*.yaml loads, flags map onto fields, bad values say what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vidllm.config import ConfigError, load_config
from vidllm.data import eval_prompt
from vidllm.eval.benchmarks import get_benchmark, prompt_task
from vidllm.eval.config import EvalConfig
from vidllm.eval.run_cli import KINDS, build_parser, config_from_args

REPO = Path(__file__).resolve().parents[2]
YAMLS = sorted((REPO / "eval_configs").glob("*.yaml"))


def test_there_is_a_config_per_benchmark():
    names = {p.stem for p in YAMLS}
    assert {"charades_sta", "activitynet_grounding", "qvhighlights", "youcook2", "activitynet_dvc", "tvsum"} <= names


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_shipped_yaml_loads_and_starts_with_its_command(path):
    cfg = load_config(EvalConfig, path)
    first = path.read_text().splitlines()[0]
    command = r"# (?:torchrun --nproc_per_node=\d+ )?python eval/(mr|hd|dvc|vs|tad)\.py --config (\S+) .*"
    m = re.fullmatch(command, first)
    assert m, f"{path.name}: the first line must be the command that runs it, got {first!r}"
    assert m.group(2) == f"eval_configs/{path.name}"
    bench = get_benchmark(cfg.dataset)
    tasks = cfg.tasks or list(KINDS[m.group(1)])
    assert set(tasks) <= set(bench.tasks)
    for task in tasks:  # the prompt set has the question of every task the command asks
        eval_prompt(cfg.prompt_set, prompt_task(task), query="a query", dataset=cfg.dataset_name or bench.dataset_name)


def test_flags_and_overrides_map_onto_fields(tmp_path):
    args = build_parser("hd").parse_args(
        ["--model_path", "/m", "--lora_path", "/a", "--dataset", "qvhighlights", "--gt_path", "g.jsonl",
         "--video_root", "v", "--fps", "2", "--batch_size", "4", "--limit", "10", "--plots", "--tasks", "mr,vhd",
         "generation.max_new_tokens=99", "model.dtype=bfloat16"]
    )  # fmt: skip
    cfg = config_from_args(args)
    assert (cfg.model.path, cfg.lora_path, cfg.gt_path, cfg.video_root) == ("/m", "/a", "g.jsonl", "v")
    assert cfg.sampling.fps == 2.0 and cfg.batch_size == 4 and cfg.limit == 10 and cfg.plots is True
    assert cfg.tasks == ["mr", "vhd"] and cfg.generation.max_new_tokens == 99 and cfg.model.dtype == "bfloat16"
    # the dataset's YAML supplies what the flags leave out; the runner supplies the task
    cfg = config_from_args(build_parser("hd").parse_args(["--dataset", "qvhighlights", "--model_path", "/m"]))
    assert cfg.tasks == ["vhd"] and cfg.gt_path == "data/qvhighlights/highlight_val_release.jsonl"
    cfg = config_from_args(build_parser("mr").parse_args(["--dataset", "qvhighlights", "--model_path", "/m"]))
    assert cfg.tasks == ["mr"]


@pytest.mark.parametrize(
    "override, message",
    [
        ("dataset=charades", "field dataset: expected one of"),
        ("tasks=[mr,grounding]", "tasks must be among mr, vhd, dvc, vs, tad, got ['grounding']"),
        ("sampling.num_frames=8", "sampling.fps=1.0 and sampling.num_frames=8 are exclusive"),
        ("batch_size=0", "batch_size must be >= 1, got 0"),
        ("video_template=videos/x.mp4", "video_template must contain '{vid}'"),
        ("generation.do_sample=true", None),
        ("model.family=llava", "field model.family: expected one of qwen2_vl, qwen2_5_vl, qwen3_vl"),
    ],
)
def test_bad_values_say_what_is_allowed(override, message):
    if message is None:
        assert load_config(EvalConfig, overrides=["sampling.fps=1", override]).generation.do_sample
        return
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(EvalConfig, overrides=["sampling.fps=1", override])


def test_check_runnable_names_what_is_missing():
    with pytest.raises(ValueError, match=r"does not set dataset, gt_path, video_root, tasks, model.path"):
        EvalConfig().check_runnable()


def test_greedy_by_default():
    kwargs = EvalConfig().generation.kwargs()
    assert kwargs["do_sample"] is False and "temperature" not in kwargs and kwargs["num_beams"] == 1


def test_vidllm_eval_subcommand():
    import argparse

    from vidllm.eval.run_cli import add_subcommands

    parser = argparse.ArgumentParser(prog="vidllm")
    runners = add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "dvc", "--dataset", "youcook2", "--model_path", "/m", "--no_java"])
    assert set(runners) == {"eval"} and args.kind == "dvc"
    cfg = config_from_args(args)
    assert cfg.tasks == ["dvc"] and cfg.java is False
    assert cfg.gt_path == "data/youcook2/val.dvc.caption_coco_format.json"
