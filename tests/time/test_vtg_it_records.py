"""The shared VTG-IT-style records were written by VTG-LLM's encoder from real ground truth: they read back."""

import json
from pathlib import PurePosixPath

import pytest

from vidllm.time import parse_captions, parse_highlights, parse_intervals


@pytest.fixture(scope="module")
def records(shared_data):
    return json.loads((shared_data / "vtg_it" / "vtg_it_style_records.json").read_text())


def _vid(record):
    return PurePosixPath(record["video"]).name


def test_moment_retrieval_answers_decode_to_charades_gt(records, shared_data):
    gt = json.loads((shared_data / "charades_sta" / "test.caption_coco_format.json").read_text())["annotations"]
    by_key = {(a["image_id"], a["caption"].rstrip(".").strip()): a["timestamp"] for a in gt}
    mr = [r for r in records if r["video"].startswith("charades/")]
    assert len(mr) == 40
    for r in mr:
        answer = r["QA"][0]["a"]
        caption = answer.split("seconds,", 1)[1].strip().rstrip(".")
        [(s, e)] = parse_intervals(answer)
        gs, ge = by_key[(_vid(r), caption)]
        assert abs(s - gs) < 0.051 and abs(e - ge) < 0.051


def test_dense_captions_decode_to_youcook2_segments(records, shared_data):
    gt = json.loads((shared_data / "youcook2" / "val.caption_coco_format.json").read_text())["annotations"]
    by_vid = {a["image_id"]: a for a in gt}
    dvc = [r for r in records if r["video"].startswith("youcook2/")]
    assert len(dvc) == 30
    for r in dvc:
        events = parse_captions(r["QA"][0]["a"])
        ann = by_vid[_vid(r)]
        assert [[s, e] for s, e, _ in events] == [[float(s), float(e)] for s, e in ann["segments"]]
        assert all(c for _, _, c in events)


def test_highlight_answers_decode_to_qvhighlights_saliency(records, shared_data):
    lines = (shared_data / "qvhighlights" / "highlight_val_release.jsonl").read_text().splitlines()
    gt = {(g["vid"], g["query"]): g for g in map(json.loads, lines)}
    hd = [r for r in records if r["video"].startswith("qvhighlights/")]
    assert len(hd) == 30
    for r in hd:
        answer = r["QA"][0]["a"]
        query = answer.split("significance score:", 1)[1].split(",", 1)[1].split(". ")[0].strip()
        g = gt.get((_vid(r)[: -len(".mp4")], query)) or gt.get((_vid(r)[: -len(".mp4")], query + "."))
        assert g is not None, query
        points = parse_highlights(answer)
        assert [t for t, _ in points] == [2.0 * c for c in g["relevant_clip_ids"]]
        for (_, score), annotators in zip(points, g["saliency_scores"], strict=True):
            assert score == pytest.approx(sum(annotators) / 3, abs=0.051)
