"""Questions about a synthetic scene, as :class:`vidllm.data.Record` objects with targets in seconds.

Per query, one moment-retrieval record (every moment of the shape it names, in time order); per ``pulse`` event,
one highlight record (saliency = brightness level per clip); per scene, one dense-captioning record listing every
event; per action class present (``tad``), one record with every instance of it. The answer text is written later,
by :func:`vidllm.data.render_answer` with whatever time scheme the run uses.
"""

from __future__ import annotations

from vidllm.data.records import Record, Targets
from vidllm.synthetic.scenes import Event, Scene, clips_of

TASK_KINDS = ("mr", "vhd", "dvc", "tad")

ACTIONS = {"visible": "a shape appearing", "move": "a shape moving", "pulse": "a shape pulsing"}
"""The action class of each event kind (``tad``: "Find every moment of a shape moving.")."""

PROMPTS = {
    "mr": "Find the moment when <query_placeholder>. Give the start and end time.",
    "vhd": "Find the highlights when <query_placeholder>. Give each highlight's time and saliency score.",
    "dvc": "List every event in the video with its start and end time.",
    "tad": "Find every moment of <query_placeholder>. Give each start and end time.",
}
"""Question templates (``<query_placeholder>`` is the query). Evaluation asks with the same templates
(``EvalConfig.prompt``), so a model trained on the stream is asked what it learned."""


def question(task: str, query: str = "") -> str:
    """The question of ``task`` about ``query``."""
    return PROMPTS[task].replace("<query_placeholder>", query)


def _moment_query(event: Event) -> str:
    if event.kind == "move":
        return f"{event.name} moves {event.direction}"
    return f"{event.name} is visible"


def _caption(event: Event) -> str:
    return {"visible": f"{event.name} is visible", "move": f"{event.name} moves {event.direction}",
            "pulse": f"{event.name} pulses"}[event.kind]  # fmt: skip


def scene_records(scene: Scene, video: str, *, tasks: tuple[str, ...] = TASK_KINDS) -> list[Record]:
    """Every question vidllm asks about ``scene``, for the video file ``video`` (relative to a video root)."""
    unknown = [t for t in tasks if t not in TASK_KINDS]
    if unknown:
        raise ValueError(f"unknown synthetic tasks {unknown}; valid tasks: {', '.join(TASK_KINDS)}")
    records = []
    meta = {"dataset": "synthetic"}
    moments: dict[str, list[int]] = {}  # query -> its events (a visible shape may appear several times)
    for k, event in enumerate(scene.events):
        moments.setdefault(_moment_query(event), []).append(k)
    for k, event in enumerate(scene.events):
        if "mr" in tasks and moments[_moment_query(event)][0] == k:
            ks = moments[_moment_query(event)]
            spans = tuple((scene.events[i].start, scene.events[i].end) for i in ks)
            targets = Targets(intervals=spans, clip_length=scene.clip_length)
            query = _moment_query(event)
            records.append(Record(video, "mr", question("mr", query), targets, scene.duration, query=query,
                                  meta={**meta, "event": k, "moments": len(ks)}))  # fmt: skip
        if "vhd" in tasks and event.kind == "pulse":
            clips = clips_of(event.start, event.end, scene.clip_length)
            saliency = tuple((i * scene.clip_length, float(v)) for i, v in zip(clips, event.levels))
            targets = Targets(saliency=saliency, clip_length=scene.clip_length)
            query = f"{event.name} pulses"
            records.append(Record(video, "vhd", question("vhd", query), targets, scene.duration, query=query,
                                  meta={**meta, "event": k}))  # fmt: skip
    if "tad" in tasks:  # one question per action class present: every instance, distractor shapes included
        for kind, action in ACTIONS.items():
            spans = tuple(sorted({(e.start, e.end) for e in scene.events if e.kind == kind}))
            if spans:
                records.append(Record(video, "tad", question("tad", action), Targets(intervals=spans,
                                      clip_length=scene.clip_length), scene.duration, query=action,
                                      meta={**meta, "vid": video.rsplit("/", 1)[-1].rsplit(".", 1)[0],
                                            "label": action}))  # fmt: skip
    if "dvc" in tasks and scene.events:
        captions = tuple((e.start, e.end, _caption(e)) for e in scene.events)
        records.append(Record(video, "dvc", question("dvc"), Targets(captions=captions, clip_length=scene.clip_length),
                              scene.duration, meta=meta))  # fmt: skip
    return records
