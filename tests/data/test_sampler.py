"""Length-grouped order (vidllm.data.sampler): a permutation per epoch, seeded, similar lengths per group, disjoint
shards across ranks (as accelerate hands them out), less padding than a random order, and length estimates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import BatchSampler

from vidllm.data.records import Record, Targets
from vidllm.data.sampler import (
    LengthGroupedSampler,
    LengthModel,
    estimate_length,
    grouped_order,
    padded_fraction,
    text_tokens,
)

lengths_st = st.lists(st.integers(1, 10_000), min_size=0, max_size=300)


@settings(max_examples=60, deadline=None)
@given(lengths_st, st.integers(1, 16), st.integers(0, 2**31), st.integers(0, 5), st.integers(1, 60))
def test_every_index_once_per_epoch(lengths, group, seed, epoch, mega):
    order = grouped_order(lengths, group, seed=seed, epoch=epoch, megabatch=mega)
    assert sorted(order.tolist()) == list(range(len(lengths)))


@settings(max_examples=30, deadline=None)
@given(lengths_st, st.integers(1, 8), st.integers(0, 1000))
def test_deterministic_per_seed_and_epoch(lengths, group, seed):
    a = grouped_order(lengths, group, seed=seed, epoch=1)
    assert np.array_equal(a, grouped_order(lengths, group, seed=seed, epoch=1))
    if len(set(lengths)) > 3 and len(lengths) > 20:  # another epoch / seed draws another order
        assert not np.array_equal(a, grouped_order(lengths, group, seed=seed, epoch=2))
        assert not np.array_equal(a, grouped_order(lengths, group, seed=seed + 1, epoch=1))


@settings(max_examples=30, deadline=None)
@given(lengths_st, st.integers(1, 8), st.integers(0, 1000))
def test_groups_are_aligned_and_longest_first(lengths, group, seed):
    order = grouped_order(lengths, group, seed=seed)
    if not lengths:
        return
    lengths = np.asarray(lengths)
    full = len(lengths) // group * group
    if full:
        assert lengths[order[:group]].max() == lengths[order[:full]].max()  # the longest group comes first
    # only the last group may be short: every group before it holds `group` samples of one mega-batch
    assert len(order) - full < group


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 30), st.integers(0, 99))
def test_distributed_shards_are_disjoint(batch, world, steps, seed):
    """accelerate's BatchSamplerShard gives per-device batch k to rank k % world: the ranks' samples never overlap
    and together cover the epoch."""
    from accelerate.data_loader import BatchSamplerShard

    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 5000, batch * world * steps).tolist()
    sampler = LengthGroupedSampler(lengths, batch * world, seed=seed)
    seen = []
    for rank in range(world):
        shard = BatchSamplerShard(BatchSampler(sampler, batch, drop_last=False), num_processes=world,
                                  process_index=rank)  # fmt: skip
        seen.append([i for b in shard for i in b])
    flat = [i for s in seen for i in s]
    assert len(flat) == len(set(flat)) == len(lengths)


def test_set_epoch_changes_the_order():
    sampler = LengthGroupedSampler(list(range(200)), 4, seed=3)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first and sorted(sampler) == list(range(200))


def test_grouping_cuts_padding():
    rng = np.random.default_rng(0)
    lengths = np.concatenate([rng.integers(900, 2100, 500), rng.integers(6100, 6300, 500)])
    random_order = rng.permutation(len(lengths))
    grouped = grouped_order(lengths, 4, seed=0)
    assert padded_fraction(lengths, grouped, 4) < 0.05 < padded_fraction(lengths, random_order, 4)


def test_estimate_length():
    model = LengthModel(fps=1.0, max_frames=96, frames_per_group=2, tokens_per_group=128, template_tokens=0)
    short = Record(video="a.mp4", task="mr", prompt="When?", targets=Targets(intervals=((1.0, 2.0),)), duration=30.5)
    long = short.replace(duration=600.0)
    assert model.frames(30.5) == 30 and model.frames(600.0) == 96
    assert estimate_length(short, model) - 15 * 128 == estimate_length(long, model) - 48 * 128 > 0
    assert estimate_length(long, LengthModel(max_length=1000)) == 1000
    assert estimate_length(short.replace(video=""), model) < 30
    assert text_tokens("0012.5 ab") == 5 + 1


def test_trainer_uses_the_grouped_sampler_only_where_it_applies():
    """VidllmTrainer groups with data.group_by_length, shuffling and batches of 2+; groups are batch x processes."""
    from types import SimpleNamespace

    from vidllm.train.trainer import VidllmTrainer

    class Data:
        def __len__(self):
            return 12

        def lengths(self):
            return list(range(12))

    def trainer(batch=2, world=3, **data):
        cfg = SimpleNamespace(data=SimpleNamespace(**{"group_by_length": True, "shuffle": True, **data}))
        args = SimpleNamespace(per_device_train_batch_size=batch, world_size=world, data_seed=None, seed=5)
        return SimpleNamespace(train_config=cfg, args=args, train_dataset=Data())

    sampler = VidllmTrainer._get_train_sampler(trainer())
    assert isinstance(sampler, LengthGroupedSampler) and sampler.group == 6 and sampler.seed == 5
    for off in (trainer(batch=1), trainer(shuffle=False), trainer(group_by_length=False)):
        with pytest.raises(TypeError, match="super"):  # the fake is no Trainer: reaching Trainer's sampler raises
            VidllmTrainer._get_train_sampler(off)
