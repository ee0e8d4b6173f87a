"""Mixed training: sample records of several tasks (or files) at configured ratios, e.g. moment retrieval and TAD.

UniMD (Zeng et al., ECCV 2024) trains temporal action detection and moment retrieval together ("co-training") and
finds both improve. ``data.mix`` in the training config gives each group a weight::

    data:
      files: [charades_sta_train.vtg_it.json, charades_tad_train.vtg_it.json]
      mix: {mr: 1.0, tad: 1.0}        # half the samples of an epoch from each task
      mix_by: task                    # or: file (keys are the files of data.files, or their names)

:func:`mix_indices` draws one epoch's list of record indices: the epoch keeps the size of the data (the sum of the
groups), group ``g`` gets ``round(size * w_g / sum(w))`` of it (largest remainders, so the counts add up), a group
smaller than its share repeats (every record once before any twice), a larger one is subsampled. The draw is seeded
and depends only on the group sizes, the weights and the seed, so every rank and every resumed run sees the same
list; the trainer's sampler then shuffles it as usual. A weight of 0 leaves a group out.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from vidllm.data.records import Record

logger = logging.getLogger(__name__)


def check_weights(weights: Mapping[str, float], field_name: str = "data.mix") -> dict[str, float]:
    """The weights as floats; raises ``ValueError`` for a negative, non-finite or all-zero weight."""
    out = {}
    for key, value in weights.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
        if not ok:
            raise ValueError(f"{field_name}.{key}: expected a weight >= 0, got {value!r}")
        out[str(key)] = float(value)
    if out and not any(out.values()):
        raise ValueError(f"{field_name}: every weight is 0; give at least one group a weight > 0")
    return out


def quotas(sizes: Mapping[str, int], weights: Mapping[str, float], total: int) -> dict[str, int]:
    """How many samples of ``total`` each group gets: proportional to its weight, largest remainders rounded up.

    Raises:
        ValueError: A group of ``sizes`` without a weight, a weight for a group with no records, or a weighted group
            that is empty.
    """
    missing = [g for g in sizes if g not in weights]
    if missing:
        raise ValueError(
            f"data.mix has no weight for {', '.join(map(repr, missing))} (the data has {dict(sizes)}); add one "
            "(a weight of 0 leaves the group out)"
        )
    unknown = [g for g in weights if g not in sizes]
    if unknown:
        raise ValueError(
            f"data.mix names {', '.join(map(repr, unknown))}, which the data does not have (groups: "
            f"{', '.join(sizes) or 'none'}); fix the key or data.mix_by"
        )
    wsum = sum(weights[g] for g in sizes)
    exact = {g: total * weights[g] / wsum for g in sizes}
    out = {g: math.floor(v) for g, v in exact.items()}
    # Hand out what flooring lost to the largest remainders (ties: group order), so the counts add up to total.
    for g in sorted(sizes, key=lambda g: exact[g] - out[g], reverse=True)[: total - sum(out.values())]:
        out[g] += 1
    return out


def mix_indices(
    groups: Sequence[str], weights: Mapping[str, float], *, seed: int, size: int | None = None
) -> list[int]:
    """One epoch of record indices sampled at the weights' ratios (see the module docstring).

    Args:
        groups: The group (task or file) of each record, by record index.
        weights: Group -> weight (>= 0).
        seed: Seed of the draw.
        size: Samples in the epoch (default: all records).

    Returns:
        Record indices, grouped by group in ``weights`` order (the sampler shuffles them).
    """
    weights = check_weights(weights)
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    counts = quotas({g: len(v) for g, v in members.items()}, weights, len(groups) if size is None else size)
    rng = random.Random(seed)
    out: list[int] = []
    for g in weights:
        want, pool = counts.get(g, 0), members.get(g, [])
        while want > 0:
            take = rng.sample(pool, len(pool))[:want]  # every record once before any twice
            out.extend(take)
            want -= len(take)
    return out


class MixedRecords(Sequence):
    """A view of ``records`` through a list of indices (the mixed epoch); records are read on access."""

    def __init__(self, records: Sequence[Record], indices: Sequence[int]):
        self.records, self.indices = records, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Record:
        return self.records[self.indices[index]]


def _task_column(part: Sequence[Record]) -> list[str]:
    dataset = getattr(part, "dataset", None)  # ArrowRecords: read the column, not every record
    if dataset is not None:
        return list(dataset["task"])
    return [r.task for r in part]


def _file_key(path: str, weights: Mapping[str, float]) -> str:
    for key in (path, Path(path).name, Path(path).stem):
        if key in weights:
            return key
    return path


def record_groups(parts: Sequence[Sequence[Record]], files: Sequence[str], weights: Mapping[str, float], by: str):
    """The group of every record of the concatenated ``parts`` (one part per file of ``files``).

    Args:
        parts: The records of each file, in ``files`` order.
        files: The files (``data.files``).
        weights: ``data.mix``; with ``by="file"`` a key may be a file as listed, its name or its stem.
        by: ``task`` or ``file``.
    """
    if by not in ("task", "file"):
        raise ValueError(f"data.mix_by: expected task or file, got {by!r}")
    groups: list[str] = []
    for path, part in zip(files, parts, strict=True):
        groups.extend(_task_column(part) if by == "task" else [_file_key(path, weights)] * len(part))
    return groups


def mix_records(
    records: Sequence[Record],
    parts: Sequence[Sequence[Record]],
    files: Sequence[str],
    weights: Mapping[str, float],
    *,
    by: str = "task",
    seed: int = 0,
) -> MixedRecords:
    """``records`` (the concatenated ``parts``) resampled at the ``weights`` ratios; logs the counts per group."""
    groups = record_groups(parts, files, weights, by)
    indices = mix_indices(groups, weights, seed=seed)
    have, drawn = Counter(groups), Counter(groups[i] for i in indices)
    logger.info("mixed training data (by %s): %s", by,
                ", ".join(f"{g} {drawn[g]} of {have[g]} (weight {weights[g]:g})" for g in have))  # fmt: skip
    return MixedRecords(records, indices)
