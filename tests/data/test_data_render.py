"""Targets -> answer text in every scheme -> targets again (the answer is rendered at load time, per scheme)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidllm.data import Record, Targets, decode_answer, infer_task, render_answer
from vidllm.time import get_scheme

SCHEMES = {
    "text": ({}, {}),
    "vtgllm": ({}, {}),
    "frames": ({"fps": 0.5}, {"fps": 0.5}),
    "bins": ({"num_bins": 100}, {"num_bins": 100}),
}
DURATION = 600.0

words = st.text(alphabet=st.sampled_from("abcdefghij klmnop"), min_size=1, max_size=30).map(str.strip).filter(bool)
times = st.floats(min_value=0, max_value=DURATION, allow_nan=False)


def _tolerance(scheme):
    return scheme.resolution(duration=DURATION) + 1e-6


def _roundtrip(record, name):
    kwargs, read = SCHEMES[name]
    scheme = get_scheme(name, **kwargs)
    text = render_answer(record, scheme)
    task = infer_task(record.prompt, text, **read)
    targets, query = decode_answer(text, record.task, question=record.prompt, duration=DURATION, **read)
    return scheme, text, task, targets, query


@pytest.mark.parametrize("name", SCHEMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=times, b=times, query=words)
def test_moment_roundtrip(name, a, b, query):
    s, e = min(a, b), max(a, b)
    record = Record("v.mp4", "mr", f"When does '{query}' happen?", Targets(intervals=((s, e),)), DURATION, query)
    scheme, text, task, targets, q = _roundtrip(record, name)
    assert task == "mr", text
    [(s2, e2)] = targets.intervals
    assert abs(s2 - s) <= _tolerance(scheme) and abs(e2 - e) <= _tolerance(scheme)
    assert q == query.rstrip(".").strip()


@pytest.mark.parametrize("name", SCHEMES)
@settings(max_examples=30, deadline=None)
@given(events=st.lists(st.tuples(times, times, words), min_size=2, max_size=6))
def test_dense_roundtrip(name, events):
    captions = tuple((min(a, b), max(a, b), c) for a, b, c in events)
    record = Record("v.mp4", "dvc", "Describe every event.", Targets(captions=captions), DURATION)
    scheme, text, task, targets, _ = _roundtrip(record, name)
    assert task == "dvc", text
    assert len(targets.captions) == len(captions)
    for (s, e, c), (s2, e2, c2) in zip(captions, targets.captions):
        assert abs(s2 - s) <= _tolerance(scheme) and abs(e2 - e) <= _tolerance(scheme)
        assert c2 == c.rstrip(".").strip()


@pytest.mark.parametrize("name", SCHEMES)
@settings(max_examples=30, deadline=None)
@given(
    clips=st.lists(st.integers(0, 299), min_size=1, max_size=20, unique=True).map(sorted),
    scores=st.lists(st.floats(0, 4), min_size=20, max_size=20),
    query=words,
)
def test_highlight_roundtrip(name, clips, scores, query):
    points = tuple((2.0 * c, round(s, 1)) for c, s in zip(clips, scores))
    record = Record("v.mp4", "vhd", f"Find the moments of '{query}'.", Targets(saliency=points), DURATION, query)
    scheme, text, task, targets, _ = _roundtrip(record, name)
    assert task == "vhd", text
    assert [p for _, p in targets.saliency] == [p for _, p in points]
    for (t, _), (t2, _) in zip(points, targets.saliency):
        assert abs(t2 - t) <= _tolerance(scheme)


def test_answer_shapes():
    record = Record("v.mp4", "mr", "q", Targets(intervals=((1.0, 2.5), (4.0, 6.0))), query="a man runs.")
    assert render_answer(record, get_scheme("text")) == "1.0 - 2.5 seconds, 4.0 - 6.0 seconds, a man runs."
    hl = Record("v.mp4", "vs", "q", Targets(saliency=((0.0, 1.25), (2.0, 3.0))))
    assert render_answer(hl, get_scheme("text")) == (
        "0.0 seconds, significance score: 1.2. 2.0 seconds, significance score: 3.0."
    )
    assert render_answer(hl, get_scheme("frames", fps=0.5)) == (
        "The highlight frames are in the 0, 1 frames. Their saliency scores are 1.2, 3.0."
    )
    qa = Record("v.mp4", "qa", "What is it?", answer="A cat.")
    assert render_answer(qa, get_scheme("vtgllm")) == "A cat."
    with pytest.raises(ValueError, match="needs at least one interval"):
        render_answer(Record("v.mp4", "mr", "q"), get_scheme("text"))
    with pytest.raises(ValueError, match="needs the video's duration"):
        render_answer(record, get_scheme("bins"))
