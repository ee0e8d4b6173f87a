"""Ground truth -> queries, answers -> parsed, parsed -> official prediction files and scores.

The scoring path of the runner is checked against the numbers the official evaluators print on TimeChat's example
predictions (tests/fixtures/benchmarks/README.md), fed in as if a model had answered them.
"""

from __future__ import annotations

import json

import pytest

from vidllm.eval.benchmarks import (
    BENCHMARKS,
    GroundTruth,
    build_queries,
    get_benchmark,
    is_parsed,
    load_ground_truth,
    parse_answer,
    score_samples,
    window_scores,
)
from vidllm.io import DataError


def _subset(gt: GroundTruth, keys) -> GroundTruth:
    keep = set(keys)
    return GroundTruth(gt.benchmark, gt.path, [e for e in gt.entries if e.key in keep], gt.split)


def _lines(queries, parsed_by_key) -> dict[str, dict]:
    return {q.id: {"id": q.id, "status": "ok", "parsed": parsed_by_key[q.entry.key]} for q in queries}


def test_charades_example_predictions_give_the_official_numbers(shared_data, tmp_path):
    preds = json.loads((shared_data / "charades_sta/example_pred.timechat.json").read_text())
    gt = load_ground_truth(get_benchmark("charades_sta"), shared_data / "charades_sta/test.caption_coco_format.json")
    assert (
        len(gt.entries) == 3720 and gt.entries[0].vid == "3MSZA" and gt.entries[0].query == "person turn a light on."
    )
    gt = _subset(gt, (int(k) for k in preds))
    queries = build_queries(gt, ["mr"])
    lines = _lines(queries, {int(k): {"intervals": v["timestamp"]} for k, v in preds.items()})
    scored = score_samples(gt, ["mr"], lines, queries, tmp_path)
    metrics = scored.reports["tvg"].metrics
    assert [round(metrics[f"R1@{t}"], 1) for t in (0.3, 0.5, 0.7)] == [9.0, 3.4, 1.4]  # TimeChat --sample
    written = json.loads(scored.files["predictions"].read_text())
    assert set(written) == set(preds)
    assert all(written[k]["vid"] == preds[k]["vid"] and written[k]["query"] == preds[k]["query"] for k in preds)


def test_qvhighlights_example_predictions_give_the_official_numbers(shared_data, tmp_path):
    preds = json.loads((shared_data / "qvhighlights/example_pred.timechat.json").read_text())
    gt = load_ground_truth(get_benchmark("qvhighlights"), shared_data / "qvhighlights/highlight_val_release.jsonl")
    gt = _subset(gt, (p["qid"] for p in preds))  # TimeChat scores the qids present in both files
    queries = build_queries(gt, ["vhd"])
    lines = _lines(queries, {p["qid"]: {"points": [[0, 1]], "saliency": p["pred_saliency_scores"]} for p in preds})
    metrics = score_samples(gt, ["vhd"], lines, queries, tmp_path).reports["hd"].metrics
    assert (metrics["HL-min-Fair-mAP"], metrics["HL-min-Fair-Hit1"]) == (28.8, 24.61)
    assert (metrics["HL-min-Good-mAP"], metrics["HL-min-Good-Hit1"]) == (22.8, 23.17)
    assert (metrics["HL-min-VeryGood-mAP"], metrics["HL-min-VeryGood-Hit1"]) == (13.24, 18.87)


def test_youcook2_example_predictions_give_the_official_detection_numbers(shared_data, tmp_path):
    preds = json.loads((shared_data / "youcook2/example_pred.timechat.json").read_text())
    gt = load_ground_truth(get_benchmark("youcook2"), shared_data / "youcook2/val.caption_coco_format.json")
    assert gt.split == "val" and gt.entries[0].key == "xHr8X2Wpmno.mp4" and gt.entries[0].duration == 207.0
    queries = build_queries(gt, ["dvc"])
    parsed = {e.key: {"captions": [[*p["timestamp"], p["caption"]] for p in preds.get(e.key, [])]} for e in gt.entries}
    report = score_samples(gt, ["dvc"], _lines(queries, parsed), queries, tmp_path, java=False).reports["dvc"]
    m = report.metrics
    assert (m["F1_Score"], m["Precision_Mean"], m["Recall_Mean"], m["n_preds"]) == (12.5, 12.6, 14.2, 8.2)


def test_unanswered_queries_get_the_official_unreadable_predictions(shared_data, tmp_path):
    gt = load_ground_truth(get_benchmark("qvhighlights"), shared_data / "qvhighlights/highlight_val_release.jsonl")
    gt = gt.select(2)
    queries = build_queries(gt, ["mr", "vhd"])
    assert [q.id for q in queries] == ["2579:mr", "2579:vhd", "5071:mr", "5071:vhd"]
    lines = {"2579:mr": {"parsed": {"intervals": [[80.0, 100.0], [10.0, 20.0]]}},
             "2579:vhd": {"parsed": {}}}  # fmt: skip  # a failed sample; 5071 has no line at all
    scored = score_samples(gt, ["mr", "vhd"], lines, queries, tmp_path)
    submission = [json.loads(x) for x in scored.files["submission"].read_text().splitlines()]
    assert submission[0]["pred_relevant_windows"] == [[80.0, 100.0, 1.0], [10.0, 20.0, 0.5]]
    assert submission[0]["pred_saliency_scores"] == [0.0] * 75  # TimeChat's format_vhd.py: zeros
    assert submission[1]["pred_relevant_windows"] == [] and set(scored.reports) == {"qvhl"}
    assert scored.reports["qvhl"].counts["empty_windows"] == 1


def test_build_queries_checks_tasks_and_template(shared_data):
    gt = load_ground_truth(get_benchmark("charades_sta"), shared_data / "charades_sta/test.caption_coco_format.json")
    q = build_queries(gt.select(1), ["mr"], "charades/{vid}.mp4")[0]
    assert (q.id, q.video, q.entry.key) == ("0", "charades/3MSZA.mp4", 0)
    with pytest.raises(ValueError, match="scores mr, not vhd"):
        build_queries(gt, ["vhd"])
    with pytest.raises(ValueError, match="unknown benchmark 'charades'; valid benchmarks: charades_sta"):
        get_benchmark("charades")
    assert {"charades_sta", "activitynet_grounding", "qvhighlights", "youcook2", "activitynet_dvc", "tvsum",
            "charades_tad", "activitynet_tad", "ego4d_mq"} <= set(BENCHMARKS)  # fmt: skip


def test_bad_ground_truth_names_file_and_record(tmp_path):
    bad = tmp_path / "gt.json"
    bad.write_text(json.dumps({"annotations": [{"id": 0, "image_id": "a.mp4", "caption": "x", "timestamp": [1]}]}))
    with pytest.raises(DataError, match=r"gt.json.*record 0.*timestamp.*expected an interval"):
        load_ground_truth(get_benchmark("charades_sta"), bad)
    dup = tmp_path / "dup.json"
    ann = {"id": 0, "image_id": "a.mp4", "caption": "x", "timestamp": [1, 2]}
    dup.write_text(json.dumps({"annotations": [ann, ann]}))
    with pytest.raises(DataError, match="lists 0 more than once"):
        build_queries(load_ground_truth(get_benchmark("charades_sta"), dup), ["mr"])


@pytest.mark.parametrize(
    "task, answer, kwargs, expected",
    [
        ("mr", "The event happens in the 24.3 - 30.4 seconds.", {}, {"intervals": [[24.3, 30.4]]}),
        ("mr", "From Frame 3 to Frame 9", {"fps": 0.5}, {"intervals": [[6.0, 18.0]]}),
        ("mr", "30.4 - 24.3 seconds, then 40 - 50 s", {}, {"intervals": [[24.3, 30.4], [40.0, 50.0]]}),
        ("mr", "no idea", {}, {"intervals": []}),
        ("vhd", "There are 2 highlight moments in the 2, 4 seconds. Their saliency scores are 1.5, 2.5",
         {"gt_duration": 9.0}, {"points": [[2.0, 1.5], [4.0, 2.5]], "saliency": [0.0, 1.5, 2.5, 0.0]}),
        ("vs", "nothing here", {"gt_duration": 4.0}, {"points": [], "saliency": [0.0, 0.0]}),
        ("dvc", "0 - 4 seconds, chop. 4 - 8 seconds, fry it.", {},
         {"captions": [[0.0, 4.0, "chop."], [4.0, 8.0, "fry it."]]}),
    ],
)  # fmt: skip
def test_parse_answer(task, answer, kwargs, expected):
    parsed = parse_answer(task, answer, fps=kwargs.pop("fps", 1.0), **kwargs)
    assert parsed == expected
    assert is_parsed(task, parsed) == (answer not in ("no idea", "nothing here"))


def test_time_token_answers():
    from vidllm.time import get_scheme

    answer = get_scheme("vtgllm").format_span(12.5, 20.0)
    assert parse_answer("mr", answer, fps=1.0) == {"intervals": [[12.5, 20.0]]}
    bins = get_scheme("bins", num_bins=100)
    answer = bins.format_span(15.0, 30.0, duration=60.0)
    parsed = parse_answer("mr", answer, fps=1.0, duration=60.0, num_bins=100)
    assert parsed["intervals"] == [[pytest.approx(15.0, abs=0.7), pytest.approx(30.0, abs=0.7)]]


def test_window_scores_rank_in_answer_order():
    assert window_scores([(1, 2), (3, 4), (5, 6)]) == [[1.0, 2.0, 1.0], [3.0, 4.0, 0.5], [5.0, 6.0, 1 / 3]]
