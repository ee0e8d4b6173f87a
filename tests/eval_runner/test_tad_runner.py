"""eval/tad.py end to end on a Charades-format cut: (video, class) queries, ranked answers, the ActivityNet
submission, and the same numbers through ``vidllm score tad``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_runner_helpers import Fixture, ScriptedAdapter, make_config, read_samples, write_videos

from vidllm.cli import main
from vidllm.data.convert import get_converter, write_converted
from vidllm.eval import tad
from vidllm.eval.benchmarks import get_benchmark, is_parsed, load_ground_truth, parse_answer
from vidllm.eval.run_cli import build_parser, config_from_args
from vidllm.eval.runner import evaluate

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "tad"

ANSWERS = {
    "holding some clothes": "0.0 - 12.6 seconds (0.9), 15.0 - 18.5 seconds (0.8), holding some clothes.",
    "sitting in a chair": "11.9 - 21.2 seconds, 0.0 - 31.0 seconds, sitting in a chair.",
    "putting clothes somewhere": "1.0 - 2.0 seconds, putting clothes somewhere.",
    "someone is laughing": "Nobody laughs in this video.",
}


@pytest.fixture(scope="module")
def charades_tad(tmp_path_factory) -> Fixture:
    root = tmp_path_factory.mktemp("charades_tad")
    converted = get_converter("charades_tad")(FIXTURES / "Charades_v1_test.csv")
    gt_path = write_converted(converted, root, "text")["tad"]
    durations = {f"{vid}.mp4": min(entry["duration"], 24.0) for vid, entry in json.loads(gt_path.read_text())[
        "database"].items()}  # fmt: skip
    write_videos(root / "videos", durations)
    return Fixture("charades_tad", gt_path, root / "videos", sorted(durations))


def _answer(prompt: str) -> str:
    return next(text for phrase, text in ANSWERS.items() if f"someone is {phrase}." in prompt)


def test_every_class_of_every_video_is_asked_and_scored(charades_tad, tiny_base, tmp_path):
    adapter = ScriptedAdapter(tiny_base, _answer)
    out = tmp_path / "out"
    cfg = make_config(charades_tad, out, tiny_base, tasks=["tad"], batch_size=8, prompt_set="timechat_finetuned")
    result = evaluate(cfg, adapter=adapter)
    lines = read_samples(out)
    assert len(lines) == 4 * 4 and adapter.generate_calls == [8, 8]  # 4 videos x 4 classes
    first = lines[0]
    assert first["id"] == "YSKX3#Holding some clothes" and first["prompt"] == (
        "Find every moment where someone is holding some clothes."
    )
    assert first["parsed"]["intervals"] == [[0.0, 12.6, 0.9], [15.0, 18.5, 0.8]]  # explicit confidences
    chair = next(line for line in lines if line["id"] == "YSKX3#Sitting in a chair")
    assert chair["parsed"]["intervals"] == [[11.9, 21.2, 1.0], [0.0, 24.0, 0.5]]  # text order; 31 s clipped to 24
    assert result.counts["unparseable"] == 4 and result.counts["ok"] == 12
    # the submission holds every answer of every video; scoring it as a file gives the run's numbers
    submission = json.loads((out / "pred.tad.json").read_text())
    assert len(submission["results"]["ABC12"]) == 2 + 2 + 1  # a video without actions: all false positives
    by_file = tad.score_files(out / "pred.tad.json", charades_tad.gt_path, protocol="charades")
    assert result.reports["tad"].metrics == by_file.metrics
    # hand check at tIoU 0.5, "holding some clothes" (2 GT, both in YSKX3): the same answer for all 4 videos gives
    # scores 0.9 x 4 then 0.8 x 4, ties in video order: TP FP FP FP TP FP FP FP -> 1/2 * 1 + 1/2 * 2/5 = 0.7
    gt = tad.load_ground_truth(charades_tad.gt_path)
    dets = [(v, s, e, sc) for v, rows in tad.load_predictions(out / "pred.tad.json").items()
            for label, s, e, sc in rows if label == "Holding some clothes"]  # fmt: skip
    assert tad.class_average_precision(gt.by_class()["Holding some clothes"], dets, (0.5,)) == [pytest.approx(0.7)]
    assert result.metrics["mAP"] == by_file.metrics["mAP"] and 0 < result.metrics["mAP"] < 100
    assert json.loads((out / "results.json").read_text())["reports"]["tad"]["counts"]["classes"] == 3
    # `vidllm score tad` on the same files
    assert main(["score", "tad", "--pred", str(out / "pred.tad.json"), "--gt", str(charades_tad.gt_path),
                 "--protocol", "charades", "--json", str(tmp_path / "s.json")]) == 0  # fmt: skip
    flat = json.loads((tmp_path / "s.json").read_text())
    # "putting clothes somewhere" has no GT instance: its 4 detections are left out, as officially
    assert flat["mAP"] == result.metrics["mAP"] and flat["num_unknown_label"] == 4


def test_present_classes_only(charades_tad, tiny_base, tmp_path):
    adapter = ScriptedAdapter(tiny_base, _answer)
    cfg = make_config(charades_tad, tmp_path / "out", tiny_base, tasks=["tad"], batch_size=4,
                      prompt_set="timechat_finetuned", tad_queries="present")  # fmt: skip
    result = evaluate(cfg, adapter=adapter)
    assert result.counts["samples"] == 4  # only the (video, class) pairs with instances
    full = load_ground_truth(get_benchmark("charades_tad"), charades_tad.gt_path)
    assert len(full.entries) == 16


def test_runner_flags():
    args = build_parser("tad").parse_args(["--dataset", "charades_tad", "--model_path", "/m", "--tad_queries",
                                           "present"])  # fmt: skip
    cfg = config_from_args(args)
    assert cfg.tasks == ["tad"] and cfg.tad_queries == "present" and cfg.gt_path == "data/charades_tad/test.tad.json"


def test_official_activitynet_file_and_answers():
    bench = get_benchmark("activitynet_tad")
    path = FIXTURES / "activity_net.v1-3.min.json"
    present = load_ground_truth(bench, path, tad_queries="present")  # the validation subset, as officially
    assert sorted(e.key for e in present.entries) == [
        "V1zhqaGFY2A#Archery",
        "V1zhqaGFY2A#Playing guitarra",
        "sJFgo9H6zNo#Fun sliding down",
    ]
    assert len(load_ground_truth(bench, path).entries) == 2 * 3  # every class of the subset for every video
    archery = next(e for e in present.entries if e.key.endswith("Archery"))
    assert archery.query == "archery" and archery.record["segments"] == [[3.4, 27.2], [40.0, 60.5]]
    assert parse_answer("tad", "1 - 2 s (0.3), 4 - 5 s (0.6)", fps=1.0) == {"intervals": [[1, 2, 0.3], [4, 5, 0.6]]}
    assert is_parsed("tad", parse_answer("tad", "never", fps=1.0)) is False
