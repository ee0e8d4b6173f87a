"""The quickstart end to end at CI size: a from-scratch model must really ground on held-out synthetic videos, far
above both the best constant span and the same model trained blind (frames shuffled in time)."""

from __future__ import annotations

import json

from vidllm.cli import main
from vidllm.quickstart import QuickstartConfig, run
from vidllm.quickstart.config import TestSuites


def ci_config(out, **overrides) -> QuickstartConfig:
    # The default benchmark and training budget (the README's numbers: variable rates 1-2 fps and lengths 8-24 s),
    # with smaller held-out sets: a rate and a length inside the training ranges but not the main ones, and a rate
    # above the training range.
    suites = TestSuites(fps=[1.25, 4.0], durations=[20.0], videos=40)
    return QuickstartConfig(output_dir=str(out), test_videos=40, constant_fit_samples=2000, test=suites, **overrides)


def test_quickstart_grounds_beyond_both_baselines_at_other_rates_and_lengths(tmp_path):
    """The default model (slots, 1000 steps on variable time) against its blind twin and the best constant span, on
    the in-distribution suite (1.5 fps), two rate-shifted suites (1.25 fps inside the training range, 4 fps above it)
    and a length-shifted one (20 s): R1@0.5 at least 25 points and mIoU 20 points above the better baseline on each
    (measured: this test's seed-0 run gave slots 100 R1@0.5 on all four suites, the blind model 12.5-32.5 and the
    constant span 22.5-32.5 with 40 questions; with 100 questions and 3 seeds slots scored 100 at 1.5 fps, 4 fps and
    20 s, the blind model 14-30 and the constant span 22-42 on average; docs/quickstart.md)."""
    summary = run(ci_config(tmp_path / "qs"))
    main_row, blind, constant = summary.rows
    assert [main_row.name, blind.name, constant.name] == ["slots", "blind_slots", "constant"]
    assert set(main_row.suites) == {"1.5fps_8-24s", "1.25fps_8-24s", "4fps_8-24s", "1.5fps_20s"}
    for suite in main_row.suites:
        for metric, margin in (("R1@0.5", 25.0), ("mIoU", 20.0)):
            best_baseline = max(blind.suites[suite][metric], constant.suites[suite][metric])
            assert main_row.suites[suite][metric] >= best_baseline + margin, (suite, metric, summary.markdown())
    # Everything lands in one folder, with the summary, the held-out sets and the plots.
    out = tmp_path / "qs"
    data = json.loads((out / "summary.json").read_text())
    assert [r["name"] for r in data["rows"]] == ["slots", "blind_slots", "constant"]
    assert "| constant:" in (out / "summary.md").read_text()
    assert (out / "eval" / "slots" / "plots" / "timeline.png").is_file()
    assert (out / "heldout" / "synthetic_test.vtg_it.json").is_file() and (out / "suites.png").is_file()


def test_cli_reruns_keep_finished_work(tmp_path, capsys):
    args = [f"output_dir={tmp_path / 'qs'}", "steps=2", "batch_size=2", "test_videos=2", "workers=0",
            "constant_fit_samples=50", "baselines=false"]  # fmt: skip
    assert main(["quickstart", *args]) == 0
    first = capsys.readouterr().out
    assert "R1@0.5" in first and "summary.md" in first
    stamp = (tmp_path / "qs" / "runs" / "slots" / "quickstart_train.json").stat().st_mtime
    assert main(["quickstart", *args]) == 0  # the finished training is kept, not redone
    assert (tmp_path / "qs" / "runs" / "slots" / "quickstart_train.json").stat().st_mtime == stamp


def test_grid_of_seeds_and_suites_through_the_cli(tmp_path, capsys):
    # The lab's plumbing at the smallest size (1 step: the numbers mean nothing): a family other than Qwen2-VL,
    # two seeds, a rate- and a length-shifted suite, the constant span fitted per suite, mean +- std over seeds.
    out = tmp_path / "lab"
    args = [f"output_dir={out}", "steps=1", "batch_size=2", "test_videos=2", "workers=0", "constant_fit_samples=50",
            "families=[qwen2_5_vl]", "seeds=[0,1]", "blind_frames=blank", "scenes.fps=[1,2]",
            "scenes.duration=[8,12]", "fps=1.5", "test.fps=[4]", "test.durations=[20]"]  # fmt: skip
    assert main(["quickstart", *args]) == 0
    printed = capsys.readouterr().out
    assert "1.5fps_8-12s" in printed and "4fps_8-12s" in printed and "1.5fps_20s" in printed
    data = json.loads((out / "summary.json").read_text())
    names = [r["name"] for r in data["rows"]]
    assert names == ["qwen2_5_vl/slots", "qwen2_5_vl/blind_slots", "qwen2_5_vl/constant"]
    assert set(data["rows"][0]["spread"]) == {"1.5fps_8-12s", "4fps_8-12s", "1.5fps_20s"}
    for seed in (0, 1):
        line = out / f"qwen2_5_vl_seed{seed}" / "eval_suites" / "4fps_8-12s" / "slots" / "samples.jsonl"
        sample = json.loads(line.read_text().splitlines()[0])
        assert sample["sample_fps"] == 4.0 and sample["num_groups"] == len(sample["group_times"])
    assert (out / "suites.png").is_file() and "±" in (out / "summary.md").read_text()


def test_rl_stage_continues_the_model_with_grpo_and_more_sft(tmp_path, capsys):
    # The RL stage's plumbing at the smallest size (the numbers mean nothing): the main model, then the same model
    # continued with 2 GRPO steps and with 2 more SFT steps, each evaluated on both suites; a rerun keeps all three.
    out = tmp_path / "qs"
    args = [f"output_dir={out}", "steps=2", "batch_size=2", "test_videos=2", "workers=0", "baselines=false",
            "test.fps=[]", "test.durations=[8]", "rl=true", "rl.steps=2", "rl.batch_size=4", "rl.num_generations=2",
            "rl.max_completion_length=8"]  # fmt: skip
    assert main(["quickstart", *args]) == 0
    assert "slots+grpo" in capsys.readouterr().out
    data = json.loads((out / "summary.json").read_text())
    assert [r["name"] for r in data["rows"]] == ["slots", "slots+grpo", "slots+sft"]
    for row in data["rows"]:
        assert set(row["suites"]) == {"1.5fps_8-24s", "1.5fps_8s"}
    grpo = json.loads((out / "runs" / "slots+grpo" / "quickstart_train.json").read_text())
    assert grpo["method"] == "grpo" and grpo["start"] == str(out / "runs" / "slots")
    state = json.loads((out / "runs" / "slots+sft" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    stamps = [(out / "runs" / n / "quickstart_train.json").stat().st_mtime for n in ("slots+grpo",
              "slots+sft")]  # fmt: skip
    assert main(["quickstart", *args]) == 0  # finished runs are kept
    assert stamps == [(out / "runs" / n / "quickstart_train.json").stat().st_mtime for n in ("slots+grpo",
                      "slots+sft")]  # fmt: skip
