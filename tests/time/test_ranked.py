"""Ranked detections from answers: text order is the ranking unless every interval has a confidence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.time import get_scheme, parse_intervals, parse_ranked_intervals


def test_text_order_is_the_ranking():
    got = parse_ranked_intervals("0.0 - 5.2 seconds, 6.0 - 8.0 seconds, 9 - 10 s, holding some clothes.")
    assert got == [(0.0, 5.2, 1.0), (6.0, 8.0, 0.5), (9.0, 10.0, 1 / 3)]


@pytest.mark.parametrize(
    "text",
    [
        "0.0 - 5.2 seconds (0.87), 6.0 - 8.0 seconds (0.5)",
        "0.0 - 5.2 seconds (score 0.87); 6.0 - 8.0 seconds (confidence: 0.5)",
        "0.0 - 5.2 s, score 0.87 and 6.0 - 8.0 s, score: 0.5",  # "0.87 and 6.0" must not read as an interval
        "0.0 - 5.2 s, confidence 87%. 6.0 - 8.0 s, confidence 50%.",
    ],
)
def test_explicit_confidences(text):
    assert parse_ranked_intervals(text) == [(0.0, 5.2, 0.87), (6.0, 8.0, 0.5)]


def test_confidences_may_rank_against_text_order():
    assert parse_ranked_intervals("1 - 2 s (0.2), 3 - 4 s (0.9)") == [(1.0, 2.0, 0.2), (3.0, 4.0, 0.9)]


def test_partial_confidences_fall_back_to_text_order():
    assert parse_ranked_intervals("0 - 5 s (0.3), 6 - 8 s") == [(0.0, 5.0, 1.0), (6.0, 8.0, 0.5)]


def test_enumerators_and_out_of_range_numbers_are_not_confidences():
    assert parse_ranked_intervals("(1) 0 - 5 s, (2) 6 - 8 s") == [(0.0, 5.0, 1.0), (6.0, 8.0, 0.5)]
    assert parse_ranked_intervals("0 - 5 s (score 3.5), 6 - 8 s (score 0.4)") == [(0.0, 5.0, 1.0), (6.0, 8.0, 0.5)]


def test_every_scheme_is_read():
    vtg = get_scheme("vtgllm")
    text = f"{vtg.format_span(12.5, 22.5)} (confidence 80%), cook for 15-20 seconds"
    assert parse_ranked_intervals(text) == [(12.5, 22.5, 0.8)]
    assert parse_ranked_intervals("From Frame 3 to Frame 9, From Frame 10 to Frame 12", fps=0.5) == [
        (6.0, 18.0, 1.0),
        (20.0, 24.0, 0.5),
    ]
    bins = get_scheme("bins", num_bins=11)
    assert parse_ranked_intervals(bins.format_span(10, 30, duration=100), duration=100, num_bins=11) == [
        (10.0, 30.0, 1.0)
    ]


def test_nothing_to_read():
    assert parse_ranked_intervals("No such moment.") == []
    assert parse_ranked_intervals(None) == []  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.-: ()sco%retandfm,<>TIME_ZROWHD", max_size=80))
def test_never_raises_and_agrees_with_parse_intervals(text):
    got = parse_ranked_intervals(text)
    assert all(s <= e and 0.0 <= c <= 1.0 for s, e, c in got)
    if "(" not in text and not any(w in text for w in ("sc", "co", "pro")):
        # without anything that could be a confidence, the intervals are exactly parse_intervals'
        assert [(s, e) for s, e, _ in got] == parse_intervals(text)


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 50), st.integers(0, 100)), min_size=1, max_size=8))
def test_written_detections_read_back(dets):
    text = ", ".join(f"{s} - {s + d} seconds (score {c / 100})" for s, d, c in dets)
    assert parse_ranked_intervals(text) == [(float(s), float(s + d), c / 100) for s, d, c in dets]
