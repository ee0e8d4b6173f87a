import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.time import parse_captions, parse_intervals

V = "<TIME_ZERO><TIME_ZERO><TIME_ONE><TIME_TWO><TIME_DOT><TIME_FIVE>"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12.5 - 20 seconds", [(12.5, 20.0)]),
        ("The door opens from 12.5 to 20.0.", [(12.5, 20.0)]),
        ("between 3 and 7 s", [(3.0, 7.0)]),
        ("0:12 - 0:20", [(12.0, 20.0)]),
        ("1:02:03.5 - 1:02:09", [(3723.5, 3729.0)]),
        ("12.5s-20s", [(12.5, 20.0)]),
        ("It starts at 5 s and ends at 9 s.", [(5.0, 9.0)]),
        ("[12.5, 20.0]", [(12.5, 20.0)]),
        ("12.5 – 20", [(12.5, 20.0)]),
        (f"{V} - <TIME_ZERO><TIME_ZERO><TIME_TWO><TIME_ZERO><TIME_DOT><TIME_ZERO> seconds", [(12.5, 20.0)]),
        # tokenizers decode token runs with spaces inside
        ("<TIME_ONE> <TIME_TWO> <TIME_DOT> <TIME_FIVE> - <TIME_TWO><TIME_ZERO>", [(12.5, 20.0)]),
        ("20 - 10 seconds", [(10.0, 20.0)]),  # reversed pair is swapped
        ("1 - 2 seconds, then 5 to 8 seconds", [(1.0, 2.0), (5.0, 8.0)]),
        ("nothing here", []),
        ("the clip 3MSZA.mp4 shows 4 people", []),
        ("score 2.3, 4.5", []),  # a comma pair outside brackets is a list, not an interval
        ("", []),
    ],
)
def test_forms_models_write(text, expected):
    assert parse_intervals(text) == expected


def test_frames_need_fps():
    assert parse_intervals("From Frame 3 to Frame 9") == []
    assert parse_intervals("From Frame 3 to Frame 9", fps=0.5) == [(6.0, 18.0)]
    assert parse_intervals("from frame 3 to 9", fps=2) == [(1.5, 4.5)]


def test_bins_need_duration_and_count():
    assert parse_intervals("<t3> - <t7>") == []  # an index is never read as seconds
    assert parse_intervals("<t0> - <t10>", duration=50, num_bins=11) == [(0.0, 50.0)]


def test_duration_clips_and_drops():
    text = "0 - 5 seconds. 8 - 40 seconds. 31 - 35 seconds."
    assert parse_intervals(text, duration=30) == [(0.0, 5.0), (8.0, 30.0)]


def test_captions():
    text = "12.5 - 20 seconds, chop the onion. 21.0 - 30.5 seconds, fry it: slowly. From 40 to 50 seconds, serve."
    assert parse_captions(text) == [
        (12.5, 20.0, "chop the onion."),
        (21.0, 30.5, "fry it: slowly."),
        (40.0, 50.0, "serve."),
    ]
    assert parse_captions(text, duration=35) == [(12.5, 20.0, "chop the onion."), (21.0, 30.5, "fry it: slowly.")]
    assert parse_captions("no events") == []


def test_with_time_tokens_only_tokens_are_times():
    """In a time-token answer, numbers written as words belong to the caption."""
    end = "<TIME_ZERO><TIME_ZERO><TIME_TWO><TIME_ZERO><TIME_DOT><TIME_ZERO>"
    text = f"{V} - {end} seconds, cook for 15-20 seconds until brown."
    assert parse_captions(text) == [(12.5, 20.0, "cook for 15-20 seconds until brown.")]
    assert parse_intervals(text) == [(12.5, 20.0)]


def test_never_raises_on_odd_input():
    for text in [
        None,
        3,
        "9" * 5000 + " - 1",
        ":" * 1000,
        "1:" * 1000,
        "Frame " * 500,
        "<TIME_DOT>" * 100,
        "<t99999999>",
    ]:
        assert isinstance(parse_intervals(text, fps=1, duration=10, num_bins=5), list)
        assert isinstance(parse_captions(text, fps=1), list)


alphabet = st.sampled_from(
    list("0123456789 .:-,[]()sSfFrameto") + ["<TIME_ONE>", "<TIME_DOT>", "<t3>", "Frame", "and"]
)


@settings(max_examples=300)
@given(st.lists(alphabet, max_size=60).map("".join), st.none() | st.floats(0, 1000), st.none() | st.floats(0.1, 30))
def test_fuzz_never_raises_and_is_well_formed(text, duration, fps):
    for s, e in parse_intervals(text, duration=duration, fps=fps, num_bins=10):
        assert s <= e
        if duration is not None:
            assert 0 <= s <= e <= duration


@given(st.text(max_size=200))
def test_fuzz_any_unicode(text):
    assert isinstance(parse_intervals(text), list)
    assert isinstance(parse_captions(text), list)
