"""QVHighlights moment retrieval + highlight scorer (moment_detr's standalone_eval)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vidllm.eval import highlights, qvhl
from vidllm.eval.iou import iou_hull, iou_union, iou_union_matrix
from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, read_json, read_jsonl


@pytest.fixture(scope="module")
def gt(shared_data):
    return read_jsonl(shared_data / "qvhighlights" / "highlight_val_release.jsonl")


def perturbed_submission(gt):
    """A deterministic, imperfect submission built from the GT: shifted (sometimes reversed) windows with tied
    scores plus a distractor, and saliency = noise + the GT annotator sum, of a slightly wrong length."""
    subs = []
    for i, g in enumerate(gt):
        windows = []
        for j, (start, end) in enumerate(g["relevant_windows"]):
            shift = (0, 2, -2, 4, 6)[(i + j) % 5]
            windows.append([start + shift, end - shift * (i % 2), round(1 - 0.1 * ((i + j) % 4), 1)])
        windows.append([0, 10 + 2 * (i % 7), 0.8])  # a distractor, often tied with a real window
        if i % 3 == 0:
            windows.reverse()
        saliency = [float((k * 7 + i) % 5) for k in range(int(g["duration"] / 2) + (i % 3) - 1)]
        for c, s in zip(g["relevant_clip_ids"], g["saliency_scores"], strict=True):
            if c < len(saliency):
                saliency[c] += sum(s)
        subs.append({"qid": g["qid"], "pred_relevant_windows": windows, "pred_saliency_scores": saliency})
    return subs


def one_query(gt_windows, pred_windows, **extra) -> ScoreReport:
    """Score one query (MR only) through the public API."""
    gt = [{"qid": 1, "relevant_windows": gt_windows}]
    return qvhl.score([{"qid": 1, "pred_relevant_windows": pred_windows, **extra}], gt)


# ---------------------------------------------------------------------------------------------------------------
# Real data


def test_perturbed_submission_matches_official_script(gt):
    # Expected values: moment_detr's standalone_eval logic (eval_moment_retrieval / eval_highlight, run with
    # numpy 2.4 and scikit-learn 1.9) on this same submission.
    report = qvhl.score(perturbed_submission(gt), gt)
    assert report.metrics == {
        "MR-full-R1@0.5": 62.58,
        "MR-full-R1@0.7": 51.94,
        "MR-full-mAP": 56.52,
        "MR-full-mAP@0.5": 75.48,
        "MR-full-mAP@0.75": 59.67,
        "MR-short-mAP": 25.44,
        "MR-middle-mAP": 50.76,
        "MR-long-mAP": 69.07,
        "HL-min-Fair-mAP": 94.89,
        "HL-min-Fair-Hit1": 100.0,
        "HL-min-Good-mAP": 82.65,
        "HL-min-Good-Hit1": 99.74,
        "HL-min-VeryGood-mAP": 52.46,
        "HL-min-VeryGood-Hit1": 92.39,
    }
    assert report.counts["mr_short"] + report.counts["mr_middle"] + report.counts["mr_long"] >= 1550
    assert report.counts["mr_full"] == report.counts["evaluated"] == 1550


def test_nested_result_is_monotone_in_threshold(gt):
    queries = qvhl.mr_queries(
        perturbed_submission(gt), [g["qid"] for g in gt], gt, [g["qid"] for g in gt], pred_path=None, gt_path=None
    )
    result, kept = qvhl.moment_retrieval_metrics(queries)
    assert list(result["full"]["MR-mAP"]) == [str(t) for t in qvhl.THRESHOLDS] + ["average"]
    assert list(result["full"]["MR-mAP"])[:3] == ["0.5", "0.55", "0.6"]
    for bucket in result.values():
        r1 = list(bucket["MR-R1"].values())
        assert r1 == sorted(r1, reverse=True)
        assert all(0 <= v <= 100 for v in bucket["MR-mAP"].values())
    assert kept == {"short": 429, "middle": 957, "long": 574, "full": 1550}


def test_perfect_submission_scores_100(gt):
    # Queries with at most 10 GT windows, all of one length bucket: every mAP and R1 is 100.
    def bucket(w):
        length = w[1] - w[0]
        return 0 if length <= 10 else 1 if length <= 30 else 2

    chosen = [
        g for g in gt if len(g["relevant_windows"]) <= 10 and len({bucket(w) for w in g["relevant_windows"]}) == 1
    ]
    assert len(chosen) > 1000
    sub = [{"qid": g["qid"], "pred_relevant_windows": [[*w, 1.0] for w in g["relevant_windows"]]} for g in chosen]
    report = qvhl.score(sub, chosen)
    assert set(report.metrics.values()) == {100.0}
    assert list(report.metrics) == list(qvhl.MR_KEYS)
    assert any("highlights not scored" in n for n in report.notes)


def test_perfect_submission_on_all_gt_is_capped_by_first_10_windows(gt):
    sub = [{"qid": g["qid"], "pred_relevant_windows": [[*w, 1.0] for w in g["relevant_windows"]]} for g in gt]
    report = qvhl.score(sub, gt)
    assert report.metrics["MR-full-R1@0.5"] == report.metrics["MR-full-R1@0.7"] == 100.0
    # A query with G > 10 windows finds only 10 of them: AP = 10 / G at every threshold.
    expected = 100 * np.mean([min(1.0, 10 / len(g["relevant_windows"])) for g in gt])
    assert report.metrics["MR-full-mAP"] == pytest.approx(expected, abs=0.006)
    biggest = max(gt, key=lambda g: len(g["relevant_windows"]))
    assert len(biggest["relevant_windows"]) == 25
    big_sub = [s for s in sub if s["qid"] == biggest["qid"]]
    assert qvhl.score(big_sub, [biggest]).metrics["MR-full-mAP"] == 40.0


def test_timechat_highlight_file_needs_match_number_false(shared_data, gt):
    pred = read_json(shared_data / "qvhighlights" / "example_pred.timechat.json")
    with pytest.raises(DataError, match="87 GT qids have no prediction") as e:
        qvhl.score(pred, gt)
    assert "match_number=False" in str(e.value)
    report = qvhl.score(pred, gt, match_number=False)
    assert report.metrics == {  # TimeChat's official numbers (tests/fixtures/benchmarks/README.md)
        "HL-min-Fair-mAP": 28.8,
        "HL-min-Fair-Hit1": 24.61,
        "HL-min-Good-mAP": 22.8,
        "HL-min-Good-Hit1": 23.17,
        "HL-min-VeryGood-mAP": 13.24,
        "HL-min-VeryGood-Hit1": 18.87,
    }
    assert report.counts["missing"] == 87 and report.counts["evaluated"] == 1463
    assert "MR-full-mAP" not in report.metrics


def test_score_files_reads_jsonl(tmp_path, gt):
    sub = perturbed_submission(gt[:50])
    path = tmp_path / "sub.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in sub))
    gt_path = tmp_path / "gt.jsonl"
    gt_path.write_text("".join(json.dumps(g) + "\n" for g in gt[:50]))
    assert qvhl.score_files(path, gt_path).metrics == qvhl.score(sub, gt[:50]).metrics


# ---------------------------------------------------------------------------------------------------------------
# Moment retrieval by hand


def test_equal_scores_keep_list_order():
    # Stable sort: the miss listed first stays first -> precision 0 then 1/2 at recall 1 -> AP 0.5.
    assert one_query([[0, 10]], [[20, 30, 0.5], [0, 10, 0.5]]).metrics["MR-full-mAP"] == 50.0
    assert one_query([[0, 10]], [[0, 10, 0.5], [20, 30, 0.5]]).metrics["MR-full-mAP"] == 100.0


def test_only_first_10_windows_before_sorting():
    misses = [[20 + 2 * k, 21 + 2 * k, 0.5] for k in range(10)]
    # The hit is the 11th window: cut before the sort, although it has the best score.
    assert one_query([[0, 10]], [*misses, [0, 10, 0.99]]).metrics["MR-full-mAP"] == 0.0
    # The hit is first but scored lowest: it ranks 10th among the 10 kept -> AP 1/10.
    assert one_query([[0, 10]], [[0, 10, 0.0], *misses]).metrics["MR-full-mAP"] == 10.0


def test_matched_gt_window_is_skipped():
    # Both predictions fit GT 0 best; the second falls back to GT 1 (IoU 10/12 = 0.833): a hit up to t = 0.8.
    ap = qvhl.detection_ap(np.array([[0, 10, 0.9], [0, 10, 0.8]]), np.array([[0, 10], [0, 12]]))
    np.testing.assert_array_equal(ap, [1.0] * 7 + [0.5] * 3)
    assert one_query([[0, 10], [0, 12]], [[0, 10, 0.9], [0, 10, 0.8]]).metrics["MR-full-mAP"] == 85.0


def test_iou_exactly_at_threshold_is_a_hit():
    ap = qvhl.detection_ap(np.array([[0, 5, 1.0]]), np.array([[0, 10]]))  # IoU exactly 0.5
    np.testing.assert_array_equal(ap, [1.0] + [0.0] * 9)
    report = one_query([[0, 10]], [[0, 7, 1.0]])  # IoU exactly 0.7
    assert report.metrics["MR-full-R1@0.7"] == 100.0
    assert report.metrics["MR-full-mAP@0.75"] == 0.0


def test_r1_uses_first_window_not_top_scored():
    report = one_query([[0, 10]], [[20, 30, 0.1], [0, 10, 0.9]])
    assert report.metrics["MR-full-R1@0.5"] == 0.0
    assert report.metrics["MR-full-mAP"] == 100.0


def test_r1_picks_gt_window_of_highest_iou():
    # [0, 10] against [20, 30] (IoU 0) and [5, 15] (1/3): R1 uses the second, so still below 0.5.
    assert one_query([[20, 30], [5, 15]], [[0, 10, 1.0]]).metrics["MR-full-R1@0.5"] == 0.0
    assert one_query([[20, 30], [1, 10]], [[0, 10, 1.0]]).metrics["MR-full-R1@0.7"] == 100.0


def test_length_buckets_filter_gt_not_predictions():
    gt = [[0, 8], [20, 40]]  # 8 s (short), 20 s (middle)
    report = one_query(gt, [[0, 8, 0.5], [20, 40, 0.9]])
    # short: GT [0, 8] only, the unfiltered [20, 40] ranks first as a miss -> AP 0.5
    assert report.metrics["MR-short-mAP"] == 50.0
    assert report.metrics["MR-middle-mAP"] == 100.0
    assert report.metrics["MR-full-mAP"] == 100.0
    assert math.isnan(report.metrics["MR-long-mAP"])
    assert report.counts["mr_long"] == 0
    assert any("long range" in n for n in report.notes)


def test_bucket_edges_and_full_keeps_everything():
    gts = [
        {"qid": 1, "relevant_windows": [[0, 10]]},  # exactly 10: short
        {"qid": 2, "relevant_windows": [[0, 30]]},  # exactly 30: middle
        {"qid": 3, "relevant_windows": [[0, 160]]},  # longer than 150: only in "full"
    ]
    sub = [{"qid": g["qid"], "pred_relevant_windows": [[*g["relevant_windows"][0], 1.0]]} for g in gts]
    report = qvhl.score(sub, gts)
    assert (report.counts["mr_short"], report.counts["mr_middle"], report.counts["mr_long"]) == (1, 1, 0)
    assert report.counts["mr_full"] == 3
    assert report.metrics["MR-full-mAP"] == 100.0


def test_interpolated_ap_voc():
    # precision 1, 0.5, 2/3 at recall 1/2, 1/2, 1 -> envelope 1 then 2/3 -> 0.5 * 1 + 0.5 * 2/3
    ap = qvhl.interpolated_ap(np.array([[1.0, 0.5, 2 / 3]]), np.array([[0.5, 0.5, 1.0]]))
    assert ap[0] == pytest.approx(0.5 + 1 / 3)


def test_empty_window_list_is_a_miss():
    gts = [{"qid": 1, "relevant_windows": [[0, 10]]}, {"qid": 2, "relevant_windows": [[0, 10]]}]
    sub = [{"qid": 1, "pred_relevant_windows": []}, {"qid": 2, "pred_relevant_windows": [[0, 10, 1.0]]}]
    report = qvhl.score(sub, gts)
    assert report.metrics["MR-full-R1@0.5"] == 50.0
    assert report.metrics["MR-full-mAP"] == 50.0
    assert report.counts["empty_windows"] == 1
    assert any("empty pred_relevant_windows" in n for n in report.notes)


def test_duplicate_records_follow_official():
    gts = [{"qid": 1, "relevant_windows": [[0, 10], [50, 60]]}]
    sub = [
        {"qid": 1, "pred_relevant_windows": [[0, 10, 0.9]]},
        {"qid": 1, "pred_relevant_windows": [[100, 110, 0.8], [50, 60, 0.7]]},
    ]
    report = qvhl.score(sub, gts)
    # mAP ranks the windows of both records: hit, miss, hit -> 0.5 * 1 + 0.5 * 2/3
    assert report.metrics["MR-full-mAP"] == 83.33
    assert report.metrics["MR-full-R1@0.5"] == 0.0  # R1: first window of the last record, a miss
    assert report.counts["duplicates"] == 1


def test_only_parts_present_in_first_record():
    gts = [
        {
            "qid": 1,
            "relevant_windows": [[0, 10]],
            "duration": 20,
            "relevant_clip_ids": [1],
            "saliency_scores": [[2, 2, 2]],
        }
    ]
    report = qvhl.score([{"qid": 1, "pred_saliency_scores": [0.0, 1.0]}], gts)
    assert list(report.metrics) == list(highlights.HL_KEYS)
    assert report.metrics["HL-min-Fair-Hit1"] == 100.0


# ---------------------------------------------------------------------------------------------------------------
# qid sets and bad input


def test_qid_mismatch_lists_examples():
    gts = [{"qid": q, "relevant_windows": [[0, 10]]} for q in (1, 2, 3)]
    sub = [{"qid": q, "pred_relevant_windows": [[0, 10, 1.0]]} for q in (1, 2, 99)]
    with pytest.raises(
        DataError, match=r"1 GT qids have no prediction \(3\), 1 predicted qids are not in the GT \(99\)"
    ):
        qvhl.score(sub, gts)
    report = qvhl.score(sub, gts, match_number=False)
    assert report.counts["evaluated"] == 2 and report.counts["missing"] == 1 and report.counts["extra"] == 1
    assert report.metrics["MR-full-mAP"] == 100.0
    assert "match_number=False" in report.notes[0]


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ([[0, 10]], "window 0 is \\[0, 10\\], not \\[start, end, score\\]"),
        ([[0, 10, "high"]], "window 0"),
        ([[0, 10, 1.0], [0, None, 1.0]], "window 1"),
        ("0 10", "expected a list"),
    ],
)
def test_bad_windows_name_file_qid_field(tmp_path, windows, message):
    path = tmp_path / "sub.jsonl"
    path.write_text(json.dumps({"qid": 5, "pred_relevant_windows": windows}) + "\n")
    gt_path = tmp_path / "gt.jsonl"
    gt_path.write_text(json.dumps({"qid": 5, "relevant_windows": [[0, 10]]}) + "\n")
    with pytest.raises(DataError, match=message) as e:
        qvhl.score_files(path, gt_path)
    assert str(path) in str(e.value) and "record 5" in str(e.value) and "pred_relevant_windows" in str(e.value)


def test_missing_field_in_later_record():
    gts = [
        {
            "qid": q,
            "relevant_windows": [[0, 10]],
            "duration": 4,
            "relevant_clip_ids": [0],
            "saliency_scores": [[2, 2, 2]],
        }
        for q in (1, 2)
    ]
    sub = [
        {"qid": 1, "pred_relevant_windows": [[0, 10, 1.0]], "pred_saliency_scores": [1.0]},
        {"qid": 2, "pred_relevant_windows": [[0, 10, 1.0]]},
    ]
    with pytest.raises(DataError, match="record 2, field 'pred_saliency_scores'"):
        qvhl.score(sub, gts)
    with pytest.raises(DataError, match="neither"):
        qvhl.score([{"qid": 1}, {"qid": 2}], gts)


def test_bad_gt_windows():
    with pytest.raises(DataError, match="relevant_windows"):
        one_query([], [[0, 10, 1.0]])
    with pytest.raises(DataError, match="relevant_windows"):
        one_query([[0, "10"]], [[0, 10, 1.0]])


# ---------------------------------------------------------------------------------------------------------------
# IoU forms


def test_iou_union_forms():
    assert iou_union([0, 5], [0, 10]) == 0.5
    assert iou_union([20, 30], [0, 10]) == 0.0
    assert iou_union([5, 3], [0, 10]) == 0.0  # reversed
    m = iou_union_matrix([[0, 5], [2, 12]], [[0, 10], [20, 30]])
    np.testing.assert_allclose(m, [[0.5, 0.0], [8 / 12, 0.0]])
    assert m[1, 0] == iou_union([2, 12], [0, 10])
    # Zero union (two points, or a reversed window cancelling the other's length): NaN, as officially.
    assert np.isnan(iou_union_matrix([[5, 5]], [[9, 9]])[0, 0])
    assert np.isnan(iou_union_matrix([[5, 3]], [[0, 2]])[0, 0])
    assert iou_hull([5, 5], [9, 9]) == 0.0


def test_nan_iou_counts_as_hit_like_official():
    # A reversed prediction [5, 3] against GT [0, 2]: union 0, IoU NaN, and "NaN < t" is false -> matched.
    ap = qvhl.detection_ap(np.array([[5, 3, 1.0]]), np.array([[0, 2]]))
    np.testing.assert_array_equal(ap, np.ones(10))
