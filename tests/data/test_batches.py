"""Records -> samples -> batches on a tiny Qwen2.5-VL: label masks token by token, frames thinned (never tokens cut)
when too long, bad videos skipped and counted, the placeholder video of distributed batches changes no loss."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from tiny_models import tiny_model_config, write_tiny_checkpoint
from transformers.utils import logging as hf_logging

from vidllm.data import load_records, render_answer
from vidllm.data.batches import (
    SKIPPED_KEY,
    Clip,
    FrameSampling,
    VideoBatchCollator,
    VideoInstructionDataset,
    thin_clip,
    thin_indices,
)
from vidllm.models import get_adapter
from vidllm.models.inputs import IGNORE_INDEX
from vidllm.train.toy import write_toy_set

hf_logging.set_verbosity_error()
torch.set_num_threads(1)

SAMPLING = FrameSampling(fps=1.0, max_frames=8, min_pixels=256, max_pixels=256, size_multiple=8, backend="pyav")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_tiny_checkpoint("qwen2_5_vl", tmp_path_factory.mktemp("tiny") / "qwen2_5_vl")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    records_file, videos = write_toy_set(tmp_path_factory.mktemp("toy"), num_videos=2, seed=1)
    records, _ = load_records(records_file)
    return list(records), videos


@pytest.fixture(scope="module")
def adapter(folder):
    return get_adapter("qwen2_5_vl")(tiny_model_config(folder, "qwen2_5_vl", "time_tokens")).load()


def dataset(adapter, records, videos, **kwargs) -> VideoInstructionDataset:
    return VideoInstructionDataset(records, adapter, sampling=SAMPLING, video_root=videos, **kwargs)


def test_labels_are_exactly_the_answer_token_by_token(adapter, toy):
    records, videos = toy
    record = records[0]
    sample = dataset(adapter, [record], videos)[0]
    tok = adapter.processor.tokenizer
    ids, labels = sample["input_ids"][0].tolist(), sample["labels"][0].tolist()
    assert len(ids) == len(labels)
    # the answer starts right after the last "<|im_start|>assistant\n" and ends with "<|im_end|>"
    im_start, im_end = tok.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    header = tok("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    last = max(i for i, t in enumerate(ids) if t == im_start)
    assert ids[last : last + len(header)] == header
    begin, end = last + len(header), max(i for i, t in enumerate(ids) if t == im_end)
    for i, (token, label) in enumerate(zip(ids, labels)):
        expected = token if begin <= i <= end else IGNORE_INDEX
        assert label == expected, (i, tok.convert_ids_to_tokens(token), label)
    answer = render_answer(record, adapter.config.time.make_scheme(fps=1.0))
    assert "<TIME_" in answer
    assert tok.decode(ids[begin : end + 1]) == answer + "<|im_end|>"
    # time tokens are answer tokens; visual placeholders never are
    time_positions = [i for i, t in enumerate(ids) if t in set(adapter.time_token_ids)]
    assert time_positions and all(begin <= i <= end for i in time_positions)
    video_positions = [i for i, t in enumerate(ids) if t == adapter.processor.video_token_id]
    assert len(video_positions) == 4 * 4  # 8 frames of 16 x 16 -> 4 groups x 4 tokens
    assert all(labels[i] == IGNORE_INDEX for i in video_positions)
    assert sample[SKIPPED_KEY] == 0


def test_batch_pads_labels_and_counts_skips(adapter, toy):
    records, videos = toy
    ds = dataset(adapter, records[:2], videos)
    samples = [ds[0], ds[1]]
    batch = VideoBatchCollator(adapter)(samples)
    lengths = [s["input_ids"].shape[-1] for s in samples]
    assert batch["input_ids"].shape == (2, max(lengths))
    for row, n in enumerate(lengths):
        assert torch.equal(batch["labels"][row, :n], samples[row]["labels"][0])
        assert (batch["labels"][row, n:] == IGNORE_INDEX).all() and (batch["attention_mask"][row, n:] == 0).all()
    assert batch["video_grid_thw"].shape == (2, 3) and batch[SKIPPED_KEY].item() == 0
    assert torch.isfinite(adapter.forward({k: v for k, v in batch.items() if k != SKIPPED_KEY}).loss)


def test_too_long_sample_drops_frames_evenly_never_tokens(adapter, toy):
    records, videos = toy
    full = dataset(adapter, [records[0]], videos)[0]
    groups = int(full["video_grid_thw"][0, 0])
    limit = full["input_ids"].shape[-1] - 4  # one frame pair (4 visual tokens) too many
    thinned = dataset(adapter, [records[0]], videos, max_length=limit, min_frames=2)[0]
    assert thinned["input_ids"].shape[-1] <= limit
    kept_groups = int(thinned["video_grid_thw"][0, 0])
    assert kept_groups < groups
    # every visual placeholder has its feature: groups x tokens per group
    assert (thinned["input_ids"] == adapter.processor.video_token_id).sum() == kept_groups * 4
    # the kept frames are spread over the whole video, not cut off at the end
    times = thinned["video_timestamps"]
    assert times[0] < 1.0 and times[-1] > 5.0
    # the answer is untouched
    assert (thinned["labels"] != IGNORE_INDEX).sum() == (full["labels"] != IGNORE_INDEX).sum()


def test_sample_too_long_even_with_min_frames_is_skipped_with_reason(adapter, toy, caplog):
    records, videos = toy
    long_prompt = records[0].replace(prompt="When does it happen? " * 200)
    ds = dataset(adapter, [long_prompt, records[1]], videos, max_length=400, min_frames=2)
    with caplog.at_level(logging.WARNING, logger="vidllm.data.batches"):
        sample = ds[0]
    assert sample[SKIPPED_KEY] == 1  # record 1 served instead
    assert ds.skipped["too long"] == 1
    assert "max_length=400" in caplog.text


def test_bad_videos_are_skipped_counted_and_logged(adapter, toy, tmp_path, caplog):
    records, videos = toy
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (tmp_path / "empty.mp4").write_bytes(b"")
    good = (videos / records[0].video).resolve()
    bad = [records[0].replace(video=str(tmp_path / name)) for name in ("missing.mp4", "corrupt.mp4", "empty.mp4")]
    ds = dataset(adapter, [*bad, records[0].replace(video=str(good))], None)
    with caplog.at_level(logging.WARNING, logger="vidllm.data.batches"):
        sample = ds[0]
        again = ds[1]  # starting at the corrupt one
    assert sample[SKIPPED_KEY] == 3 and again[SKIPPED_KEY] == 2
    assert torch.equal(sample["input_ids"], again["input_ids"])
    assert ds.skipped["missing video"] == 1 and ds.skipped["unreadable video"] == 4
    assert "missing.mp4" in caplog.text and "corrupt.mp4" in caplog.text and "empty.mp4" in caplog.text
    batch = VideoBatchCollator(adapter)([sample, again])
    assert batch[SKIPPED_KEY].item() == 5


def test_a_run_of_bad_records_stops_with_the_reason(adapter, toy, tmp_path):
    records, _ = toy
    ds = dataset(adapter, records[:3], tmp_path, max_consecutive_failures=3)
    with pytest.raises(RuntimeError, match=r"3 records in a row .* missing video.*video_root"):
        ds[0]


def test_placeholder_video_changes_no_loss(adapter, toy):
    records, videos = toy
    text_only = records[0].replace(video="")
    sample = dataset(adapter, [text_only], videos)[0]
    assert "pixel_values_videos" not in sample
    plain = VideoBatchCollator(adapter)([sample])
    padded = VideoBatchCollator(adapter, ensure_video=True)([sample])
    assert "pixel_values_videos" not in plain and "pixel_values_videos" in padded
    added = padded["input_ids"].shape[-1] - plain["input_ids"].shape[-1]
    assert added > 0 and (padded["labels"][0, -added:] == IGNORE_INDEX).all()
    with torch.no_grad():
        a = adapter.forward({k: v for k, v in plain.items() if k != SKIPPED_KEY})
        b = adapter.forward({k: v for k, v in padded.items() if k != SKIPPED_KEY})
    assert torch.allclose(a.loss, b.loss, atol=1e-6)
    n = plain["input_ids"].shape[-1]
    assert torch.allclose(a.logits[0], b.logits[0, :n], atol=1e-5)
    # a batch that already has a video is left alone
    with_video = dataset(adapter, [records[1]], videos)[0]
    both = VideoBatchCollator(adapter, ensure_video=True)([sample, with_video])
    assert both["input_ids"].shape[-1] == max(sample["input_ids"].shape[-1], with_video["input_ids"].shape[-1])


def test_arrow_records_feed_the_dataset(adapter, toy, tmp_path):
    records, videos = toy
    from vidllm.data import write_records

    path = write_records(records, tmp_path / "records.jsonl")
    arrow, _ = load_records(path, use_arrow=True, cache_dir=tmp_path / "cache")
    ds = dataset(adapter, arrow, videos)
    assert len(ds) == len(records)
    assert torch.equal(ds[1]["input_ids"], dataset(adapter, records, videos)[1]["input_ids"])


@pytest.mark.parametrize(
    "n, keep, grid, expected",
    [
        (8, 8, False, [0, 1, 2, 3, 4, 5, 6, 7]),
        (8, 4, False, [0, 2, 5, 7]),
        (8, 4, True, [0, 2, 4, 6]),
        (9, 4, True, [0, 3, 6]),
        (96, 2, False, [0, 95]),
    ],
)
def test_thin_indices(n, keep, grid, expected):
    assert thin_indices(n, keep, uniform_grid=grid).tolist() == expected


def test_thin_clip_keeps_the_rate_on_a_grid():
    clip = Clip(np.zeros((8, 4, 4, 3), np.uint8), np.arange(8) / 2.0, 2.0, 4.0)
    thinned = thin_clip(clip, 4, uniform_grid=True)
    assert thinned.sample_fps == 1.0 and thinned.timestamps.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_estimated_lengths_track_the_real_ones(adapter, toy):
    """The length-grouped sampler's estimates (no video read) use the processor's token sizes and land near the real
    lengths (the tiny tokenizer's small vocabulary writes more tokens per character than Qwen's)."""
    records, videos = toy
    ds = dataset(adapter, records[:3], videos)
    estimates = ds.lengths()
    real = [ds[i]["input_ids"].shape[-1] for i in range(3)]
    assert ds.length_model().tokens_per_group == 4 and ds.length_model().frames_per_group == 2
    for est, got in zip(estimates, real):
        assert abs(est - got) <= 0.5 * got, (estimates, real)
