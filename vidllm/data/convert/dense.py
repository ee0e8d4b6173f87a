"""Shared by the dense-captioning converters (ActivityNet Captions, YouCook2): events -> records + DVC/TVG GT."""

from __future__ import annotations

from vidllm.data.convert.common import ConvertOptions, PromptPicker, pure_cap, sentence
from vidllm.data.records import Record, Targets


def video_records(
    vid: str,
    video: str,
    duration: float | None,
    events: list[tuple[float, float, str]],
    *,
    options: ConvertOptions,
    picker: PromptPicker,
    source: str,
) -> list[tuple[str, Record]]:
    """The ``dvc`` record of one video (and one ``mr`` record per event when ``mr`` is wanted)."""
    out = []
    captions = tuple((s, e, sentence(c)) for s, e, c in events)
    meta = {"vid": vid}
    if options.wants("dvc", ("dvc",), ("dvc", "mr")):
        out.append((vid, Record(video=video, task="dvc", prompt=picker("dvc"), targets=Targets(captions=captions),
                                duration=duration, source=source, meta=dict(meta))))  # fmt: skip
    if options.wants("mr", ("dvc",), ("dvc", "mr")):
        for k, (s, e, c) in enumerate(captions):
            out.append((f"{vid}[{k}]", Record(video=video, task="mr", prompt=picker("mr", c), query=c,
                                              targets=Targets(intervals=((s, e),)), duration=duration,
                                              source=f"{source}[{k}]", meta=dict(meta))))  # fmt: skip
    return out


def dense_ground_truth(records: list[Record]) -> dict:
    """The ``dvc`` and ``tvg`` ground truth of checked records (whichever tasks they hold)."""
    gt: dict = {}
    dvc = [r for r in records if r.task == "dvc"]
    mr = [r for r in records if r.task == "mr"]
    if dvc:
        gt["dvc"] = {
            "annotations": [
                {
                    "image_id": f"{r.meta['vid']}.mp4",
                    "id": i,
                    "duration": r.duration,
                    "segments": [[s, e] for s, e, _ in r.targets.captions],
                    "pure_cap": pure_cap([c for *_, c in r.targets.captions]),
                }
                for i, r in enumerate(dvc)
            ]
        }
    if mr:
        annotations = []
        for qid, r in enumerate(mr):
            r.meta["qid"] = qid
            ((s, e),) = r.targets.intervals
            annotations.append({"image_id": f"{r.meta['vid']}.mp4", "caption": f"{r.query}.", "timestamp": [s, e],
                                "id": qid})  # fmt: skip
        gt["tvg"] = {"annotations": annotations}
    return gt
