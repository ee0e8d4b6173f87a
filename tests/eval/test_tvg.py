import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidllm.eval.iou import iou_hull
from vidllm.eval.tvg import score, score_files
from vidllm.io import DataError


def test_official_numbers_on_timechat_example(shared_data):
    """TimeChat's eval_tvg.py --sample prints 9.0 / 3.4 / 1.4 on these files (tests/fixtures/benchmarks/README.md)."""
    report = score_files(
        shared_data / "charades_sta" / "example_pred.timechat.json",
        shared_data / "charades_sta" / "test.caption_coco_format.json",
        sample=True,
    )
    assert [report.metrics[f"R1@{t}"] for t in (0.3, 0.5, 0.7)] == [9.0, 3.4, 1.4]
    assert report.counts == {
        "queries": 500,
        "missing": 0,
        "empty": 280,
        "unknown": 0,
        "reversed": 0,
        "zero_length": 0,
        "duplicate_gt": 0,
        "duplicate_pred": 0,
    }


def test_without_sample_every_gt_query_counts(shared_data):
    report = score_files(
        shared_data / "charades_sta" / "example_pred.timechat.json",
        shared_data / "charades_sta" / "test.caption_coco_format.json",
    )
    assert report.counts["queries"] == 3720 and report.counts["missing"] == 3220
    assert report.metrics["R1@0.3"] == 45 * 100 / 3720  # 45 hits, multiplied first as the official prints


def test_official_conventions():
    gt = {1: [10.0, 20.0], 2: [0.0, 10.0], 3: [5.0, 5.0], 4: [0.0, 10.0]}
    preds = {
        1: [[0.0, 100.0], [10.0, 20.0]],  # only the first interval counts: IoU 0.1
        2: [[0.0, 3.0]],  # IoU exactly 0.3 -> a hit at 0.3 (non-strict)
        3: [[5.0, 5.0]],  # same single point: the official divides by zero; we score 0
        4: [],  # empty: a miss that stays in the denominator
        99: [[1.0, 2.0]],  # unknown query: ignored
    }
    report = score(preds, gt)
    assert report.metrics["R1@0.3"] == 25.0 and report.metrics["R1@0.5"] == 0.0
    assert report.counts == {"queries": 4, "missing": 0, "empty": 1, "unknown": 1, "reversed": 0,
                             "zero_length": 1}  # fmt: skip


def test_reversed_and_zero_length_predictions_score_zero():
    assert iou_hull([20.0, 10.0], [10.0, 20.0]) == 0.0
    assert iou_hull([12.0, 12.0], [10.0, 20.0]) == 0.0


interval = st.tuples(st.floats(-100, 100), st.floats(0, 100)).map(lambda t: (t[0], t[0] + t[1]))


@given(interval, interval)
def test_iou_hull_bounded_and_symmetric(a, b):
    assert 0.0 <= iou_hull(a, b) <= 1.0
    assert iou_hull(a, b) == iou_hull(b, a)


def test_bad_input_names_file_record_and_field(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"annotations": [{"id": 0, "timestamp": [1, 2]}]}))
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"0": {"timestamp": [["a", 2]]}}))
    with pytest.raises(DataError, match=r"pred\.json, record '0', field 'timestamp\[0\]': expected an interval"):
        score_files(pred, gt)
    pred.write_text(json.dumps({"zero": {"timestamp": []}}))
    with pytest.raises(DataError, match="expected an integer query id, got 'zero'"):
        score_files(pred, gt)
    pred.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        score_files(pred, gt)
    pred.write_text(json.dumps({"0": {"timestamp": []}}))
    gt.write_text(json.dumps([1, 2]))
    with pytest.raises(DataError, match="annotations"):
        score_files(tmp_path / "pred.json", gt)


def test_flat_timestamp_is_one_interval(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"annotations": [{"id": 0, "timestamp": [1, 2]}]}))
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"0": {"timestamp": [1, 2]}}))
    assert score_files(pred, gt).metrics["R1@0.7"] == 100.0
