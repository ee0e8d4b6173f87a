"""The task registry, ``vidllm eval --tasks`` (several benchmarks on one model load) and model confidences in runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from eval_runner_helpers import ScriptedAdapter, charades_fixture, make_config, read_samples, tvsum_fixture
from test_tad_runner import ANSWERS, _answer, charades_tad  # noqa: F401 (the fixture)
from transformers import LogitsProcessor, LogitsProcessorList

from vidllm.cli import main
from vidllm.eval import confidence, multi
from vidllm.eval.run_cli import EVAL_CONFIG_DIR
from vidllm.eval.runner import evaluate
from vidllm.eval.tasks import TASKS, Task, get_task, register_task
from vidllm.eval.tasks.families import Grounding

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
REPO = Path(__file__).resolve().parents[2]


def test_registry_names_the_valid_tasks():
    with pytest.raises(ValueError, match="unknown benchmark 'charades'; valid benchmarks: charades_sta, "):
        get_task("charades")
    with pytest.raises(ValueError, match="already registered"):
        register_task(Task("charades_sta", Grounding(), ("mr",), "charades", "again"))
    with pytest.raises(ValueError, match="unknown questions"):
        register_task(Task("new_one", Grounding(), ("grounding",), "x", "bad question"))
    for name, task in TASKS.items():
        assert (EVAL_CONFIG_DIR / f"{name}.yaml").is_file(), f"{name} has no default config"
        assert task.asks and set(task.asks) <= set(task.questions)


def test_the_runner_has_no_format_switches():
    for path in ("vidllm/eval/runner.py", "vidllm/eval/benchmarks.py"):
        text = (REPO / path).read_text()
        assert "gt_format" not in text and "fmt ==" not in text and 'task == "' not in text, path


class ForcedAdapter(ScriptedAdapter):
    """The tiny model made to write the scripted answers (a logits processor forces each token), so its own
    probabilities of those tokens -- and so the confidences -- are real."""

    def generate(self, batch, **kwargs):
        tok = self.processor.tokenizer
        targets = []
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"]):
            text = self.answer(self._prompts[tuple(ids[mask.bool()].tolist())])
            targets.append(tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
        start = batch["input_ids"].shape[1]

        class Force(LogitsProcessor):
            def __call__(self, input_ids, scores):
                k = input_ids.shape[1] - start
                out = torch.full_like(scores, -math.inf)
                for r, t in enumerate(targets):
                    out[r, t[min(k, len(t) - 1)]] = 0.0
                return out

        self.generate_calls.append(len(targets))
        kwargs["logits_processor"] = LogitsProcessorList([*kwargs.get("logits_processor", []), Force()])
        kwargs["max_new_tokens"] = max(len(t) for t in targets)
        return self.real.generate(batch, **kwargs)


def test_detections_carry_the_models_confidences(charades_tad, tiny_base, tmp_path):  # noqa: F811
    adapter = ForcedAdapter(tiny_base, _answer)
    out = tmp_path / "out"
    cfg = make_config(charades_tad, out, tiny_base, tasks=["tad"], batch_size=8, prompt_set="timechat_finetuned")
    result = evaluate(cfg, adapter=adapter)
    lines = read_samples(out)
    holding = lines[0]
    assert holding["answer"] == ANSWERS["holding some clothes"]  # the forced text, read as usual
    assert holding["parsed"]["intervals"] == [[0.0, 12.6, 0.9], [15.0, 18.5, 0.8]]
    conf = holding["parsed"]["confidences"]
    assert len(conf) == 2 and all(0 < c < 1 for c in conf) and conf[0] != conf[1]
    submission = json.loads((out / "pred.tad.json").read_text())["results"]
    scores = [d["score"] for dets in submission.values() for d in dets]
    assert holding["parsed"]["confidences"][0] in scores and 0.9 not in scores  # model scores, not written ones
    counts = result.reports["tad"].counts
    assert counts["scores_model"] == len(scores) and counts["scores_text"] == 0
    # the same folder rescored with rank scores: nothing is generated again, and the ties come back
    calls = len(adapter.generate_calls)
    ranked = evaluate(make_config(charades_tad, out, tiny_base, tasks=["tad"], batch_size=8,
                                  prompt_set="timechat_finetuned", scores="rank"), adapter=adapter)  # fmt: skip
    assert len(adapter.generate_calls) == calls
    assert ranked.reports["tad"].counts["scores_text"] == len(scores)
    assert ranked.reports["tad"].counts["tied_tp_fp_pairs"] > counts["tied_tp_fp_pairs"]
    assert any("share a score" in n for n in ranked.reports["tad"].notes)


def test_recorded_logprobs_are_the_models(tiny_base):
    """The recorder's log-probabilities equal transformers' own transition scores of the same greedy generation."""
    from eval_runner_helpers import FAMILY
    from tiny_models import synthetic_video, tiny_model_config, video_messages

    from vidllm.models import get_adapter

    adapter = get_adapter(FAMILY)(tiny_model_config(tiny_base, FAMILY)).load()
    batch = adapter.collate([adapter.build_inputs(video_messages(), [synthetic_video(4, fps=1.0)],
                                                  add_generation_prompt=True)], padding_side="left")  # fmt: skip
    (answer,) = confidence.generate_scored(adapter, batch, max_new_tokens=6, do_sample=False)
    out = adapter.generate_output(batch, max_new_tokens=6, do_sample=False, return_dict_in_generate=True,
                                  output_scores=True)  # fmt: skip
    expected = adapter.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)[0]
    assert isinstance(answer, confidence.ScoredText) and answer == adapter.generate(batch, max_new_tokens=6)[0]
    assert answer.token_logprobs == pytest.approx(expected.tolist(), abs=1e-5)


def test_eval_tasks_one_model_load_per_task_folders_and_summary(shared_data, tiny_base, tmp_path):
    cs = charades_fixture(shared_data, tmp_path / "cs", n=3)
    tv = tvsum_fixture(tmp_path / "tv", n=2)
    out = tmp_path / "run"
    argv = ["eval", "--tasks", "charades_sta,tvsum", "--model_path", str(tiny_base), "--output_dir", str(out),
            "--device", "cpu", "--fps", "1", "--max_frames", "8", "--max_new_tokens", "6", "--num_workers", "1",
            "batch_size=2", f"charades_sta.gt_path={cs.gt_path}", f"charades_sta.video_root={cs.video_root}",
            f"tvsum.gt_path={tv.gt_path}", f"tvsum.video_root={tv.video_root}"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_loads"] == 1 and list(summary["tasks"]) == ["charades_sta", "tvsum"]
    for name, questions in (("charades_sta", ["mr"]), ("tvsum", ["vs"])):
        results = json.loads((out / name / "results.json").read_text())
        assert results["dataset"] == name and results["tasks"] == questions
        assert summary["tasks"][name]["metrics"] == results["metrics"]
    assert summary["tasks"]["charades_sta"]["counts"]["samples"] == 3
    assert "| charades_sta | " in (out / "summary.md").read_text() and "R1@0.5" in (out / "summary.md").read_text()
    # a rerun resumes every task: nothing to generate, so the model is not loaded
    assert main(argv) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["model_loads"] == 0 and again["tasks"] == summary["tasks"]


def test_eval_tasks_refuses_bad_lists(tmp_path):
    with pytest.raises(ValueError, match="valid benchmarks: charades_sta"):
        multi.task_configs(["charades"], tmp_path)
    with pytest.raises(ValueError, match="twice"):
        multi.task_configs(["tvsum", "tvsum"], tmp_path)
    with pytest.raises(ValueError, match="not in --tasks"):
        multi.task_configs(["tvsum"], tmp_path, ["youcook2.limit=3"])
    with pytest.raises(ValueError, match="shared by all tasks"):
        multi.task_configs(["tvsum"], tmp_path, ["tvsum.model.path=/m"])
    cfgs = multi.task_configs(["qvhighlights", "tvsum"], tmp_path, ["limit=4", "tvsum.limit=2"])
    assert cfgs["qvhighlights"].tasks == ["mr", "vhd"] and cfgs["qvhighlights"].limit == 4
    assert cfgs["tvsum"].limit == 2 and cfgs["tvsum"].output_dir == str(tmp_path / "tvsum")


def test_a_new_benchmark_tacos_converted_and_evaluated(tiny_base, tmp_path):
    """The docs' "adding a benchmark" example: TACoS annotations -> ``vidllm convert tacos`` -> the ``tacos`` task."""
    from eval_runner_helpers import Fixture, write_videos

    from vidllm.data.convert import get_converter, write_converted

    ann = {"s13-d21.avi": {"fps": 25.0, "num_frames": 600, "timestamps": [[0, 100], [300, 150]],
                           "sentences": ["He takes out a knife.", "He cuts the cucumber."]},
           "s22-d48.avi": {"fps": 30.0, "num_frames": 450, "timestamps": [[60, 240]],
                           "sentences": ["She washes a plate."]}}  # fmt: skip
    source = tmp_path / "test.json"
    source.write_text(json.dumps(ann))
    converted = get_converter("tacos")(source)
    assert converted.report.fixed == 1  # the reversed moment, swapped
    gt_path = write_converted(converted, tmp_path / "tacos", "text")["tvg"]
    gt = json.loads(gt_path.read_text())["annotations"]
    assert [a["timestamp"] for a in gt] == [[0.0, 4.0], [6.0, 12.0], [2.0, 8.0]] and gt[0]["duration"] == 24.0
    write_videos(tmp_path / "videos", {"s13-d21.mp4": 24.0, "s22-d48.mp4": 15.0})
    answers = {"knife": "0.0 - 4.0 seconds", "cucumber": "6.0 - 9.0 seconds", "plate": "10 - 14 seconds"}
    adapter = ScriptedAdapter(tiny_base, lambda p: next(a for k, a in answers.items() if k in p))
    fixture = Fixture("tacos", gt_path, tmp_path / "videos", ["s13-d21.mp4", "s22-d48.mp4"])
    result = evaluate(make_config(fixture, tmp_path / "out", tiny_base, tasks=["mr"]), adapter=adapter)
    assert result.metrics["R1@0.5"] == pytest.approx(200 / 3) and result.metrics["R1@0.7"] == pytest.approx(100 / 3)
    assert read_samples(tmp_path / "out")[0]["key"] == 0


def test_qvhighlights_windows_are_ranked_by_the_models_confidences(shared_data, tmp_path):
    from vidllm.eval.benchmarks import build_queries, load_ground_truth, score_samples

    gt = load_ground_truth(get_task("qvhighlights"), shared_data / "qvhighlights/highlight_val_release.jsonl")
    gt = gt.select(3)
    queries = build_queries(gt, ["mr"])
    lines = {}
    for q in queries:
        windows = [list(w) for w in q.entry.record["relevant_windows"]] + [[0.0, 2.0]]
        confidences = [0.2 + 0.1 * k for k in range(len(windows))]  # the answer's last window is the surest
        lines[q.id] = {"id": q.id, "task": "mr", "status": "ok",
                       "parsed": {"intervals": windows, "confidences": confidences}}  # fmt: skip
    model = score_samples(gt, ["mr"], lines, queries, tmp_path / "model")
    submission = [json.loads(x) for x in (tmp_path / "model" / "submission.jsonl").read_text().splitlines()]
    assert [w[2] for w in submission[0]["pred_relevant_windows"]] == lines[queries[0].id]["parsed"]["confidences"]
    rank = score_samples(gt, ["mr"], lines, queries, tmp_path / "rank", scores="rank")
    assert model.reports["qvhl"].counts["scores_model"] == rank.reports["qvhl"].counts["scores_text"] > 0
    # ranked first, the wrong [0, 2] window lowers the model-scored mAP; in text order it comes last
    assert model.reports["qvhl"].metrics["MR-full-mAP"] < rank.reports["qvhl"].metrics["MR-full-mAP"] == 100.0
