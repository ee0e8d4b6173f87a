"""Dense video captioning scorer (vidllm.eval.dvc): TimeChat's official numbers, hand-computed cases, bad input.

The Java tests share one METEOR process (it takes 10-15 s to load its paraphrase table). It is started by the
first test of this module and loads in the background while the pure-Python tests run, which is why the Java tests
come last in this file.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.eval import dvc
from vidllm.eval.iou import iou_dvc
from vidllm.eval.java import JavaUnavailableError, Meteor, java_available, ptb_tokenize
from vidllm.io import DataError

needs_java = pytest.mark.skipif(not java_available(), reason="needs Java and the pycocoevalcap jars")

# TimeChat's eval_dvc.py on the YouCook2 fixture (as printed, see tests/fixtures/benchmarks/README.md).
OFFICIAL = {
    "CIDER": 2.8,
    "METEOR": 1.1,
    "SODA_c_2": 0.8,
    "F1_Score": 12.5,
    "Precision_Mean": 12.6,
    "Recall_Mean": 14.2,
    "Para_CIDER": 2.5,
    "Para_METEOR": 9.5,
    "n_preds": 8.2,
}
# The same, unrounded: the official logic run on pycocoevalcap's scorers (unseeded random strings), which agreed with
# vidllm to the last bit on every metric.
UNROUNDED = {
    "Para_CIDER": 2.48185100304563,
    "Para_METEOR": 9.5342946086335,
    "CIDER": 2.759749420829139,
    "METEOR": 1.101814456326218,
    "Precision_Mean": 12.596487815697376,
    "Recall_Mean": 14.23731962481963,
    "F1_Score": 12.508095574365633,
    "SODA_c_2": 0.8493960370771538,
    "n_preds": 8.24,
}
OFFICIAL_ORDER = [
    "Para_CIDER",
    "Para_METEOR",
    "CIDER",
    "METEOR",
    *[f"{m}@{t}" for t in (0.3, 0.5, 0.7, 0.9) for m in ("Precision", "Recall")],
    "Precision_Mean",
    "Recall_Mean",
    "F1_Score",
    "SODA_c_2",
    "n_preds",
    "SODA_c_1",
]
JAVA_KEYS = {"Para_METEOR", "CIDER", "METEOR", "SODA_c_2", "SODA_c_1"}


@pytest.fixture(scope="module")
def meteor():
    if not java_available():
        pytest.skip("needs Java and the pycocoevalcap jars")
    with Meteor() as m:
        yield m


@pytest.fixture(scope="module", autouse=True)
def _start_meteor_early(request):
    """Start the shared METEOR process with the first test, so it loads while the pure-Python tests run."""
    if java_available():
        request.getfixturevalue("meteor")


def youcook_files(shared_data):
    folder = shared_data / "youcook2"
    return folder / "example_pred.timechat.json", folder / "val.caption_coco_format.json"


def make_gt(*videos: tuple[str, list[list[float]], str], split: str = "val") -> dvc.DvcGroundTruth:
    """GT from (key, segments, pure_cap) triples, as in the YouCook2 file."""
    anns = [{"image_id": k, "segments": s, "pure_cap": c} for k, s, c in videos]
    return dvc.parse_gt({"annotations": anns}, split)


def seg(start, end, caption="a caption"):
    return {"timestamp": [start, end], "caption": caption}


# Three GT videos; b has no prediction key, which shifts the paragraph pairs: (pred a, GT b), (pred c, GT a).
SMALL_GT = make_gt(
    ("b.mp4", [[0, 10]], "boil water"),
    ("a.mp4", [[0, 10], [20, 30]], "cut the onion. fry the onion"),
    ("c.mp4", [[0, 10]], "stir"),
)
SMALL_PRED = {
    # Two predictions cover GT segment 0 (one reversed), one covers nothing: P = 2/3, R = 1/2 at every threshold.
    "a.mp4": [seg(0, 10, "cut onion"), seg(10, 0, "cut onion again"), seg(50, 60, "serve")],
    # Each has IoU 0.5 - eps with the GT: covered at 0.3 only. P = R = 1 at 0.3, 0 above.
    # Its paragraph equals GT a's, which the misaligned paragraph pairing compares it with.
    "c.mp4": [seg(0, 5, "cut the onion"), seg(5, 10, "fry the onion")],
    "extra.mp4": "not even a list: keys outside the GT are ignored",
}


# --------------------------------------------------------------------------------------------------------- IoU


def test_iou_dvc_hand_cases():
    assert iou_dvc((0, 10), (0, 10)) == pytest.approx(1.0) and iou_dvc((0, 10), (0, 10)) < 1.0
    assert iou_dvc((10, 0), (0, 10)) == iou_dvc((0, 10), (0, 10))  # reversed intervals are put in order
    assert iou_dvc((0, 10), (20, 30)) == 0.0
    assert iou_dvc((5, 5), (5, 5)) == 0.0  # no division by zero
    # Mathematically 0.5, but the epsilon puts it below: no match at 0.5, even non-strict.
    assert 0.4999 < iou_dvc((0, 5), (0, 10)) < 0.5
    # The union is min(hull, len1 + len2): equal to the true union for overlapping intervals.
    assert iou_dvc((0, 6), (4, 10)) == pytest.approx(2 / 10)


times = st.floats(min_value=0, max_value=1e5, allow_nan=False)
intervals = st.tuples(times, times)


@settings(max_examples=200, deadline=None)
@given(intervals, intervals)
def test_iou_dvc_is_symmetric_bounded_and_order_free(a, b):
    value = iou_dvc(a, b)
    assert 0.0 <= value < 1.0
    assert math.isclose(value, iou_dvc(b, a), rel_tol=1e-9, abs_tol=1e-12)
    assert value == iou_dvc(a[::-1], b) == iou_dvc(a, b[::-1])


# --------------------------------------------------------------------------------------------------- detection


def test_detection_counts_coverage_not_one_to_one():
    preds = [(0, 10), (0, 10), (50, 60)]  # two predictions on the same GT segment both count
    precision, recall = dvc.detection_precision_recall(preds, [(0, 10), (20, 30)])
    assert precision == pytest.approx([2 / 3] * 4)
    assert recall == [0.5] * 4


def test_detection_is_strict():
    precision, recall = dvc.detection_precision_recall([(0, 5)], [(0, 10)])  # IoU 0.5 - eps
    assert precision == recall == [1.0, 0.0, 0.0, 0.0]
    precision, recall = dvc.detection_precision_recall([(0, 7)], [(0, 10)])  # IoU 0.7 - eps: > 0.5, not > 0.7
    assert precision == [1.0, 1.0, 0.0, 0.0]


def test_detection_without_predictions_is_zero():
    assert dvc.detection_precision_recall([], [(0, 10)]) == ([0.0] * 4, [0.0] * 4)


@settings(max_examples=100, deadline=None)
@given(st.lists(intervals, max_size=6), st.lists(intervals, min_size=1, max_size=4))
def test_detection_is_bounded_and_falls_with_the_threshold(preds, gts):
    precision, recall = dvc.detection_precision_recall(preds, gts)
    for values in (precision, recall):
        assert all(0.0 <= v <= 1.0 for v in values)
        assert values == sorted(values, reverse=True)


# ----------------------------------------------------------------------------------------------- SODA helpers


def test_soda_alignment_preserves_order():
    assert dvc.soda_alignment([[1.0, 0.0], [0.0, 1.0]]) == 2.0
    assert dvc.soda_alignment([[0.0, 1.0], [1.0, 0.0]]) == 1.0  # crossing pairs: only one of them
    assert dvc.soda_alignment([[0.2, 0.9, 0.1]]) == 0.9  # one GT row: the best column


def test_official_column_order_is_lexicographic():
    assert dvc._string_order(12) == [0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9]


def test_parse_sent_drops_digits_and_punctuation():
    assert dvc.parse_sent("Add 2 Eggs, then stir!  ") == ["add", "eggs", "then", "stir"]


# ----------------------------------------------------------------------------------------- scoring without Java


def test_small_case_without_java():
    report = dvc.score(SMALL_PRED, SMALL_GT, java=False)
    assert report.metrics == {
        "Para_CIDER": 500.0,  # (pred c, GT a) are identical after the shift: CIDEr 10 and 0, mean 5
        "Precision@0.3": 55.6,  # (0 + 2/3 + 1) / 3
        "Recall@0.3": 50.0,  # (0 + 1/2 + 1) / 3
        "Precision@0.5": 22.2,  # (0 + 2/3 + 0) / 3
        "Recall@0.5": 16.7,
        "Precision@0.7": 22.2,
        "Recall@0.7": 16.7,
        "Precision@0.9": 22.2,
        "Recall@0.9": 16.7,
        "Precision_Mean": 30.6,  # (0 + 2/3 + 1/4) / 3
        "Recall_Mean": 25.0,  # (0 + 1/2 + 1/4) / 3
        "F1_Score": 27.4,  # (0 + 4/7 + 1/4) / 3
        "n_preds": 1.7,
    }
    assert report.counts == {"videos": 3, "missing": 1, "empty": 0, "extra": 1, "duplicate_gt": 0}
    notes = " ".join(report.notes)
    assert "2 predicted paragraphs were compared with another video's GT paragraph" in notes
    assert "skipped on request" in notes


def test_unrounded_values():
    report = dvc.score(SMALL_PRED, SMALL_GT, java=False, decimals=None)
    assert report.metrics["Precision_Mean"] == pytest.approx(100 * 11 / 36)
    assert report.metrics["n_preds"] == pytest.approx(5 / 3)


def test_no_predictions_score_zero_without_java():
    for predictions in ({}, {"b.mp4": [], "a.mp4": [], "c.mp4": []}):
        report = dvc.score(predictions, SMALL_GT, java=False)
        assert all(v == 0.0 for v in report.metrics.values()), report.metrics
    assert report.counts == {"videos": 3, "missing": 0, "empty": 3, "extra": 0, "duplicate_gt": 0}


@pytest.fixture
def no_java(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert not java_available()


def test_without_java_the_java_tools_say_what_to_install(no_java):
    with pytest.raises(JavaUnavailableError, match="install a Java runtime"):
        ptb_tokenize(["a sentence"])
    with pytest.raises(JavaUnavailableError, match="install a Java runtime"):
        Meteor()


def test_without_java_the_rest_is_reported_with_a_note(no_java, shared_data):
    report = dvc.score_files(*youcook_files(shared_data))  # java=True, but there is none
    assert not JAVA_KEYS & set(report.metrics)
    for key in ("F1_Score", "Precision_Mean", "Recall_Mean", "Para_CIDER", "n_preds"):
        assert report.metrics[key] == OFFICIAL[key]
    assert list(report.metrics) == [k for k in OFFICIAL_ORDER if k not in JAVA_KEYS]
    assert any("skipped because they need Java" in n and "install a Java runtime" in n for n in report.notes)


# -------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (seg(1, 2) | {"timestamp": [1, 2, 3]}, "timestamp"),
        (seg(1, 2) | {"timestamp": ["1", "2"]}, "timestamp"),
        (seg(1, 2) | {"timestamp": [1, float("nan")]}, "timestamp"),
        ({"caption": "no timestamp"}, "timestamp"),
        (seg(1, 2) | {"caption": None}, "caption"),
    ],
)
def test_bad_prediction_entry_names_file_video_and_field(entry, field):
    with pytest.raises(DataError) as err:
        dvc.score({"a.mp4": [seg(0, 1), entry]}, SMALL_GT, java=False, source="preds.json")
    assert "preds.json" in str(err.value)
    assert "a.mp4[1]" in str(err.value)
    assert f"field {field!r}" in str(err.value)


def test_bad_prediction_list_and_file(tmp_path):
    with pytest.raises(DataError, match="a.mp4.*expected a list"):
        dvc.score({"a.mp4": {"timestamp": [0, 1]}}, SMALL_GT, java=False)
    path = tmp_path / "preds.json"
    path.write_text(json.dumps([seg(0, 1)]))
    with pytest.raises(DataError, match="preds.json.*expected an object"):
        dvc.load_predictions(path)


def test_bad_gt(tmp_path):
    good = {"annotations": [{"image_id": "v/a.mp4", "segments": [[0, 1]], "pure_cap": "stir"}]}
    no_split = tmp_path / "youcook2_gt.json"
    no_split.write_text(json.dumps(good))
    with pytest.raises(DataError, match="youcook2_gt.json.*must start with"):
        dvc.load_gt(no_split)
    val = tmp_path / "val.gt.json"
    val.write_text(json.dumps(good))
    gt = dvc.load_gt(val)
    assert (gt.split, gt.videos[0].key, gt.videos[0].captions) == ("val", "a.mp4", ["stir."])
    with pytest.raises(DataError, match="'a.mp4'.*2 segments but 1 captions"):
        make_gt(("a.mp4", [[0, 1], [2, 3]], "stir"))
    with pytest.raises(DataError, match="field 'segments'"):
        make_gt(("a.mp4", [[0, 1, 2]], "stir"))


# --------------------------------------------------------------------------------------------------- with Java


@needs_java
def test_ptb_tokenize():
    sentences = ["Cut the Onion, then (carefully) fry it...", "", "line\nbreak\u2028inside", "Cut the Onion, then"]
    assert ptb_tokenize(sentences) == [
        "cut the onion then -lrb- carefully -rrb- fry it",  # -lowerCase also lowercases -LRB-, so it stays
        "",
        "line break inside",
        "cut the onion then",
    ]


@needs_java
def test_official_numbers_on_youcook2(shared_data, meteor):
    # One run (about 20 s of METEOR), unrounded; the official prints round(value, 1), which decimals=1 also does.
    report = dvc.score_files(*youcook_files(shared_data), meteor=meteor, decimals=None)
    assert {k: round(report.metrics[k], 1) for k in OFFICIAL} == OFFICIAL
    assert {k: report.metrics[k] for k in UNROUNDED} == pytest.approx(UNROUNDED, rel=1e-12)
    assert report.metrics["SODA_c_1"] == -100.0
    assert list(report.metrics) == OFFICIAL_ORDER
    assert report.counts == {
        "videos": 200,
        "missing": 0,
        "empty": 0,
        "extra": 215,
        "duplicate_gt": 0,
        "duplicate_pred": 0,
    }
    assert any("SODA_c_1 = -100.0 is not a score" in n for n in report.notes)
    assert any("56 videos have 11 or more predictions" in n for n in report.notes)


@needs_java
def test_single_item_corpus_has_zero_cider(meteor):
    # One prediction on one GT segment: one item per threshold, so CIDEr is 0 (idf log 1) but METEOR is not.
    gt = make_gt(("a.mp4", [[0, 10]], "cut the onion into thin slices"))
    report = dvc.score({"a.mp4": [seg(0, 10, "Cut the onion into thin slices.")]}, gt, meteor=meteor)
    assert report.metrics["CIDER"] == 0.0
    assert report.metrics["METEOR"] > 50
    assert report.metrics["SODA_c_2"] > 50
    assert report.metrics["F1_Score"] == 100.0


@needs_java
def test_missing_and_empty_predictions_score_zero_with_java(meteor):
    for predictions in ({}, {"b.mp4": [], "a.mp4": [], "c.mp4": []}):
        report = dvc.score(predictions, SMALL_GT, meteor=meteor)
        assert report.metrics.pop("SODA_c_1") == -100.0
        assert all(v == 0.0 for v in report.metrics.values()), report.metrics
        assert set(JAVA_KEYS) - {"SODA_c_1"} <= set(report.metrics)


@needs_java
def test_meteor_sends_keys_in_sorted_order(meteor):
    refs = {"10": ["the cat sat on the mat"], "2": ["a dog ran"]}
    hyps = {"10": "the cat sat on the mat", "2": "nothing in common"}
    aggregate, per_item = meteor.score_by_key(refs, hyps)
    assert per_item[0] > 0.9 and per_item[1] == 0.0  # '10' sorts before '2'
    assert 0.0 < aggregate < per_item[0]
    assert meteor.score_many([([["a dog ran"]], ["a dog ran"])] * 2)[0] == meteor.score([["a dog ran"]], ["a dog ran"])
