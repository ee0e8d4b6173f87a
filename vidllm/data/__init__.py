"""Instruction data: records with targets in seconds, readers (VTG-IT, TimeIT, sharegpt), benchmark converters.

>>> from vidllm.data import load_records, render_answer
>>> from vidllm.time import get_scheme
>>> records, report = load_records("vtg_it_style_records.json")  # doctest: +SKIP
>>> render_answer(records[0], get_scheme("text"))  # doctest: +SKIP
'24.3 - 30.4 seconds, person turn a light on.'

Modules: :mod:`~vidllm.data.records` (the record, answer rendering), :mod:`~vidllm.data.answers` (answers back to
targets, the task rule), :mod:`~vidllm.data.vtg_it`, :mod:`~vidllm.data.sharegpt`, :mod:`~vidllm.data.load` (format
detection, Arrow cache), :mod:`~vidllm.data.messages` (record -> chat messages for a model adapter),
:mod:`~vidllm.data.prompts`, :mod:`~vidllm.data.validate`, :mod:`~vidllm.data.stats`, :mod:`~vidllm.data.convert`.
"""

from vidllm.data.answers import decode_answer, infer_task
from vidllm.data.load import ArrowRecords, load_records, read_records
from vidllm.data.messages import to_messages
from vidllm.data.prompts import eval_prompt, sample_prompt, templates
from vidllm.data.records import TASKS, Record, Targets, render_answer, saliency_vector, write_records
from vidllm.data.sharegpt import read_sharegpt, write_sharegpt
from vidllm.data.stats import compute_stats, format_stats
from vidllm.data.validate import LoadReport, Problem, check_record, check_videos
from vidllm.data.vtg_it import Loaded, read_vtg_it, write_vtg_it

__all__ = [
    "TASKS",
    "ArrowRecords",
    "LoadReport",
    "Loaded",
    "Problem",
    "Record",
    "Targets",
    "check_record",
    "check_videos",
    "compute_stats",
    "decode_answer",
    "eval_prompt",
    "format_stats",
    "infer_task",
    "load_records",
    "read_records",
    "read_sharegpt",
    "read_vtg_it",
    "render_answer",
    "sample_prompt",
    "saliency_vector",
    "templates",
    "to_messages",
    "write_records",
    "write_sharegpt",
    "write_vtg_it",
]
