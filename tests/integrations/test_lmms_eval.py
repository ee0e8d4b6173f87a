"""``lmms-eval --model vidllm`` end to end, and lmms-eval's charades_sta metric next to ``vidllm score tvg``.

These run lmms-eval in its own virtualenv (``.venv-lmms``, made by ``scripts/setup.sh``; see ``lmms_helpers``) in a
subprocess and skip, saying why, where it is absent. Measured differences between the two scorers are pinned here
and explained in docs/lmms-eval.md.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from lmms_helpers import REPO, TASKS_DIR, lmms_env

from vidllm.eval.tvg import THRESHOLDS, load_ground_truth, load_predictions, score, score_files
from vidllm.integrations.lmms_eval.backend import intervals_in_seconds
from vidllm.models.config import TimeConfig
from vidllm.time import TextScheme, parse_intervals

TASK = "vidllm_synthetic_mr"
METRICS = ("IOU@3", "IOU@5", "IOU@7", "mIOU")


def run_lmms(python: Path, args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run([str(python), *args], cwd=cwd, env=lmms_env(cwd), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, f"lmms-eval failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done


@pytest.mark.integration
def test_lmms_eval_cli_runs_a_local_task_on_the_tiny_model(lmms, tiny_base, frames_lora, synthetic_docs, tmp_path):
    """The lmms-eval CLI finds ``--model vidllm`` through the entry point, loads base + adapter through vidllm,
    answers a local task (vidllm.synthetic videos) and scores it with lmms-eval's charades_sta metric."""
    (tmp_path / f"{TASK}.json").write_text(json.dumps(synthetic_docs))
    model_args = f"pretrained={tiny_base},lora={frames_lora},device=cpu,max_new_tokens=8"
    out = tmp_path / "out"
    run_lmms(lmms, ["-m", "lmms_eval", "--model", "vidllm", "--model_args", model_args, "--tasks", TASK,
                    "--include_path", str(TASKS_DIR), "--output_path", str(out), "--log_samples",
                    "--batch_size", "2", "--verbosity", "WARNING"], cwd=tmp_path)  # fmt: skip
    results = json.loads(next(out.glob("*/*_results.json")).read_text())
    metrics = results["results"][TASK]
    for name in METRICS:
        assert 0.0 <= metrics[f"charades_sta_{name},none"] <= 100.0
    assert results["n-samples"][TASK]["effective"] == len(synthetic_docs)
    samples = [json.loads(line) for line in next(out.glob(f"*/*_samples_{TASK}.jsonl")).read_text().splitlines()]
    assert len(samples) == len(synthetic_docs) and all(isinstance(s["filtered_resps"], str) for s in samples)


def lmms_metrics(python: Path, sets: dict[str, list[dict]], tmp: Path) -> dict[str, dict]:
    """lmms-eval's charades_sta aggregation of each set of docs (each doc with its ``answer`` text), in one run."""
    path = tmp / "answers.json"
    path.write_text(json.dumps(sets))
    done = run_lmms(python, [str(Path(__file__).with_name("lmms_charades_metric.py")), str(path)], cwd=tmp)
    return json.loads(done.stdout.strip().splitlines()[-1])


def vidllm_metric(docs: list[dict], *, fps: float | None = None) -> dict:
    """``vidllm score tvg --sample`` on the same answers, read by vidllm's parser (the runner's)."""
    preds = {d["qid"]: [list(p) for p in parse_intervals(d["answer"], fps=fps)] for d in docs}
    report = score(preds, {d["qid"]: d["timestamp"] for d in docs}, sample=True)
    return {**{f"R1@{t}": report.metrics[f"R1@{t}"] for t in THRESHOLDS}, "mIoU": report.metrics["mIoU"]}


def timechat_docs(shared_data: Path) -> list[dict]:
    """TimeChat's 500 example predictions as answer text (the first interval, or "" for none)."""
    gt = load_ground_truth(shared_data / "charades_sta" / "test.caption_coco_format.json")
    raw = json.loads((shared_data / "charades_sta" / "example_pred.timechat.json").read_text())
    preds = load_predictions(shared_data / "charades_sta" / "example_pred.timechat.json")
    exact = TextScheme(decimals=3)  # the file's values have at most 3 decimals
    return [{"qid": q, "video": raw[str(q)]["vid"], "caption": raw[str(q)]["query"], "timestamp": gt[q],
             "answer": exact.format_span(*spans[0]) if spans else ""} for q, spans in preds.items()]  # fmt: skip


# Answers in forms video LLMs write, ground truth 10 - 20 s unless given; what each parser reads (None: nothing).
ANSWERS = [
    ("The event happens in the 10.0 - 20.0 seconds.", (10.0, 20.0), (10.0, 20.0)),
    ("From 10 to 20.", (10.0, 20.0), (10.0, 20.0)),
    ("0:10 - 0:20", (10.0, 20.0), (10.0, 20.0)),
    ("20.0 - 10.0 seconds", (10.0, 20.0), (10.0, 20.0)),  # reversed: both parsers swap it
    ("12.5s-20s", (12.5, 20.0), (12.5, 20.0)),
    ("10 - 20 seconds, and again 30 - 40 seconds.", (10.0, 20.0), (10.0, 20.0)),  # the first interval counts
    ("I cannot tell.", None, None),
    ("The event happens from 10 seconds to 20 seconds.", (10.0, 20.0), None),  # a unit before "to"
    ("It starts at 10 seconds and ends at 20 seconds.", (10.0, 20.0), None),
    ("Between 10 and 20 seconds.", (10.0, 20.0), None),
    ("[10.0, 20.0]", (10.0, 20.0), None),
    ("From Frame 5 to Frame 10.", (10.0, 20.0), None),  # NumPro frame numbers at 0.5 fps; lmms-eval: none
    ("1:02:03.5 - 1:02:09", (3723.5, 3729.0), (1.0, 3.5), (3723.5, 3729.0)),  # lmms-eval: "03.5 - 1", swapped
]
FPS = 0.5


def answer_docs() -> list[dict]:
    docs = []
    for k, (answer, _ours, _theirs, *gt) in enumerate(ANSWERS):
        docs.append({"qid": k, "video": f"v{k}.mp4", "caption": f"query {k}", "answer": answer,
                     "timestamp": list(gt[0] if gt else (10.0, 20.0))})  # fmt: skip
    return docs


def with_duplicates(docs: list[dict]) -> list[dict]:
    """The answer fixture plus the frame-number answer as ``--model vidllm`` rewrites it, and a second query with
    the same video, caption and interval as the first (an unreadable answer)."""
    rewritten = intervals_in_seconds(docs[11]["answer"], TimeConfig(scheme="frames"), fps=FPS, duration=30.0)
    return [*docs, dict(docs[11], qid=99, caption="query 11, rewritten", answer=rewritten),
            dict(docs[0], qid=100, answer="I cannot tell.")]  # fmt: skip


@pytest.fixture(scope="module")
def lmms_scores(lmms, shared_data, tmp_path_factory) -> dict[str, dict]:
    """lmms-eval's metric on TimeChat's predictions and on the answer fixture (one lmms-eval process)."""
    sets = {"timechat": timechat_docs(shared_data), "answers": with_duplicates(answer_docs())}
    return lmms_metrics(lmms, sets, tmp_path_factory.mktemp("lmms-metric"))


@pytest.mark.integration
def test_timechat_predictions_score_the_same_in_lmms_eval(lmms_scores, shared_data):
    """TimeChat's 500 example predictions, written as answer text: lmms-eval's charades_sta metric gives the official
    TimeChat numbers (--sample: 9.0 / 3.4 / 1.4) and the same mIoU as ``vidllm score tvg --sample``."""
    ours = score_files(shared_data / "charades_sta" / "example_pred.timechat.json",
                       shared_data / "charades_sta" / "test.caption_coco_format.json", sample=True)  # fmt: skip
    theirs = lmms_scores["timechat"]
    assert [ours.metrics[f"R1@{t}"] for t in THRESHOLDS] == [9.0, 3.4, 1.4]
    assert theirs["scored"] == 500  # no two of the 500 share video, caption and interval (lmms-eval's dict key)
    assert [theirs["IOU@3"], theirs["IOU@5"], theirs["IOU@7"]] == [9.0, 3.4, 1.4]
    assert theirs["mIOU"] == pytest.approx(ours.metrics["mIoU"], abs=1e-9)
    as_text = vidllm_metric(timechat_docs(shared_data))  # the same answers through vidllm's parser
    assert as_text == pytest.approx({**{f"R1@{t}": ours.metrics[f"R1@{t}"] for t in THRESHOLDS},
                                     "mIoU": ours.metrics["mIoU"]})  # fmt: skip


def test_vidllm_parser_on_the_answer_fixture():
    """The vidllm side of the comparison below (runs without lmms-eval)."""
    for doc, (_, ours, *_rest) in zip(answer_docs(), ANSWERS):
        found = parse_intervals(doc["answer"], fps=FPS)
        assert (found[0] if found else None) == ours, doc["answer"]
    # 11 answers read exactly (IoU 1), "12.5s-20s" has IoU 0.75, one reads nothing
    assert vidllm_metric(answer_docs(), fps=FPS) == pytest.approx(
        {"R1@0.3": 100 * 12 / 13, "R1@0.5": 100 * 12 / 13, "R1@0.7": 100 * 12 / 13, "mIoU": 100 * 11.75 / 13}
    )


@pytest.mark.integration
def test_lmms_eval_reads_fewer_answer_forms_than_vidllm(lmms_scores):
    """Same answers, two parsers and two denominators (the differences docs/lmms-eval.md explains).

    * lmms-eval's ``extract_time`` misses a unit before "to", "starts at ... ends at", "between ... and", bracket
      pairs and frame numbers, and misreads ``h:mm:ss.s`` clocks; vidllm's parser reads all of them.
    * With ``--model vidllm`` a frame-number model's answer reaches lmms-eval rewritten in seconds, which it reads.
    * lmms-eval keys predictions by ``video>>>caption>>>timestamp``: two queries with the same three keep only the
      last answer and count once; vidllm scores every query id.
    """
    docs = with_duplicates(answer_docs())
    theirs = lmms_scores["answers"]
    parsed = [tuple(p[0]) if p else None for p in theirs["parsed"]]
    assert parsed[: len(ANSWERS)] == [expected[2] for expected in ANSWERS]
    assert docs[len(ANSWERS)]["answer"] == "From 10.00 - 20.00 seconds." and parsed[len(ANSWERS)] == (10.0, 20.0)
    # lmms-eval: 15 docs, 14 keys; the duplicate's miss replaced docs[0]'s hit. Hits with IoU 1: docs 1, 2, 3, 5 and
    # the rewritten one; "12.5s-20s" has IoU 0.75 (a hit at 0.3 / 0.5 / 0.7)
    assert theirs["scored"] == 14
    expected = [100 * 6 / 14, 100 * 6 / 14, 100 * 6 / 14, 100 * 5.75 / 14]
    assert [theirs[m] for m in METRICS] == pytest.approx(expected)
    # vidllm: 15 queries; 12 with IoU 1 (11 of the fixture and the rewritten one), "12.5s-20s" at 0.75
    ours = vidllm_metric(docs, fps=FPS)
    assert ours == pytest.approx({"R1@0.3": 100 * 13 / 15, "R1@0.5": 100 * 13 / 15, "R1@0.7": 100 * 13 / 15,
                                  "mIoU": 100 * 12.75 / 15})  # fmt: skip


def test_task_yaml_starts_with_its_command():
    """The local task's YAML names the command that runs it and reads its docs from a relative path."""
    yaml_text = (TASKS_DIR / TASK / f"{TASK}.yaml").read_text()
    assert yaml_text.startswith("# lmms-eval --model vidllm") and "data_files" in yaml_text
    assert str(REPO) not in yaml_text
