import itertools
import json

import numpy as np
import pytest

from vidllm.eval import dvc, highlights, tad, tvg
from vidllm.synthetic import SceneSpec
from vidllm.synthetic.benchmark import sample_times, stream, write_benchmark
from vidllm.video import read_frames


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    spec = SceneSpec(num_events=(2, 3), kinds=("visible", "move", "pulse"))
    return out, write_benchmark(out, num_videos=3, spec=spec, seed=5, split="val")


def test_written_videos_show_the_scene_at_the_sampled_times(bench):
    out, paths = bench
    records = [json.loads(line) for line in paths["records"].read_text().splitlines()]
    video = read_frames(out / records[0]["video"], fps=1)
    assert np.allclose(video.timestamps, sample_times(video.duration, 1.0))
    # a frame is lit wherever one of the video's moments says a shape is on screen
    lit = (video.frames.astype(int) - 24).clip(0).sum(axis=(1, 2, 3)) > 0
    mr = [r for r in records if r["video"] == records[0]["video"] and r["task"] == "mr"]
    for t, on in zip(video.timestamps, lit):
        visible = any(s <= t < e for r in mr for s, e in r["targets"]["intervals"])
        assert on or not visible


def test_perfect_answers_score_perfectly(bench):
    _, paths = bench
    gt = tvg.load_ground_truth(paths["tvg"])
    assert tvg.score({q: [iv] for q, iv in gt.items()}, gt).metrics["R1@0.7"] == 100.0
    hd_gt = [json.loads(line) for line in paths["hd"].read_text().splitlines()]
    preds = []
    for g in hd_gt:
        scores = [0.0] * int(g["duration"] / 2)
        for cid, row in zip(g["relevant_clip_ids"], g["saliency_scores"]):
            scores[cid] = float(row[0])
        preds.append({"qid": g["qid"], "pred_saliency_scores": scores})
    report = highlights.score(preds, hd_gt)
    assert report.metrics["HL-min-Fair-Hit1"] == 100.0
    dvc_gt = dvc.load_gt(paths["dvc"])
    raw = json.loads(paths["dvc"].read_text())["annotations"]
    dvc_preds = {a["image_id"]: [{"timestamp": s, "caption": "x"} for s in a["segments"]] for a in raw}
    assert dvc.score(dvc_preds, dvc_gt, java=False).metrics["Recall@0.9"] == 100.0
    tad_raw = json.loads(paths["tad"].read_text())["database"]
    tad_preds = {
        vid: [(a["label"], *a["segment"], 1.0) for a in entry["annotations"]] for vid, entry in tad_raw.items()
    }
    report = tad.score(tad_preds, tad.load_ground_truth(paths["tad"]))
    assert report.metrics[next(k for k in report.metrics if "mAP" in k)] == 100.0


def test_stream_is_deterministic_and_fresh():
    a = [s.record.prompt for s in itertools.islice(stream(SceneSpec(), seed=3), 20)]
    b = [s.record.prompt for s in itertools.islice(stream(SceneSpec(), seed=3), 20)]
    assert a == b and len(set(a)) > 3
    sample = next(stream(SceneSpec(duration=(8.0, 8.0)), seed=0, fps=2.0, size=(28, 28)))
    assert sample.frames.shape == (16, 28, 28, 3) and sample.timestamps[1] == 0.5
