"""Dense video captioning scores, as TimeChat's ``metrics/dvc/eval_dvc.py`` prints them (YouCook2, ActivityNet).

For every ground-truth video (in GT-file order) and its predicted ``(timestamp, caption)`` list:

- **detection** precision/recall at tIoU 0.3/0.5/0.7/0.9 (strict ``IoU > t``, coverage sets, not a one-to-one
  matching), averaged over the thresholds; F1 from those two means;
- **dense CIDEr-D / METEOR**: at each threshold every (prediction, GT segment) pair with ``IoU >= t`` becomes an
  item, a prediction that matches nothing is scored against a random string; each video is its own corpus;
- **SODA_c** (the Vid2Seq/TimeChat variant): best order-preserving alignment of IoU x METEOR;
- **paragraph** CIDEr-D / METEOR of the joined captions, corpus-level.

Every number is the mean over all GT videos (a video without predictions scores 0), x100 and rounded to one
decimal as the official prints it. ``docs/scoring-conventions.md`` section 4 lists the conventions and
quirks reproduced here; the notes of the returned report say which of them affected a given run.

CIDEr needs the Stanford PTB tokenizer and METEOR its jar, both Java (see :mod:`vidllm.eval.java`). Without Java
the detection numbers, ``n_preds`` and ``Para_CIDER`` (tokenized in Python) are still reported.
"""

from __future__ import annotations

import functools
import logging
import math
import operator
import random
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from vidllm.eval.cider import cider_d
from vidllm.eval.iou import iou_dvc
from vidllm.eval.java import Meteor, java_problem, ptb_tokenize
from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, PathLike, read_interval, read_json

logger = logging.getLogger(__name__)

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
"""tIoU thresholds of detection P/R and of dense CIDEr/METEOR."""

SPLITS = {"train": 1, "val": 2, "test": 3}
"""The official takes the split from the GT file name (``val.*.json`` -> 2) and reports ``SODA_c_<number>``."""

_RANDOM_REF_SEED = 0


class Segment(NamedTuple):
    """One predicted event: ``timestamp = (start, end)`` in seconds, as given (may be reversed), and its caption."""

    timestamp: tuple[float, float]
    caption: str


@dataclass(frozen=True)
class GtVideo:
    """Ground truth of one video.

    Attributes:
        key: The prediction key, the basename of the GT ``image_id`` (e.g. ``xHr8X2Wpmno.mp4``).
        segments: ``(start, end)`` per event, in seconds.
        captions: One caption per event, each ending in ``"."`` (as the official builds them).
    """

    key: str
    segments: list[tuple[float, float]]
    captions: list[str]

    @property
    def paragraph(self) -> str:
        """The captions joined by single spaces: the reference of the paragraph metrics."""
        return " ".join(self.captions)


@dataclass(frozen=True)
class DvcGroundTruth:
    """A dense-captioning ground-truth file: its split (``train``/``val``/``test``) and its videos in file order."""

    split: str
    videos: list[GtVideo]


# ----------------------------------------------------------------------------------------------------------- loading


def load_gt(path: PathLike) -> DvcGroundTruth:
    """Read a COCO-caption style dense-captioning GT file (``{"annotations": [...]}``).

    The split comes from the file name, as in the official script: the part before the first dot must be ``train``,
    ``val`` or ``test`` (``val.caption_coco_format.json`` -> ``val``).

    Raises:
        FileNotFoundError: No such file.
        DataError: Bad JSON, a file name without a split prefix, or a malformed annotation.
    """
    path = Path(path)
    split = path.name.split(".")[0]
    if split not in SPLITS:
        raise DataError(
            f"the file name must start with one of {sorted(SPLITS)} followed by '.', as the official evaluator takes "
            f"the split from it (got {path.name!r}); rename it, e.g. to 'val.{path.name}'",
            path=path,
        )
    return parse_gt(read_json(path), split, path=path)


def parse_gt(obj: Any, split: str, *, path: PathLike | None = None) -> DvcGroundTruth:
    """Build the ground truth from a loaded GT JSON object.

    Captions come from ``pure_cap`` split on ``". "`` (YouCook2); without ``pure_cap``, from ``caption`` split on
    ``"."``, stripped and keeping pieces longer than 5 characters (ActivityNet). A ``"."`` is appended to each. Their
    number must equal the number of ``segments``.

    Args:
        obj: The loaded JSON (``{"annotations": [{"image_id", "segments", "pure_cap" | "caption", ...}]}``).
        split: ``train``, ``val`` or ``test``.
        path: The file, for error messages.

    Raises:
        DataError: Anything not of that form.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {sorted(SPLITS)}", path=path)
    annotations = obj.get("annotations") if isinstance(obj, dict) else None
    if not isinstance(annotations, list):
        raise DataError("expected an object with an 'annotations' list", path=path)
    if not annotations:
        raise DataError("has no annotation; expected at least one video to score against", path=path)
    return DvcGroundTruth(split, [_parse_gt_video(a, i, path) for i, a in enumerate(annotations)])


def _parse_gt_video(ann: Any, index: int, path: PathLike | None) -> GtVideo:
    if not isinstance(ann, dict):
        raise DataError(f"expected an object, got {type(ann).__name__}", path=path, record=index)
    image_id = ann.get("image_id")
    if not isinstance(image_id, str):
        raise DataError(f"expected a string, got {image_id!r}", path=path, record=index, field="image_id")
    key = image_id.split("/")[-1]
    segments = ann.get("segments")
    if not isinstance(segments, list) or not segments:
        raise DataError("expected a non-empty list of [start, end]", path=path, record=key, field="segments")
    segments = [read_interval(s, path, key, "segments") for s in segments]
    captions = _gt_captions(ann, path, key)
    if len(captions) != len(segments):
        raise DataError(
            f"{len(segments)} segments but {len(captions)} captions; they must match one to one",
            path=path,
            record=key,
        )
    return GtVideo(key, segments, [c + "." for c in captions])


def _gt_captions(ann: dict, path: PathLike | None, key: str) -> list[str]:
    """The caption split the official uses: YouCook2's ``pure_cap`` on ``". "``, else ActivityNet's ``caption``."""
    if "pure_cap" in ann:
        if not isinstance(ann["pure_cap"], str):
            raise DataError(f"expected a string, got {ann['pure_cap']!r}", path=path, record=key, field="pure_cap")
        return ann["pure_cap"].split(". ")
    if not isinstance(ann.get("caption"), str):
        raise DataError("expected a 'pure_cap' or a 'caption' string", path=path, record=key, field="caption")
    return [c.strip(" ") for c in ann["caption"].split(".") if len(c) > 5]


def load_predictions(path: PathLike, *, duplicates: list[str] | None = None) -> dict[str, Any]:
    """Read a prediction file ``{"<vid>.mp4": [{"timestamp": [s, e], "caption": str}, ...]}``.

    Only the top level is checked here; :func:`score` checks the entries of the videos it scores. ``duplicates``
    collects keys given twice in one object (the last value is read).
    """
    obj = read_json(path, duplicates=duplicates)
    if not isinstance(obj, dict):
        raise DataError(f"expected an object mapping video keys to lists, got {type(obj).__name__}", path=path)
    return obj


def parse_video_predictions(key: str, entries: Any, *, path: PathLike | None = None) -> list[Segment]:
    """Check and convert one video's prediction list.

    Raises:
        DataError: ``entries`` is not a list of ``{"timestamp": [two finite numbers], "caption": str}``; the message
            names the file, the video key (with the entry index) and the field.
    """
    if not isinstance(entries, list):
        raise DataError(f"expected a list of segments, got {type(entries).__name__}", path=path, record=key)
    segments = []
    for i, entry in enumerate(entries):
        record = f"{key}[{i}]"
        if not isinstance(entry, dict):
            raise DataError(f"expected an object, got {type(entry).__name__}", path=path, record=record)
        if "timestamp" not in entry:
            raise DataError("missing", path=path, record=record, field="timestamp")
        caption = entry.get("caption")
        if not isinstance(caption, str):
            raise DataError(f"expected a string, got {caption!r}", path=path, record=record, field="caption")
        segments.append(Segment(read_interval(entry["timestamp"], path, record, "timestamp"), caption))
    return segments


# -------------------------------------------------------------------------------------------------------- detection


def detection_precision_recall(
    preds: Sequence[Sequence[float]], gts: Sequence[Sequence[float]], thresholds: Sequence[float] = THRESHOLDS
) -> tuple[list[float], list[float]]:
    """Per-threshold precision and recall of one video's predicted segments, as the official computes them.

    A prediction counts as covered at ``t`` if its IoU (:func:`~vidllm.eval.iou.iou_dvc`) with *any* GT segment is
    strictly greater than ``t``, and a GT segment if any prediction's is; several predictions may cover the same GT
    segment and all count. Precision = covered predictions / max(K, 1), recall = covered GT segments / S.

    Returns:
        ``(precisions, recalls)``, one value per threshold.
    """
    covered_pred: list[set[int]] = [set() for _ in thresholds]
    covered_gt: list[set[int]] = [set() for _ in thresholds]
    for g, gt in enumerate(gts):
        for p, pred in enumerate(preds):
            overlap = iou_dvc(pred, gt)
            for k, t in enumerate(thresholds):
                if overlap > t:
                    covered_pred[k].add(p)
                    covered_gt[k].add(g)
    precisions = [len(c) / max(float(len(preds)), 1.0) for c in covered_pred]
    recalls = [len(c) / float(len(gts)) for c in covered_gt]
    return precisions, recalls


def _seq_mean(values: Sequence[float]) -> float:
    """Mean summed strictly left to right, as the official's ``sum(v) / len(v)`` on Python <= 3.11.

    Python 3.12's ``sum`` compensates rounding errors, so it would differ in the last bit, which decides the printed
    digit when a value sits on a rounding boundary.
    """
    return functools.reduce(operator.add, values, 0.0) / len(values)


def _f1(precision: float, recall: float) -> float:
    return 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0


# ---------------------------------------------------------------------------------------------- caption matching


@dataclass
class _Item:
    """One scored pair: GT caption ``gt_index`` (``None``: a random string) as reference, prediction as hypothesis."""

    gt_index: int | None
    pred_index: int


def _match_items(preds: list[Segment], gt: GtVideo, thresholds: Sequence[float]) -> list[dict[str, _Item]]:
    """The official's caption items of one video, per threshold, keyed by the official's running item number.

    Predictions are visited in list order and GT segments in file order; every pair with ``IoU >= t`` (non-strict,
    unlike detection) is an item at ``t``. A prediction with no such pair at ``t`` gets one item against a random
    string. The running number is shared by all thresholds, and the key is its ``str``: the scorers visit items in
    sorted-key order, which fixes the summation order.
    """
    items: list[dict[str, _Item]] = [{} for _ in thresholds]
    counter = 0
    for p, pred in enumerate(preds):
        matched = [False] * len(thresholds)
        for g, gt_segment in enumerate(gt.segments):
            overlap = iou_dvc(pred.timestamp, gt_segment)
            for k, t in enumerate(thresholds):
                if overlap >= t:
                    items[k][str(counter)] = _Item(g, p)
                    counter += 1
                    matched[k] = True
        for k in range(len(thresholds)):
            if not matched[k]:
                items[k][str(counter)] = _Item(None, p)
                counter += 1
    return items


def _random_reference(rng: random.Random, avoid: set[str]) -> str:
    """A 10-20 letter lowercase string that is not in ``avoid``: one token that matches no caption.

    The official draws a new one per unmatched item from the unseeded ``random`` module. Its content does not change
    any score as long as it matches nothing (the item scores 0, and counts as one reference token in METEOR's
    aggregate), so one seeded string per run gives the same numbers, reproducibly, and lets METEOR score identical
    items once.
    """
    while True:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(10, 20)))
        if word not in avoid:
            return word


# ----------------------------------------------------------------------------------------------------------- SODA_c


def soda_alignment(scores: Sequence[Sequence[float]]) -> float:
    """Best total score of an order-preserving one-to-one matching of rows (GT) to columns (predictions).

    The dynamic programme of SODA (fujiso/SODA, as TimeChat runs it): each cell takes the best of skipping the GT
    row, skipping the prediction column, or matching the pair (its score plus the best before both). On the first
    row and column, matching takes the cell's score alone.
    """
    rows, cols = len(scores), len(scores[0]) if scores else 0
    best = [[0.0] * cols for _ in range(rows)]
    for i in range(rows):
        for j in range(cols):
            options = [best[i - 1][j - 1] + scores[i][j] if i and j else scores[i][j]]
            if i:
                options.append(best[i - 1][j])
            if j:
                options.append(best[i][j - 1])
            best[i][j] = max(options)
    return best[-1][-1] if rows and cols else 0.0


def _soda_c(iou: list[list[float]], meteor_rows: list[list[float]]) -> float:
    """SODA_c F-measure of one video from its IoU and METEOR matrices (S GT rows x K prediction columns)."""
    score = [[a * b for a, b in zip(iou_row, met_row)] for iou_row, met_row in zip(iou, meteor_rows)]
    total = soda_alignment(score)
    n_gt, n_pred = len(iou), len(iou[0])
    precision, recall = total / n_pred, total / n_gt
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _string_order(n: int) -> list[int]:
    """``0..n-1`` in the official's ``sorted(str(i))`` order ('0', '1', '10', '11', '2', ...)."""
    return sorted(range(n), key=str)


# ------------------------------------------------------------------------------------------------------- paragraphs


def parse_sent(text: str) -> list[str]:
    """The paragraph metrics' tokenizer: every non-letter (digits too) becomes a space; strip, lowercase, split."""
    return re.sub("[^a-zA-Z]", " ", text).strip().lower().split()


# ---------------------------------------------------------------------------------------------------------- scoring


@dataclass
class _Video:
    """One GT video with its predictions and its per-video results (filled in step by step)."""

    gt: GtVideo
    preds: list[Segment]
    has_key: bool
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    cider: float = 0.0
    meteor: float = 0.0
    soda: float = 0.0


def score(
    predictions: Mapping[str, Any],
    gt: DvcGroundTruth,
    *,
    java: bool = True,
    meteor: Meteor | None = None,
    decimals: int | None = 1,
    source: PathLike | None = None,
) -> ScoreReport:
    """Score dense-captioning predictions against a ground truth, as TimeChat's ``eval_dvc.py`` does.

    Args:
        predictions: ``{"<vid>.mp4": [{"timestamp": [s, e], "caption": str}, ...]}``. Keys not in the GT are ignored;
            a GT video without a key, or with an empty list, scores 0.
        gt: From :func:`load_gt` / :func:`parse_gt`.
        java: Compute the Java-based metrics (dense CIDEr and METEOR, SODA_c, Para_METEOR). If False, or if Java is
            not found, they are left out and a note says so.
        meteor: A running :class:`~vidllm.eval.java.Meteor` to reuse (it stays open); by default one is started and
            closed here (10-15 s).
        decimals: Round as the official prints (1); ``None`` keeps the full value (still x100).
        source: The prediction file, named in error messages.

    Returns:
        A :class:`ScoreReport` with task ``dvc`` and, in the official print order: ``Para_CIDER``, ``Para_METEOR``,
        ``CIDER``, ``METEOR``, ``Precision@0.3``, ``Recall@0.3``, ... ``Recall@0.9``, ``Precision_Mean``,
        ``Recall_Mean``, ``F1_Score``, ``SODA_c_<split>``, ``n_preds`` and the ``SODA_c_<other>`` placeholders
        (-100.0). All in percent except ``n_preds`` (mean predictions per video). Counts: ``videos``, ``missing``
        (no prediction key), ``empty`` (empty list), ``extra`` (prediction keys not in the GT, ignored),
        ``duplicate_gt`` (GT videos listed again); :func:`score_files` adds ``duplicate_pred`` (keys given twice).

    Raises:
        DataError: A prediction entry of a GT video is malformed.
    """
    videos = _collect(predictions, gt, source)
    problem = java_problem() if java else None
    use_java = java and problem is None
    own_meteor = use_java and meteor is None
    if own_meteor:
        meteor = Meteor()  # loads for 10-15 s in the background while the pure-Python part runs
    try:
        for v in videos:
            v.precision, v.recall = detection_precision_recall([s.timestamp for s in v.preds], v.gt.segments)
        para_pairs = _paragraph_pairs(videos)
        metrics: dict[str, float] = {"Para_CIDER": _para_cider(para_pairs)}
        if use_java:
            metrics["Para_METEOR"] = _java_scores(videos, para_pairs, meteor)
    finally:
        if own_meteor:
            meteor.close()
    metrics = {k: _percent(v, decimals) for k, v in metrics.items()}
    metrics.update(_dense_metrics(videos, gt.split, use_java, decimals))

    notes = _quirk_notes(videos, gt.split, use_java)
    if problem is not None:
        logger.warning("skipping CIDER, METEOR, SODA_c and Para_METEOR: %s", problem)
        notes.append(f"CIDER, METEOR, SODA_c and Para_METEOR were skipped because they need Java: {problem}.")
    elif not java:
        notes.append("CIDER, METEOR, SODA_c and Para_METEOR were skipped on request (java=False).")
    counts = {
        "videos": len(videos),
        "missing": sum(not v.has_key for v in videos),
        "empty": sum(v.has_key and not v.preds for v in videos),
        "extra": len(set(predictions) - {v.gt.key for v in videos}),
        "duplicate_gt": len(videos) - len({v.gt.key for v in videos}),
    }
    if counts["duplicate_gt"]:
        notes.append(f"{counts['duplicate_gt']} ground-truth videos are listed more than once and count once per "
                     "listing in every mean; give every video one annotation.")  # fmt: skip
    return ScoreReport("dvc", metrics, counts, notes)


def score_files(
    pred_path: PathLike,
    gt_path: PathLike,
    *,
    java: bool = True,
    meteor: Meteor | None = None,
    decimals: int | None = 1,
) -> ScoreReport:
    """:func:`score` on a prediction file and a GT file (whose name must start with ``train.``/``val.``/``test.``)."""
    duplicates: list[str] = []
    predictions, gt = load_predictions(pred_path, duplicates=duplicates), load_gt(gt_path)
    report = score(predictions, gt, java=java, meteor=meteor, decimals=decimals, source=pred_path)
    report.counts["duplicate_pred"] = len(duplicates)
    if duplicates:
        report.notes.append(f"{len(duplicates)} keys appear more than once in the prediction file (e.g. "
                            f"{duplicates[0]!r}); only the last value of each is read.")  # fmt: skip
    return report


def _collect(predictions: Mapping[str, Any], gt: DvcGroundTruth, source: PathLike | None) -> list[_Video]:
    """Pair every GT video, in GT order, with its checked predictions (none if the key is missing)."""
    if not isinstance(predictions, Mapping):
        raise DataError(
            f"expected an object mapping video keys to lists, got {type(predictions).__name__}", path=source
        )
    videos = []
    for video in gt.videos:
        has_key = video.key in predictions
        preds = parse_video_predictions(video.key, predictions[video.key], path=source) if has_key else []
        videos.append(_Video(video, preds, has_key))
    return videos


def _percent(value: float, decimals: int | None) -> float:
    value = float(value) * 100
    return round(value, decimals) if decimals is not None else value


def _dense_metrics(videos: list[_Video], split: str, use_java: bool, decimals: int | None) -> dict[str, float]:
    """The per-video means, in the official print order (after the paragraph metrics)."""

    def mean(values: list[float]) -> float:
        value = _seq_mean(values) * 100
        return round(value, decimals) if decimals is not None else value

    out: dict[str, float] = {}
    if use_java:
        out["CIDER"] = mean([v.cider for v in videos])
        out["METEOR"] = mean([v.meteor for v in videos])
    for k, t in enumerate(THRESHOLDS):
        out[f"Precision@{t}"] = mean([v.precision[k] for v in videos])
        out[f"Recall@{t}"] = mean([v.recall[k] for v in videos])
    precisions = [_seq_mean(v.precision) for v in videos]
    recalls = [_seq_mean(v.recall) for v in videos]
    out["Precision_Mean"] = mean(precisions)
    out["Recall_Mean"] = mean(recalls)
    out["F1_Score"] = mean([_f1(p, r) for p, r in zip(precisions, recalls)])
    split_id = SPLITS[split]
    if use_java:
        out[f"SODA_c_{split_id}"] = mean([v.soda for v in videos])
    n_preds = _seq_mean([float(len(v.preds)) for v in videos])
    out["n_preds"] = round(n_preds, decimals) if decimals is not None else n_preds
    if use_java:
        # The official appends -1 per video for the SODA_c keys of the splits the GT file is not.
        for other in (1, 2):
            if other != split_id:
                out[f"SODA_c_{other}"] = -100.0
    return out


def _paragraph_pairs(videos: list[_Video]) -> list[tuple[str, str]]:
    """(predicted, GT) paragraphs, tokenized with :func:`parse_sent`, paired as the official pairs them.

    A predicted paragraph (captions joined by ``". "``) exists only for videos whose key is in the predictions, and
    the list is zipped with *all* GT paragraphs: after the first missing key, predictions meet the wrong GT
    paragraph and the last GT paragraphs are dropped.
    """
    predicted = [". ".join(s.caption for s in v.preds) for v in videos if v.has_key]
    return [(" ".join(parse_sent(p)), " ".join(parse_sent(v.gt.paragraph))) for p, v in zip(predicted, videos)]


def _para_cider(pairs: list[tuple[str, str]]) -> float:
    if not pairs:
        return 0.0
    order = _string_order(len(pairs))
    return cider_d([[pairs[i][1]] for i in order], [pairs[i][0] for i in order])[0]


def _finite(value: float) -> float:
    """NaN -> 0, as the official's ``np.nan_to_num`` does."""
    return 0.0 if math.isnan(value) else value


def _java_scores(videos: list[_Video], para_pairs: list[tuple[str, str]], meteor: Meteor) -> float:
    """Fill in each video's dense CIDEr, dense METEOR and SODA_c, and return Para_METEOR (all need Java).

    Every METEOR call of the run is collected first and sent in one batch (:meth:`Meteor.score_many`); each keeps
    its own aggregate, exactly as the official's separate calls do.
    """
    # One tokenizer call for every caption of the run (the official makes ten; tokenizing is line by line).
    captions = [c for v in videos for c in v.gt.captions] + [s.caption for v in videos for s in v.preds]
    tokens = dict(zip(captions, ptb_tokenize(captions)))
    random_ref = _random_reference(random.Random(_RANDOM_REF_SEED), {w for t in tokens.values() for w in t.split()})
    para_order = _string_order(len(para_pairs))
    calls = [([[para_pairs[i][1]] for i in para_order], [para_pairs[i][0] for i in para_order])] if para_pairs else []
    scored = [v for v in videos if v.preds]  # a video without predictions scores 0 everywhere, as in the official
    soda_cells = []
    for v in scored:
        gt_tok, pred_tok = [tokens[c] for c in v.gt.captions], [tokens[s.caption] for s in v.preds]
        dense = _dense_calls(_match_items(v.preds, v.gt, THRESHOLDS), gt_tok, pred_tok, random_ref)
        v.cider = float(np.mean([cider_d(refs, hyps)[0] for refs, hyps in dense]))  # np.mean, as the official
        soda_cells.append(_soda_cells(v, gt_tok, pred_tok))
        calls += dense + ([(soda_cells[-1].refs, soda_cells[-1].hyps)] if soda_cells[-1].cells else [])
    logger.info("METEOR: %d calls, %d items", len(calls), sum(len(hyps) for _, hyps in calls))
    results = iter(meteor.score_many(calls))
    para_meteor = _finite(next(results)[0]) if para_pairs else 0.0
    for v, cells in zip(scored, soda_cells):
        v.meteor = float(np.mean([_finite(next(results)[0]) for _ in THRESHOLDS]))
        v.soda = _soda_from_meteor(cells, next(results)[1] if cells.cells else [])
    return para_meteor


def _dense_calls(
    items: list[dict[str, _Item]], gt_tok: list[str], pred_tok: list[str], random_ref: str
) -> list[tuple[list[list[str]], list[str]]]:
    """One video's ``(refs, hyps)`` per threshold, items in sorted-key order: each is its own CIDEr/METEOR corpus."""
    calls = []
    for per_threshold in items:
        keys = sorted(per_threshold)
        refs = [
            [gt_tok[per_threshold[k].gt_index] if per_threshold[k].gt_index is not None else random_ref] for k in keys
        ]
        calls.append((refs, [pred_tok[per_threshold[k].pred_index] for k in keys]))
    return calls


@dataclass
class _SodaCells:
    """The cells of one video's SODA_c score matrix (IoU x METEOR, S GT rows x K prediction columns) to score.

    Only cells with IoU > 0 need METEOR: elsewhere the product is 0 whatever METEOR says (it is finite and
    non-negative), so skipping them changes no number and saves about 85% of the METEOR work on YouCook2.

    Attributes:
        iou: The IoU matrix, columns in prediction-list order.
        cells: ``(row, column)`` of the cells with IoU > 0.
        refs: Per cell, the METEOR references (the prediction the official puts in that column).
        hyps: Per cell, the METEOR hypothesis (the GT caption of that row).
    """

    iou: list[list[float]]
    cells: list[tuple[int, int]]
    refs: list[list[str]]
    hyps: list[str]


def _soda_cells(v: _Video, gt_tok: list[str], pred_tok: list[str]) -> _SodaCells:
    """The METEOR items of one video's SODA_c, with the official's swapped arguments and column order.

    The official scores each GT caption as the METEOR *hypothesis* against each prediction as the *reference*, and
    reads the scores back in string order of the prediction index ('0', '1', '10', '2', ...) but uses them as if in
    list order: column ``c`` of the METEOR matrix holds the prediction ``columns[c]``, while column ``c`` of the IoU
    matrix is prediction ``c``. From 11 predictions on, the two differ; both are reproduced. Per-item METEOR does not
    depend on how items are grouped into calls, so one call per video gives the official's numbers (it makes one
    per GT caption).
    """
    columns = _string_order(len(pred_tok))
    iou = [[iou_dvc(s.timestamp, g) for s in v.preds] for g in v.gt.segments]
    cells = [(i, c) for i, row in enumerate(iou) for c, value in enumerate(row) if value > 0]
    return _SodaCells(iou, cells, [[pred_tok[columns[c]]] for _, c in cells], [gt_tok[i] for i, _ in cells])


def _soda_from_meteor(soda: _SodaCells, scores: list[float]) -> float:
    """SODA_c of one video from the METEOR scores of its :func:`_soda_cells` items (0 for the cells not scored)."""
    meteor_rows = [[0.0] * len(row) for row in soda.iou]
    for (i, c), value in zip(soda.cells, scores):
        meteor_rows[i][c] = _finite(value)
    return _soda_c(soda.iou, meteor_rows)


def _quirk_notes(videos: list[_Video], split: str, use_java: bool) -> list[str]:
    """Notes on the official quirks this run reproduced."""
    notes = []
    missing = [v for v in videos if not v.has_key]
    present = [v for v in videos if v.has_key]
    misaligned = sum(p is not g for p, g in zip(present, videos))
    if missing:
        notes.append(
            f"{len(missing)} GT videos have no prediction key; every metric but the paragraph ones scores them 0. As "
            "in the official script, Para_CIDER/Para_METEOR pair the predicted paragraphs with the GT paragraphs in "
            f"file order, so {misaligned} predicted paragraphs were compared with another video's GT paragraph and "
            f"the last {len(missing)} GT paragraphs were left out."
        )
    if not use_java:
        return notes
    placeholders = [f"SODA_c_{i}" for i in (1, 2) if i != SPLITS[split]]
    notes.append(
        f"{' and '.join(placeholders)} = -100.0 is not a score: the official script computes SODA_c only for the GT "
        f"file's split ({split} -> SODA_c_{SPLITS[split]}) and records -1 per video for the other key(s)."
    )
    long = sum(len(v.preds) >= 11 for v in videos)
    if long:
        notes.append(
            f"SODA_c: {long} videos have 11 or more predictions; as in the official script their METEOR columns are "
            "in string order ('0', '1', '10', '11', '2', ...) and so misaligned with the IoU columns."
        )
    if any(v.preds for v in videos):
        notes.append(
            "CIDER/METEOR: a prediction that overlaps no GT segment at a threshold is scored against a random "
            "string, as in the official script: it scores 0 and counts as an item."
        )
    return notes
