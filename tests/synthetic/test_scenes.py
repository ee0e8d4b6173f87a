import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.synthetic.render import BACKGROUND, render
from vidllm.synthetic.scenes import COLORS, SceneSpec, is_visible, sample_scene
from vidllm.synthetic.tasks import scene_records


def _has_color(frame: np.ndarray, color: str) -> bool:
    target = np.array(COLORS[color])
    # pulse brightness scales the colour: compare hue direction, not value
    px = frame.reshape(-1, 3).astype(float)
    lit = px[(px != BACKGROUND).any(1)]
    if len(lit) == 0:
        return False
    cos = lit @ target / (np.linalg.norm(lit, axis=1) * np.linalg.norm(target) + 1e-9)
    return bool((cos > 0.995).any())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_frames_show_exactly_the_visible_events(seed):
    scene = sample_scene(SceneSpec(num_events=(1, 3), duration=(8.0, 16.0)), np.random.default_rng(seed))
    times = np.arange(0, scene.duration, 0.5)
    frames = render(scene, times, 48, 48)
    for frame, t in zip(frames, times):
        for event in scene.events:
            assert _has_color(frame, event.color) == is_visible(event, t) or any(
                e.color == event.color and is_visible(e, t) for e in scene.events if e is not event
            )


def test_seed_fixes_everything():
    a = sample_scene(SceneSpec(), np.random.default_rng(7))
    b = sample_scene(SceneSpec(), np.random.default_rng(7))
    assert a == b
    assert np.array_equal(render(a, np.arange(16.0)), render(b, np.arange(16.0)))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_events_fit_the_video_and_grid(seed):
    spec = SceneSpec(duration=(10.0, 30.0), num_events=(1, 4), event_length=(1.0, 9.0), grid=1.0)
    scene = sample_scene(spec, np.random.default_rng(seed))
    assert len({(e.shape, e.color) for e in scene.events}) == len(scene.events)
    for e in scene.events:
        assert 0 <= e.start < e.end <= scene.duration
        assert e.start == int(e.start) and (e.end == int(e.end) or e.end == scene.duration)


def test_records_carry_the_event_times():
    scene = sample_scene(SceneSpec(num_events=(3, 3), kinds=("pulse",)), np.random.default_rng(1))
    records = scene_records(scene, "v.mp4")
    mr = [r for r in records if r.task == "mr"]
    assert [r.targets.intervals[0] for r in mr] == [(e.start, e.end) for e in scene.events]
    vhd = [r for r in records if r.task == "vhd"]
    assert len(vhd) == 3 and all(p[0] % 2 == 0 and 1 <= p[1] <= 4 for r in vhd for p in r.targets.saliency)
    [dvc] = [r for r in records if r.task == "dvc"]
    assert [c[:2] for c in dvc.targets.captions] == [(e.start, e.end) for e in scene.events]


def test_bad_specs_say_what_is_valid():
    with pytest.raises(ValueError, match="valid kinds: visible, move, pulse"):
        SceneSpec(kinds=("jump",))
    with pytest.raises(ValueError, match="distinct shape/colour pairs"):
        SceneSpec(num_events=(1, 20))
    with pytest.raises(ValueError, match="valid tasks"):
        scene_records(sample_scene(SceneSpec(), np.random.default_rng(0)), "v.mp4", tasks=("qa",))
