"""The benchmark scorers behind ``vidllm score``, by task name.

Each entry names a module with ``score_files(pred_path, gt_path, **options) -> ScoreReport``; modules are imported
when used, so scoring one task never loads another's dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from vidllm.eval.report import ScoreReport

SCORERS: dict[str, str] = {
    "tvg": "vidllm.eval.tvg",  # Charades-STA-style R1@t / mIoU (TimeChat eval_tvg.py)
    "hd": "vidllm.eval.highlights",  # highlight detection (TimeChat eval_vhd.py)
    "qvhl": "vidllm.eval.qvhl",  # QVHighlights MR + HL (moment_detr standalone_eval)
    "dvc": "vidllm.eval.dvc",  # dense video captioning (TimeChat eval_dvc.py)
    "vs": "vidllm.eval.summarization",  # TVSum top-5 mAP (UMT / UniVTG) and summary F1
    "tad": "vidllm.eval.tad",  # temporal action detection mAP (ActivityNet eval_detection.py), R@k
}


def get_scorer(task: str) -> Callable[..., ScoreReport]:
    """The ``score_files`` function of ``task``; an unknown task raises ``ValueError`` listing the valid ones."""
    if task not in SCORERS:
        raise ValueError(f"unknown scoring task {task!r}; valid tasks: {', '.join(SCORERS)}")
    return importlib.import_module(SCORERS[task]).score_files
