"""TAD converters (Charades, ActivityNet v1.3, Ego4D MQ) on small files in the official formats: class-name
records with every instance, any time scheme, and the ActivityNet-form ground truth that ``vidllm score tad`` reads."""

from __future__ import annotations

import json

import pytest

from vidllm.cli import main
from vidllm.data import load_records, render_answer
from vidllm.data.convert import ConvertOptions, get_converter, write_converted
from vidllm.data.convert.tad import class_phrase
from vidllm.eval import tad
from vidllm.io import DataError
from vidllm.time import get_scheme, parse_intervals


@pytest.fixture
def tad_dir(fixtures):
    return fixtures / "tad"


def test_charades_records_and_ground_truth(tad_dir, tmp_path):
    converted = get_converter("charades_tad")(tad_dir / "Charades_v1_test.csv")
    assert converted.split == "test"
    by_key = {(r.meta["vid"], r.meta["label"]): r for r in converted.records}
    assert set(by_key) == {("YSKX3", "Holding some clothes"), ("YSKX3", "Sitting in a chair"),
                           ("Z84IO", "Someone is laughing"), ("Z84IO", "Sitting in a chair")}  # fmt: skip
    clothes = by_key[("YSKX3", "Holding some clothes")]
    assert clothes.task == "tad" and clothes.video == "YSKX3.mp4" and clothes.duration == 30.67
    assert clothes.targets.intervals == ((0.0, 12.6), (15.0, 18.5))  # every instance, in start order
    assert clothes.query == "holding some clothes"
    assert clothes.prompt.startswith("Find every moment") or "someone" in clothes.prompt.lower()
    # an end past the video (40 s of 31 s) is clipped and counted; a row with an unknown class id is skipped
    assert by_key[("Z84IO", "Sitting in a chair")].targets.intervals == ((0.0, 31.0),)
    assert converted.report.skipped == 1 and converted.report.fixed == 1
    assert any("c999" in str(p) for p in converted.report.problems)
    # the answer in any scheme reads back as every instance
    for scheme in (get_scheme("text"), get_scheme("vtgllm")):
        answer = render_answer(clothes, scheme)
        assert parse_intervals(answer) == [(0.0, 12.6), (15.0, 18.5)]
        assert answer.endswith(", holding some clothes.")
    gt = converted.ground_truth["tad"]
    assert gt["classes"] == ["Holding some clothes", "Putting clothes somewhere", "Someone is laughing",
                             "Sitting in a chair"]  # fmt: skip
    assert set(gt["database"]) == {"YSKX3", "Z84IO", "ABC12", "BAD01"}  # videos without instances stay
    assert gt["database"]["ABC12"] == {"subset": "testing", "duration": 20.5, "annotations": []}
    assert gt["database"]["YSKX3"]["annotations"][0] == {"segment": [0.0, 12.6], "label": "Holding some clothes"}
    # written out: the instruction file reloads with the tad task; the GT scores itself perfectly
    paths = write_converted(converted, tmp_path, "text")
    assert paths["tad"].name == "test.tad.json"
    records, _ = load_records(paths["instructions"])
    assert {r.task for r in records} == {"tad"} and len(records) == 4
    assert sorted(r.targets.intervals for r in records) == sorted(r.targets.intervals for r in converted.records)
    perfect = {
        "results": {
            vid: [{"label": a["label"], "score": 1.0, "segment": a["segment"]} for a in entry["annotations"]]
            for vid, entry in gt["database"].items()
        }
    }
    (tmp_path / "perfect.json").write_text(json.dumps(perfect))
    report = tad.score_files(tmp_path / "perfect.json", paths["tad"], protocol="charades")
    assert report.metrics["mAP"] == 100.0 and report.counts["classes"] == 3


def test_charades_class_file_is_required(tad_dir, tmp_path):
    csv = tmp_path / "Charades_v1_test.csv"
    csv.write_text((tad_dir / "Charades_v1_test.csv").read_text())
    with pytest.raises(FileNotFoundError, match="--classes"):
        get_converter("charades_tad")(csv)
    converted = get_converter("charades_tad")(csv, classes_path=tad_dir / "Charades_v1_classes.txt")
    assert len(converted.records) == 4
    classes = tad_dir / "Charades_v1_classes.txt"
    with pytest.raises(DataError, match="c999"):
        get_converter("charades_tad")(csv, ConvertOptions(strict=True), classes_path=classes)


def test_activitynet_subset_and_classes(tad_dir):
    convert = get_converter("activitynet_tad")
    val = convert(tad_dir / "activity_net.v1-3.min.json")
    assert val.split == "val"
    assert sorted((r.meta["vid"], r.meta["label"], len(r.targets.intervals)) for r in val.records) == [
        ("V1zhqaGFY2A", "Archery", 2), ("V1zhqaGFY2A", "Playing guitarra", 1), ("sJFgo9H6zNo", "Fun sliding down", 1)
    ]  # fmt: skip
    archery = next(r for r in val.records if r.meta["label"] == "Archery")
    assert archery.video == "v_V1zhqaGFY2A.mp4" and "'archery'" in archery.prompt.lower()
    gt = val.ground_truth["tad"]
    assert gt["classes"] == ["Archery", "Fun sliding down", "Playing guitarra", "Tango"]
    assert set(gt["database"]) == {"sJFgo9H6zNo", "V1zhqaGFY2A"}
    assert {e["subset"] for e in gt["database"].values()} == {"validation"}
    train = convert(tad_dir / "activity_net.v1-3.min.json", ConvertOptions(split="train", seed=3))
    assert [r.meta["label"] for r in train.records] == ["Tango"]
    # the raw official file scores as ground truth too (subset filter as the official evaluator)
    official = tad.load_ground_truth(tad_dir / "activity_net.v1-3.min.json", subset="validation")
    assert official.by_class() == tad.ground_truth_from_obj(gt).by_class()


def test_ego4d_clips_annotators_and_clipping(tad_dir):
    converted = get_converter("ego4d_mq")(tad_dir / "moments_val.json")
    got = {(r.meta["vid"], r.query): r for r in converted.records}
    assert set(got) == {("clip-a", "use phone"), ("clip-a", "cut / chop / slice a vegetable, fruit, or meat"),
                        ("clip-b", "wash dishes / utensils / bakeware etc")}  # fmt: skip
    phone = got[("clip-a", "use phone")]
    assert phone.video == "clip-a.mp4" and phone.duration == 480.0
    assert phone.targets.intervals == ((10.5, 20.0), (200.0, 230.0))  # the second annotator's duplicate once
    assert got[("clip-b", "wash dishes / utensils / bakeware etc")].targets.intervals == ((470.0, 480.0),)
    gt = converted.ground_truth["tad"]
    assert gt["database"]["clip-b"]["duration"] == 480.0 and len(gt["classes"]) == 3


def test_class_phrase():
    assert class_phrase("Holding some clothes") == "holding some clothes"
    assert class_phrase("TV watching") == "TV watching"
    assert class_phrase("use_phone") == "use phone"


def test_cli_convert_writes_both(tad_dir, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "out"
    code = main(["convert", "charades_tad", str(tad_dir / "Charades_v1_test.csv"), "--out", str(out),
                 "--classes", str(tad_dir / "Charades_v1_classes.txt"), "--scheme", "text"])  # fmt: skip
    assert code == 0
    assert (out / "charades_tad_test.vtg_it.json").is_file() and (out / "test.tad.json").is_file()
    items = json.loads((out / "charades_tad_test.vtg_it.json").read_text())
    assert items[0]["task"] == "tad" and " - " in items[0]["QA"][0]["a"]
    assert main(["convert", "ego4d_mq", str(tad_dir / "moments_val.json"), "--out", str(out), "--classes", "x"]) != 0
    assert "--classes is for charades_tad" in capsys.readouterr().err
