"""Properties of the sample plans (pure functions, checked with hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vidllm.video.index import frames_shown_at
from vidllm.video.sampling import TIME_EPS, clamp_window, plan_every_frame, plan_samples

durations = st.floats(min_value=0.05, max_value=7200, allow_nan=False)
rates = st.sampled_from([0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 29.97, 30000 / 1001]) | st.floats(0.01, 60)
native_rates = st.sampled_from([12.0, 25.0, 30000 / 1001, 60.0]) | st.floats(0.5, 240)
counts = st.integers(1, 2000)


@st.composite
def windows(draw):
    duration = draw(durations)
    start = draw(st.none() | st.floats(-10, duration * 1.2))
    end = draw(st.none() | st.floats(-10, duration * 1.5))
    if start is not None and end is not None and end < start:
        start, end = end, start
    return duration, start, end


def check_grid(plan) -> None:
    t = plan.times
    assert t.dtype == np.float64
    if len(t) == 0:
        return
    assert plan.fps > 0
    assert t[0] == pytest.approx(plan.start, abs=1e-9)
    assert np.all(np.diff(t) > 0)
    assert t[-1] < plan.end
    assert np.all(t >= plan.start)
    np.testing.assert_allclose(t, plan.start + np.arange(len(t)) / plan.fps, rtol=1e-9, atol=1e-7)
    # never cut off the end: the last sample is within one grid step of the window's end
    assert plan.end - t[-1] <= 1 / plan.fps + 1e-6


@given(windows(), rates, st.none() | counts, st.none() | native_rates)
@settings(max_examples=300, deadline=None)
def test_fps_plan(window, fps, max_frames, native_fps):
    duration, start, end = window
    plan = plan_samples(duration, fps=fps, max_frames=max_frames, start=start, end=end, native_fps=native_fps)
    s, e = clamp_window(duration, start, end)
    assert (plan.start, plan.end) == (s, e)
    check_grid(plan)
    if e - s <= TIME_EPS:
        assert len(plan) == 0
        return
    wanted = sum(1 for _ in iter_grid(s, e, fps))
    assert 1 <= len(plan) <= wanted
    if max_frames is not None:
        assert len(plan) <= max_frames
    if len(plan) == wanted:  # not capped: exactly the requested rate, every grid point before the end
        assert not plan.capped and plan.fps == fps
        np.testing.assert_allclose(plan.times, s + np.arange(wanted) / fps, rtol=0, atol=1e-9)
    else:
        assert plan.capped and plan.fps < fps


def iter_grid(s: float, e: float, fps: float):
    k = 0
    while s + k / fps < e - TIME_EPS:
        yield s + k / fps
        k += 1
        if k > 10**6:
            raise AssertionError("runaway grid")


@given(windows(), counts, st.none() | counts)
@settings(max_examples=300, deadline=None)
def test_num_frames_plan(window, n, max_frames):
    duration, start, end = window
    plan = plan_samples(duration, num_frames=n, max_frames=max_frames, start=start, end=end)
    check_grid(plan)
    length = plan.end - plan.start
    if length <= TIME_EPS:
        assert len(plan) == 0
        return
    assert len(plan) == min(n, max_frames or n, max(1, math.floor(length / TIME_EPS)))
    assert plan.fps == pytest.approx(len(plan) / (plan.end - plan.start))


@given(windows(), native_rates, counts)
@settings(max_examples=200, deadline=None)
def test_native_cap_never_repeats_a_constant_rate_frame(window, native_fps, n):
    duration, start, end = window
    plan = plan_samples(duration, num_frames=n, start=start, end=end, native_fps=native_fps)
    check_grid(plan)
    if len(plan) == 0:
        return
    assert len(plan) <= math.ceil((plan.end - plan.start) * native_fps - TIME_EPS)
    frame_times = np.arange(math.ceil(duration * native_fps)) / native_fps
    shown = frames_shown_at(plan.times, frame_times)
    assert len(np.unique(shown)) >= len(shown) - 1  # at most a boundary coincidence, never a run of repeats


def test_simple_cases():
    assert plan_samples(10, fps=1).times.tolist() == list(range(10))
    assert plan_samples(10.5, fps=1).times.tolist() == list(range(11))
    assert plan_samples(10, fps=0.5).times.tolist() == [0, 2, 4, 6, 8]
    assert plan_samples(10, num_frames=4).times.tolist() == [0, 2.5, 5, 7.5]
    capped = plan_samples(100, fps=2, max_frames=10)
    assert capped.times.tolist() == list(range(0, 100, 10)) and capped.fps == 0.1 and capped.capped
    window = plan_samples(100, fps=1, start=10.5, end=13)
    assert window.times.tolist() == [10.5, 11.5, 12.5]
    assert len(plan_samples(5, fps=1, start=6)) == 0
    assert plan_samples(5, fps=1, end=100).times.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"fps": 1, "num_frames": 3}, "not both"),
        ({}, "fps or num_frames"),
        ({"fps": 0}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"num_frames": 0}, "num_frames"),
        ({"num_frames": 2.5}, "num_frames"),
        ({"fps": 1, "max_frames": 0}, "max_frames"),
        ({"fps": 1, "start": 5, "end": 2}, "before start"),
    ],
)
def test_bad_requests(kw, match):
    with pytest.raises(ValueError, match=match):
        plan_samples(10, **kw)


@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60, unique=True),
    st.none() | st.floats(-1, 120),
    st.none() | st.floats(-1, 120),
    st.none() | st.integers(1, 80),
)
@settings(max_examples=200, deadline=None)
def test_every_frame_plan(raw_times, start, end, max_frames):
    times = np.sort(np.asarray(raw_times))
    times -= times[0]
    assume(np.all(np.diff(times) > 1e-4))  # real frames are at least a tenth of a millisecond apart
    duration = float(times[-1]) + 0.5
    if start is not None and end is not None and end < start:
        start, end = end, start
    plan = plan_every_frame(times, duration, max_frames=max_frames, start=start, end=end)
    s, e = clamp_window(duration, start, end)
    if e - s <= TIME_EPS:
        assert len(plan) == 0
        return
    assert np.all(np.diff(plan.times) > 0) and plan.times[0] >= s - 1e-12 and plan.times[-1] < e
    if max_frames is not None and len(plan) == max_frames and plan.capped:
        return
    shown = frames_shown_at(plan.times, times)
    # every frame on screen somewhere in [s, e) is taken exactly once
    on_screen = [i for i in range(len(times)) if times[i] < e - TIME_EPS and (i + 1 == len(times) or times[i + 1] > s)]
    if max_frames is None or len(on_screen) <= max_frames:
        assert shown.tolist() == on_screen


def test_frames_shown_at_picks_the_frame_that_has_started():
    frame_times = np.array([0.0, 0.5, 1.0, 3.0])
    got = frames_shown_at(np.array([-1.0, 0.0, 0.49, 0.5, 0.999, 1.0, 2.9, 3.0, 99.0]), frame_times)
    assert got.tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3]
    # float noise at a boundary: 1.001 computed two ways still picks the frame that starts there
    assert frames_shown_at(np.array([0.1 + 0.2]), np.array([0.0, 0.3])).tolist() == [1]
