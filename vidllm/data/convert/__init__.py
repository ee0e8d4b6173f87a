"""Converters from the official benchmark annotation files to instruction records and evaluation ground truth.

Each module has ``convert(path, options) -> Converted`` (see :mod:`vidllm.data.convert.common`); they are found by
name in :data:`CONVERTERS` and imported when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from vidllm.data.convert.common import (
    Converted,
    ConvertOptions,
    grounding_annotations,
    read_durations,
    write_converted,
)

CONVERTERS: dict[str, str] = {
    "charades_sta": "vidllm.data.convert.charades_sta",  # charades_sta_{train,test}.txt: "vid s e##query"
    "qvhighlights": "vidllm.data.convert.qvhighlights",  # highlight_{train,val}_release.jsonl
    "activitynet": "vidllm.data.convert.activitynet",  # ActivityNet Captions train.json / val_1.json / val_2.json
    "youcook2": "vidllm.data.convert.youcook2",  # youcookii_annotations_trainval.json
    "didemo": "vidllm.data.convert.didemo",  # {train,val,test}_data.json, 5-s chunks
    "tvsum": "vidllm.data.convert.tvsum",  # ydata-tvsum50-anno.tsv (+ ydata-tvsum50-info.tsv)
    "charades_tad": "vidllm.data.convert.charades_tad",  # Charades_v1_{train,test}.csv (+ Charades_v1_classes.txt)
    "activitynet_tad": "vidllm.data.convert.activitynet_tad",  # activity_net.v1-3.min.json
    "ego4d_mq": "vidllm.data.convert.ego4d_mq",  # Ego4D moments_{train,val}.json
    "tacos": "vidllm.data.convert.tacos",  # 2D-TAN's TACoS {train,val,test}.json (frames -> seconds)
}


def get_converter(name: str) -> Callable[..., Converted]:
    """The ``convert`` function of a benchmark; an unknown name raises ``ValueError`` listing the valid ones."""
    if name not in CONVERTERS:
        raise ValueError(f"unknown benchmark {name!r}; valid names: {', '.join(CONVERTERS)}")
    return importlib.import_module(CONVERTERS[name]).convert


__all__ = [
    "CONVERTERS",
    "ConvertOptions",
    "Converted",
    "get_converter",
    "grounding_annotations",
    "read_durations",
    "write_converted",
]
