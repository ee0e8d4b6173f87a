"""Item 8: messages name the right input -- the flag or override that set a bad value (not the YAML file), the
position in a JSON-lines file -- and keep their whole text."""

from __future__ import annotations

from pathlib import Path

from reliability_helpers import one_line_error

from vidllm.data import Record, check_record
from vidllm.data.validate import LoadReport

REPO = Path(__file__).resolve().parents[2]


def test_a_bad_flag_value_is_blamed_on_the_flag_not_the_yaml_file(cli, no_model):
    code, _, err = cli("eval", "mr", "--config", REPO / "eval_configs" / "synthetic.yaml", "--dtype", "fp8")
    line = one_line_error(err)
    assert code == 2 and "--dtype fp8: field model.dtype: expected one of" in line and "synthetic.yaml:" not in line


def test_a_bad_override_is_blamed_on_the_override(cli, no_model):
    code, _, err = cli("train", "--config", REPO / "train_configs" / "tiny_cpu.yaml", "optim.lr=abc")
    line = one_line_error(err)
    assert code == 2 and "override optim.lr=abc: field optim.lr: expected a number, got 'abc'" in line
    code, _, err = cli("train", "--config", REPO / "train_configs" / "tiny_cpu.yaml", "optim.lrr=1")
    assert code == 2 and "override optim.lrr=1: unknown field optim.lrr (did you mean optim.lr?)" in one_line_error(
        err
    )


def test_a_value_from_the_yaml_file_is_still_blamed_on_the_file(cli, tmp_path, no_model):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim:\n  lr: abc\n")
    code, _, err = cli("train", "--config", bad)
    assert code == 2 and f"{bad}: field optim.lr: expected a number" in one_line_error(err)


def test_a_jsonl_error_gives_line_and_column(cli, tmp_path):
    data = tmp_path / "records.jsonl"
    data.write_text('{"video": "a.mp4"}\n{"video": "b.mp4", oops}\n')
    code, _, err = cli("data", "stats", data)
    line = one_line_error(err)
    assert code == 2 and "record 'line 2'" in line and "at column 20" in line


def test_problem_reasons_keep_the_whole_message():
    report = LoadReport("f.json")
    _, problems = check_record(Record("v.mp4", "mr", "q", duration=-3.0, answer="x"))
    report.problems += problems
    reasons = list(report.reasons())
    assert any("expected a duration > # seconds, got #" in r for r in reasons), reasons
    assert any("its answer states none that can be read ('...')" in r for r in reasons), reasons
