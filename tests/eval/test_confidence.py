"""Model confidences of answer intervals (vidllm.eval.confidence), rank/model scoring, and tied TP/FP pairs."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidllm.eval import tad
from vidllm.eval.confidence import ScoredText, ScoreSources, interval_confidences, ranked_intervals
from vidllm.io import DataError
from vidllm.time import interval_spans, parse_intervals


def _scored(pieces: list[tuple[str, float]]) -> ScoredText:
    text, ends = "", []
    for piece, _ in pieces:
        text += piece
        ends.append(len(text))
    return ScoredText(text, ends, [lp for _, lp in pieces])


def test_interval_confidence_is_the_geometric_mean_of_its_own_tokens():
    answer = _scored([("From", -0.1), (" 2", -0.2), (".5", -0.4), (" -", -0.01), (" 7", -1.0), (" seconds", -0.3),
                      (", then", -2.0), (" 10", -0.05), (" - 12", -0.07), (" s", -0.2), (".", -0.5)])  # fmt: skip
    intervals = parse_intervals(answer, fps=1.0)
    assert intervals == [(2.5, 7.0), (10.0, 12.0)]
    conf = interval_confidences(answer, intervals, fps=1.0)
    # "2.5 - 7 seconds" is written by " 2", ".5", " -", " 7", " seconds"; "10 - 12 s" by " 10", " - 12", " s"
    assert conf[0] == pytest.approx(math.exp((-0.2 - 0.4 - 0.01 - 1.0 - 0.3) / 5))
    assert conf[1] == pytest.approx(math.exp((-0.05 - 0.07 - 0.2) / 3))
    # an interval the answer does not write gets the whole answer's confidence
    whole = math.exp(sum(answer.token_logprobs) / len(answer.token_logprobs))
    assert interval_confidences(answer, [[1.0, 3.0]], fps=1.0) == [pytest.approx(whole)]


def test_spans_point_into_the_original_text_with_time_tokens():
    text = (
        "in 2 shots: <TIME_ONE> <TIME_TWO> - <TIME_TWO><TIME_ZERO>, <TIME_THREE><TIME_ZERO> to <TIME_FOUR><TIME_ZERO>"
    )
    spans = interval_spans(text)  # with time tokens, plain digits belong to the words
    assert [(s, e) for s, e, _, _ in spans] == [(12.0, 20.0), (30.0, 40.0)]
    assert text[spans[0][2] : spans[0][3]] == "<TIME_ONE> <TIME_TWO> - <TIME_TWO><TIME_ZERO>"
    assert text[spans[1][2] : spans[1][3]] == "<TIME_THREE><TIME_ZERO> to <TIME_FOUR><TIME_ZERO>"
    bins = "<t2> - <t4>"
    (span,) = interval_spans(bins, duration=8.0, num_bins=5)
    assert span[:2] == (4.0, 8.0) and bins[span[2] : span[3]] == bins


@given(st.lists(st.tuples(st.text(min_size=0, max_size=4), st.floats(-20, 0)), min_size=1, max_size=12))
def test_confidences_are_probabilities(pieces):
    answer = _scored(pieces)
    for c in interval_confidences(answer, parse_intervals(answer), fps=None):
        assert 0.0 <= c <= 1.0


def test_ranked_intervals_model_or_rank():
    line = {"parsed": {"intervals": [[1, 2, 1.0], [3, 4, 0.5]], "confidences": [0.2, 0.7]}}
    sources = ScoreSources()
    assert ranked_intervals(line, "model", sources) == [[1, 2, 0.2], [3, 4, 0.7]]
    assert ranked_intervals(line, "rank", sources) == [[1, 2, 1.0], [3, 4, 0.5]]
    mr = {"parsed": {"intervals": [[1, 2], [3, 4]]}}  # no confidences (an older sample): rank scores
    assert ranked_intervals(mr, "model", sources) == [[1, 2, 1.0], [3, 4, 0.5]]
    assert (sources.model, sources.text) == (2, 4)
    with pytest.raises(ValueError, match="'model' or 'rank'"):
        ranked_intervals(line, "prob", sources)


def test_tied_pairs_counted_and_gone_with_distinct_scores():
    assert tad.tied_tp_fp_pairs([1.0, 1.0, 1.0, 0.5], [1, 0, 0, 1]) == 2
    gt = {"v1": [(0.0, 10.0)], "v2": [(0.0, 10.0)]}
    # the runner's rank scores: every query's first answer scores 1 -> a TP of v2 tied with a FP of v1
    ranked = [("v1", 20.0, 30.0, 1.0), ("v2", 0.0, 10.0, 1.0), ("v1", 0.0, 10.0, 0.5)]
    ties: list[int] = []
    ap = tad.class_average_precision(gt, ranked, (0.5,), ties=ties)
    assert ties == [1] and ap == [pytest.approx(2 / 3)]  # submission order: FP, TP, TP
    model = [("v1", 20.0, 30.0, 0.31), ("v2", 0.0, 10.0, 0.93), ("v1", 0.0, 10.0, 0.64)]
    ties = []
    assert tad.class_average_precision(gt, model, (0.5,), ties=ties) == [1.0] and ties == [0]


def _gt(tmp_path, subsets):
    db = {f"v{i}": {"subset": s, "duration": 30.0, "annotations": [{"segment": [0.0, 5.0], "label": "Run"}]}
          for i, s in enumerate(subsets)}  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"database": db}))
    return path


def test_subsets_without_validation_are_refused_with_their_names(tmp_path):
    path = _gt(tmp_path, ["training", "testing"])
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps({"results": {"v0": [{"label": "Run", "score": 1.0, "segment": [0.0, 5.0]}]}}))
    with pytest.raises(DataError, match="subsets testing, training and none was chosen; pass --subset"):
        tad.score_files(pred, path)
    assert tad.score_files(pred, path, subset="training").metrics["mAP"] == 100.0
    assert tad.default_subset(json.loads(_gt(tmp_path, ["validation"]).read_text())) == (None, [])


def test_reversed_and_zero_length_detections_are_counted(tmp_path):
    path = _gt(tmp_path, ["validation"])
    pred = tmp_path / "p.json"
    dets = [{"label": "Run", "score": sc, "segment": seg} for sc, seg in ((0.9, [5.0, 0.0]), (0.8, [2.0, 2.0]),
                                                                           (0.7, [0.0, 5.0]))]  # fmt: skip
    pred.write_text(json.dumps({"results": {"v0": dets}}))
    report = tad.score_files(pred, path)
    assert report.counts["reversed"] == 1 and report.counts["zero_length"] == 1
    assert any("reversed (start > end)" in n for n in report.notes)
    assert any("zero length" in n for n in report.notes)
    assert report.metrics["mAP@0.5"] == pytest.approx(100 / 3)  # both count as false positives ranked above the TP


@given(st.lists(st.tuples(st.sampled_from([0.1, 0.5, 1.0]), st.booleans()), max_size=30))
def test_tied_pairs_is_the_pairwise_count(dets):
    scores, hits = [s for s, _ in dets], [int(h) for _, h in dets]
    brute = sum(1 for i in range(len(dets)) for j in range(len(dets))
                if scores[i] == scores[j] and hits[i] == 1 and hits[j] == 0)  # fmt: skip
    assert tad.tied_tp_fp_pairs(scores, hits) == brute
    assert tad.tied_tp_fp_pairs(list(range(len(dets))), hits) == 0  # distinct scores leave no tie
