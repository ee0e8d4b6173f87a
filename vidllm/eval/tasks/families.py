"""The ground-truth families: each reads one form of ground truth and writes and scores the official predictions.

* :class:`Grounding` (``charades_sta``, ``activitynet_grounding``, ``synthetic``, ``tacos``): TimeChat's
  COCO-caption style ``{"annotations": [{"image_id", "caption", "timestamp", "id"}]}``; scored by
  :mod:`vidllm.eval.tvg` (the first interval of each answer).
* :class:`Highlights` (``qvhighlights``, questions ``mr`` and ``vhd``): the release's JSON lines (``qid, query,
  duration, vid, relevant_windows, relevant_clip_ids, saliency_scores``); with ``mr`` a moment_detr submission
  scored by :mod:`vidllm.eval.qvhl`, highlights alone scored by :mod:`vidllm.eval.highlights` (TimeChat).
* :class:`Summarization` (``tvsum``): QVHighlights-style lines with one score column per annotator; scored by
  :mod:`vidllm.eval.summarization`.
* :class:`DenseCaptions` (``youcook2``, ``activitynet_dvc``): COCO-caption style dense captions in a file named
  ``val.*``; scored by :mod:`vidllm.eval.dvc`.
* :class:`Detection` (``charades_tad``, ``activitynet_tad``, ``ego4d_mq``): ActivityNet-style detection ground
  truth; one query per (video, class) -- every class, or with ``tad_queries=present`` only those in the video;
  answers become an ActivityNet detection submission scored by :mod:`vidllm.eval.tad` (the task's protocol).

Every selected GT entry is scored: a query without a usable answer gets the unreadable-answer prediction, so the
denominators are the selected queries. Ranked answers (detections, QVHighlights windows) are scored with the
model's confidences or rank scores as :class:`~vidllm.eval.tasks.base.ScoreOptions` says
(:func:`vidllm.eval.confidence.ranked_intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidllm.eval import dvc, highlights, qvhl, summarization, tad, tvg
from vidllm.eval.confidence import ScoreSources, ranked_intervals
from vidllm.eval.report import ScoreReport
from vidllm.eval.tasks.base import CLIP_SECONDS, GroundTruth, GtEntry, Scored, ScoreOptions, Task, sample_part
from vidllm.io import DataError, read_json, read_json_or_jsonl, write_json, write_jsonl

SubsetChoice = tuple[str | None, tuple[str, ...]]


def _stem(name: str) -> str:
    base = name.split("/")[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def _duration(value: Any) -> float | None:
    return float(value) if highlights.is_number(value) and value > 0 else None


def _first_intervals(sample) -> list[list[float]]:
    return [list(i[:2]) for i in sample_part(sample, "intervals")]


def _saliency(sample, entry: GtEntry) -> list[float]:
    scores = sample_part(sample, "saliency")
    num_clips = int(entry.duration / CLIP_SECONDS) if entry.duration else 0
    return scores if scores else [0.0] * num_clips


def _add_notes(report: ScoreReport, gt: GroundTruth) -> ScoreReport:
    report.notes.extend(n for n in gt.notes if n not in report.notes)
    return report


@dataclass(frozen=True)
class Grounding:
    """One sentence, one moment (see the module docstring)."""

    name: str = "grounding"

    def load(self, task: Task, path: Path, *, tad_queries: str = "all") -> GroundTruth:
        intervals = tvg.load_ground_truth(path)  # checks ids and timestamps
        entries = []
        for i, ann in enumerate(read_json(path)["annotations"]):
            caption, image_id = ann.get("caption"), ann.get("image_id")
            if not isinstance(caption, str) or not isinstance(image_id, str):
                raise DataError("expected 'caption' and 'image_id' strings", path=path, record=f"annotations[{i}]")
            key = int(ann["id"])
            entries.append(GtEntry(key, _stem(image_id), caption, _duration(ann.get("duration")),
                                   {**ann, "timestamp": intervals[key]}))  # fmt: skip
        return GroundTruth(task, path, entries)

    def score(self, gt: GroundTruth, by_question: dict, out: Path, options: ScoreOptions) -> Scored:
        samples = by_question["mr"]
        preds = {e.key: _first_intervals(samples.get(e.key)) for e in gt.entries}
        file = {str(e.key): {"timestamp": preds[e.key], "query": e.query, "vid": e.record["image_id"]}
                for e in gt.entries}  # fmt: skip
        path = write_json(file, out / "pred.timechat.json")
        report = tvg.score(preds, {e.key: e.record["timestamp"] for e in gt.entries})
        return Scored({"tvg": _add_notes(report, gt)}, {"predictions": path})


def _load_highlight_lines(task: Task, path: Path) -> GroundTruth:
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
    return GroundTruth(task, path, entries)


@dataclass(frozen=True)
class _HighlightLines:
    """Families of QVHighlights-style JSON lines (``qid, query, duration, vid, ...``)."""

    def load(self, task: Task, path: Path, *, tad_queries: str = "all") -> GroundTruth:
        return _load_highlight_lines(task, path)


@dataclass(frozen=True)
class Highlights(_HighlightLines):
    """QVHighlights: moments (a moment_detr submission) and/or per-clip saliency."""

    name: str = "highlights"

    def score(self, gt: GroundTruth, by_question: dict, out: Path, options: ScoreOptions) -> Scored:
        submission, ranking = [], ScoreSources()
        for e in gt.entries:
            line: dict[str, Any] = {"qid": e.key, "query": e.query, "vid": e.vid}
            if "mr" in by_question:
                line["pred_relevant_windows"] = ranked_intervals(by_question["mr"].get(e.key), options.scores,
                                                                 ranking)  # fmt: skip
            if "vhd" in by_question:
                line["pred_saliency_scores"] = _saliency(by_question["vhd"].get(e.key), e)
            submission.append(line)
        files = {"submission": write_jsonl(submission, out / "submission.jsonl")}
        records = [e.record for e in gt.entries]
        reports: dict[str, ScoreReport] = {}
        if "mr" in by_question:
            report = qvhl.score(submission, records, match_number=True, pred_path=files["submission"],
                                gt_path=gt.path)  # fmt: skip
            ranking.report(report)
            reports["qvhl"] = _add_notes(report, gt)
        else:
            keys = ("qid", "query", "vid", "pred_saliency_scores")
            hd_preds = [{k: line[k] for k in keys} for line in submission]
            files["predictions"] = write_json(hd_preds, out / "pred.hd.timechat.json")
            report = highlights.score(hd_preds, records, pred_path=files["predictions"], gt_path=gt.path)
            reports["hd"] = _add_notes(report, gt)
        return Scored(reports, files)


@dataclass(frozen=True)
class Summarization(_HighlightLines):
    """TVSum: per-clip saliency against every annotator's scores."""

    name: str = "summarization"

    def score(self, gt: GroundTruth, by_question: dict, out: Path, options: ScoreOptions) -> Scored:
        samples = by_question["vs"]
        preds = [
            {"qid": e.key, "query": e.query, "vid": e.vid, "pred_saliency_scores": _saliency(samples.get(e.key), e)}
            for e in gt.entries
        ]
        path = write_json(preds, out / "pred.vs.json")
        report = summarization.score(preds, [e.record for e in gt.entries], pred_path=path, gt_path=gt.path)
        return Scored({"vs": _add_notes(report, gt)}, {"predictions": path})


@dataclass(frozen=True)
class DenseCaptions:
    """YouCook2 / ActivityNet Captions: every event of a video, captioned."""

    name: str = "dense_captions"

    def load(self, task: Task, path: Path, *, tad_queries: str = "all") -> GroundTruth:
        gt = dvc.load_gt(path)
        raw = read_json(path)["annotations"]
        entries = []
        for video, ann in zip(gt.videos, raw, strict=True):
            segments = [list(s) for s in video.segments]
            record = {"image_id": ann["image_id"], "segments": segments, "captions": video.captions}
            entries.append(GtEntry(video.key, _stem(video.key), None, _duration(ann.get("duration")), record))
        return GroundTruth(task, path, entries, split=gt.split)

    def score(self, gt: GroundTruth, by_question: dict, out: Path, options: ScoreOptions) -> Scored:
        samples = by_question["dvc"]
        preds = {e.key: [{"timestamp": [s, e_], "caption": c} for s, e_, c in sample_part(samples.get(e.key),
                 "captions")] for e in gt.entries}  # fmt: skip
        path = write_json(preds, out / "pred.dvc.timechat.json")
        videos = [dvc.GtVideo(e.key, [tuple(s) for s in e.record["segments"]], list(e.record["captions"]))
                  for e in gt.entries]  # fmt: skip
        report = dvc.score(preds, dvc.DvcGroundTruth(gt.split or "val", videos), java=options.java,
                           meteor=options.meteor, source=path)  # fmt: skip
        return Scored({"dvc": _add_notes(report, gt)}, {"predictions": path})


@dataclass(frozen=True)
class Detection:
    """Temporal action detection: one query per (video, class); an ActivityNet detection submission."""

    name: str = "detection"

    def load(self, task: Task, path: Path, *, tad_queries: str = "all") -> GroundTruth:
        """One entry per (video, class): key ``"<vid>#<class>"``, the class phrase as the query."""
        from vidllm.data.convert.tad import class_phrase

        if tad_queries not in ("all", "present"):
            raise ValueError(f"tad_queries must be 'all' or 'present', got {tad_queries!r}")
        raw = read_json(path)
        subset, notes = tad.default_subset(raw, path)
        gt = tad.ground_truth_from_obj(raw, path, subset=subset)
        entries = []
        for vid, items in gt.instances.items():
            present = {label for *_, label in items}
            for label in gt.classes if tad_queries == "all" else [c for c in gt.classes if c in present]:
                segments = [[s, e] for s, e, c in items if c == label]
                record = {"video": vid, "label": label, "segments": segments}
                entries.append(GtEntry(f"{vid}#{label}", vid, class_phrase(label), gt.durations.get(vid), record))
        return GroundTruth(task, path, entries, notes=tuple(notes))

    def score(self, gt: GroundTruth, by_question: dict, out: Path, options: ScoreOptions) -> Scored:
        """An ActivityNet detection submission of the answers, scored against the selected (video, class) queries."""
        samples = by_question["tad"]
        results: dict[str, list[dict]] = {}
        instances: dict[str, list[tuple[float, float, str]]] = {}
        ranking = ScoreSources()
        for e in gt.entries:
            label = e.record["label"]
            dets = results.setdefault(e.vid, [])
            for s, end, score in ranked_intervals(samples.get(e.key), options.scores, ranking):
                dets.append({"label": label, "score": float(score), "segment": [float(s), float(end)]})
            instances.setdefault(e.vid, []).extend((s, end, label) for s, end in e.record["segments"])
        path = write_json({"version": "VERSION 1.3", "results": results, "external_data": {}}, out / "pred.tad.json")
        classes = list(dict.fromkeys(e.record["label"] for e in gt.entries))
        durations = {e.vid: e.duration for e in gt.entries if e.duration}
        truth = tad.TadGroundTruth(instances, durations, classes)
        report = tad.score(tad.predictions_from_obj({"results": results}, path), truth,
                           protocol=gt.benchmark.protocol or "activitynet")  # fmt: skip
        ranking.report(report)
        return Scored({"tad": _add_notes(report, gt)}, {"predictions": path})
