"""End to end: every runner on real ground-truth cuts with stand-in videos and the tiny model.

Tests of what is parsed and scored wrap the tiny model in :class:`ScriptedAdapter` (its own answers are gibberish);
the resume and failure tests use its real answers, which are deterministic.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from eval_runner_helpers import (
    ScriptedAdapter,
    charades_fixture,
    make_config,
    qvhighlights_fixture,
    read_samples,
    same_metrics,
    tvsum_fixture,
    youcook2_fixture,
)

from vidllm.eval import highlights, qvhl, summarization, tvg
from vidllm.eval.runner import evaluate
from vidllm.eval.samples import part_path
from vidllm.time import get_scheme, saliency_per_clip

TEXT = get_scheme("text")

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")


def _one_decimal(x: float) -> float:
    return float(f"{x:.1f}")


@pytest.fixture(scope="module")
def charades(shared_data, tmp_path_factory):
    return charades_fixture(shared_data, tmp_path_factory.mktemp("charades"))


def _charades_gt(fixture) -> dict[str, tuple[int, list[float]]]:
    annotations = json.loads(fixture.gt_path.read_text())["annotations"]
    return {a["caption"].rstrip("."): (a["id"], a["timestamp"]) for a in annotations}


def test_mr_charades_answers_are_read_and_scored(charades, tiny_base, tmp_path):
    gt = _charades_gt(charades)
    expected: dict[int, list[list[float]]] = {}

    def answer(prompt: str) -> str:
        query = next(q for q in gt if f"sentence: {q}." in prompt)
        qid, (s, e) = gt[query]
        if qid % 3 == 2:
            expected[qid] = []
            return "I am not sure when that happens."
        shift = 0.0 if qid % 3 == 0 else 3.0
        # an answer past the end of the 32-s video is clipped to it (the runner gives the parser the duration)
        expected[qid] = [[_one_decimal(s + shift), min(_one_decimal(e + shift), 32.0)]]
        return f"The event happens in the {TEXT.format_span(s + shift, e + shift)}."

    adapter = ScriptedAdapter(tiny_base, answer)
    cfg = make_config(charades, tmp_path / "out", tiny_base, tasks=["mr"], batch_size=4, plots="true")
    result = evaluate(cfg, adapter=adapter)
    assert adapter.generate_calls == [4, 2]  # batched, left-padded by the real adapter
    lines = read_samples(tmp_path / "out")
    assert [line["id"] for line in lines] == [str(i) for i in range(6)]
    assert [line["status"] for line in lines] == ["ok", "ok", "unparseable"] * 2
    assert {line["key"]: line["parsed"]["intervals"] for line in lines} == expected
    first = lines[0]
    assert first["prompt"].startswith("You are given a video from the charades dataset.")
    assert first["num_frames"] == 8 and first["video_duration"] == pytest.approx(32.0) and first["error"] is None
    assert first["num_groups"] == 4 and first["group_times"] == pytest.approx([2.0, 10.0, 18.0, 26.0])  # what it saw
    official = tvg.score(expected, dict(gt.values()))
    assert result.reports["tvg"].metrics == official.metrics
    assert result.metrics["R1@0.7"] == 200 / 6  # the two exact answers
    # the prediction file is TimeChat's format and scores the same through `vidllm score tvg`
    assert tvg.score_files(tmp_path / "out" / "pred.timechat.json", charades.gt_path).metrics == official.metrics
    assert result.counts == {"samples": 6, "ok": 4, "unparseable": 2, "missing_video": 0, "corrupt_video": 0,
                             "error": 0, "not_run": 0}  # fmt: skip
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["metrics"] == result.metrics and results["counts"] == result.counts
    assert results["model"]["sha256"] and results["adapter"] is None
    assert results["model_config"]["family"] == results["family"]  # the detected family, not the config default
    assert results["sampling"]["fps"] == 1.0 and results["sampling"]["sources"]["fps"] == "config"
    assert results["config"]["dataset"] == "charades_sta" and results["reports"]["tvg"]["counts"]["empty"] == 2
    for name in ("timeline.png", "iou_histogram.png"):
        assert (tmp_path / "out" / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _qvh_records(fixture) -> dict[str, dict]:
    return {json.loads(x)["query"]: json.loads(x) for x in fixture.gt_path.read_text().splitlines()}


def _highlight_answer(record: dict) -> tuple[str, list[tuple[float, float]]]:
    clips = record["relevant_clip_ids"][:5]
    scores = [_one_decimal(float(np.mean(record["saliency_scores"][k]))) for k in range(len(clips))]
    points = [(2.0 * c, s) for c, s in zip(clips, scores)]
    text = (f"There are {len(points)} highlight moments in the {', '.join(str(2 * c) for c in clips)} seconds. "
            f"Their saliency scores are {', '.join(str(s) for s in scores)}")  # fmt: skip
    return text, points


def test_hd_qvhighlights(shared_data, tiny_base, tmp_path):
    fixture = qvhighlights_fixture(shared_data, tmp_path / "data")
    records = _qvh_records(fixture)
    expected = {}

    def answer(prompt: str) -> str:
        record = next(r for q, r in records.items() if q.rstrip(".") in prompt)
        text, points = _highlight_answer(record)
        expected[record["qid"]] = saliency_per_clip(points, int(record["duration"] / 2))
        return text

    cfg = make_config(fixture, tmp_path / "out", tiny_base, tasks=["vhd"], batch_size=3, plots="true")
    result = evaluate(cfg, adapter=ScriptedAdapter(tiny_base, answer))
    lines = read_samples(tmp_path / "out")
    assert all(line["status"] == "ok" for line in lines)
    assert {line["key"]: line["parsed"]["saliency"] for line in lines} == expected
    preds = [{"qid": q, "pred_saliency_scores": s} for q, s in expected.items()]
    official = highlights.score(preds, list(records.values()))
    assert set(result.reports) == {"hd"} and result.reports["hd"].metrics == official.metrics
    assert highlights.score_files(tmp_path / "out" / "pred.hd.timechat.json", fixture.gt_path).metrics == (
        official.metrics
    )
    assert (tmp_path / "out" / "submission.jsonl").is_file()
    assert (tmp_path / "out" / "plots" / "saliency.png").is_file()


def test_qvhighlights_full_submission(shared_data, tiny_base, tmp_path):
    fixture = qvhighlights_fixture(shared_data, tmp_path / "data")
    records = _qvh_records(fixture)

    def answer(prompt: str) -> str:
        record = next(r for q, r in records.items() if q.rstrip(".") in prompt)
        if "highlight" in prompt:
            return _highlight_answer(record)[0]
        s, e = record["relevant_windows"][0]
        return f"The event happens in the {TEXT.format_span(s, e)}."

    cfg = make_config(fixture, tmp_path / "out", tiny_base, tasks=["mr", "vhd"], batch_size=2)
    result = evaluate(cfg, adapter=ScriptedAdapter(tiny_base, answer))
    ids = [line["id"] for line in read_samples(tmp_path / "out")]
    assert ids[:2] == ["2579:mr", "2579:vhd"] and len(ids) == 6
    submission = [json.loads(x) for x in (tmp_path / "out" / "submission.jsonl").read_text().splitlines()]
    first = records[submission[0]["query"]]
    assert submission[0]["pred_relevant_windows"] == [[*first["relevant_windows"][0], 1.0]]
    assert len(submission[0]["pred_saliency_scores"]) == int(first["duration"] / 2)
    rescored = qvhl.score_files(tmp_path / "out" / "submission.jsonl", fixture.gt_path)
    assert same_metrics(rescored.metrics, result.reports["qvhl"].metrics)
    assert result.metrics["MR-full-R1@0.7"] == 100.0  # the first window is a GT window
    assert {"MR-full-mAP", "HL-min-VeryGood-mAP"} <= set(result.metrics)


def test_dvc_youcook2_with_java(shared_data, tiny_base, tmp_path):
    from vidllm.eval import dvc
    from vidllm.eval.java import java_available

    fixture = youcook2_fixture(shared_data, tmp_path / "data")
    gt = dvc.load_gt(fixture.gt_path)
    answers = iter(
        [" ".join(f"{TEXT.format_span(s, e)}, {c}" for (s, e), c in zip(v.segments, v.captions)) for v in gt.videos]
    )
    cfg = make_config(fixture, tmp_path / "out", tiny_base, tasks=["dvc"], java=str(java_available()).lower())
    result = evaluate(cfg, adapter=ScriptedAdapter(tiny_base, lambda prompt: next(answers)))
    lines = read_samples(tmp_path / "out")
    assert [line["status"] for line in lines] == ["ok", "ok"]
    assert [(s, e) for s, e, _ in lines[0]["parsed"]["captions"]] == gt.videos[0].segments
    assert lines[0]["parsed"]["captions"][0][2] == gt.videos[0].captions[0]
    # the written file scores the same through `vidllm score dvc` (without Java here: METEOR starts in 15-30 s)
    rescored = dvc.score_files(tmp_path / "out" / "pred.dvc.timechat.json", fixture.gt_path, java=False)
    assert all(result.reports["dvc"].metrics[k] == v for k, v in rescored.metrics.items())
    assert result.metrics["F1_Score"] == 100.0
    if java_available():
        assert result.metrics["METEOR"] > 50 and "SODA_c_2" in result.metrics


def test_vs_tvsum(tiny_base, tmp_path):
    fixture = tvsum_fixture(tmp_path / "data")
    records = {json.loads(x)["query"]: json.loads(x) for x in fixture.gt_path.read_text().splitlines()}
    expected = {}

    def answer(prompt: str) -> str:
        record = next(r for q, r in records.items() if q in prompt)
        mean = np.asarray(record["saliency_scores"]).mean(axis=1)
        top = sorted(np.argsort(-mean, kind="stable")[:5].tolist())
        points = [(2.0 * c, 2.0) for c in top]
        expected[record["qid"]] = saliency_per_clip(points, int(record["duration"] / 2))
        return f"The highlight timestamps are in the {', '.join(str(2 * c) for c in top)} seconds."

    cfg = make_config(fixture, tmp_path / "out", tiny_base, tasks=["vs"], batch_size=3, plots="true")
    result = evaluate(cfg, adapter=ScriptedAdapter(tiny_base, answer))
    lines = read_samples(tmp_path / "out")
    assert all(line["status"] == "ok" for line in lines)
    assert lines[0]["prompt"].startswith("You are given a video from the TVSum dataset.")
    preds = [{"qid": q, "pred_saliency_scores": s} for q, s in expected.items()]
    assert result.reports["vs"].metrics == summarization.score(preds, list(records.values())).metrics
    assert {"top5_mAP", "F1", "top5_mAP/VT", "top5_mAP/VU"} <= set(result.metrics)
    assert (tmp_path / "out" / "plots" / "saliency.png").is_file()


# ------------------------------------------------------------------------------------- failures, resume, settings


def test_missing_and_corrupt_videos_are_recorded_then_retried(shared_data, tiny_base, tmp_path):
    fixture = charades_fixture(shared_data, tmp_path / "data", n=8)
    missing, corrupt = fixture.videos[0], fixture.videos[1]
    (fixture.video_root / missing).rename(tmp_path / "kept.mp4")
    (fixture.video_root / corrupt).write_bytes(b"not a video at all")
    adapter = ScriptedAdapter(tiny_base, lambda prompt: "from 1.0 to 2.0 seconds")
    cfg = make_config(fixture, tmp_path / "out", tiny_base, tasks=["mr"], batch_size=3)
    result = evaluate(cfg, adapter=adapter)
    lines = read_samples(tmp_path / "out")
    status = {line["video"]: set() for line in lines}
    for line in lines:
        status[line["video"]].add(line["status"])
    assert status.pop(missing) == {"missing_video"} and status.pop(corrupt) == {"corrupt_video"}
    assert all(s == {"ok"} for s in status.values())
    n_missing = sum(line["video"] == missing for line in lines)
    n_corrupt = sum(line["video"] == corrupt for line in lines)
    assert result.counts["missing_video"] == n_missing and result.counts["corrupt_video"] == n_corrupt
    assert result.reports["tvg"].counts == {
        "queries": 8,
        "missing": 0,
        "empty": n_missing + n_corrupt,
        "unknown": 0,
        "reversed": 0,
        "zero_length": 0,
    }
    bad = next(line for line in lines if line["status"] == "corrupt_video")
    assert "could not decode" in bad["error"] and bad["answer"] is None and bad["parsed"] == {}
    # the video comes back: a rerun retries the failed samples only (their batches are generated whole again)
    (tmp_path / "kept.mp4").rename(fixture.video_root / missing)
    written = len(part_path(tmp_path / "out", 0).read_text().splitlines())
    again = evaluate(cfg, adapter=adapter)
    new = part_path(tmp_path / "out", 0).read_text().splitlines()[written:]
    assert sorted(json.loads(x)["id"] for x in new) == sorted(x["id"] for x in lines if x["status"] != "ok")
    assert again.counts["missing_video"] == 0 and again.counts["corrupt_video"] == n_corrupt


@pytest.fixture(scope="module")
def charades_run(charades, tiny_base, tmp_path_factory):
    """One uninterrupted run with the tiny model's own answers (batch size 2)."""
    out = tmp_path_factory.mktemp("charades_run")
    return out, evaluate(make_config(charades, out, tiny_base, tasks=["mr"], batch_size=2))


class Killed(KeyboardInterrupt):
    """Stands for a kill: not an ``Exception``, so the runner does not record it as a failure."""


def test_kill_and_resume_equals_uninterrupted(charades_run, charades, tiny_base, tmp_path):
    from vidllm.eval.model_source import load_model

    out0, uninterrupted = charades_run
    cfg = make_config(charades, tmp_path / "out", tiny_base, tasks=["mr"], batch_size=2)
    adapter = load_model(cfg.model).adapter
    real_generate, calls = adapter.generate, []

    def dying_generate(batch, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return real_generate(batch, **kwargs)

    adapter.generate = dying_generate
    with pytest.raises(Killed):
        evaluate(cfg, adapter=adapter)
    part = part_path(tmp_path / "out", 0)
    assert len(part.read_text().splitlines()) == 2  # the first batch was written before the kill
    with part.open("a") as f:
        f.write('{"id": "2", "task": "mr", "answ')  # a line cut off mid-write
    resumed = evaluate(make_config(charades, tmp_path / "out", tiny_base, tasks=["mr"], batch_size=2))
    assert read_samples(tmp_path / "out") == read_samples(out0)
    assert resumed.metrics == uninterrupted.metrics and resumed.counts == uninterrupted.counts


def test_rerun_of_a_finished_run_does_not_load_the_model(charades_run, charades, tiny_base):
    out, first = charades_run
    before = part_path(out, 0).read_text()

    class NoModel:
        def __getattr__(self, name):
            raise AssertionError("a finished run must not use the model")

    again = evaluate(make_config(charades, out, tiny_base, tasks=["mr"], batch_size=2), adapter=NoModel())
    assert part_path(out, 0).read_text() == before and again.metrics == first.metrics


def test_resuming_with_other_settings_is_refused(charades_run, charades, tiny_base):
    out, _ = charades_run
    with pytest.raises(ValueError, match=r"other settings \(changed: sampling\).*overwrite=true"):
        evaluate(make_config(charades, out, tiny_base, tasks=["mr"], **{"sampling.max_frames": 4}))
    with pytest.raises(ValueError, match=r"changed: prompt"):
        evaluate(make_config(charades, out, tiny_base, tasks=["mr"], prompt_set="vtgllm"))


def test_lora_path_loads_the_training_output(charades_run, charades, tiny_base, tiny_lora, tmp_path):
    from vidllm.eval.model_source import load_model

    out0, _ = charades_run
    cfg = make_config(charades, tmp_path / "out", tiny_base, tasks=["mr"], batch_size=2, lora_path=f"'{tiny_lora}'",
                      **{"sampling.fps": "null", "sampling.max_frames": "null"})  # fmt: skip
    evaluate(cfg)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["adapter"]["path"] == str(tiny_lora.resolve()) and results["adapter"]["sha256"]
    # sampling comes from the training config saved beside the adapter
    assert results["sampling"]["sources"] == {"fps": "checkpoint", "max_frames": "checkpoint"}
    assert results["sampling"]["checkpoint_file"].endswith("train_config.yaml")
    # the answers are the adapter's: the same as a run given the adapter loaded in-process, not the base model's
    adapter = load_model(cfg.model, str(tiny_lora)).adapter
    assert hasattr(adapter.model, "peft_config")
    same = make_config(
        charades,
        tmp_path / "in_process",
        tiny_base,
        tasks=["mr"],
        batch_size=2,
        lora_path=f"'{tiny_lora}'",
        **{"sampling.fps": "null", "sampling.max_frames": "null"},
    )
    evaluate(same, adapter=adapter)
    answers = [line["answer"] for line in read_samples(tmp_path / "out")]
    assert answers == [line["answer"] for line in read_samples(tmp_path / "in_process")]
    assert answers != [line["answer"] for line in read_samples(out0)]
