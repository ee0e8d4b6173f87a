"""Evaluation tasks: one :class:`Task` per benchmark (ground-truth reader, questions with their prompts and answer
parsers, prediction writer, scorer, default config), in one registry (:data:`TASKS`).

The runner (:mod:`vidllm.eval.runner`) dispatches through the task of ``EvalConfig.dataset``; ``vidllm eval --tasks
a,b,c`` (:mod:`vidllm.eval.multi`) runs several on one model load.
"""

from vidllm.eval.tasks.base import (
    CLIP_SECONDS,
    SCORE_MODES,
    GroundTruth,
    GtEntry,
    Question,
    Scored,
    ScoreOptions,
    Task,
)
from vidllm.eval.tasks.questions import QUESTIONS, get_question
from vidllm.eval.tasks.registry import TASKS, get_task, register_task

__all__ = [
    "CLIP_SECONDS",
    "QUESTIONS",
    "SCORE_MODES",
    "TASKS",
    "GroundTruth",
    "GtEntry",
    "Question",
    "ScoreOptions",
    "Scored",
    "Task",
    "get_question",
    "get_task",
    "register_task",
]
