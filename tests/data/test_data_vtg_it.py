"""The shared VTG-IT records load, and their answers decode to the ground truth they were built from."""

import json
import re
from pathlib import PurePosixPath

import pytest

from vidllm.data import load_records, read_vtg_it, render_answer, saliency_vector, write_vtg_it
from vidllm.data.answers import infer_task
from vidllm.data.load import ArrowRecords
from vidllm.time import get_scheme


@pytest.fixture(scope="module")
def loaded(vtg_it_file):
    return read_vtg_it(vtg_it_file)


def _vid(record):
    return PurePosixPath(record.video).name


def test_all_records_load_with_the_right_tasks(loaded):
    records, report = loaded
    assert (report.read, report.kept, report.skipped, report.fixed) == (100, 100, 0, 0)
    assert [r.task for r in records].count("mr") == 40
    assert [r.task for r in records].count("dvc") == 30
    assert [r.task for r in records].count("vhd") == 30
    assert all(r.source.endswith(f":{i}") for i, r in enumerate(records))


def test_moment_retrieval_decodes_to_charades_gt(loaded, shared_data):
    gt = json.loads((shared_data / "charades_sta" / "test.caption_coco_format.json").read_text())["annotations"]
    by_key = {(a["image_id"], a["caption"].rstrip(".")): a["timestamp"] for a in gt}
    mr = [r for r in loaded.records if r.task == "mr"]
    for r in mr:
        [(s, e)] = r.targets.intervals
        gs, ge = by_key[(_vid(r), r.query)]
        assert abs(s - gs) < 0.051 and abs(e - ge) < 0.051
        assert r.query in r.prompt  # the query is the one the question asks about


def test_dense_captions_decode_to_youcook2_segments(loaded, shared_data):
    gt = json.loads((shared_data / "youcook2" / "val.caption_coco_format.json").read_text())["annotations"]
    by_vid = {a["image_id"]: a for a in gt}
    for r in (r for r in loaded.records if r.task == "dvc"):
        ann = by_vid[_vid(r)]
        assert [[s, e] for s, e, _ in r.targets.captions] == [[float(s), float(e)] for s, e in ann["segments"]]
        assert [c for *_, c in r.targets.captions] == [c.strip() for c in ann["pure_cap"].split(". ")]


def test_highlights_decode_to_qvhighlights_saliency(loaded, shared_data):
    lines = (shared_data / "qvhighlights" / "highlight_val_release.jsonl").read_text().splitlines()
    gt = {(g["vid"], g["query"].rstrip(".")): g for g in map(json.loads, lines)}
    for r in (r for r in loaded.records if r.task == "vhd"):
        g = gt[(_vid(r).removesuffix(".mp4"), r.query)]
        assert [t for t, _ in r.targets.saliency] == [2.0 * c for c in g["relevant_clip_ids"]]
        vector = saliency_vector(r, num_clips=int(g["duration"] / 2))
        for clip, annotators in zip(g["relevant_clip_ids"], g["saliency_scores"]):
            assert vector[clip] == pytest.approx(sum(annotators) / 3, abs=0.051)


@pytest.mark.parametrize("scheme", ["vtgllm", "text"])
def test_written_back_and_read_again_gives_the_same_records(loaded, tmp_path, scheme):
    path = write_vtg_it(loaded.records, tmp_path / "out.json", scheme)
    again, report = read_vtg_it(path)
    assert report.skipped == 0
    # In plain text a caption's own number range ("cook for 15-20 seconds") reads as one more interval: only
    # time tokens keep times and words apart. The shared data has one such caption.
    ambiguous = [scheme == "text" and bool(re.search(r"\d\s*-\s*\d", r.answer)) for r in loaded.records]
    assert sum(ambiguous) == (1 if scheme == "text" else 0)
    for r, a, skip in zip(again, loaded.records, ambiguous):
        assert skip or r.targets == a.targets
    assert [(r.task, r.query, r.prompt) for r in again] == [(r.task, r.query, r.prompt) for r in loaded.records]


def test_vtgllm_rendering_reproduces_the_published_answers(loaded):
    scheme = get_scheme("vtgllm")
    for r in loaded.records:
        # VTG-IT's grounding answers write "start-end" without spaces; the rest is the same text.
        assert render_answer(r, scheme) == r.answer.replace(">-<", "> - <")


def test_group_by_video_puts_turns_of_one_video_in_one_item(loaded, tmp_path):
    mr = [r for r in loaded.records if r.task == "mr"]
    path = write_vtg_it(mr, tmp_path / "g.json", group_by_video=True)
    items = json.loads(path.read_text())
    assert len(items) == len({r.video for r in mr}) and sum(len(i["QA"]) for i in items) == len(mr)
    again, _ = read_vtg_it(path)
    assert sorted(r.targets.intervals for r in again) == sorted(r.targets.intervals for r in mr)


def test_arrow_cache_gives_the_same_records_and_is_reused(vtg_it_file, tmp_path, loaded, caplog):
    records, report = load_records(vtg_it_file, use_arrow=True, cache_dir=tmp_path)
    assert isinstance(records, ArrowRecords) and len(records) == 100 and report.kept == 100
    assert list(records) == loaded.records
    assert records[3] == loaded.records[3] and records[98:] == loaded.records[98:]
    assert records.dataset["task"].count("dvc") == 30
    caplog.set_level("INFO", logger="vidllm.data.load")
    again, report2 = load_records(vtg_it_file, use_arrow=True, cache_dir=tmp_path)
    assert "from its Arrow cache" in caplog.text and report2.kept == 100 and again[0] == loaded.records[0]
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1


def test_published_paths_are_remapped(tmp_path):
    qa = [{"q": "When? 'a person'", "a": "1 - 2 seconds"}]
    items = [
        {"video": "yourpath/data/charades/3MSZA.mp4", "QA": qa},
        {"video": str(tmp_path / "vids" / "b.mp4"), "QA": qa},
    ]
    (tmp_path / "vids").mkdir()
    (tmp_path / "vids" / "b.mp4").write_bytes(b"")
    path = tmp_path / "it.json"
    path.write_text(json.dumps(items))
    records, report = read_vtg_it(path, video_root=tmp_path / "vids", strip_prefix="yourpath/data/",
                                  check_video_files=True)  # fmt: skip
    assert [r.video for r in records] == ["charades/3MSZA.mp4", "b.mp4"]
    assert report.missing_videos == 1 and report.missing_examples == ["charades/3MSZA.mp4"]


@pytest.mark.parametrize(
    "question, answer, task",
    [
        ("Localize 'a man opens the door' in the video.", "12.5 - 20.0 seconds, a man opens the door.", "mr"),
        ("Describe the events.", "0.0 - 5.0 seconds, a. 5.0 - 9.0 seconds, b.", "dvc"),
        ("Find the moments of 'a dog runs'.", "82.0 seconds, significance score: 1.3, a dog runs.", "vhd"),
        (
            "Find moments that match the description: 'Key scenes captured in the video.'",
            "4.0 seconds, significance score: 3.0, Key scenes captured in the video.",
            "vs",
        ),  # fmt: skip
        (
            "From the TVSum dataset, generate a summarized version of the video.",
            "The highlight timestamps are in the 0, 2, 4 seconds. Their saliency scores are 1.3, 2.0, 4.1",
            "vs",
        ),
        (
            "Watch the video and mark out the scenes based on the description: a girl cooks.",
            "The highlight timestamps are in the 82, 84 seconds. Their saliency scores are 1.3, 1.7",
            "vhd",
        ),
        ("What is the man holding?", "A red umbrella.", "qa"),
        ("When?", "From Frame 3 to Frame 9", "mr"),
    ],
)
def test_task_rule(question, answer, task):
    assert infer_task(question, answer, fps=1.0) == task


def test_own_records_file_is_lossless(loaded, tmp_path):
    from vidllm.data import write_records

    path = write_records(loaded.records, tmp_path / "records.jsonl")
    again, report = load_records(path)
    assert report.kept == 100 and again == loaded.records
