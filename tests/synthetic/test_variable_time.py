"""Variable time in the synthetic benchmark: per-sample sampling rates, queries with several moments, held-out sets
written from their own spec (``vidllm synthetic write``)."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.cli import main
from vidllm.synthetic.dataset import SyntheticDataConfig, draw_record, draw_sample
from vidllm.synthetic.scenes import SceneSpec, sample_scene
from vidllm.synthetic.tasks import scene_records
from vidllm.video import read_frames


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_query_has_every_moment_of_its_shape(seed):
    spec = SceneSpec(duration=(16.0, 24.0), num_events=(1, 3), kinds=("visible", "pulse"), moments=(1, 3))
    scene = sample_scene(spec, np.random.default_rng(seed))
    for r in scene_records(scene, "v.mp4", tasks=("mr",)):
        spans = r.targets.intervals
        named = [(e.start, e.end) for e in scene.events if r.query.startswith(f"{e.name} ")]
        assert list(spans) == sorted(named) and r.meta["moments"] == len(spans)
        assert all(e1 < s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))  # disjoint, with a gap
        assert all(0 <= s < e <= scene.duration for s, e in spans)


def test_single_moments_keep_the_scenes_of_before():
    # moments=(1, 1) draws nothing more: the default benchmark (and its CI margins) is unchanged
    rng = np.random.default_rng(3)
    scene = sample_scene(SceneSpec(), rng)
    assert all(r.meta["moments"] == 1 for r in scene_records(scene, "v.mp4", tasks=("mr",)))
    multi = [sample_scene(SceneSpec(kinds=("visible",), moments=(2, 2)), np.random.default_rng(s)) for s in range(20)]
    assert any(len(r.targets.intervals) == 2 for s in multi for r in scene_records(s, "v.mp4", tasks=("mr",)))


def test_each_sample_draws_its_own_rate():
    cfg = SyntheticDataConfig(fps=[1.0, 2.0], duration=[8.0, 24.0])
    rates = [cfg.sample_fps(i, 2.0) for i in range(40)]
    assert all(1.0 <= f <= 2.0 for f in rates) and len(set(rates)) == 40
    record, frames, times = draw_sample(cfg, 7, fps=2.0)
    assert np.allclose(np.diff(times), 1 / rates[7]) and len(frames) == len(times)
    assert times[-1] < record.duration <= times[-1] + 1 / rates[7] + 1e-9
    # the rate has its own random stream: the questions are those of a fixed rate
    assert draw_record(cfg, 7)[0] == draw_record(SyntheticDataConfig(duration=[8.0, 24.0]), 7)[0]
    assert SyntheticDataConfig().sample_fps(7, 2.0) == 2.0


def test_cli_writes_a_heldout_set_from_its_own_spec(tmp_path):
    out = tmp_path / "held"
    args = ["synthetic", "write", "--out", str(out), "n=2", "fps=1", "scenes.duration=[32,32]",
            "scenes.moments=[1,2]", "scenes.tasks=[mr,dvc]"]  # fmt: skip
    assert main(args) == 0
    records = [json.loads(line) for line in (out / "test.records.jsonl").read_text().splitlines()]
    assert {r["duration"] for r in records} == {32.0} and {r["task"] for r in records} == {"mr", "dvc"}
    video = read_frames(out / records[0]["video"], fps=1)
    assert len(video.timestamps) == 32 and video.duration == 32.0
    assert "fps: 1" in (out / "heldout.yaml").read_text()
    gt = json.loads((out / "test.tvg.caption_coco_format.json").read_text())["annotations"]
    assert len(gt) == sum(r["task"] == "mr" for r in records)
