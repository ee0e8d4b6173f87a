"""The quickstart end to end at CI size: a from-scratch model must really ground on held-out synthetic videos, far
above both the best constant span and the same model trained blind (frames shuffled in time)."""

from __future__ import annotations

import json

from vidllm.cli import main
from vidllm.quickstart import QuickstartConfig, run


def ci_config(out, **overrides) -> QuickstartConfig:
    # The default benchmark and training budget (the README's numbers), with a smaller held-out set.
    return QuickstartConfig(output_dir=str(out), test_videos=40, constant_fit_samples=2000, **overrides)


def test_quickstart_grounds_beyond_both_baselines(tmp_path):
    summary = run(ci_config(tmp_path / "qs"))
    main_row, blind, constant = summary.rows
    assert [main_row.name, blind.name, constant.name] == ["time_embedding", "blind_time_embedding", "constant"]
    for metric, margin in (("R1@0.5", 25.0), ("mIoU", 20.0)):
        best_baseline = max(blind.metrics[metric], constant.metrics[metric])
        assert main_row.metrics[metric] >= best_baseline + margin, (metric, summary.markdown())
    # Everything lands in one folder, with the summary, the held-out set and the plot.
    out = tmp_path / "qs"
    data = json.loads((out / "summary.json").read_text())
    assert [r["name"] for r in data["rows"]] == ["time_embedding", "blind_time_embedding", "constant"]
    assert "| constant:" in (out / "summary.md").read_text()
    assert (out / "eval" / "time_embedding" / "plots" / "timeline.png").is_file()
    assert (out / "heldout" / "synthetic_test.vtg_it.json").is_file()


def test_cli_reruns_keep_finished_work(tmp_path, capsys):
    args = [f"output_dir={tmp_path / 'qs'}", "steps=2", "batch_size=2", "test_videos=2", "workers=0",
            "constant_fit_samples=50", "baselines=false"]  # fmt: skip
    assert main(["quickstart", *args]) == 0
    first = capsys.readouterr().out
    assert "R1@0.5" in first and "summary.md" in first
    stamp = (tmp_path / "qs" / "runs" / "time_embedding" / "quickstart_train.json").stat().st_mtime
    assert main(["quickstart", *args]) == 0  # the finished training is kept, not redone
    assert (tmp_path / "qs" / "runs" / "time_embedding" / "quickstart_train.json").stat().st_mtime == stamp
