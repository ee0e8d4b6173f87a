"""The time language: the only place where seconds become text or tokens, and text becomes seconds again.

>>> from vidllm.time import get_scheme, parse_intervals
>>> get_scheme("text").format_span(12.5, 20.0)
'12.5 - 20.0 seconds'
>>> parse_intervals("The man opens the door from 0:12 to 0:20.")
[(12.0, 20.0)]
"""

from vidllm.time.highlights import parse_highlights, saliency_per_clip
from vidllm.time.parse import (
    find_intervals,
    interval_spans,
    parse_captions,
    parse_intervals,
    parse_time,
    tokens_to_digits,
)
from vidllm.time.ranked import parse_ranked_intervals
from vidllm.time.schemes import SCHEMES, BinScheme, FrameScheme, TextScheme, TimeScheme, VTGLLMScheme, get_scheme

__all__ = [
    "SCHEMES",
    "BinScheme",
    "FrameScheme",
    "TextScheme",
    "TimeScheme",
    "VTGLLMScheme",
    "find_intervals",
    "interval_spans",
    "get_scheme",
    "parse_captions",
    "parse_highlights",
    "parse_intervals",
    "parse_ranked_intervals",
    "parse_time",
    "saliency_per_clip",
    "tokens_to_digits",
]
