"""TVSum top-5 mAP (UMT / UniVTG) and keyshot summary F1 on hand-computed cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vidllm.eval import summarization as vs


def test_lower_median_is_torch_median():
    assert vs.lower_median(np.array([1.0, 2.0, 3.0, 4.0])) == 2.0
    assert vs.lower_median(np.array([5.0, 1.0, 3.0])) == 3.0
    rng = np.random.default_rng(0)
    for n in range(1, 12):
        x = rng.integers(1, 6, n).astype(float)
        assert vs.lower_median(x) == float(torch.tensor(x).median())


def test_top5_ap_by_hand():
    annotator = np.array([1, 2, 3, 4, 5, 3.0])  # lower median 3 -> positives: clips 3 and 4
    scores = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2])  # ranking 0, 4, 2, 3, 5 -> labels 0 1 0 1 0
    # recall steps at ranks 2 and 4: 0.5 * (0 + 1/2) / 2 + 0.5 * (1/3 + 1/2) / 2
    assert vs.top_k_ap(scores, annotator) == pytest.approx(0.5 * 0.5 / 2 + 0.5 * (1 / 3 + 1 / 2) / 2)
    assert vs.top_k_ap(scores, annotator) == pytest.approx(1 / 3)
    # equal scores keep clip order: labels 0 0 0 1 1 -> 0.5 * 0.25 / 2 + 0.5 * (0.25 + 0.4) / 2
    assert vs.top_k_ap(np.zeros(6), annotator) == pytest.approx(0.225)
    # no positive among the top 5 -> 0
    assert vs.top_k_ap(np.array([9, 8, 7, 6, 5, 4, 0, 0.0]), np.array([1, 1, 1, 1, 1, 1, 5, 5.0])) == 0.0
    # every top-5 clip positive -> 1
    assert vs.top_k_ap(np.arange(10.0), np.r_[np.ones(5), 2 * np.ones(5)]) == pytest.approx(1.0)


def _umt_reference(scores: np.ndarray, annotator: np.ndarray, k: int = 5) -> float:
    """The UMT loop written against torch, for scores without ties (where torch's order is defined)."""
    inds = torch.argsort(torch.tensor(scores), descending=True)
    label = torch.tensor(annotator)
    label = torch.where(label > label.median(), 1.0, 0.0)[inds].tolist()[:k]
    if (num_gt := sum(label)) == 0:
        return 0.0
    hits = ap = rec = 0
    prc = 1
    for j, gt in enumerate(label):
        hits += gt
        _rec, _prc = hits / num_gt, hits / (j + 1)
        ap += (_rec - rec) * (prc + _prc) / 2
        rec, prc = _rec, _prc
    return ap


def test_top5_ap_matches_the_reference_loop():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(5, 40))
        scores, annotator = rng.random(n), rng.integers(1, 6, n).astype(float)
        assert vs.top_k_ap(scores, annotator) == _umt_reference(scores, annotator)


def test_top5_map_is_mean_over_annotators_of_mean_over_videos():
    v1 = (np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2]), np.stack([[1, 2, 3, 4, 5, 3.0], [5, 4, 3, 2, 1, 3.0]], axis=1))
    v2 = (np.zeros(6), np.stack([[1, 2, 3, 4, 5, 3.0], [1, 1, 1, 1, 1, 5.0]], axis=1))
    per = [[vs.top_k_ap(s, g[:, a]) for s, g in (v1, v2)] for a in range(2)]
    assert vs.top_k_map([v1, v2]) == pytest.approx(np.mean([np.mean(p) for p in per]))


def test_knapsack_and_ties():
    assert vs.knapsack([3, 4, 5, 6], [2, 3, 4, 5], 5) == [0, 1]
    assert vs.knapsack([1, 1, 1], [1, 1, 1], 2) == [0, 1]  # equal values: the earlier items
    assert vs.knapsack([5, 1], [3, 1], 2) == [1]
    assert vs.knapsack([1, 2], [1, 1], 0) == []


def test_keyshot_summary_and_f1():
    scores = np.array([0.1, 0.9, 0.5, 0.8, 0.2, 0.0, 0.3, 0.4, 0.6, 0.7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    summary = vs.keyshot_summary(scores, vs.clip_shots(20))  # floor(0.15 * 20) = 3 clips
    assert np.flatnonzero(summary).tolist() == [1, 3, 9]
    shots = vs.clip_shots(20, [[0, 4], [4, 10], [10, 40]])  # seconds -> clips [0, 2), [2, 5), [5, 20)
    assert shots == [(0, 2), (2, 5), (5, 20)]
    assert np.flatnonzero(vs.keyshot_summary(scores, shots)).tolist() == [0, 1]  # 3 clips fit: only the 2-clip shot
    assert vs.summary_f1(np.array([1, 1, 0, 0.0]), np.array([0, 1, 1, 0.0])) == pytest.approx(0.5)
    assert vs.summary_f1(np.array([1, 0, 0, 0.0]), np.array([0, 1, 1, 0.0])) == 0.0
    grid = np.stack([scores, scores[::-1]], axis=1)  # annotator 1 agrees with the prediction, annotator 2 not
    assert vs.video_f1(scores, grid, vs.clip_shots(20)) == pytest.approx((1.0 + 0.0) / 2)


def _record(qid, duration, grid, **extra):
    ids = list(range(len(grid)))
    return {"qid": qid, "query": "q", "duration": duration, "vid": f"v{qid}", "relevant_clip_ids": ids,
            "saliency_scores": np.asarray(grid).tolist(), **extra}  # fmt: skip


def test_score_report():
    rng = np.random.default_rng(2)
    grids = [rng.integers(1, 6, (15, 20)).astype(float) for _ in range(3)]
    gt = [_record(k, 30.0 + (k == 2), g, category="A" if k < 2 else "B") for k, g in enumerate(grids)]
    preds = [{"qid": 0, "pred_saliency_scores": grids[0].mean(1).tolist()},
             {"qid": 1, "pred_saliency_scores": grids[1].mean(1).tolist()[:10]},
             {"qid": 9, "pred_saliency_scores": [1.0]}]  # fmt: skip
    report = vs.score(preds, gt)
    videos = [(grids[0].mean(1), grids[0]), (np.r_[grids[1].mean(1)[:10], np.zeros(5)], grids[1]),
              (np.zeros(15), grids[2])]  # fmt: skip
    assert report.metrics["top5_mAP"] == pytest.approx(100 * vs.top_k_map(videos))
    assert report.metrics["top5_mAP/A"] == pytest.approx(100 * vs.top_k_map(videos[:2]))
    assert report.metrics["top5_mAP/B"] == pytest.approx(100 * vs.top_k_map(videos[2:]))
    f1 = np.mean([vs.video_f1(s, g, vs.clip_shots(15)) for s, g in videos])
    assert report.metrics["F1"] == pytest.approx(100 * f1)
    assert report.counts == {"videos": 3, "missing": 1, "extra": 1, "resized": 1, "duplicates": 0, "duplicate_gt": 0}


def test_reads_what_the_tvsum_converter_writes(tmp_path):
    from vidllm.data.convert.common import ConvertOptions
    from vidllm.data.convert.tvsum import convert

    rng = np.random.default_rng(3)
    anno, info = [], ["video_id\tcategory\ttitle\turl\tlength"]
    for vid, frames, length in (("AAA", 300, "0:30"), ("BBB", 240, "0:24")):
        info.append(f"{vid}\tVT\ttitle {vid}\thttp://x\t{length}")
        anno += [f"{vid}\tVT\t{','.join(str(int(x)) for x in rng.integers(1, 6, frames))}" for _ in range(20)]
    (tmp_path / "anno.tsv").write_text("\n".join(anno) + "\n")
    (tmp_path / "info.tsv").write_text("\n".join(info) + "\n")
    gt = convert(tmp_path / "anno.tsv", ConvertOptions(), info_path=tmp_path / "info.tsv").ground_truth["hd"]
    assert len(gt) == 2 and len(gt[0]["saliency_scores"][0]) == 20
    preds = [{"qid": r["qid"], "pred_saliency_scores": np.mean(r["saliency_scores"], axis=1).tolist()} for r in gt]
    report = vs.score(preds, json.loads(json.dumps(gt)))
    assert report.counts["videos"] == 2 and report.counts["resized"] == 0
    assert 0 < report.metrics["top5_mAP"] <= 100 and 0 < report.metrics["F1"] <= 100
