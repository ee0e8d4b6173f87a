import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidllm.time import SCHEMES, TimeScheme, get_scheme, parse_highlights, parse_intervals, parse_time

seconds = st.floats(min_value=0, max_value=9999.9, allow_nan=False)


def test_vtgllm_encoding_is_four_digits_dot_one():
    s = get_scheme("vtgllm")
    assert s.encode(12.5) == "<TIME_ZERO><TIME_ZERO><TIME_ONE><TIME_TWO><TIME_DOT><TIME_FIVE>"
    assert s.decode(s.encode(12.5)) == 12.5
    # the unpadded training form reads back too
    assert s.decode("<TIME_ONE><TIME_TWO><TIME_DOT><TIME_FIVE>") == 12.5
    assert s.decode("<TIME_SEVEN>") == 7.0
    assert s.decode("no time here") is None
    assert s.encode(123456) == s.encode(9999.9)  # 4 digits cannot hold more
    assert len(s.new_tokens) == 11 and s.init_tokens()["<TIME_DOT>"] == ["."]
    assert s.init_tokens()["<TIME_ZERO>"] == ["0"]


def test_text_frames_bins_spans():
    assert get_scheme("text").format_span(3, 7.25) == "3.0 - 7.2 seconds"
    assert get_scheme("frames", fps=0.5).format_span(6.0, 18.0) == "From Frame 3 to Frame 9"
    assert get_scheme("frames", fps=2).decode("Frame 5") == 2.5
    b = get_scheme("bins", num_bins=11)
    assert b.encode(50, duration=100) == "<t5>" and b.decode("<t10>", duration=100) == 100.0
    assert b.decode("<t11>", duration=100) is None
    assert b.format_span(0, 100, duration=100) == "<t0> - <t10>"


def test_fixed_width_text_times_are_vtgllm_digits_in_plain_text():
    fixed = get_scheme("text", integer_digits=4)
    assert fixed.encode(12.5) == "0012.5" and fixed.format_span(6, 10.25) == "0006.0 - 0010.2 seconds"
    assert get_scheme("text", integer_digits=2, decimals=0).encode(7) == "07"
    assert fixed.encode(12345.6) == "12345.6"  # wider times are written whole, never cut
    assert fixed.decode("0012.5") == 12.5 and parse_intervals("From 0006.0 to 0010.5 seconds.") == [(6.0, 10.5)]
    with pytest.raises(ValueError, match="integer_digits must be >= 0"):
        get_scheme("text", integer_digits=-1)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("nope", {}, "valid schemes: bins, frames, text, vtgllm"),
        ("frames", {}, "bad parameters"),
        ("frames", {"fps": 0}, "needs the sampling fps"),
        ("bins", {"num_bins": 1}, "num_bins >= 2"),
    ],
)
def test_bad_scheme_requests_say_what_is_valid(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_scheme(name, **kwargs)


def test_bins_need_a_duration():
    with pytest.raises(ValueError, match="duration"):
        get_scheme("bins").encode(3.0)


def test_negative_or_nan_seconds_are_refused():
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="finite number of seconds"):
            get_scheme("text").encode(bad)


def _schemes():
    return [get_scheme("text"), get_scheme("text", integer_digits=4, decimals=0), get_scheme("vtgllm"),
            get_scheme("frames", fps=0.5), get_scheme("frames", fps=2), get_scheme("bins", num_bins=100)]  # fmt: skip


@pytest.mark.parametrize("scheme", _schemes(), ids=lambda s: s.name)
@given(t=seconds)
def test_round_trip_within_resolution(scheme, t):
    duration = 10000.0
    back = scheme.decode(scheme.encode(t, duration=duration), duration=duration)
    assert isinstance(scheme, TimeScheme)
    assert abs(back - t) <= scheme.resolution(duration=duration) + 1e-9


@pytest.mark.parametrize("scheme", _schemes(), ids=lambda s: s.name)
@given(a=seconds, b=seconds)
def test_spans_parse_back(scheme, a, b):
    """Whatever a scheme writes, the parser reads back to the scheme's resolution."""
    start, end = min(a, b), max(a, b)
    duration = 10000.0
    text = f"The event happens {scheme.format_span(start, end, duration=duration)}."
    fps = getattr(scheme, "fps", None)
    num_bins = getattr(scheme, "num_bins", None)
    [(s, e)] = parse_intervals(text, fps=fps, duration=duration, num_bins=num_bins)
    tol = scheme.resolution(duration=duration) + 1e-9
    assert abs(s - start) <= tol and abs(e - end) <= tol


def test_registry_is_explicit():
    assert set(SCHEMES) == {"text", "vtgllm", "frames", "bins"}


def test_points():
    assert get_scheme("text").format_point(4) == "4.0 seconds"
    assert get_scheme("frames", fps=0.5).format_point(82) == "Frame 41"
    assert get_scheme("bins", num_bins=11).format_point(50, duration=100) == "<t5>"
    assert get_scheme("vtgllm").format_point(4).endswith("<TIME_DOT><TIME_ZERO> seconds")


@pytest.mark.parametrize("scheme", _schemes(), ids=lambda s: s.name)
@given(t=seconds, score=st.floats(0, 5).map(lambda x: round(x, 1)))
def test_points_parse_back_as_highlights(scheme, t, score):
    duration = 10000.0
    text = f"{scheme.format_point(t, duration=duration)}, significance score: {score}, a query."
    [(back, s)] = parse_highlights(text, fps=getattr(scheme, "fps", None), duration=duration,
                                   num_bins=getattr(scheme, "num_bins", None))  # fmt: skip
    assert abs(back - t) <= scheme.resolution(duration=duration) + 1e-9 and s == score


def test_parse_time():
    assert [parse_time(x) for x in ("12.5", "2:35", "1:02:03.5", "7 s", "Frame 3", "abc", None)] == [
        12.5, 155.0, 3723.5, 7.0, None, None, None
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kwargs"), [("text", {}), ("vtgllm", {}), ("frames", {"fps": 2.0}), ("bins", {"num_bins": 50})]
)
def test_a_scheme_recognises_its_own_answers_and_no_other_schemes(name, kwargs):
    """``writes`` is the format check of the RL reward: every scheme says yes to its own spans only."""
    schemes = {n: get_scheme(n, **k) for n, k in [("text", {}), ("vtgllm", {}), ("frames", {"fps": 2.0}),
                                                  ("bins", {"num_bins": 50})]}  # fmt: skip
    own = schemes[name].format_span(1.5, 7.0, duration=20.0)
    assert schemes[name].writes(own)
    assert [n for n, s in schemes.items() if s.writes(own)] == [name]
