"""TAD detection mAP and multi-instance recall: hand-computed cases, a plain re-derivation, properties, the files."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vidllm.eval import tad
from vidllm.eval.tad import (
    PROTOCOLS,
    TadGroundTruth,
    class_average_precision,
    detection_map,
    interpolated_ap,
    recall_at_k,
)
from vidllm.io import DataError

T05 = (0.5,)


def test_interpolated_ap_by_hand():
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1: envelope 1, 2/3, 2/3 -> 1/2 * 1 + 1/2 * 2/3
    assert interpolated_ap([1.0, 0.5, 2 / 3], [0.5, 0.5, 1.0]) == pytest.approx(0.5 + 1 / 3)
    # an early false positive is lifted by the envelope: 1/3 * 2/3 + 1/3 * 2/3
    assert interpolated_ap([0.0, 0.5, 2 / 3], [0.0, 1 / 3, 2 / 3]) == pytest.approx(4 / 9)
    assert interpolated_ap([], []) == 0.0


def test_duplicate_detection_is_a_false_positive_one_gt_matched_once():
    gt = {"A": [(0.0, 10.0), (20.0, 30.0)]}
    dets = [("A", 0.0, 10.0, 0.9), ("A", 1.0, 10.0, 0.8), ("A", 20.0, 30.0, 0.7)]
    # TP, FP (its best GT is taken, the other has tIoU 0), TP -> AP = 1/2 * 1 + 1/2 * 2/3
    assert class_average_precision(gt, dets, T05) == [pytest.approx(5 / 6)]
    # the order is by score, not by list position
    assert class_average_precision(gt, dets[::-1], T05) == class_average_precision(gt, dets, T05)


def test_greedy_by_score_takes_the_best_tiou_gt_first():
    gt = {"A": [(0.0, 10.0), (4.0, 14.0)]}
    # tIoUs: top detection 5/13 with GT 1, 0.8 with GT 2; second detection 6/13 with GT 1, 0.9 with GT 2
    dets = [("A", 5.0, 13.0, 0.9), ("A", 4.0, 13.0, 0.8)]
    # the top-scored detection locks GT 2; the second skips it and its next best (6/13) misses 0.5: TP, FP
    assert class_average_precision(gt, dets, T05) == [0.5]
    assert class_average_precision(gt, dets, (0.4,)) == [1.0]  # 6/13 >= 0.4: the second takes GT 1
    # above 0.8 the top one misses and the second (0.9) takes GT 2: FP, TP -> precision 1/2 at recall 1/2
    assert class_average_precision(gt, dets, (0.85, 0.9, 0.95)) == [0.25, 0.25, 0.0]


def test_threshold_is_non_strict_and_per_threshold():
    gt = {"A": [(0.0, 10.0)]}
    assert class_average_precision(gt, [("A", 0.0, 5.0, 1.0)], (0.5, 0.55)) == [1.0, 0.0]  # tIoU exactly 0.5
    # tIoU 0.8: a TP up to the threshold 0.8 inclusive
    ap = class_average_precision(gt, [("A", 0.0, 8.0, 1.0)], PROTOCOLS["activitynet"].map_thresholds)
    assert ap == [1.0] * 7 + [0.0] * 3


def test_detection_on_a_video_without_gt_is_a_false_positive():
    gt = {"A": [(0.0, 10.0)]}
    dets = [("B", 0.0, 10.0, 0.9), ("A", 0.0, 10.0, 0.5)]
    assert class_average_precision(gt, dets, T05) == [0.5]  # FP then TP: precision 1/2 at recall 1


def test_mean_over_gt_classes_only_and_missing_class_is_zero():
    gt = {"run": {"A": [(0.0, 10.0)]}, "jump": {"B": [(5.0, 6.0)]}, "empty": {"C": []}}
    dets = {"run": [("A", 0.0, 10.0, 1.0)], "swim": [("A", 0.0, 10.0, 1.0)]}
    result = detection_map(gt, dets, (0.5, 0.75))
    assert set(result.per_class) == {"run", "jump"}  # no GT instance: not evaluated, as officially
    assert result.per_class["jump"] == [0.0, 0.0] and result.per_threshold == [0.5, 0.5] and result.average == 0.5


def test_ties_keep_input_order():
    gt = {"A": [(0.0, 10.0)]}
    assert class_average_precision(gt, [("A", 0, 10, 0.5), ("A", 50, 60, 0.5)], T05) == [1.0]
    assert class_average_precision(gt, [("A", 50, 60, 0.5), ("A", 0, 10, 0.5)], T05) == [0.5]


def test_recall_at_k_by_hand():
    gt = {("A", "run"): [(0.0, 10.0), (20.0, 30.0)], ("B", "run"): [(0.0, 4.0)]}
    dets = {
        ("A", "run"): [(20.0, 30.0, 0.9), (0.0, 10.0, 0.1), (0.0, 10.0, 0.5)],
        ("B", "run"): [(50.0, 60.0, 0.9)],
        ("C", "run"): [(0.0, 1.0, 1.0)],  # no GT: ignored
    }
    assert recall_at_k(gt, dets, 1, 0.5) == pytest.approx(1 / 3)
    assert recall_at_k(gt, dets, 2, 0.5) == pytest.approx(2 / 3)  # 0.9 then 0.5 (by score, not list order)
    assert recall_at_k(gt, dets, 5, 0.5) == pytest.approx(2 / 3)  # the duplicate does not match twice
    # k x #GT: 2 detections for A (both match), 1 for B
    assert recall_at_k(gt, dets, 1, 0.5, per_gt=True) == pytest.approx(2 / 3)
    assert math.isnan(recall_at_k({}, dets, 1, 0.5))


# ------------------------------------------------------------------------------------- a plain re-derivation


def _reference_ap(gt, dets, t):
    """AP at one threshold, computed the long way: explicit lists, no shared helpers."""
    npos = sum(len(v) for v in gt.values())
    order = sorted(range(len(dets)), key=lambda i: -dets[i][3])
    used = set()
    prec, rec, tp_n = [], [], 0
    for n, i in enumerate(order, start=1):
        vid, s, e, _ = dets[i]
        cands = []
        for j, (gs, ge) in enumerate(gt.get(vid, [])):
            inter = max(min(e, ge) - max(s, gs), 0)
            iou = inter / ((ge - gs) + (e - s) - inter) if inter > 0 else 0.0
            cands.append((iou, j))
        hit = False
        for iou, j in sorted(cands, reverse=True):
            if iou < t:
                break
            if (vid, j) in used:
                continue
            used.add((vid, j))
            hit = True
            break
        tp_n += hit
        prec.append(tp_n / n)
        rec.append(tp_n / npos)
    # area under the envelope, summed over recall steps
    area, last = 0.0, 0.0
    for k in range(len(rec)):
        if rec[k] != last:
            area += (rec[k] - last) * max(prec[k:])
            last = rec[k]
    return area


_span = st.tuples(st.integers(0, 60), st.integers(1, 30)).map(lambda p: (float(p[0]), float(p[0] + p[1])))


@st.composite
def _cases(draw):
    videos = ["A", "B", "C"]
    gt = {v: draw(st.lists(_span, max_size=4)) for v in videos}
    assume(any(gt.values()))
    n = draw(st.integers(0, 10))
    dets = []
    for i in range(n):
        s, e = draw(_span)
        dets.append((draw(st.sampled_from(videos)), s, e, float(n - i) + 0.5 * draw(st.integers(0, 1)) / (i + 1)))
    return gt, dets


def _no_tiou_ties(gt, dets) -> bool:
    for vid, s, e, _ in dets:
        ious = {}
        for g in gt.get(vid, []):
            iou = tad.iou_union((s, e), g)
            if iou > 0 and iou in ious and ious[iou] != g:
                return False
            ious[iou] = g
    return len({d[3] for d in dets}) == len(dets)


@settings(max_examples=150, deadline=None)
@given(_cases(), st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.95]))
def test_matches_the_plain_derivation(case, t):
    gt, dets = case
    assume(_no_tiou_ties(gt, dets))
    assert class_average_precision(gt, dets, (t,))[0] == pytest.approx(_reference_ap(gt, dets, t), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(_cases(), st.randoms(use_true_random=False))
def test_properties(case, rnd):
    gt, dets = case
    thresholds = PROTOCOLS["charades"].map_thresholds
    aps = class_average_precision(gt, dets, thresholds)
    assert all(0.0 <= a <= 1.0 for a in aps)
    # more demanding thresholds never raise the AP
    assert all(a >= b - 1e-12 for a, b in zip(aps, aps[1:]))
    # perfect detections (every GT once, any scores) give 1.0 at every threshold
    perfect = [(v, s, e, rnd.random()) for v, spans in gt.items() for s, e in spans]
    assert class_average_precision(gt, perfect, thresholds) == [1.0] * len(thresholds)
    if _no_tiou_ties(gt, dets):
        shuffled_gt = {v: rnd.sample(spans, len(spans)) for v, spans in gt.items()}
        assert class_average_precision(shuffled_gt, rnd.sample(dets, len(dets)), thresholds) == pytest.approx(aps)


# ------------------------------------------------------------------------------------------------------ files


def _gt_file(tmp_path):
    gt = {
        "version": "VERSION 1.3",
        "database": {
            "v1": {"subset": "validation", "duration": 60.0, "annotations": [
                {"segment": [0.0, 10.0], "label": "Running"}, {"segment": [20.0, 30.0], "label": "Running"},
                {"segment": [40.0, 50.0], "label": "Jumping"}]},
            "v2": {"subset": "validation", "duration": 30.0, "annotations": [
                {"segment": [5.0, 15.0], "label": "Jumping"}]},
            "v3": {"subset": "training", "duration": 30.0, "annotations": [
                {"segment": [0.0, 5.0], "label": "Swimming"}]},
        },
    }  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    return path


def test_score_files_and_counts(tmp_path):
    gt_path = _gt_file(tmp_path)
    pred = {"version": "VERSION 1.3", "external_data": {}, "results": {
        "v1": [{"label": "Running", "score": 0.9, "segment": [0.0, 10.0]},
               {"label": "Running", "score": 0.8, "segment": [20.0, 28.0]},
               {"label": "Jumping", "score": 0.7, "segment": [40.0, 50.0]},
               {"label": "Dancing", "score": 0.9, "segment": [0.0, 1.0]}],
        "v9": [{"label": "Jumping", "score": 0.95, "segment": [0.0, 5.0]}]}}  # fmt: skip
    pred_path = tmp_path / "pred.json"
    pred_path.write_text(json.dumps(pred))
    report = tad.score_files(pred_path, gt_path, subset="validation")
    # Running: TP, TP (tIoU 0.8) -> AP 1 up to 0.8, then 1/2 (only the first) above. Jumping: FP (v9), TP, GT v2 missed
    running = [1.0] * 7 + [0.5] * 3
    jumping = [0.25] * 10  # precision 1/2 at recall 1/2
    expected = [(a + b) / 2 for a, b in zip(running, jumping)]
    assert report.metrics["mAP@0.5"] == pytest.approx(expected[0] * 100)
    assert report.metrics["mAP@0.95"] == pytest.approx(expected[-1] * 100)
    assert report.metrics["mAP"] == pytest.approx(float(np.mean(expected)) * 100)
    assert report.metrics["R1@0.5"] == pytest.approx(200 / 4)  # v1 Running (1 of 2), v1 Jumping; of 4 instances
    assert report.counts == {"videos": 2, "instances": 4, "classes": 2, "detections": 5, "unknown_label": 1,
                             "unknown_video": 1, "classes_without_detections": 0, "duplicate_gt": 0,
                             "duplicate_pred": 0, "reversed": 0, "zero_length": 0,
                             "tied_tp_fp_pairs": 0}  # fmt: skip
    assert any("KeyError" in n for n in report.notes)
    # without a subset a file with several subsets is scored on 'validation', and the report says so
    default = tad.score_files(pred_path, gt_path)
    assert default.metrics == report.metrics and default.counts["classes"] == 2
    assert any("only 'validation' is scored" in n for n in default.notes)
    with pytest.raises(DataError, match="subset"):
        tad.score_files(pred_path, gt_path, subset="testing")


def test_bad_files_name_the_record(tmp_path):
    gt_path = _gt_file(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"results": {"v1": [{"label": "Running", "score": "high", "segment": [0, 1]}]}}))
    with pytest.raises(DataError, match=r"v1.*\[0\]\.score|score.*v1"):
        tad.score_files(bad, gt_path)
    bad.write_text(json.dumps({"database": {"v1": {"annotations": [{"segment": [0], "label": "x"}]}}}))
    with pytest.raises(DataError, match="segment"):
        tad.load_ground_truth(bad)


def test_ground_truth_classes_and_queries():
    gt = tad.ground_truth_from_obj({"classes": ["Swimming"], "database": {"v": {"annotations": [
        {"segment": [1, 2], "label": "Running"}]}}})  # fmt: skip
    assert isinstance(gt, TadGroundTruth) and gt.classes == ["Swimming", "Running"]
    assert gt.by_query() == {("v", "Running"): [(1.0, 2.0)]}


def test_random_submission_is_deterministic():
    rng = random.Random(0)
    gt = {"A": [(float(s), float(s + 5)) for s in range(0, 100, 10)]}
    dets = [("A", float(s), float(s + rng.randint(1, 9)), rng.random()) for s in range(0, 100, 3)]
    assert class_average_precision(gt, dets, T05) == class_average_precision(gt, list(dets), T05)
