"""Highlight-detection scorer: the official TimeChat numbers, AP against scikit-learn, and the edge cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_curve as sk_precision_recall_curve

from vidllm.eval import highlights as hl
from vidllm.io import DataError, read_json, read_jsonl

OFFICIAL = {  # TimeChat's eval_vhd.py on example_pred.timechat.json (tests/fixtures/benchmarks/README.md)
    "HL-min-Fair-mAP": 28.8,
    "HL-min-Fair-Hit1": 24.61,
    "HL-min-Good-mAP": 22.8,
    "HL-min-Good-Hit1": 23.17,
    "HL-min-VeryGood-mAP": 13.24,
    "HL-min-VeryGood-Hit1": 18.87,
}


@pytest.fixture(scope="module")
def qvhl_files(shared_data):
    folder = shared_data / "qvhighlights"
    return folder / "example_pred.timechat.json", folder / "highlight_val_release.jsonl"


def gt_record(qid, duration, clips: dict[int, list[int]]) -> dict:
    """A QVHighlights GT record with ``clips`` = {clip id: [3 annotator scores]}."""
    return {
        "qid": qid,
        "duration": duration,
        "relevant_clip_ids": list(clips),
        "saliency_scores": list(clips.values()),
        "relevant_windows": [[2 * min(clips), 2 * max(clips) + 2]],
    }


# ---------------------------------------------------------------------------------------------------------------
# Official numbers on real files


@pytest.fixture(scope="module")
def official_report(qvhl_files):
    return hl.score_files(*qvhl_files)


def test_official_numbers_on_timechat_example(official_report):
    report = official_report
    assert report.metrics == OFFICIAL
    assert list(report.metrics) == list(hl.HL_KEYS)
    assert report.counts == {
        "gt": 1550,
        "predicted": 1463,
        "evaluated": 1463,
        "missing": 87,
        "extra": 0,
        "duplicates": 0,
        "duplicate_gt": 0,
        "empty": 0,
    }
    assert "not scored 0" in report.notes[0]


def test_missing_queries_are_dropped_not_zeroed(qvhl_files):
    pred, gt = read_json(qvhl_files[0]), read_jsonl(qvhl_files[1])
    keep = {p["qid"] for p in pred[:100]}
    assert hl.score(pred[:100], gt[::-1]).metrics == hl.score(pred[:100], gt).metrics  # GT order is irrelevant
    full = hl.score(pred[:100], gt)
    only = hl.score(pred[:100], [g for g in gt if g["qid"] in keep])
    assert full.metrics == only.metrics
    assert full.counts["missing"] == 1450 and only.counts["missing"] == 0


# ---------------------------------------------------------------------------------------------------------------
# AP against scikit-learn


def reference_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """The documented get_ap rule, on top of scikit-learn's own curve."""
    if len(set(labels.tolist())) == 1:
        return float(labels[0])
    precision, recall, _ = sk_precision_recall_curve(labels, scores)
    recall = recall.astype(np.float32)
    precision = np.maximum.accumulate(precision)
    return float(np.mean(precision[np.nonzero(np.diff(recall))]))


# A few distinct values so that ties are common, or arbitrary floats.
score_values = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0, -1.0]), st.floats(-1e3, 1e3, allow_nan=False))


@st.composite
def labelled_scores(draw):
    n = draw(st.integers(1, 40))
    labels = np.array(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
    scores = np.array(draw(st.lists(score_values, min_size=n, max_size=n)))
    return labels, scores


@settings(max_examples=150, deadline=None)
@given(labelled_scores())
def test_precision_recall_curve_matches_sklearn(data):
    labels, scores = data
    if labels.max() == 0:
        return  # sklearn warns and sets recall 1; the official code never asks for that case
    mine = hl.precision_recall_curve(labels, scores)
    theirs = sk_precision_recall_curve(labels, scores)
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=150, deadline=None)
@given(labelled_scores())
def test_average_precision_matches_sklearn_based_reference(data):
    labels, scores = data
    assert hl.average_precision(labels, scores) == reference_ap(labels, scores)


@settings(max_examples=40, deadline=None)
@given(labelled_scores(), st.integers(1, 40))
def test_truncated_or_padded_ap_matches_reference(data, num_clips):
    labels, scores = data
    labels = np.resize(labels, num_clips)  # GT grid of another length than the prediction
    fitted = hl.fit_length(scores, num_clips)
    assert len(fitted) == num_clips
    assert hl.average_precision(labels, fitted) == reference_ap(labels, fitted)


@settings(max_examples=40, deadline=None)
@given(labelled_scores(), st.integers(1, 9), st.randoms(use_true_random=False))
def test_columns_at_once_equal_one_at_a_time(data, num_cols, rnd):
    labels, scores = data
    columns = np.array([[float(rnd.random() < 0.4) for _ in range(num_cols)] for _ in labels])
    columns[:, 0] = labels
    expected = [hl.average_precision(columns[:, k], scores) for k in range(num_cols)]
    assert hl.average_precisions(columns, scores).tolist() == expected


def test_constant_label_columns_ignore_scores():
    scores = np.array([0.3, 0.9, 0.1])
    assert hl.average_precision(np.zeros(3), scores) == 0.0
    assert hl.average_precision(np.ones(3), scores) == 1.0


def test_ap_hand_computed_and_not_recall_weighted():
    # thresholds 0.9 / 0.8 / 0.1: (P, R) = (1, .5), (2/3, 1), (.5, 1); recall changes at 2/3 and 1 -> 5/6
    assert hl.average_precision(np.array([1.0, 0, 1, 0]), np.array([0.9, 0.8, 0.8, 0.1])) == pytest.approx(5 / 6)
    # A tie group adding two positives is one term: points (0, 0), (2/3, 2/3), (3/4, 1) -> mean(.75, .75)
    labels, scores = np.array([1.0, 1, 0, 1]), np.array([0.5, 0.5, 0.9, 0.1])
    assert hl.average_precision(labels, scores) == 0.75


def test_fit_length_truncates_and_zero_pads():
    np.testing.assert_array_equal(hl.fit_length(np.array([3.0, 2, 1]), 2), [3, 2])
    np.testing.assert_array_equal(hl.fit_length(np.array([3.0]), 3), [3, 0, 0])
    np.testing.assert_array_equal(hl.fit_length(np.array([]), 2), [0, 0])


# ---------------------------------------------------------------------------------------------------------------
# GT grid, binarisation, HIT@1


def test_gt_grid_uses_int_of_half_duration():
    assert hl.gt_clip_grid(151, [74], [[1, 2, 3]]).shape == (75, 3)
    assert hl.gt_clip_grid(3.9, [0], [[4, 4, 4]]).shape == (1, 3)
    grid = hl.gt_clip_grid(10, [1, 3], [[1, 2, 3], [4, 0, 2]])
    np.testing.assert_array_equal(grid[[0, 2, 4]], 0)
    np.testing.assert_array_equal(grid[3], [4, 0, 2])


def test_binarisation_is_per_annotator():
    grid = np.array([[1, 2, 3], [4, 1, 1]], dtype=float)
    np.testing.assert_array_equal(hl.binarize(grid, 2), [[0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(hl.binarize(grid, 4), [[0, 0, 0], [1, 0, 0]])


def test_hit_at_one_first_argmax_raw_list():
    labels = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
    assert hl.hit_at_one(np.array([0.5, 0.9, 0.9]), labels) == 1.0  # tie: the first maximum, clip 1
    assert hl.hit_at_one(np.array([0.5, 0.8, 0.9]), labels) == 0.0
    # argmax past the GT grid (the list is not truncated for HIT@1) scores 0
    assert hl.hit_at_one(np.array([0.0, 0.9, 0.0, 1.0]), labels) == 0.0
    assert hl.hit_at_one(np.array([]), labels) == 0.0


def test_score_small_case_by_hand():
    gt = [gt_record(1, 8, {1: [2, 4, 0], 2: [1, 1, 1]})]  # 4 clips
    pred = [{"qid": 1, "pred_saliency_scores": [0.1, 0.9, 0.5, 0.0, 7.0]}]  # 5th score: argmax past the grid
    report = hl.score(pred, gt)
    # Fair: columns [0,1,0,0], [0,1,0,0], [0,0,0,0]; truncated scores rank clip 1 first -> AP 1, 1, 0
    assert report.metrics["HL-min-Fair-mAP"] == 66.67
    assert report.metrics["HL-min-Fair-Hit1"] == 0.0
    # VeryGood: only annotator 2 on clip 1 -> AP 0, 1, 0
    assert report.metrics["HL-min-VeryGood-mAP"] == 33.33


def test_empty_prediction_scores_zero_hit_and_zero_padded_ap():
    gt = [gt_record(1, 8, {1: [2, 2, 2]})]
    report = hl.score([{"qid": 1, "pred_saliency_scores": []}], gt)
    assert report.counts["empty"] == 1
    assert report.metrics["HL-min-Fair-Hit1"] == 0.0
    assert report.metrics["HL-min-Fair-mAP"] == 25.0  # all scores tie at 0: precision 1/4 at full recall
    assert report.metrics["HL-min-Good-mAP"] == 0.0  # constant all-zero columns
    assert any("empty pred_saliency_scores" in n for n in report.notes)


def test_duplicates_last_record_wins_extra_ignored():
    gt = [gt_record(1, 8, {1: [2, 2, 2]})]
    pred = [
        {"qid": 1, "pred_saliency_scores": [1.0, 0, 0, 0]},
        {"qid": 9, "pred_saliency_scores": [1.0]},
        {"qid": 1, "pred_saliency_scores": [0.0, 1, 0, 0]},
    ]
    report = hl.score(pred, gt)
    assert report.metrics["HL-min-Fair-Hit1"] == 100.0
    assert report.counts["duplicates"] == 1 and report.counts["extra"] == 1 and report.counts["evaluated"] == 1


# ---------------------------------------------------------------------------------------------------------------
# Bad input


def test_missing_saliency_names_file_qid_field(tmp_path):
    gt_path = tmp_path / "gt.jsonl"
    gt_path.write_text(json.dumps(gt_record(7, 8, {1: [2, 2, 2]})) + "\n")
    pred_path = tmp_path / "pred.json"
    pred_path.write_text(json.dumps([{"qid": 7, "query": "x"}]))
    with pytest.raises(DataError) as e:
        hl.score_files(pred_path, gt_path)
    assert str(pred_path) in str(e.value) and "record 7" in str(e.value) and "pred_saliency_scores" in str(e.value)


@pytest.mark.parametrize("bad", [["a"], [0.1, None], [True, 0.2], "0.1 0.2", [float("nan")]])
def test_non_numeric_saliency(bad):
    with pytest.raises(DataError, match="pred_saliency_scores"):
        hl.score([{"qid": 1, "pred_saliency_scores": bad}], [gt_record(1, 8, {1: [2, 2, 2]})])


def test_bad_gt_and_bad_structure():
    pred = [{"qid": 1, "pred_saliency_scores": [0.0]}]
    with pytest.raises(DataError, match="relevant_clip_ids"):
        hl.score(pred, [gt_record(1, 4, {5: [2, 2, 2]})])  # clip 5 of a 2-clip video
    with pytest.raises(DataError, match="saliency_scores"):
        hl.score(pred, [gt_record(1, 8, {1: [2, 2]})])
    with pytest.raises(DataError, match="duration"):
        hl.score(pred, [{**gt_record(1, 8, {0: [2, 2, 2]}), "duration": 1}])
    with pytest.raises(DataError, match="list"):
        hl.score({"1": pred[0]}, [gt_record(1, 8, {1: [2, 2, 2]})])
    with pytest.raises(DataError, match="qid"):
        hl.score([{"pred_saliency_scores": [0.0]}], [gt_record(1, 8, {1: [2, 2, 2]})])


def test_string_qids_do_not_match_int_qids():
    with pytest.raises(DataError, match="'2579' \\(string\\) does not match 2579"):
        hl.score([{"qid": "1", "pred_saliency_scores": [0.0]}], [gt_record(1, 8, {1: [2, 2, 2]})])
