"""Each converter on a small file in its official format; the ground truth reads back in `vidllm score`."""

import json

import pytest

from vidllm.cli import main
from vidllm.data import read_vtg_it, render_answer
from vidllm.data.convert import ConvertOptions, get_converter, read_durations, write_converted
from vidllm.data.convert.didemo import chunks_to_seconds, consensus_chunks
from vidllm.data.convert.tvsum import clip_scores
from vidllm.eval import dvc, tvg
from vidllm.eval.highlights import highlight_gt_grid
from vidllm.io import DataError, read_jsonl
from vidllm.time import get_scheme


def _convert(name, fixtures, filename, **options):
    extra = {"info_path": fixtures / "ydata-tvsum50-info.tsv"} if name == "tvsum" else {}
    return get_converter(name)(fixtures / filename, ConvertOptions(**options), **extra)


def test_charades_sta(fixtures, tmp_path):
    c = _convert("charades_sta", fixtures, "charades_sta_test.txt")
    assert c.split == "test" and len(c.records) == 4
    assert c.report.skipped == 1 and c.report.fixed == 1  # a line without an end; a reversed interval, swapped
    bad = next(p for p in c.report.problems if not p.fixed)
    assert bad.record == "line 5" and "charades_sta_test.txt" in bad.path
    r = c.records[0]
    assert (r.video, r.task, r.query, r.targets.intervals) == ("3MSZA.mp4", "mr", "person turn a light on",
                                                               ((24.3, 30.4),))  # fmt: skip
    assert "person turn a light on" in r.prompt
    assert c.records[2].targets.intervals == ((5.1, 11.2),)
    paths = write_converted(c, tmp_path)
    gt = tvg.load_ground_truth(paths["tvg"])
    assert gt == {0: [24.3, 30.4], 1: [24.3, 30.4], 2: [5.1, 11.2], 3: [0.0, 6.9]}
    ann = json.loads(paths["tvg"].read_text())["annotations"][0]
    assert ann == {"image_id": "3MSZA.mp4", "caption": "person turn a light on.", "timestamp": [24.3, 30.4], "id": 0}
    again, report = read_vtg_it(paths["instructions"])  # the instruction file reads back to the same targets
    assert report.skipped == 0 and [a.targets for a in again] == [r.targets for r in c.records]


def test_charades_durations_clip_and_feed_bins(fixtures, tmp_path):
    durations = tmp_path / "Charades_v1_test.csv"
    durations.write_text("id,subject,scene,length\n3MSZA,X,Kitchen,30.0\n0A8CF,Y,Hall,8.5\n")
    c = _convert("charades_sta", fixtures, "charades_sta_test.txt", durations=read_durations(durations))
    assert [r.duration for r in c.records] == [30.0, 30.0, 8.5, 8.5]
    assert c.records[2].targets.intervals == ((5.1, 8.5),)  # 11.2 clipped to the 8.5-s video
    assert render_answer(c.records[0], get_scheme("bins", num_bins=11)) == "<t8> - <t10>, person turn a light on."


def test_qvhighlights(fixtures, tmp_path):
    c = _convert("qvhighlights", fixtures, "highlight_val_release.jsonl", tasks=("vhd", "mr"))
    assert c.split == "val" and c.report.skipped == 1  # the unlabelled (test-release) line
    assert [r.task for r in c.records] == ["vhd", "mr"] * 3
    vhd, mr = c.records[:2]
    first = read_jsonl(fixtures / "highlight_val_release.jsonl")[0]
    assert vhd.targets.saliency[0] == (82.0, pytest.approx(4 / 3))
    assert len(vhd.targets.saliency) == len(first["relevant_clip_ids"])
    assert mr.targets.intervals == ((82, 150),) and mr.duration == 150
    paths = write_converted(c, tmp_path)
    lines = read_jsonl(paths["hd"])
    assert [g["qid"] for g in lines] == [2579, 5071, lines[2]["qid"]] and lines[0] == first
    assert all(highlight_gt_grid(g, qid=g["qid"], path=None).shape == (75, 3) for g in lines)


def test_activitynet(fixtures, tmp_path):
    c = _convert("activitynet", fixtures, "val_1.json", tasks=("dvc", "mr"))
    dvc_records = [r for r in c.records if r.task == "dvc"]
    assert [r.video for r in dvc_records] == ["v_uqiMw7tQ1Cc.mp4", "v_bXdq2zI1Ms0.mp4", "v_FsS_NCZEfaI.mp4"]
    assert dvc_records[2].targets.captions[0][:2] == (3.0, 35.0) and c.report.fixed == 2  # dvc and mr both clipped
    assert len([r for r in c.records if r.task == "mr"]) == 6
    paths = write_converted(c, tmp_path)
    assert paths["dvc"].name.startswith("val.")
    gt = dvc.load_gt(paths["dvc"])
    assert gt.split == "val" and len(gt.videos) == 3
    assert gt.videos[0].captions == [  # two sentences in one caption stay one caption for the scorer
        "A weight lifting tutorial is given.",
        "The coach helps the guy in red with the proper body placement and lifting technique, He then lifts the bar.",
    ]
    assert len(tvg.load_ground_truth(paths["tvg"])) == 6


def test_youcook2(fixtures, tmp_path, shared_data):
    c = _convert("youcook2", fixtures, "youcookii_annotations_trainval.json")
    assert c.split == "val" and [r.meta["vid"] for r in c.records] == ["xHr8X2Wpmno", "V53XmPeyjIU"]
    paths = write_converted(c, tmp_path)
    ours = dvc.load_gt(paths["dvc"]).videos[0]
    official = dvc.load_gt(shared_data / "youcook2" / "val.caption_coco_format.json").videos[0]
    assert (ours.key, ours.segments, ours.captions) == (official.key, official.segments, official.captions)
    train = _convert("youcook2", fixtures, "youcookii_annotations_trainval.json", split="train")
    assert [r.meta["vid"] for r in train.records] == ["GLd3aX16zBg"]


def test_didemo_moment_rule():
    assert consensus_chunks([[2, 2], [2, 3], [2, 2], [1, 2]]) == (2, 2)
    assert consensus_chunks([[0, 1], [5, 5], [5, 5], [0, 1]]) == (0, 1)  # tie: the pair given first
    assert chunks_to_seconds(2, 3, None) == (10.0, 20.0)
    assert chunks_to_seconds(5, 5, 28.2) == (25.0, 28.2)  # the last chunk ends with the video


def test_didemo(fixtures, tmp_path):
    c = _convert("didemo", fixtures, "val_data.json")
    assert c.split == "val" and [r.targets.intervals for r in c.records] == [((10.0, 15.0),), ((0.0, 10.0),),
                                                                            ((20.0, 25.0),)]  # fmt: skip
    assert c.records[0].video == "10015567@N08_3655084291_d8b1f4a2ae.mov"
    assert c.records[0].meta["times"] == [[2, 2], [2, 3], [2, 2], [1, 2]]
    capped = _convert("didemo", fixtures, "val_data.json", durations={"12090392@N02_13482799053_87ef417396.mov": 22.4})
    assert capped.records[2].targets.intervals == ((20.0, 22.4),)
    gt = tvg.load_ground_truth(write_converted(c, tmp_path)["tvg"])
    assert gt[2] == [20.0, 25.0]


def test_tvsum(fixtures, tmp_path):
    assert clip_scores([1, 1, 3, 3, 5, 5], fps=1.0, num_clips=3) == [1.0, 3.0, 5.0]
    c = _convert("tvsum", fixtures, "ydata-tvsum50-anno.tsv")
    r = c.records[0]
    assert (r.task, r.duration, len(r.targets.saliency)) == ("vs", 6.0, 3)
    lines = [x.rstrip("\n").split("\t") for x in (fixtures / "ydata-tvsum50-anno.tsv").open()]
    frames = [[float(v) for v in line[2].split(",")] for line in lines if line[0] == "AwmHb44_ouw"]
    assert len(frames) == 20
    # 90 frames in 6 s: 15 fps, a 2-s clip is 30 frames; the score is the mean over frames, then annotators
    expected = [sum(sum(f[30 * i : 30 * i + 30]) / 30 for f in frames) / 20 for i in range(3)]
    assert [s for _, s in r.targets.saliency] == pytest.approx(expected)
    gt = read_jsonl(write_converted(c, tmp_path)["hd"])
    assert gt[0]["query"] == "my new bike sucks" and len(gt[0]["saliency_scores"][0]) == 20
    with pytest.raises(DataError, match="no duration for AwmHb44_ouw"):
        get_converter("tvsum")(fixtures / "ydata-tvsum50-anno.tsv", ConvertOptions(strict=True))


def test_prompt_sets_and_seed_are_deterministic(fixtures):
    a = _convert("charades_sta", fixtures, "charades_sta_test.txt", prompt_set="vtgllm", seed=1)
    b = _convert("charades_sta", fixtures, "charades_sta_test.txt", prompt_set="vtgllm", seed=1)
    assert [r.prompt for r in a.records] == [r.prompt for r in b.records]
    assert all(f"'{r.query}'" in r.prompt for r in a.records)
    c = _convert("charades_sta", fixtures, "charades_sta_test.txt", prompt_set="numpro")
    assert c.records[0].prompt.startswith("The red numbers on each frame represent the frame number.")
    with pytest.raises(ValueError, match="has no 'dvc' templates"):
        _convert("youcook2", fixtures, "youcookii_annotations_trainval.json", prompt_set="numpro")


def test_cli_convert_writes_instructions_and_gt(fixtures, tmp_path, capsys):
    code = main(["convert", "didemo", str(fixtures / "val_data.json"), "--out", str(tmp_path), "--scheme", "text",
                 "--video-template", "didemo/{vid}"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "3 read, 3 kept" in out and "val.tvg.caption_coco_format.json" in out
    items = json.loads((tmp_path / "didemo_val.vtg_it.json").read_text())
    assert items[0]["video"].startswith("didemo/") and items[0]["QA"][0]["a"].startswith("10.0 - 15.0 seconds")
    assert main(["convert", "didemo", str(fixtures / "nope.json"), "--out", str(tmp_path)]) == 2
    assert main(["convert", "didemo", str(fixtures / "val_data.json"), "--out", str(tmp_path), "--info", "x"]) == 2
