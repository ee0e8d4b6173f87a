"""CIDEr-D (vidllm.eval.cider): hand-computed corpora and agreement with pycocoevalcap to the last bit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.eval.cider import cider_d, document_frequency

SENTENCE = "cut the onion and fry the onion"


def test_single_item_scores_zero():
    # With one item, N = 1 and every idf is log(1) - log(1) = 0.
    score, per_item = cider_d([[SENTENCE]], [SENTENCE])
    assert score == 0.0
    assert per_item == [0.0]


def test_identical_and_disjoint_items():
    # Item 1: hypothesis = reference, all its n-grams have df 1 of N = 2, so the cosine is 1 for n = 1..4 and the
    # length penalty is 1: 10 x mean(1, 1, 1, 1) = 10. Item 2 shares nothing with its reference: 0.
    score, per_item = cider_d([[SENTENCE], ["boil the water"]], [SENTENCE, "serve it warm"])
    assert per_item == pytest.approx([10.0, 0.0])
    assert score == pytest.approx(5.0)


def test_item_score_is_the_mean_over_references():
    # One reference equal to the hypothesis (similarity 1 per n), one disjoint (0): (1 + 0) / 2 references x 10.
    _, per_item = cider_d([[SENTENCE, "boil water"], ["serve it warm"]], [SENTENCE, "serve"])
    assert per_item[0] == pytest.approx(5.0)


def test_ngrams_in_every_item_weigh_nothing():
    # "the" is in the references of both items: idf = log(2) - log(2) = 0, so matching only it scores 0.
    _, per_item = cider_d([["the cat"], ["the dog"]], ["the bird", "the dog"])
    assert per_item[0] == 0.0
    assert per_item[1] > 0.0


def test_document_frequency_counts_references_once_per_item():
    df = document_frequency([["a a b", "a c"], ["a"]], n=2)
    assert df[("a",)] == 2  # in both items; twice in the first item's references still counts once
    assert df[("a", "a")] == 1
    assert ("d",) not in df  # hypotheses are not counted


def test_empty_sentences_score_zero():
    assert cider_d([[""], ["a b"]], ["", ""]) == (0.0, [0.0, 0.0])
    assert cider_d([[""], [""]], ["a", "b"]) == (0.0, [0.0, 0.0])


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="reference lists"):
        cider_d([["a"]], ["a", "b"])
    with pytest.raises(ValueError, match="at least one item"):
        cider_d([], [])
    with pytest.raises(ValueError, match="at least one reference"):
        cider_d([[]], ["a"])


words = st.sampled_from(["a", "b", "c", "d", "e", "the", "onion", "cut", "fry", "salt"])
sentences = st.lists(words, min_size=0, max_size=9).map(" ".join)
references = st.lists(words, min_size=1, max_size=9).map(" ".join)  # pycocoevalcap fails if no reference has a word
items = st.lists(st.tuples(st.lists(references, min_size=1, max_size=3), sentences), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(items)
def test_matches_pycocoevalcap_bitwise(corpus):
    """The same numbers as pycocoevalcap's CiderScorer (the official's algorithm) on random corpora."""
    cider_mod = pytest.importorskip("pycocoevalcap.cider.cider")
    refs, hyps = [r for r, _ in corpus], [h for _, h in corpus]
    # pycocoevalcap visits items in the dict's insertion order: keys in list order.
    expected, expected_items = cider_mod.Cider().compute_score(
        {str(i): r for i, r in enumerate(refs)}, {str(i): [h] for i, h in enumerate(hyps)}
    )
    score, per_item = cider_d(refs, hyps)
    assert score == float(expected)
    assert per_item == [float(x) for x in expected_items]
