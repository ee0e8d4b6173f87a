"""Validation: fixable problems are fixed and counted; the rest skip the record, named by file, record and field."""

import json

import pytest

from vidllm.data import Record, Targets, check_record, load_records, read_vtg_it
from vidllm.data.validate import LoadReport
from vidllm.io import DataError

TOKENS = "<TIME_ONE><TIME_DOT><TIME_ZERO> - <TIME_TWO><TIME_DOT><TIME_ZERO> seconds, a man runs."


def _write(tmp_path, items):
    path = tmp_path / "it.json"
    path.write_text(json.dumps(items))
    return path


def test_problems_name_file_record_and_field(tmp_path):
    items = [
        {"video": "a.mp4", "QA": [{"q": "When does 'a man run'?", "a": "1.0 - 2.0 seconds, a man runs."}]},
        {"video": "b.mp4", "duration": 10, "QA": [{"q": "When does 'x'?", "a": "12.0 - 14.0 seconds, x."}]},
        {"video": "c.mp4", "QA": [{"q": "When does 'y'?", "a": 3}]},
        {"QA": [{"q": "q", "a": "1 - 2 seconds"}]},
        {"video": "d.mp4", "QA": [{"q": "When does 'z'?", "a": "I do not know."}], "task": "mr"},
        {"video": "e.mp4", "duration": 10, "QA": [{"q": "When does 'w'?", "a": "8.0 - 12.0 seconds, w."}]},
        {"video": "f.mp4", "QA": [{"q": "When 'v'?", "a": TOKENS}, {"q": "When 'u'?", "a": "9 - 3 seconds, u."}]},
    ]
    path = _write(tmp_path, items)
    records, report = read_vtg_it(path)
    assert [r.video for r in records] == ["a.mp4", "e.mp4", "f.mp4", "f.mp4"]
    assert (report.read, report.kept, report.skipped, report.fixed) == (8, 4, 4, 2)
    by_record = {p.record: p for p in report.problems}
    assert by_record[1].field == "intervals[0]" and "not inside the video of 10.0 s" in by_record[1].message
    assert by_record[2].field == "QA[0].a" and "expected a string" in by_record[2].message
    assert by_record[3].field == "video"
    assert by_record[4].field == "intervals" and "needs at least one item" in by_record[4].message
    assert by_record[5].fixed and records[1].targets.intervals == ((8.0, 10.0),)
    # a reversed answer is swapped by the validator and counted as fixed (the parser keeps it as written)
    assert by_record["6.QA[1]"].fixed and "swapped" in by_record["6.QA[1]"].message
    assert records[3].targets.intervals == ((3.0, 9.0),)
    assert all(p.path == str(path) for p in report.problems)
    assert str(by_record[1]).startswith(f"{path}, record 1, field 'intervals[0]': ")


def test_strict_raises_the_first_problem_as_a_data_error(tmp_path):
    path = _write(tmp_path, [{"video": "b.mp4", "duration": 10, "QA": [{"q": "'x'", "a": "12 - 14 seconds, x."}]}])
    with pytest.raises(DataError, match=r"it\.json, record 0, field 'intervals\[0\]': start 12\.0 is not inside"):
        read_vtg_it(path, strict=True)
    with pytest.raises(DataError, match="expected a JSON list"):
        read_vtg_it(_write(tmp_path, {"video": "x"}))


def test_no_fix_makes_fixable_problems_errors(tmp_path):
    path = _write(tmp_path, [{"video": "a.mp4", "duration": 10, "QA": [{"q": "'u'", "a": "3 - 19 seconds, u."}]}])
    assert read_vtg_it(path).records[0].targets.intervals == ((3.0, 10.0),)
    records, report = read_vtg_it(path, fix=False)
    assert records == [] and "clip it" in report.problems[0].message


def test_check_record_cases():
    ok, problems = check_record(Record("v.mp4", "dvc", "q", Targets(captions=((1.0, 2.0, "a"), (-1.0, 3.0, "b")))))
    assert ok.targets.captions[1] == (0.0, 3.0, "b") and problems[0].fixed and problems[0].field == "captions[1]"
    bad, problems = check_record(Record("v.mp4", "vhd", "q", Targets(saliency=((float("nan"), 1.0),))))
    assert bad is None and problems[0].field == "saliency[0]"
    bad, problems = check_record(Record("v.mp4", "nope", "q", duration=-3), path="f.json", index=7)
    assert bad is None and {p.field for p in problems} == {"task", "duration"}
    assert all(p.path == "f.json" and p.record == 7 for p in problems)
    bad, problems = check_record(Record("v.mp4", "qa", "q"))
    assert bad is None and problems[0].field == "answer"


def test_report_reasons_group_problems():
    report = LoadReport("f.json", 3, 1)
    for i in (1, 2):
        bad, problems = check_record(Record("v.mp4", "mr", "q", Targets(intervals=((20.0 + i, 30.0),)), 10.0))
        report.problems += problems
    assert list(report.reasons().values()) == [2]
    assert report.summary() == "f.json: 3 read, 1 kept, 2 skipped, 0 fixed"


def test_missing_videos_are_counted_not_dropped(tmp_path, vtg_it_file):
    (tmp_path / "charades" / "videos").mkdir(parents=True)
    (tmp_path / "charades" / "videos" / "3MSZA.mp4").write_bytes(b"")
    records, report = load_records(vtg_it_file, video_root=tmp_path, check_video_files=True)
    assert len(records) == 100
    assert report.missing_videos == 100 - sum(r.video == "charades/videos/3MSZA.mp4" for r in records)
    assert len(report.missing_examples) == 5
