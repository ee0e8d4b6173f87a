"""The verifiable rewards (:mod:`vidllm.rewards`): in [0, 1], 1 for the ground truth in every time scheme, monotone
in IoU, 0 (and counted as unparsed) for an answer that does not parse, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.data.records import Record, Targets, render_answer
from vidllm.eval.iou import iou_hull
from vidllm.rewards import (
    COMPONENTS,
    RewardSettings,
    Target,
    combine,
    detection_f1,
    dvc_f1,
    highlight_ap,
    in_scheme,
    score_answer,
    tiou_reward,
)
from vidllm.time import SCHEMES, get_scheme

DURATION = 60.0
FPS = 2.0
NUM_BINS = 121  # a step of 0.5 s over 60 s

# Every scheme of the registry, with the grid its times are written on exactly.
GRIDS = {"text": 0.1, "vtgllm": 0.1, "frames": 1 / FPS, "bins": DURATION / (NUM_BINS - 1)}


def scheme_of(name: str):
    return get_scheme(name, **{"frames": {"fps": FPS}, "bins": {"num_bins": NUM_BINS}}.get(name, {}))


def test_every_registered_scheme_is_covered():
    assert set(GRIDS) == set(SCHEMES)


@st.composite
def grid_intervals(draw, name: str, n: int = 1):
    """``n`` intervals of positive length on the scheme's grid inside [0, DURATION]."""
    steps = int(round(DURATION / GRIDS[name]))
    out = []
    for _ in range(n):
        a = draw(st.integers(0, steps - 1))
        b = draw(st.integers(a + 1, steps))
        out.append(_on_grid(name, a, b))
    return tuple(out)


def _on_grid(name: str, a: int, b: int) -> tuple[float, float]:
    if name in ("text", "vtgllm"):
        return float(f"{a / 10:.1f}"), float(f"{b / 10:.1f}")  # what the decimal text reads back
    if name == "frames":
        return a / FPS, b / FPS
    return a * DURATION / (NUM_BINS - 1), b * DURATION / (NUM_BINS - 1)


def record(task: str, **targets) -> Record:
    return Record(video="v.mp4", task=task, prompt="q", targets=Targets(**targets), duration=DURATION, query="q")


def target(rec: Record) -> Target:
    return Target.from_record(rec, fps=FPS)


# ------------------------------------------------------------------------------------------- ground truth -> 1


@pytest.mark.parametrize("name", sorted(GRIDS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_ground_truth_scores_one_in_every_scheme(name, data):
    scheme = scheme_of(name)
    mr = record("mr", intervals=data.draw(grid_intervals(name)))
    tad = record("tad", intervals=data.draw(grid_intervals(name, n=3)))
    spans = data.draw(grid_intervals(name, n=2))
    dvc = record("dvc", captions=tuple((s, e, f"event {k}") for k, (s, e) in enumerate(spans)))
    for rec, own in ((mr, "tiou"), (tad, "f1"), (dvc, "dvc")):
        got = score_answer(render_answer(rec, scheme), target(rec), scheme)
        assert got.parsed, (name, rec.task, render_answer(rec, scheme))
        assert got.rewards[own] == 1.0, (name, rec, got)
        assert got.rewards["format"] == 1.0


@pytest.mark.parametrize("name", sorted(GRIDS))
@settings(max_examples=30, deadline=None)
@given(scores=st.lists(st.integers(0, 40), min_size=2, max_size=30))
def test_ground_truth_highlights_score_one(name, scores):
    scheme = get_scheme("bins", num_bins=31) if name == "bins" else scheme_of(name)  # a 2-s step: clip starts
    points = tuple((2.0 * k, s / 10) for k, s in enumerate(scores) if s > 0)
    if not points:
        return
    rec = record("vhd", saliency=points)
    got = score_answer(render_answer(rec, scheme), target(rec), scheme)
    assert got.rewards["highlight"] == pytest.approx(1.0), render_answer(rec, scheme)
    assert got.rewards["format"] == 1.0


def test_think_template_reads_the_answer_tag():
    rec = record("mr", intervals=((2.0, 6.0),))
    scheme = get_scheme("text")
    think = RewardSettings(think=True)
    good = score_answer(f"<think>the door opens</think><answer>{render_answer(rec, scheme)}</answer>",
                        target(rec), scheme, think)  # fmt: skip
    assert good.rewards["tiou"] == 1.0 and good.rewards["format"] == 1.0
    # the interval outside the tag is not read; the template is broken
    bare = score_answer(render_answer(rec, scheme), target(rec), scheme, think)
    assert bare.rewards["tiou"] == 0.0 and bare.rewards["format"] == 0.0 and not bare.parsed
    tagged_only = score_answer(f"<answer>{render_answer(rec, scheme)}</answer>", target(rec), scheme, think)
    assert tagged_only.rewards["tiou"] == 1.0 and tagged_only.rewards["format"] == 0.0


def test_format_needs_the_runs_scheme():
    rec = record("mr", intervals=((2.0, 6.0),))
    text_answer = render_answer(rec, get_scheme("text"))
    vtg = get_scheme("vtgllm")
    got = score_answer(text_answer, target(rec), vtg)
    assert got.rewards["tiou"] == 1.0 and got.rewards["format"] == 0.0  # right times, wrong writing
    assert in_scheme(render_answer(rec, vtg), vtg) and not in_scheme(render_answer(rec, vtg), get_scheme("text"))


# ------------------------------------------------------------------------------------------------ range, never raise


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("0123456789.:- ,<>/abfrmenstiohwkTIME_ZRODW")), max_size=80)
    | st.text(max_size=40),
    task=st.sampled_from(["mr", "tad", "dvc", "vhd", "vs", "qa"]),
    name=st.sampled_from(sorted(GRIDS)),
    think=st.booleans(),
)
def test_any_text_gets_rewards_in_unit_interval(text, task, name, think):
    rec = record(task, intervals=((1.0, 5.0), (8.0, 9.0)), captions=((1.0, 5.0, "a"),), saliency=((2.0, 1.0),))
    got = score_answer(text, target(rec), scheme_of(name), RewardSettings(think=think))
    assert set(got.rewards) == set(COMPONENTS)
    for value in got.rewards.values():
        assert value is None or 0.0 <= value <= 1.0
    if not got.parsed:
        assert all(v in (None, 0.0) for v in got.rewards.values())


def test_non_string_completion_is_unparsed_not_an_error():
    rec = record("mr", intervals=((1.0, 5.0),))
    got = score_answer(None, target(rec), get_scheme("text"))  # type: ignore[arg-type]
    assert not got.parsed and got.rewards["tiou"] == 0.0 and got.rewards["format"] == 0.0


# ---------------------------------------------------------------------------------------------------- monotone


interval = st.tuples(st.floats(0, 50), st.floats(0.1, 20)).map(lambda t: (t[0], t[0] + t[1]))


@settings(max_examples=200, deadline=None)
@given(gt=interval, a=interval, b=interval, threshold=st.sampled_from([0.3, 0.5, 0.7]))
def test_interval_rewards_are_monotone_in_iou(gt, a, b, threshold):
    if iou_hull(a, gt) > iou_hull(b, gt):
        a, b = b, a
    assert tiou_reward([a], [gt]) <= tiou_reward([b], [gt])
    assert tiou_reward([a], [gt]) == iou_hull(a, gt)
    assert detection_f1([a], [gt], threshold) <= detection_f1([b], [gt], threshold)
    assert dvc_f1([a], [gt]) <= dvc_f1([b], [gt])


def test_detection_f1_matches_each_instance_once():
    gt = [(0.0, 10.0), (20.0, 30.0)]
    assert detection_f1([(0.0, 10.0), (0.0, 10.0)], gt) == pytest.approx(0.5)  # 1 of 2 predicted, 1 of 2 found
    assert detection_f1([(0.0, 10.0), (20.0, 30.0)], gt) == 1.0
    assert detection_f1([], gt) == 0.0


def test_highlight_ap_ranks_positive_clips():
    gt = [0.0, 3.0, 0.0, 1.0]
    assert highlight_ap([0.0, 2.0, 0.0, 1.0], gt) == 1.0
    assert highlight_ap([1.0, 0.0, 1.0, 0.0], gt) < 0.6
    assert highlight_ap([1.0, 1.0], [0.0, 0.0]) == 0.0  # no positive clip


def test_combine_leaves_out_components_that_do_not_apply():
    assert combine({"tiou": 0.5, "format": 1.0, "f1": None}, {"tiou": 2.0, "format": 0.5, "f1": 9.0}) == 1.5
