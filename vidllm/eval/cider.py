"""CIDEr-D, as the COCO-caption code (``pycocoevalcap``) computes it, over already-tokenized strings.

For each item (one hypothesis, one or more references), every n-gram (n = 1..4) is weighted by term frequency times
``log(N) - log(max(1, df))``, where df counts the items whose *references* contain the n-gram and N is the number of
items in the call: the idf is learned from the call itself, so a call with a single item scores 0. Per n, the score
is the clipped cosine ``sum(min(w_hyp, w_ref) * w_ref) / (|hyp| |ref|)`` times a Gaussian length penalty
``exp(-delta^2 / (2 sigma^2))`` (sigma = 6, "length" being the number of bigrams). The item score is the mean over n,
summed over references and divided by their number, times 10; the call's score is the mean over items.

The arithmetic is done in the official order, with numpy where the official uses numpy (its ``log`` and its pairwise
``mean``), so the results agree to the last bit, not only to the printed digit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

NGram = tuple[str, ...]


def ngram_counts(sentence: str, n: int = 4) -> list[dict[NGram, int]]:
    """Counts of the 1..n-grams of a whitespace-tokenized sentence, one dict per order, in first-seen order."""
    words = sentence.split()
    counts: list[dict[NGram, int]] = []
    for k in range(1, n + 1):
        order: dict[NGram, int] = {}
        for i in range(len(words) - k + 1):
            gram = tuple(words[i : i + k])
            order[gram] = order.get(gram, 0) + 1
        counts.append(order)
    return counts


def document_frequency(refs: Sequence[Sequence[str]], n: int = 4) -> Counter[NGram]:
    """For every n-gram, the number of items whose references contain it (each item counts once)."""
    df: Counter[NGram] = Counter()
    for item_refs in refs:
        df.update({gram for ref in item_refs for order in ngram_counts(ref, n) for gram in order})
    return df


def _tfidf(counts: list[dict[NGram, int]], log_df: dict[NGram, float], log_n: float) -> tuple[list, list, int]:
    """tf-idf vector per n-gram order, its norms, and the sentence's bigram count (CIDEr-D's "length").

    ``log_df`` holds ``log(df)`` of the n-grams found in references; any other n-gram has df 0, counted as 1.
    """
    vec: list[dict[NGram, float]] = []
    norms: list[float] = []
    for order in counts:
        weights = {gram: float(tf) * (log_n - log_df.get(gram, 0.0)) for gram, tf in order.items()}
        squared = 0.0
        for w in weights.values():  # summed in first-seen order, as the official does
            squared += w**2
        vec.append(weights)
        norms.append(math.sqrt(squared))
    length = sum(counts[1].values()) if len(counts) > 1 else 0
    return vec, norms, length


def _similarity(hyp: tuple, ref: tuple, sigma: float) -> list[float]:
    """Clipped, length-penalised cosine similarity of two tf-idf vectors, one value per n-gram order."""
    (vec_h, norm_h, len_h), (vec_r, norm_r, len_r) = hyp, ref
    delta = float(len_h - len_r)
    # The official computes the penalty as a power of e, not with exp(); the two can differ in the last bit.
    penalty = math.e ** (-(delta**2) / (2 * sigma**2))
    values = []
    for k, (weights_h, weights_r) in enumerate(zip(vec_h, vec_r)):
        value = 0.0
        for gram, w_h in weights_h.items():
            w_r = weights_r.get(gram, 0.0)
            value += min(w_h, w_r) * w_r
        if norm_h[k] != 0 and norm_r[k] != 0:
            value /= norm_h[k] * norm_r[k]
        values.append(value * penalty)
    return values


def cider_d(
    refs: Sequence[Sequence[str]], hyps: Sequence[str], *, n: int = 4, sigma: float = 6.0
) -> tuple[float, list[float]]:
    """CIDEr-D of each hypothesis against its references, and their mean.

    Args:
        refs: For each item, its reference sentences (at least one), already tokenized (tokens split on whitespace).
        hyps: For each item, its hypothesis sentence, already tokenized.
        n: Highest n-gram order.
        sigma: Standard deviation of the Gaussian length penalty.

    Returns:
        ``(mean, per_item_scores)`` in the input order. The official sorts items by key before calling; pass them
        in that order to get its mean to the last bit.

    Raises:
        ValueError: Lengths differ, there are no items, or an item has no reference.

    A call in which no reference has a single word scores 0 (pycocoevalcap stops on an assertion there).
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} reference lists for {len(hyps)} hypotheses")
    if not hyps:
        raise ValueError("CIDEr needs at least one item")
    if any(len(r) == 0 for r in refs):
        raise ValueError("every item needs at least one reference")
    df = document_frequency(refs, n)
    # df values are small integers: take numpy's log (the official's) once per distinct value.
    log_count = {c: float(np.log(float(c))) for c in set(df.values())}
    log_df = {gram: log_count[c] for gram, c in df.items()}
    log_n = float(np.log(float(len(hyps))))
    vectors: dict[str, tuple] = {}  # sentences repeat across items (a GT caption matched by several predictions)

    def vector(sentence: str) -> tuple:
        if sentence not in vectors:
            vectors[sentence] = _tfidf(ngram_counts(sentence, n), log_df, log_n)
        return vectors[sentence]

    scores = []
    for item_refs, hyp in zip(refs, hyps):
        total = [0.0] * n
        for ref in item_refs:
            total = [t + v for t, v in zip(total, _similarity(vector(hyp), vector(ref), sigma))]
        scores.append(float(np.mean(total)) / len(item_refs) * 10.0)
    return float(np.mean(np.array(scores))), scores
