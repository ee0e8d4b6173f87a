"""fit_pixels agrees with qwen-vl-utils' smart_resize, and keeps its promises (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vidllm.video.resize import fit_pixels, output_size

sides = st.integers(1, 4000)
multiples = st.sampled_from([1, 2, 14, 16, 28, 32])
budgets = st.integers(1, 4000 * 4000)


@st.composite
def frames_and_budgets(draw):
    h, w = draw(sides), draw(sides)
    assume(max(h, w) / min(h, w) <= 200)
    lo, hi = sorted((draw(budgets), draw(budgets)))
    return h, w, lo, hi, draw(multiples)


@given(frames_and_budgets())
@settings(max_examples=500, deadline=None)
def test_agrees_with_qwen_smart_resize(case):
    vision_process = pytest.importorskip("qwen_vl_utils.vision_process")
    h, w, lo, hi, m = case
    theirs = vision_process.smart_resize(h, w, factor=m, min_pixels=lo, max_pixels=hi)
    ours = fit_pixels(h, w, lo, hi, m)
    if min(theirs) > 0:
        assert ours == theirs
    else:  # smart_resize returns a zero side when the budget is below one patch; we keep one patch
        assert ours == tuple(max(m, t) for t in theirs)


@given(frames_and_budgets())
@settings(max_examples=500, deadline=None)
def test_budget_multiple_and_aspect(case):
    h, w, lo, hi, m = case
    oh, ow = fit_pixels(h, w, lo, hi, m)
    assert oh % m == 0 and ow % m == 0 and oh >= m and ow >= m
    rounded = max(m, round(h / m) * m) * max(m, round(w / m) * m)
    if rounded > hi:  # shrunk: within the budget unless a side is already down to one multiple
        assert oh * ow <= hi or min(oh, ow) == m
    elif rounded < lo:  # grown: at least the minimum (rounding up may overshoot a max close to it)
        assert oh * ow >= lo
    else:
        assert (oh, ow) == (max(m, round(h / m) * m), max(m, round(w / m) * m))
    # aspect ratio is kept to within the rounding to a multiple
    assert abs(oh / ow - h / w) <= (h / w) * (m / min(oh, ow)) * 2 + 1e-9 or min(oh, ow) == m


@given(sides, sides, multiples)
@settings(max_examples=300, deadline=None)
def test_no_budget_rounds_to_nearest_multiple(h, w, m):
    assume(max(h, w) / min(h, w) <= 200)
    oh, ow = fit_pixels(h, w, None, None, m)
    assert abs(oh - h) <= m / 2 or oh == m
    assert abs(ow - w) <= m / 2 or ow == m


def test_qwen2_vl_video_budget_on_480p():
    # 854x480 under Qwen2-VL's video budget (768 tokens of 28x28) stays under it and keeps the aspect ratio
    assert fit_pixels(480, 854, 128 * 28 * 28, 768 * 28 * 28, 28) == (476, 840)
    assert fit_pixels(1080, 1920, None, 448 * 448, 28) == (336, 588)


def test_errors():
    with pytest.raises(ValueError, match="swap"):
        fit_pixels(10, 10, 100, 10)
    with pytest.raises(ValueError, match="aspect ratio"):
        fit_pixels(1, 500)
    with pytest.raises(ValueError, match="positive"):
        fit_pixels(0, 10)
    with pytest.raises(ValueError, match="multiple"):
        fit_pixels(10, 10, multiple=0)


def test_output_size():
    assert output_size(48, 64) is None
    assert output_size(48, 64, size=(24, 32)) == (24, 32)
    assert output_size(48, 64, max_pixels=10_000) is None  # already within budget
    assert output_size(48, 64, multiple=28) == (56, 56)
    with pytest.raises(ValueError):
        output_size(48, 64, size=(0, 3))
