"""The registry of evaluation tasks: one :class:`~vidllm.eval.tasks.base.Task` per benchmark.

Adding a benchmark is one entry here (a family that reads its ground truth, the questions it asks, its prompt
dataset name) plus its default config ``eval_configs/<name>.yaml``; see docs/evaluation.md, "Adding a benchmark".
"""

from __future__ import annotations

from vidllm.eval.tasks.base import Task
from vidllm.eval.tasks.families import DenseCaptions, Detection, Grounding, Highlights, Summarization
from vidllm.eval.tasks.questions import QUESTIONS

GROUNDING, HIGHLIGHTS, SUMMARIZATION = Grounding(), Highlights(), Summarization()
DENSE_CAPTIONS, DETECTION = DenseCaptions(), Detection()

TASKS: dict[str, Task] = {}
"""Task name -> :class:`Task`, in registration order."""


def register_task(task: Task) -> Task:
    """Add ``task`` to :data:`TASKS` (a name registered twice, or an unknown question, raises ``ValueError``)."""
    if task.name in TASKS:
        raise ValueError(f"a task named {task.name!r} is already registered; pick another name")
    bad = [q for q in task.questions if q not in QUESTIONS]
    if bad:
        raise ValueError(f"task {task.name!r} asks unknown questions {bad}; valid questions: {', '.join(QUESTIONS)}")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The task registered as ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    if name not in TASKS:
        raise ValueError(f"unknown benchmark {name!r}; valid benchmarks: {', '.join(TASKS)}")
    return TASKS[name]


for _task in (
    Task("charades_sta", GROUNDING, ("mr",), "charades", "Charades-STA grounding: R1@0.3/0.5/0.7, mIoU"),
    Task("activitynet_grounding", GROUNDING, ("mr",), "activitynet", "ActivityNet Captions grounding: R1, mIoU"),
    Task(
        "qvhighlights",
        HIGHLIGHTS,
        ("mr", "vhd"),
        "QVHighlights",
        "QVHighlights moment retrieval (MR-*) and highlights (HL-min-*)",
    ),  # fmt: skip
    Task("youcook2", DENSE_CAPTIONS, ("dvc",), "YouCook2", "YouCook2 dense captioning: CIDER, METEOR, SODA_c, F1"),
    Task("activitynet_dvc", DENSE_CAPTIONS, ("dvc",), "activitynet", "ActivityNet Captions dense captioning"),
    Task("tvsum", SUMMARIZATION, ("vs",), "TVSum", "TVSum: top-5 mAP (UMT/UniVTG), summary F1"),
    Task(
        "charades_tad",
        DETECTION,
        ("tad",),
        "charades",
        "Charades action detection: mAP@0.1:0.7, R@k",
        protocol="charades",
    ),  # fmt: skip
    Task(
        "activitynet_tad",
        DETECTION,
        ("tad",),
        "activitynet",
        "ActivityNet v1.3 detection: mAP@0.5:0.95",
        protocol="activitynet",
    ),  # fmt: skip
    Task("ego4d_mq", DETECTION, ("tad",), "ego4d", "Ego4D moment queries: mAP@0.1:0.5, R1x/R5x", protocol="ego4d"),
    Task("synthetic", GROUNDING, ("mr",), "synthetic", "vidllm.synthetic moment retrieval (vidllm quickstart)"),
    Task("tacos", GROUNDING, ("mr",), "TACoS", "TACoS grounding (vidllm convert tacos): R1@0.3/0.5/0.7, mIoU"),
):
    register_task(_task)
