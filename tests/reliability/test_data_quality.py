"""Item 11: bad training data is fixed and counted, or skipped and counted -- never kept as something else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidllm.data import read_vtg_it
from vidllm.data.prompts import templates
from vidllm.errors import UserError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"


def _items(tmp_path, items) -> Path:
    path = tmp_path / "it.json"
    path.write_text(json.dumps(items))
    return path


def test_a_reversed_answer_is_swapped_and_counted_as_fixed(tmp_path):
    path = _items(tmp_path, [{"video": "a.mp4", "QA": [{"q": "When does 'x' happen?", "a": "9.0 - 3.0 seconds, x."}]}])
    records, report = read_vtg_it(path)
    assert records[0].targets.intervals == ((3.0, 9.0),)
    assert report.fixed == 1 and "swapped" in report.problems[0].message
    records, report = read_vtg_it(path, fix=False)  # without fixing, it is a problem that skips the record
    assert not records and report.skipped == 1


@pytest.mark.parametrize("answer", ["abc", "1e309 - 1e310 seconds"])
def test_a_grounding_record_with_an_unreadable_answer_is_skipped_not_kept_as_text(tmp_path, answer):
    question = templates("vtgllm", "mr")[0].replace("<query_placeholder>", "person opens a door")
    text_item = {"video": "b.mp4", "QA": [{"q": "What is the man doing?", "a": "He is cooking."}]}
    path = _items(tmp_path, [{"video": "a.mp4", "QA": [{"q": question, "a": answer}]}, text_item])
    records, report = read_vtg_it(path)
    assert [r.task for r in records] == ["qa"]  # the genuine text answer stays
    assert report.skipped == 1
    assert "'mr' record needs at least one item" in str(report.problems[0]) and answer in str(report.problems[0])


def test_one_bad_row_of_a_durations_csv_is_skipped_and_counted(cli, tmp_path):
    durations = tmp_path / "Charades_v1_test.csv"
    durations.write_text("id,subject,scene,length\n3MSZA,X,Kitchen,30.0\n0A8CF,Y,Hall,n/a\n")
    code, out, _ = cli("convert", "charades_sta", FIXTURES / "charades_sta_test.txt", "--out", tmp_path / "out",
                       "--durations", durations)  # fmt: skip
    assert code == 0 and "1 rows skipped without a usable duration" in out and "0A8CF" in out
    lines = json.loads((tmp_path / "out" / "charades_sta_test.vtg_it.json").read_text())
    assert {item.get("duration") for item in lines} == {30.0, None}  # the good row still gives its duration
    code, _, err = cli("convert", "charades_sta", FIXTURES / "charades_sta_test.txt", "--out", tmp_path / "out2",
                       "--durations", durations, "--strict")  # fmt: skip
    assert code == 2 and "expected a duration > 0 seconds, got 'n/a'" in err


def test_strict_reading_still_raises_one_user_error(tmp_path):
    path = _items(tmp_path, [{"video": "a.mp4", "QA": [{"q": "When does 'x' happen?", "a": "9.0 - 3.0 seconds, x."}]}])
    with pytest.raises(UserError, match="swap them"):
        read_vtg_it(path, fix=False, strict=True)
