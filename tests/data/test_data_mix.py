"""Mixed training data: groups (tasks or files) drawn at configured ratios, deterministically by seed."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidllm.config import ConfigError
from vidllm.data import Record, Targets, write_records
from vidllm.data.mix import MixedRecords, mix_indices, quotas, record_groups
from vidllm.train.config import load_train_config
from vidllm.train.recipe import load_training_records


def _records(task: str, n: int) -> list[Record]:
    return [Record(f"{task}{i}.mp4", task, "q?", Targets(intervals=((0.0, 1.0 + i),)), query="x") for i in range(n)]


def test_ratio_and_epoch_size():
    groups = ["mr"] * 900 + ["tad"] * 100
    idx = mix_indices(groups, {"mr": 1, "tad": 1}, seed=0)
    counts = Counter(groups[i] for i in idx)
    assert len(idx) == 1000 and counts == {"mr": 500, "tad": 500}
    # the small group repeats, every record once before any twice; the large one is subsampled without repeats
    tad = Counter(i for i in idx if groups[i] == "tad")
    assert set(tad.values()) == {5}
    assert len({i for i in idx if groups[i] == "mr"}) == 500
    assert Counter(groups[i] for i in mix_indices(groups, {"mr": 3, "tad": 1}, seed=0, size=400)) == {
        "mr": 300,
        "tad": 100,
    }


def test_deterministic_by_seed():
    groups = ["a"] * 50 + ["b"] * 20 + ["c"] * 7
    weights = {"a": 1.0, "b": 2.0, "c": 0.5}
    assert mix_indices(groups, weights, seed=3) == mix_indices(groups, weights, seed=3)
    assert mix_indices(groups, weights, seed=3) != mix_indices(groups, weights, seed=4)


def test_zero_weight_leaves_a_group_out():
    groups = ["mr"] * 10 + ["dvc"] * 10
    idx = mix_indices(groups, {"mr": 1, "dvc": 0}, seed=0)
    assert {groups[i] for i in idx} == {"mr"} and len(idx) == 20


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"mr": 1}, "no weight for 'tad'"),
        ({"mr": 1, "tad": 1, "dvc": 1}, "names 'dvc', which the data does not have"),
        ({"mr": -1, "tad": 1}, "data.mix.mr: expected a weight >= 0"),
        ({"mr": 0, "tad": 0}, "every weight is 0"),
    ],
)
def test_bad_weights_say_what_to_fix(weights, message):
    with pytest.raises(ValueError, match=message):
        mix_indices(["mr", "tad"], weights, seed=0)


@given(
    st.dictionaries(st.sampled_from("abcde"), st.integers(1, 40), min_size=1),
    st.integers(0, 200),
    st.data(),
)
def test_quotas_add_up_and_follow_the_weights(sizes, total, data):
    weights = {g: data.draw(st.floats(0.1, 10.0)) for g in sizes}
    got = quotas(sizes, weights, total)
    assert sum(got.values()) == total
    wsum = sum(weights.values())
    assert all(abs(got[g] - total * weights[g] / wsum) < 1.0 for g in sizes)


def test_groups_by_task_and_by_file():
    parts = [_records("mr", 3), _records("tad", 2) + _records("mr", 1)]
    files = ["/data/sta.json", "/data/tad_train.json"]
    assert record_groups(parts, files, {}, "task") == ["mr", "mr", "mr", "tad", "tad", "mr"]
    weights = {"sta.json": 1.0, "tad_train": 1.0}  # a key may be a file's name or its stem
    assert record_groups(parts, files, weights, "file") == ["sta.json"] * 3 + ["tad_train"] * 3
    view = MixedRecords(parts[0] + parts[1], [3, 0])
    assert len(view) == 2 and view[0].task == "tad" and view[1].video == "mr0.mp4"


def test_config_field_and_recipe_hook(tmp_path):
    mr = write_records(_records("mr", 30), tmp_path / "mr.jsonl")
    tad = write_records(_records("tad", 6), tmp_path / "tad.jsonl")
    cfg = load_train_config(
        None,
        [f"data.files=[{mr},{tad}]", "data.mix={mr: 2, tad: 1}", "data.use_arrow=false", "optim.seed=5"],
    )
    assert cfg.data.mix == {"mr": 2.0, "tad": 1.0} and cfg.data.mix_by == "task"

    class Args:  # the one TrainingArguments method the loader uses
        @staticmethod
        def main_process_first(**_):
            return contextlib.nullcontext()

    records = load_training_records(cfg, Args())
    assert len(records) == 36 and Counter(r.task for r in records) == {"mr": 24, "tad": 12}
    again = load_training_records(cfg, Args())
    assert [r.video for r in records] == [r.video for r in again]
    with pytest.raises(ConfigError, match="data.mix"):
        load_train_config(None, ["data.mix={mr: fast}"])
    with pytest.raises(ConfigError, match="mix_by"):
        load_train_config(None, ["data.mix_by=class"])
