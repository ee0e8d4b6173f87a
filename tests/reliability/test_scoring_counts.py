"""Items 6, 7 (scoring) and 8 (messages): what changes a number is counted in the notes, an empty ground truth is
refused, and bad scoring input is one line naming the file -- never a traceback, never after the table."""

from __future__ import annotations

import json

import pytest
from reliability_helpers import one_line_error

from vidllm.eval import summarization


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def _tvg_gt(tmp_path, annotations):
    return _write(tmp_path / "gt.json", {"annotations": annotations})


def test_duplicate_ground_truth_ids_are_counted_and_noted(cli, tmp_path):
    gt = _tvg_gt(tmp_path, [{"image_id": "a.mp4", "id": 0, "timestamp": [1.0, 5.0]},
                            {"image_id": "b.mp4", "id": 0, "timestamp": [20.0, 25.0]}])  # fmt: skip
    pred = _write(tmp_path / "pred.json", {"0": {"timestamp": [[1.0, 5.0]]}})
    code, out, _ = cli("score", "tvg", "--pred", pred, "--gt", gt, "--json", tmp_path / "s.json")
    scores = json.loads((tmp_path / "s.json").read_text())
    assert code == 0 and scores["num_duplicate_gt"] == 1 and scores["R1@0.5"] == 0.0  # the last annotation wins
    assert "1 ground-truth ids appear more than once" in " ".join(out.split())


def test_duplicate_prediction_keys_and_reversed_intervals_are_counted(cli, tmp_path):
    gt = _tvg_gt(tmp_path, [{"image_id": "a.mp4", "id": 0, "timestamp": [1.0, 5.0]},
                            {"image_id": "a.mp4", "id": 1, "timestamp": [2.0, 6.0]}])  # fmt: skip
    pred = tmp_path / "pred.json"
    pred.write_text('{"0": {"timestamp": [[1.0, 5.0]]}, "0": {"timestamp": [[9.0, 9.5]]}, '
                    '"1": {"timestamp": [[6.0, 2.0]]}}')  # fmt: skip
    code, out, _ = cli("score", "tvg", "--pred", pred, "--gt", gt, "--json", tmp_path / "s.json")
    scores = json.loads((tmp_path / "s.json").read_text())
    assert code == 0 and scores["num_duplicate_pred"] == 1 and scores["num_reversed"] == 1
    text = " ".join(out.split())
    assert "keys appear more than once in the prediction file" in text and "reversed (start > end)" in text


def test_an_empty_ground_truth_is_refused(cli, tmp_path):
    gt = _tvg_gt(tmp_path, [])
    pred = _write(tmp_path / "pred.json", {})
    code, out, err = cli("score", "tvg", "--pred", pred, "--gt", gt)
    assert code == 2 and "has no annotation" in one_line_error(err) and "R1" not in out


def _highlight_gt(tmp_path, duration):
    line = {"qid": 1, "query": "q", "duration": duration, "vid": "v", "relevant_clip_ids": [0, 1],
            "saliency_scores": [[4, 3, 2], [1, 2, 3]], "relevant_windows": [[0, 4]]}  # fmt: skip
    (tmp_path / "gt.jsonl").write_text(json.dumps(line) + "\n")
    return tmp_path / "gt.jsonl"


@pytest.mark.parametrize("task", ["hd", "vs"])
def test_a_huge_duration_is_one_line_not_an_allocation(cli, tmp_path, task):
    gt = _highlight_gt(tmp_path, 1e9)
    pred = _write(tmp_path / "pred.json", [{"qid": 1, "pred_saliency_scores": [1.0, 0.0]}])
    code, _, err = cli("score", task, "--pred", pred, "--gt", gt)
    line = one_line_error(err)
    assert code == 2 and "duration 1000000000.0 s is longer than" in line and "record 1" in line


def test_json_output_at_a_folder_or_under_a_file_is_refused_before_the_table(cli, tmp_path):
    gt = _tvg_gt(tmp_path, [{"image_id": "a.mp4", "id": 0, "timestamp": [1.0, 5.0]}])
    pred = _write(tmp_path / "pred.json", {"0": {"timestamp": [[1.0, 5.0]]}})
    for target, expected in ((tmp_path, "is a folder"), (pred / "s.json", "is under the file")):
        code, out, err = cli("score", "tvg", "--pred", pred, "--gt", gt, "--json", target)
        assert code == 2 and expected in one_line_error(err) and out == ""


def test_deeply_nested_json_is_one_line(cli, tmp_path):
    gt = _tvg_gt(tmp_path, [{"image_id": "a.mp4", "id": 0, "timestamp": [1.0, 5.0]}])
    pred = tmp_path / "deep.json"
    pred.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = cli("score", "tvg", "--pred", pred, "--gt", gt)
    assert code == 2 and "deep.json: nested too deeply" in one_line_error(err)


# ---------------------------------------------------------------------------------------------- item 8: messages


def test_a_non_utf8_file_is_named(cli, tmp_path):
    gt = _tvg_gt(tmp_path, [{"image_id": "a.mp4", "id": 0, "timestamp": [1.0, 5.0]}])
    pred = tmp_path / "latin1.json"
    pred.write_bytes('{"0": {"timestamp": [[1.0, 5.0]], "note": "caf\u00e9"}}'.encode("latin-1"))
    code, _, err = cli("score", "tvg", "--pred", pred, "--gt", gt)
    line = one_line_error(err)
    assert code == 2 and "latin1.json" in line and "not UTF-8" in line and "re-save" in line


def test_a_folder_given_as_pred_is_called_a_folder(cli, tmp_path):
    gt = _tvg_gt(tmp_path, [{"image_id": "a.mp4", "id": 0, "timestamp": [1.0, 5.0]}])
    code, _, err = cli("score", "tvg", "--pred", tmp_path, "--gt", gt)
    line = one_line_error(err)
    assert code == 2 and "is a folder" in line and "no such file" not in line


def test_the_qvhl_hint_names_the_flag(cli, tmp_path):
    gt = _highlight_gt(tmp_path, 10.0)
    pred = tmp_path / "sub.jsonl"
    pred.write_text(json.dumps({"qid": 2, "pred_relevant_windows": [[0, 4, 1.0]]}) + "\n")
    code, _, err = cli("score", "qvhl", "--pred", pred, "--gt", gt)
    assert code == 2 and "--no-match-number" in one_line_error(err)


def test_summarization_counts_duplicate_predictions():
    gt = [{"qid": 0, "duration": 20.0, "relevant_clip_ids": list(range(10)),
           "saliency_scores": [[float(i % 5 + 1)] * 2 for i in range(10)]}]  # fmt: skip
    preds = [{"qid": 0, "pred_saliency_scores": [0.0] * 10}, {"qid": 0, "pred_saliency_scores": list(range(10))}]
    report = summarization.score(preds, gt)
    assert report.counts["duplicates"] == 1 and any("duplicate prediction records" in n for n in report.notes)
