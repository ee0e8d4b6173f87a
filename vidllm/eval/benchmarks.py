"""The benchmarks an evaluation run knows: how queries come out of a ground-truth file, how answers are read, and how
the read answers become the prediction files and scores of the official evaluators.

* ``charades_sta`` / ``activitynet_grounding`` (task ``mr``): TimeChat's COCO-caption style
  ``{"annotations": [{"image_id", "caption", "timestamp", "id"}]}`` (``vidllm convert charades_sta`` /
  ``activitynet --tasks dvc,mr``); scored by :mod:`vidllm.eval.tvg`.
* ``qvhighlights`` (tasks ``mr``, ``vhd``): the release's JSON lines (``qid, query, duration, vid,
  relevant_windows, relevant_clip_ids, saliency_scores``); with ``mr`` a moment_detr submission scored by
  :mod:`vidllm.eval.qvhl`, highlights alone scored by :mod:`vidllm.eval.highlights` (TimeChat).
* ``youcook2`` / ``activitynet_dvc`` (task ``dvc``): COCO-caption style dense captions (``image_id, segments,
  pure_cap`` or ``caption``) in a file named ``val.*``; scored by :mod:`vidllm.eval.dvc`.
* ``tvsum`` (task ``vs``): QVHighlights-style lines with one score column per annotator (``vidllm convert tvsum``);
  scored by :mod:`vidllm.eval.summarization`.
* ``charades_tad`` / ``activitynet_tad`` / ``ego4d_mq`` (task ``tad``): ActivityNet-style detection ground truth
  (``vidllm convert charades_tad|activitynet_tad|ego4d_mq``, or ActivityNet's own file, of which the ``validation``
  subset is used); one query per (video, class) -- every class, or with ``tad_queries=present`` only those in the
  video; answers become an ActivityNet detection submission scored by :mod:`vidllm.eval.tad` (TAD_PROTOCOLS).

Answers are read with :mod:`vidllm.time` only (``parse_intervals``, ``parse_highlights`` + ``saliency_per_clip``,
``parse_captions``). An answer that yields nothing, or a sample whose video could not be read, becomes the prediction
an official formatter writes for an unreadable answer: no interval (a miss), an all-zero saliency list (TimeChat's
``format_vhd.py``), no caption. Such samples stay in every denominator and are counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidllm.eval import dvc, highlights, qvhl, summarization, tad, tvg
from vidllm.eval.iou import iou_hull
from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, PathLike, read_json, read_json_or_jsonl, write_json, write_jsonl
from vidllm.time import parse_captions, parse_highlights, parse_intervals, parse_ranked_intervals, saliency_per_clip

CLIP_SECONDS = 2.0
"""Saliency clip length of QVHighlights and of vidllm's TVSum ground truth: clip ``i`` covers ``[2i, 2i + 2)``."""


@dataclass(frozen=True)
class Benchmark:
    """What an evaluation of one benchmark needs to know.

    Attributes:
        name: Registry key.
        gt_format: ``tvg``, ``highlights`` or ``dvc`` (which reader and which scorer).
        tasks: The tasks its ground truth can score.
        dataset_name: Default value of ``<dataset_placeholder>`` in prompts.
        description: One line for ``--help`` and the README.
    """

    name: str
    gt_format: str
    tasks: tuple[str, ...]
    dataset_name: str
    description: str


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("charades_sta", "tvg", ("mr",), "charades", "Charades-STA grounding: R1@0.3/0.5/0.7, mIoU"),
        Benchmark("activitynet_grounding", "tvg", ("mr",), "activitynet", "ActivityNet Captions grounding: R1, mIoU"),
        Benchmark(
            "qvhighlights",
            "highlights",
            ("mr", "vhd"),
            "QVHighlights",
            "QVHighlights moment retrieval (MR-*) and highlights (HL-min-*)",
        ),  # fmt: skip
        Benchmark("youcook2", "dvc", ("dvc",), "YouCook2", "YouCook2 dense captioning: CIDER, METEOR, SODA_c, F1"),
        Benchmark("activitynet_dvc", "dvc", ("dvc",), "activitynet", "ActivityNet Captions dense captioning"),
        Benchmark("tvsum", "highlights", ("vs",), "TVSum", "TVSum: top-5 mAP (UMT/UniVTG), summary F1"),
        Benchmark("charades_tad", "tad", ("tad",), "charades", "Charades action detection: mAP@0.1:0.7, R@k"),
        Benchmark("activitynet_tad", "tad", ("tad",), "activitynet", "ActivityNet v1.3 detection: mAP@0.5:0.95"),
        Benchmark("ego4d_mq", "tad", ("tad",), "ego4d", "Ego4D moment queries: mAP@0.1:0.5, R1x/R5x"),
        Benchmark("synthetic", "tvg", ("mr",), "synthetic", "vidllm.synthetic moment retrieval (vidllm quickstart)"),
    )
}


TAD_PROTOCOLS = {"charades_tad": "charades", "activitynet_tad": "activitynet", "ego4d_mq": "ego4d"}
"""The :data:`vidllm.eval.tad.PROTOCOLS` entry (thresholds, recall) each TAD benchmark is scored with."""


def get_benchmark(name: str) -> Benchmark:
    """The benchmark registered as ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; valid benchmarks: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


# ------------------------------------------------------------------------------------------------- ground truth


@dataclass(frozen=True)
class GtEntry:
    """One ground-truth query (or video, for dense captioning).

    Attributes:
        key: The id the scorer uses: the ``id`` (tvg), the ``qid`` (highlights) or the video key (dvc).
        vid: The video id (GT ``image_id`` without its extension, or ``vid``); fills ``{vid}`` of the template.
        query: The sentence to ground, or ``None`` (dense captioning).
        duration: The video's length in seconds from the GT, when it has one.
        record: The GT record itself (for plots and the prediction files).
    """

    key: int | str
    vid: str
    query: str | None
    duration: float | None
    record: dict


@dataclass(frozen=True)
class GroundTruth:
    """A loaded ground-truth file.

    Attributes:
        benchmark: Its benchmark.
        path: The file.
        entries: The queries (videos for dense captioning) in file order.
        split: The dense-captioning split from the file name (``val`` ...), else ``None``.
    """

    benchmark: Benchmark
    path: Path
    entries: list[GtEntry]
    split: str | None = None

    def select(self, limit: int | None) -> GroundTruth:
        """The first ``limit`` entries (all with ``None``)."""
        if limit is None:
            return self
        return GroundTruth(self.benchmark, self.path, self.entries[:limit], self.split)


def _stem(name: str) -> str:
    base = name.split("/")[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def _duration(value: Any) -> float | None:
    return float(value) if highlights.is_number(value) and value > 0 else None


def load_ground_truth(benchmark: Benchmark, path: PathLike, *, tad_queries: str = "all") -> GroundTruth:
    """Read and check a ground-truth file of ``benchmark``.

    ``tad_queries`` (TAD benchmarks): ``all`` classes per video or only the ``present`` ones.

    Raises:
        FileNotFoundError: No such file.
        DataError: The file is not in the benchmark's form (the message names the file, record and field).
    """
    path = Path(path)
    if benchmark.gt_format == "tad":
        return _load_tad(benchmark, path, tad_queries)
    if benchmark.gt_format == "tvg":
        intervals = tvg.load_ground_truth(path)  # checks ids and timestamps
        entries = []
        for i, ann in enumerate(read_json(path)["annotations"]):
            caption, image_id = ann.get("caption"), ann.get("image_id")
            if not isinstance(caption, str) or not isinstance(image_id, str):
                raise DataError("expected 'caption' and 'image_id' strings", path=path, record=f"annotations[{i}]")
            key = int(ann["id"])
            entries.append(GtEntry(key, _stem(image_id), caption, _duration(ann.get("duration")),
                                   {**ann, "timestamp": intervals[key]}))  # fmt: skip
        return GroundTruth(benchmark, path, entries)
    if benchmark.gt_format == "highlights":
        records = highlights.as_record_list(read_json_or_jsonl(path), path, "ground-truth")
        entries = []
        for i, rec in enumerate(records):
            qid = highlights.record_qid(rec, i, path)
            for name in ("vid", "query"):
                if not isinstance(rec.get(name), str):
                    raise DataError(f"expected a string, got {rec.get(name)!r}", path=path, record=qid, field=name)
            duration = _duration(rec.get("duration"))
            if duration is None:
                raise DataError(f"expected a positive number, got {rec.get('duration')!r}", path=path, record=qid,
                                field="duration")  # fmt: skip
            entries.append(GtEntry(qid, rec["vid"], rec["query"], duration, rec))
        return GroundTruth(benchmark, path, entries)
    gt = dvc.load_gt(path)
    raw = read_json(path)["annotations"]
    entries = []
    for video, ann in zip(gt.videos, raw, strict=True):
        segments = [list(s) for s in video.segments]
        record = {"image_id": ann["image_id"], "segments": segments, "captions": video.captions}
        entries.append(GtEntry(video.key, _stem(video.key), None, _duration(ann.get("duration")), record))
    return GroundTruth(benchmark, path, entries, split=gt.split)


def _load_tad(benchmark: Benchmark, path: Path, queries: str) -> GroundTruth:
    """One entry per (video, class): key ``"<vid>#<class>"``, the class phrase as the query."""
    from vidllm.data.convert.tad import class_phrase

    if queries not in ("all", "present"):
        raise ValueError(f"tad_queries must be 'all' or 'present', got {queries!r}")
    raw = read_json(path)
    subsets = {e.get("subset") for e in (raw.get("database") or {}).values() if isinstance(e, dict)}
    # ActivityNet's own file holds every subset; its evaluator scores the validation one, and so do we.
    gt = tad.ground_truth_from_obj(raw, path, subset="validation" if len(subsets) > 1 else None)
    entries = []
    for vid, items in gt.instances.items():
        present = {label for *_, label in items}
        for label in gt.classes if queries == "all" else [c for c in gt.classes if c in present]:
            segments = [[s, e] for s, e, c in items if c == label]
            record = {"video": vid, "label": label, "segments": segments}
            entries.append(GtEntry(f"{vid}#{label}", vid, class_phrase(label), gt.durations.get(vid), record))
    return GroundTruth(benchmark, path, entries)


# ------------------------------------------------------------------------------------------------------ queries


@dataclass(frozen=True)
class Query:
    """One question of a run.

    Attributes:
        id: Unique in the run: the GT key, or ``"<key>:<task>"`` when a run asks several tasks per query.
        task: ``mr``, ``vhd``, ``dvc`` or ``vs``.
        entry: Its ground-truth entry.
        video: The video's path under the video root (from the template).
    """

    id: str
    task: str
    entry: GtEntry
    video: str


def build_queries(gt: GroundTruth, tasks: Sequence[str], video_template: str = "{vid}.mp4") -> list[Query]:
    """Every (entry, task) question of a run, entries in file order, tasks in the given order.

    Raises:
        ValueError: A task the benchmark cannot score, or duplicate GT keys.
    """
    bad = [t for t in tasks if t not in gt.benchmark.tasks]
    if bad:
        raise ValueError(
            f"the {gt.benchmark.name} benchmark scores {', '.join(gt.benchmark.tasks)}, not {', '.join(bad)}; "
            f"use the matching script (eval/mr.py for mr, eval/hd.py for vhd, eval/dvc.py, eval/vs.py, eval/tad.py)"
        )
    keys = [e.key for e in gt.entries]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise DataError(f"the ground truth lists {dup!r} more than once; ids must be unique", path=gt.path)
    multi = len(tasks) > 1
    return [
        Query(f"{e.key}:{t}" if multi else str(e.key), t, e, video_template.format(vid=e.vid))
        for e in gt.entries
        for t in tasks
    ]


def prompt_task(task: str) -> str:
    """The ``eval_prompts.json`` task of a run task (summarization asks the highlight question)."""
    return "vhd" if task == "vs" else task


# ------------------------------------------------------------------------------------------------------ answers


def parse_answer(
    task: str,
    answer: str,
    *,
    fps: float | None,
    duration: float | None = None,
    num_bins: int | None = None,
    gt_duration: float | None = None,
) -> dict[str, Any]:
    """Read an answer with :mod:`vidllm.time`.

    Args:
        task: ``mr``, ``vhd``, ``vs`` or ``dvc``.
        answer: The model's text.
        fps: The sampling rate (reads "Frame n" answers as ``n / fps`` seconds).
        duration: The video's length: intervals are clipped to it and those starting after it dropped (the
            ``bins`` scheme also needs it to read its tokens); ``None`` reads without clipping.
        num_bins: The ``bins`` scheme's token count.
        gt_duration: The GT duration, which sets the clip count of highlight answers (``int(duration / 2)``).

    Returns:
        ``{"intervals": [[s, e], ...]}`` (mr), ``{"points": [[t, score], ...], "saliency": [one per 2-s clip]}``
        (vhd, vs) or ``{"captions": [[s, e, text], ...]}`` (dvc); empty lists when nothing parses.
    """
    if task == "mr":
        return {"intervals": [list(p) for p in parse_intervals(answer, duration=duration, fps=fps, num_bins=num_bins)]}
    if task in ("vhd", "vs"):
        points = parse_highlights(answer, fps=fps, duration=duration, num_bins=num_bins)
        num_clips = int(gt_duration / CLIP_SECONDS) if gt_duration else 0
        return {"points": [list(p) for p in points], "saliency": saliency_per_clip(points, num_clips)}
    if task == "dvc":
        return {"captions": [list(c) for c in parse_captions(answer, duration=duration, fps=fps, num_bins=num_bins)]}
    if task == "tad":  # [start, end, score]: text order is the ranking unless the answer gives confidences
        detections = parse_ranked_intervals(answer, duration=duration, fps=fps, num_bins=num_bins)
        return {"intervals": [list(d) for d in detections]}
    raise ValueError(f"unknown task {task!r}; valid tasks: mr, vhd, vs, dvc, tad")


def is_parsed(task: str, parsed: Mapping[str, Any]) -> bool:
    """Whether an answer yielded anything usable for its task."""
    key = {"mr": "intervals", "vhd": "points", "vs": "points", "dvc": "captions", "tad": "intervals"}[task]
    return bool(parsed.get(key))


# ------------------------------------------------------------------------------------------- predictions + scores


def _intervals(sample: Mapping | None) -> list[list[float]]:
    return list((sample or {}).get("parsed", {}).get("intervals") or [])


def _saliency(sample: Mapping | None, entry: GtEntry) -> list[float]:
    scores = (sample or {}).get("parsed", {}).get("saliency")
    num_clips = int(entry.duration / CLIP_SECONDS) if entry.duration else 0
    return list(scores) if scores else [0.0] * num_clips


def _captions(sample: Mapping | None) -> list[dict]:
    return [{"timestamp": [s, e], "caption": c} for s, e, c in (sample or {}).get("parsed", {}).get("captions") or []]


def window_scores(intervals: Sequence[Sequence[float]]) -> list[list[float]]:
    """``[start, end, score]`` windows ranked in answer order: scores ``1, 1/2, 1/3, ...``."""
    return [[float(s), float(e), 1.0 / (k + 1)] for k, (s, e) in enumerate(intervals)]


@dataclass
class Scored:
    """What scoring a run produced.

    Attributes:
        reports: One :class:`ScoreReport` per scorer run (``tvg``, ``qvhl``, ``hd``, ``dvc``, ``vs``).
        files: Prediction files written, by name (``predictions``, ``submission``).
    """

    reports: dict[str, ScoreReport]
    files: dict[str, Path]


def score_samples(
    gt: GroundTruth,
    tasks: Sequence[str],
    samples: Mapping[str, Mapping],
    queries: Sequence[Query],
    out_dir: PathLike,
    *,
    java: bool = True,
    meteor: Any = None,
) -> Scored:
    """Write the official prediction files of a run and score them against the selected ground truth.

    Every selected GT entry is scored; a query without a usable answer gets the unreadable-answer prediction (see
    the module docstring), so the denominators are the selected queries.

    Args:
        gt: The ground truth, already limited to the evaluated entries.
        tasks: The run's tasks.
        samples: Sample lines by query id (see :mod:`vidllm.eval.samples`).
        queries: The run's queries (``samples`` keys are their ids).
        out_dir: Where the prediction files go.
        java: Dense captioning: compute the Java-based metrics.
        meteor: Dense captioning: a running :class:`vidllm.eval.java.Meteor` to reuse.

    Returns:
        The reports and the files written.
    """
    out = Path(out_dir)
    by_task: dict[str, dict[Any, Mapping | None]] = {t: {} for t in tasks}
    for q in queries:
        by_task[q.task][q.entry.key] = samples.get(q.id)
    fmt = gt.benchmark.gt_format
    if fmt == "tad":
        return _score_tad(gt, by_task["tad"], out)
    if fmt == "tvg":
        return _score_tvg(gt, by_task["mr"], out)
    if fmt == "dvc":
        return _score_dvc(gt, by_task["dvc"], out, java=java, meteor=meteor)
    if "vs" in tasks:
        return _score_vs(gt, by_task["vs"], out)
    return _score_qvhighlights(gt, by_task, out)


def _score_tvg(gt: GroundTruth, samples: dict, out: Path) -> Scored:
    preds = {e.key: _intervals(samples.get(e.key)) for e in gt.entries}
    file = {str(e.key): {"timestamp": preds[e.key], "query": e.query, "vid": e.record["image_id"]} for e in gt.entries}
    path = write_json(file, out / "pred.timechat.json")
    report = tvg.score(preds, {e.key: e.record["timestamp"] for e in gt.entries})
    return Scored({"tvg": report}, {"predictions": path})


def _score_tad(gt: GroundTruth, samples: dict, out: Path) -> Scored:
    """An ActivityNet detection submission of the answers, scored against the selected (video, class) queries."""
    results: dict[str, list[dict]] = {}
    instances: dict[str, list[tuple[float, float, str]]] = {}
    for e in gt.entries:
        label = e.record["label"]
        dets = results.setdefault(e.vid, [])
        for s, end, score in _intervals(samples.get(e.key)):
            dets.append({"label": label, "score": float(score), "segment": [float(s), float(end)]})
        instances.setdefault(e.vid, []).extend((s, end, label) for s, end in e.record["segments"])
    path = write_json({"version": "VERSION 1.3", "results": results, "external_data": {}}, out / "pred.tad.json")
    classes = list(dict.fromkeys(e.record["label"] for e in gt.entries))
    durations = {e.vid: e.duration for e in gt.entries if e.duration}
    truth = tad.TadGroundTruth(instances, durations, classes)
    report = tad.score(tad.predictions_from_obj({"results": results}, path), truth,
                       protocol=TAD_PROTOCOLS.get(gt.benchmark.name, "activitynet"))  # fmt: skip
    return Scored({"tad": report}, {"predictions": path})


def _score_dvc(gt: GroundTruth, samples: dict, out: Path, *, java: bool, meteor: Any) -> Scored:
    preds = {e.key: _captions(samples.get(e.key)) for e in gt.entries}
    path = write_json(preds, out / "pred.dvc.timechat.json")
    videos = [
        dvc.GtVideo(e.key, [tuple(s) for s in e.record["segments"]], list(e.record["captions"])) for e in gt.entries
    ]
    report = dvc.score(preds, dvc.DvcGroundTruth(gt.split or "val", videos), java=java, meteor=meteor, source=path)
    return Scored({"dvc": report}, {"predictions": path})


def _score_vs(gt: GroundTruth, samples: dict, out: Path) -> Scored:
    preds = [
        {"qid": e.key, "query": e.query, "vid": e.vid, "pred_saliency_scores": _saliency(samples.get(e.key), e)}
        for e in gt.entries
    ]
    path = write_json(preds, out / "pred.vs.json")
    report = summarization.score(preds, [e.record for e in gt.entries], pred_path=path, gt_path=gt.path)
    return Scored({"vs": report}, {"predictions": path})


def _score_qvhighlights(gt: GroundTruth, by_task: dict, out: Path) -> Scored:
    submission = []
    for e in gt.entries:
        line: dict[str, Any] = {"qid": e.key, "query": e.query, "vid": e.vid}
        if "mr" in by_task:
            line["pred_relevant_windows"] = window_scores(_intervals(by_task["mr"].get(e.key)))
        if "vhd" in by_task:
            line["pred_saliency_scores"] = _saliency(by_task["vhd"].get(e.key), e)
        submission.append(line)
    files = {"submission": write_jsonl(submission, out / "submission.jsonl")}
    records = [e.record for e in gt.entries]
    reports: dict[str, ScoreReport] = {}
    if "mr" in by_task:
        reports["qvhl"] = qvhl.score(submission, records, match_number=True, pred_path=files["submission"],
                                     gt_path=gt.path)  # fmt: skip
    else:
        hd_preds = [{k: line[k] for k in ("qid", "query", "vid", "pred_saliency_scores")} for line in submission]
        files["predictions"] = write_json(hd_preds, out / "pred.hd.timechat.json")
        reports["hd"] = highlights.score(hd_preds, records, pred_path=files["predictions"], gt_path=gt.path)
    return Scored(reports, files)


# ------------------------------------------------------------------------------------------------------- for plots


def gt_intervals(entry: GtEntry) -> list[tuple[float, float]]:
    """The GT intervals of an entry: the moment (tvg), the relevant windows (QVHighlights) or the segments (dvc)."""
    rec = entry.record
    if "timestamp" in rec:
        return [tuple(rec["timestamp"])]
    if "relevant_windows" in rec:
        return [tuple(w) for w in rec["relevant_windows"]]
    return [tuple(s) for s in rec.get("segments", [])]


def gt_saliency(entry: GtEntry) -> list[float] | None:
    """The mean annotator score per 2-s clip of a highlight entry, ``None`` for other benchmarks."""
    rec = entry.record
    if "saliency_scores" not in rec or not entry.duration:
        return None
    num_clips = int(entry.duration / CLIP_SECONDS)
    out = [0.0] * num_clips
    for i, row in zip(rec["relevant_clip_ids"], rec["saliency_scores"]):
        if 0 <= i < num_clips and row:
            out[i] = sum(row) / len(row)
    return out


def best_iou(pred: Sequence[float], gts: Sequence[Sequence[float]]) -> float:
    """The hull IoU (TimeChat's form) of a predicted interval with its best-matching GT interval."""
    return max((iou_hull(pred, g) for g in gts), default=0.0)
