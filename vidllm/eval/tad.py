"""Temporal action detection (TAD): ActivityNet detection mAP and multi-instance recall R@k, in seconds.

**Detection mAP**, as the official ActivityNet evaluator (``Evaluation/eval_detection.py`` of
activitynet/ActivityNet) computes it, per class and per tIoU threshold ``t``:

* tIoU is the true-union form, ``inter / (len_gt + len_pred - inter)`` (:func:`vidllm.eval.iou.iou_union`).
* The class's detections (over all videos) are sorted by descending score. Equal scores keep their input order
  (a stable sort; the official ``argsort()[::-1]`` leaves the order of ties unspecified). The pairs of a true and
  a false positive that share a score -- whose order can move the AP -- are counted (``tied_tp_fp_pairs``, summed
  over the thresholds) and noted.
* Reversed (``start > end``) and zero-length detections have tIoU 0 (false positives) and are counted.
* A ground truth with several subsets is scored on ``validation`` unless one is chosen (:func:`default_subset`).
* **Greedy matching by score, one GT matched once**: each detection, in that order, visits the GT instances of its
  video and class by descending tIoU (equal tIoUs: the later instance first, as ``argsort()[::-1]`` gives for
  small arrays). The first instance with ``tIoU < t`` ends the visit: a false positive. An instance already matched
  at this threshold is skipped. Otherwise the detection is a true positive (``tIoU >= t``, non-strict) and locks the
  instance. A detection on a video without GT of its class is a false positive.
* precision = cumTP / (cumTP + cumFP), recall = cumTP / #GT instances of the class. AP is the all-point
  interpolated area (:func:`interpolated_ap`): sentinels precision 0 / recall 0 and 1, the running maximum of the
  precision taken from the high-recall end, and the sum of ``Δrecall × precision`` where the recall changes.
* A class with GT instances and no detection has AP 0. **Classes without GT instances are not evaluated** (the
  official only iterates the classes of the ground truth), and detections of a label the ground truth does not have
  are ignored and counted (the official raises ``KeyError`` on them).
* ``mAP@t`` is the mean AP over the evaluated classes; ``mAP`` is the mean of the per-threshold values. Both are
  reported in percent (×100 after the means; the official prints fractions).

Thresholds (:data:`PROTOCOLS`): ActivityNet v1.3 ``0.5:0.05:0.95`` (10 values); Charades-style reporting
``0.1:0.1:0.7``; Ego4D moment queries ``0.1:0.1:0.5``. They are built with ``numpy.linspace``, as the official
scripts do, so a tIoU exactly at a threshold compares with the same float.

**Multi-instance recall R@k** (moment queries: one query = one (video, class) with GT instances): the query's
``k`` best-scored detections are matched greedily to its GT instances as above (each instance once, ``tIoU >= t``);
``Rk@t`` is matched instances / all GT instances, in percent (pooled over queries, so a query with more instances
weighs more). ``Rkx@t`` (Ego4D-style "k×"): the ``k × #GT`` best detections of each query instead of ``k``; it
follows the description in the Ego4D paper and was not checked against Ego4D's own evaluator.

File forms (ActivityNet's): ground truth ``{"database": {vid: {"subset", "duration", "annotations": [{"segment":
[s, e], "label"}]}}}`` (optionally a top-level ``"classes"`` list); predictions ``{"results": {vid: [{"label",
"score", "segment": [s, e]}]}}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from vidllm.eval.iou import iou_union
from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, PathLike, read_interval, read_json

Interval = tuple[float, float]
Detection = tuple[str, float, float, float]
"""``(video, start, end, score)`` of one detection of one class."""


@dataclass(frozen=True)
class Protocol:
    """What a TAD benchmark reports.

    Attributes:
        map_thresholds: tIoU thresholds of the mAP.
        recall_ks: The ``k`` of ``Rk@t``.
        recall_thresholds: The ``t`` of ``Rk@t``.
        per_gt: Recall over the ``k × #GT`` best detections of a query (Ego4D's ``Rkx``) instead of ``k``.
    """

    map_thresholds: tuple[float, ...]
    recall_ks: tuple[int, ...] = (1, 5)
    recall_thresholds: tuple[float, ...] = (0.3, 0.5, 0.7)
    per_gt: bool = False


def _linspace(start: float, stop: float, num: int) -> tuple[float, ...]:
    return tuple(float(t) for t in np.linspace(start, stop, num))


PROTOCOLS: dict[str, Protocol] = {
    "activitynet": Protocol(_linspace(0.5, 0.95, 10), recall_thresholds=(0.5, 0.7)),
    "charades": Protocol(_linspace(0.1, 0.7, 7)),
    "ego4d": Protocol(_linspace(0.1, 0.5, 5), per_gt=True),
}
"""Protocols by name: ActivityNet v1.3, Charades-style reporting (UniMD), Ego4D moment queries."""


def threshold_key(t: float) -> str:
    """``0.5`` -> ``'0.5'``, ``0.55000000000000004`` -> ``'0.55'`` (the metric key of a threshold)."""
    return f"{round(t, 2):g}"


# ------------------------------------------------------------------------------------------------------ metric


def interpolated_ap(precision: Sequence[float], recall: Sequence[float]) -> float:
    """All-point interpolated average precision of a precision/recall curve (ActivityNet's ``interpolated_prec_rec``).

    Args:
        precision: Precision after each ranked detection.
        recall: Recall after each ranked detection (non-decreasing).

    Returns:
        The area under the monotone envelope, in [0, 1].
    """
    mprec = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    mrec = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    for i in range(len(mprec) - 2, -1, -1):  # the envelope: best precision at this recall or beyond
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def _visit_order(ious: Sequence[float]) -> list[int]:
    # Descending tIoU; among equal tIoUs the later instance first, as the official argsort()[::-1] visits them.
    return sorted(range(len(ious)), key=lambda j: (ious[j], j), reverse=True)


def _match(ious: Sequence[float], order: Sequence[int], locked: set[int], t: float) -> int | None:
    """The GT instance a detection matches at threshold ``t`` (locked ones skipped), or ``None`` (a false positive)."""
    for j in order:
        if ious[j] < t:
            return None
        if j in locked:
            continue
        return j
    return None


def class_average_precision(
    ground_truth: Mapping[str, Sequence[Interval]],
    detections: Sequence[Detection],
    thresholds: Sequence[float],
    *,
    ties: list[int] | None = None,
) -> list[float]:
    """AP of one class at each threshold (see the module docstring for the matching).

    Args:
        ground_truth: Video -> the class's GT instances ``(start, end)`` in that video (at least one in all).
        detections: The class's detections ``(video, start, end, score)``, in any order.
        thresholds: tIoU thresholds.
        ties: When given, the class's tied TP/FP pairs summed over the thresholds (:func:`tied_tp_fp_pairs`) are
            appended to it.

    Returns:
        One AP in [0, 1] per threshold.
    """
    npos = sum(len(v) for v in ground_truth.values())
    if npos == 0:
        raise ValueError("a class without GT instances has no AP (the official evaluator skips such classes)")
    if not detections:
        return [0.0] * len(thresholds)
    ranked = sorted(detections, key=lambda d: -d[3])  # stable: equal scores keep their order
    tp = np.zeros((len(thresholds), len(ranked)))
    locked: list[dict[str, set[int]]] = [{} for _ in thresholds]  # per threshold: video -> matched GT indices
    for i, (video, start, end, _) in enumerate(ranked):
        gts = ground_truth.get(video) or ()
        ious = [iou_union((start, end), g) for g in gts]
        order = _visit_order(ious)
        for k, t in enumerate(thresholds):
            taken = locked[k].setdefault(video, set())
            j = _match(ious, order, taken, t)
            if j is not None:
                taken.add(j)
                tp[k, i] = 1.0
    if ties is not None:
        ties.append(sum(tied_tp_fp_pairs([d[3] for d in ranked], row) for row in tp))
    tp_cum = np.cumsum(tp, axis=1)
    fp_cum = np.cumsum(1.0 - tp, axis=1)
    recall = tp_cum / npos
    precision = tp_cum / (tp_cum + fp_cum)
    return [interpolated_ap(precision[k], recall[k]) for k in range(len(thresholds))]


def tied_tp_fp_pairs(scores: Sequence[float], tp: Sequence[float]) -> int:
    """How many (true positive, false positive) pairs share a score: the pairs whose order a tie-break decides.

    ``scores`` and ``tp`` (1 for a true positive, 0 for a false one) are per detection, in any order. Each pair
    that is tied can move the precision curve, and so the AP, depending on which of the two comes first.
    """
    groups: dict[float, list[int]] = {}
    for sc, hit in zip(scores, tp):
        groups.setdefault(float(sc), [0, 0])[0 if hit else 1] += 1
    return sum(hits * misses for hits, misses in groups.values())


@dataclass
class MapResult:
    """Detection mAP of a set of classes.

    Attributes:
        thresholds: The tIoU thresholds.
        per_class: Class -> AP at each threshold (fractions).
        per_threshold: mAP at each threshold (fractions; the mean over classes).
        average: The mean of ``per_threshold`` (fraction).
    """

    thresholds: tuple[float, ...]
    per_class: dict[str, list[float]]
    per_threshold: list[float]
    average: float
    tied_pairs: int = 0


def detection_map(
    ground_truth: Mapping[str, Mapping[str, Sequence[Interval]]],
    detections: Mapping[str, Sequence[Detection]],
    thresholds: Sequence[float],
) -> MapResult:
    """ActivityNet detection mAP over the classes that have GT instances.

    Args:
        ground_truth: Class -> video -> GT instances ``(start, end)`` in seconds.
        detections: Class -> detections ``(video, start, end, score)``; classes not in the ground truth are ignored.
        thresholds: tIoU thresholds.

    Returns:
        Per-class APs, per-threshold mAPs and their mean (fractions; ``nan`` when no class has GT instances).
    """
    classes = [c for c, videos in ground_truth.items() if any(videos.values())]
    ties: list[int] = []
    per_class = {c: class_average_precision(ground_truth[c], detections.get(c, ()), thresholds, ties=ties)
                 for c in classes}  # fmt: skip
    if not per_class:
        return MapResult(tuple(thresholds), {}, [math.nan] * len(thresholds), math.nan)
    ap = np.asarray(list(per_class.values()), dtype=np.float64)  # (classes, thresholds)
    per_threshold = ap.mean(axis=0)
    return MapResult(tuple(thresholds), per_class, [float(v) for v in per_threshold], float(per_threshold.mean()),
                     sum(ties))  # fmt: skip


def recall_at_k(
    ground_truth: Mapping[tuple[str, str], Sequence[Interval]],
    detections: Mapping[tuple[str, str], Sequence[tuple[float, float, float]]],
    k: int,
    threshold: float,
    *,
    per_gt: bool = False,
) -> float:
    """Multi-instance recall of moment queries: matched GT instances / all GT instances (a fraction).

    Args:
        ground_truth: Query ``(video, class)`` -> its GT instances.
        detections: Query -> its detections ``(start, end, score)``; queries without GT are ignored.
        k: How many of the best-scored detections of a query count (``k × #GT`` with ``per_gt``).
        threshold: tIoU threshold (``>=``).
        per_gt: Ego4D's ``k×`` recall.

    Returns:
        The recall in [0, 1] (``nan`` without GT instances).
    """
    total = matched = 0
    for query, gts in ground_truth.items():
        total += len(gts)
        ranked = sorted(detections.get(query, ()), key=lambda d: -d[2])
        locked: set[int] = set()
        for start, end, _ in ranked[: k * len(gts) if per_gt else k]:
            ious = [iou_union((start, end), g) for g in gts]
            j = _match(ious, _visit_order(ious), locked, threshold)
            if j is not None:
                locked.add(j)
        matched += len(locked)
    return matched / total if total else math.nan


# ------------------------------------------------------------------------------------------------- files + score


@dataclass
class TadGroundTruth:
    """A TAD ground truth.

    Attributes:
        instances: Video -> ``(start, end, label)`` of each GT instance (videos without instances included).
        durations: Video -> duration in seconds, where known.
        classes: Every class name: the file's ``"classes"`` list, then the labels of the instances (first seen).
    """

    instances: dict[str, list[tuple[float, float, str]]]
    durations: dict[str, float] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)

    def by_class(self) -> dict[str, dict[str, list[Interval]]]:
        """Class -> video -> instances, as :func:`detection_map` takes them."""
        out: dict[str, dict[str, list[Interval]]] = {}
        for video, items in self.instances.items():
            for s, e, label in items:
                out.setdefault(label, {}).setdefault(video, []).append((s, e))
        return out

    def by_query(self) -> dict[tuple[str, str], list[Interval]]:
        """``(video, class)`` -> instances, as :func:`recall_at_k` takes them."""
        return {(v, c): spans for c, videos in self.by_class().items() for v, spans in videos.items()}


def _label(value, path: PathLike, record: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"expected a class name, got {value!r}", path=path, record=record, field=field_name)
    return value


def ground_truth_from_obj(data, path: PathLike = "<ground truth>", *, subset: str | None = None) -> TadGroundTruth:
    """Read a loaded ActivityNet-style ground truth (see the module docstring); ``subset`` keeps one subset only.

    Raises:
        DataError: Not that form (the message names the file, video and field).
    """
    database = data.get("database") if isinstance(data, dict) else None
    if not isinstance(database, dict):
        raise DataError('expected {"database": {"<video>": {"annotations": [{"segment": [s, e], "label"}]}}}',
                        path=path)  # fmt: skip
    classes = [str(c) for c in data.get("classes") or []]
    gt = TadGroundTruth({}, {}, list(classes))
    for vid, entry in database.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("annotations", []), list):
            raise DataError("expected an object with an 'annotations' list", path=path, record=vid,
                            field="annotations")  # fmt: skip
        if subset is not None and entry.get("subset") != subset:
            continue
        items = []
        for i, ann in enumerate(entry.get("annotations", [])):
            where = f"annotations[{i}]"
            if not isinstance(ann, dict):
                raise DataError("expected an object {segment, label}", path=path, record=vid, field=where)
            s, e = read_interval(ann.get("segment"), path, vid, f"{where}.segment")
            items.append((s, e, _label(ann.get("label"), path, vid, f"{where}.label")))
        gt.instances[vid] = items
        duration = entry.get("duration")
        if isinstance(duration, Real) and not isinstance(duration, bool) and duration > 0:
            gt.durations[vid] = float(duration)
    seen = set(gt.classes)
    for items in gt.instances.values():
        for *_, label in items:
            if label not in seen:
                seen.add(label)
                gt.classes.append(label)
    return gt


def load_ground_truth(path: PathLike, *, subset: str | None = None) -> TadGroundTruth:
    """Read an ActivityNet-style TAD ground-truth file (``activity_net.v1-3.min.json``, ``vidllm convert *_tad``)."""
    return ground_truth_from_obj(read_json(path), path, subset=subset)


def predictions_from_obj(data, path: PathLike = "<predictions>") -> dict[str, list[tuple[str, float, float, float]]]:
    """Read loaded ActivityNet-style predictions: video -> ``(label, start, end, score)``.

    Raises:
        DataError: Not that form.
    """
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict):
        raise DataError('expected {"results": {"<video>": [{"label", "score", "segment": [s, e]}]}}', path=path)
    out: dict[str, list[tuple[str, float, float, float]]] = {}
    for vid, dets in results.items():
        if not isinstance(dets, list):
            raise DataError(f"expected a list of detections, got {dets!r}", path=path, record=vid)
        rows = []
        for i, det in enumerate(dets):
            where = f"[{i}]"
            if not isinstance(det, dict):
                raise DataError("expected an object {label, score, segment}", path=path, record=vid, field=where)
            s, e = read_interval(det.get("segment"), path, vid, f"{where}.segment")
            score = det.get("score")
            if not (isinstance(score, Real) and not isinstance(score, bool) and math.isfinite(score)):
                raise DataError(f"expected a finite number, got {score!r}", path=path, record=vid,
                                field=f"{where}.score")  # fmt: skip
            rows.append((_label(det.get("label"), path, vid, f"{where}.label"), s, e, float(score)))
        out[str(vid)] = rows
    return out


def load_predictions(path: PathLike) -> dict[str, list[tuple[str, float, float, float]]]:
    """Read an ActivityNet detection submission ``{"results": {vid: [{"label", "score", "segment"}]}}``."""
    return predictions_from_obj(read_json(path), path)


def score(
    predictions: Mapping[str, Sequence[tuple[str, float, float, float]]],
    ground_truth: TadGroundTruth,
    *,
    protocol: str | Protocol = "activitynet",
) -> ScoreReport:
    """Detection mAP and multi-instance recall of predictions against a TAD ground truth.

    Args:
        predictions: Video -> detections ``(label, start, end, score)`` in seconds.
        ground_truth: The ground truth.
        protocol: A :data:`PROTOCOLS` name or a :class:`Protocol` (thresholds and recall settings).

    Returns:
        ``mAP`` (average over thresholds), ``mAP@t`` per threshold and ``Rk@t`` / ``Rkx@t`` (percent), with counts
        of videos, GT instances, evaluated classes, detections and ignored / unknown-video detections.
    """
    proto = PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
    classes = ground_truth.by_class()
    detections: dict[str, list[Detection]] = {}
    per_query: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    unknown_label = unknown_video = total = reversed_ = zero_length = 0
    for video, dets in predictions.items():
        for label, s, e, sc in dets:
            total += 1
            reversed_ += s > e
            zero_length += s == e
            if label not in classes:
                unknown_label += 1
                continue
            unknown_video += video not in ground_truth.instances
            detections.setdefault(label, []).append((video, s, e, sc))
            per_query.setdefault((video, label), []).append((s, e, sc))
    result = detection_map(classes, detections, proto.map_thresholds)
    metrics = {"mAP": result.average * 100}
    metrics.update({f"mAP@{threshold_key(t)}": v * 100 for t, v in zip(result.thresholds, result.per_threshold)})
    suffix = "x" if proto.per_gt else ""
    for k in proto.recall_ks:
        for t in proto.recall_thresholds:
            value = recall_at_k(ground_truth.by_query(), per_query, k, t, per_gt=proto.per_gt)
            metrics[f"R{k}{suffix}@{threshold_key(t)}"] = value * 100
    counts = {
        "videos": len(ground_truth.instances),
        "instances": sum(len(v) for v in ground_truth.instances.values()),
        "classes": len(result.per_class),
        "detections": total,
        "unknown_label": unknown_label,
        "unknown_video": unknown_video,
        "classes_without_detections": sum(1 for c in result.per_class if c not in detections),
        "reversed": reversed_,
        "zero_length": zero_length,
        "tied_tp_fp_pairs": result.tied_pairs,
    }
    return ScoreReport("tad", metrics, counts, _notes(counts, ground_truth))


def _notes(counts: dict[str, int], gt: TadGroundTruth) -> list[str]:
    notes = ["ActivityNet detection mAP (eval_detection.py): per class, greedy by score, each GT matched once."]
    if counts["unknown_label"]:
        notes.append(f"{counts['unknown_label']} detections name classes without GT instances and were ignored "
                     "(the official evaluator raises KeyError).")  # fmt: skip
    if counts["unknown_video"]:
        notes.append(f"{counts['unknown_video']} detections are on videos outside the ground truth; they count as "
                     "false positives, as officially.")  # fmt: skip
    absent = len(gt.classes) - counts["classes"]
    if absent:
        notes.append(f"{absent} classes have no GT instance here and are not in the mean (as officially).")
    for key, what in (("reversed", "are reversed (start > end): tIoU 0, so false positives (the official "
                       "segment_iou can give them NaN and count some as hits)"),
                      ("zero_length", "have zero length (start == end): tIoU 0, false positives")):  # fmt: skip
        if counts[key]:
            notes.append(f"{counts[key]} detections {what}.")
    if counts["tied_tp_fp_pairs"]:
        notes.append(f"{counts['tied_tp_fp_pairs']} pairs of a true and a false positive of one class share a score "
                     "(summed over the thresholds): their order is the submission order (videos as listed, then "
                     "each video's detections as listed), which the official argsort leaves unspecified, so its "
                     "mAP on this file may differ run to run.")  # fmt: skip
    return notes


def default_subset(data: Any, path: PathLike = "<ground truth>") -> tuple[str | None, list[str]]:
    """The subset scored when none is asked for, and a note saying so.

    A file whose videos name one subset or none: all of it (``None``). A file with several (ActivityNet's own
    ``activity_net.v1-3.min.json``): ``validation``, the subset its official evaluator scores -- never all subsets
    together, which mixes training videos into the numbers.

    Raises:
        DataError: Several subsets and none is ``validation`` (the message lists them; pick one with ``--subset``).
    """
    database = data.get("database") if isinstance(data, dict) else None
    entries = database.values() if isinstance(database, dict) else ()
    subsets = sorted({str(e["subset"]) for e in entries if isinstance(e, dict) and e.get("subset") is not None})
    if len(subsets) <= 1:
        return None, []
    if "validation" not in subsets:
        raise DataError(f"the ground truth holds the subsets {', '.join(subsets)} and none was chosen; pass "
                        "--subset NAME (subset=NAME) to score one", path=path)  # fmt: skip
    return "validation", [f"the ground truth holds the subsets {', '.join(subsets)}; only 'validation' is scored, "
                          "as the official evaluator does (--subset picks another)."]  # fmt: skip


def score_files(
    pred_path: PathLike, gt_path: PathLike, *, protocol: str = "activitynet", subset: str | None = None
) -> ScoreReport:
    """:func:`score` on an ActivityNet-style prediction file and ground-truth file (``vidllm score tad``)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown TAD protocol {protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    dup_gt: list[str] = []
    dup_pred: list[str] = []
    raw = read_json(gt_path, duplicates=dup_gt)
    subset_notes: list[str] = []
    if subset is None:
        subset, subset_notes = default_subset(raw, gt_path)
    gt = ground_truth_from_obj(raw, gt_path, subset=subset)
    if not gt.instances:
        where = f" with subset {subset!r}" if subset else ""
        raise DataError(f"no video{where} in the ground truth; check --subset (training / validation / testing)",
                        path=Path(gt_path))  # fmt: skip
    report = score(predictions_from_obj(read_json(pred_path, duplicates=dup_pred), pred_path), gt, protocol=protocol)
    report.counts.update(duplicate_gt=len(dup_gt), duplicate_pred=len(dup_pred))
    report.notes.extend(subset_notes)
    for n, which, example in ((len(dup_gt), "ground-truth", dup_gt), (len(dup_pred), "prediction", dup_pred)):
        if n:
            report.notes.append(f"{n} keys appear more than once in the {which} file (e.g. {example[0]!r}); only "
                                "the last value of each is read.")  # fmt: skip
    return report
