"""The components as pure functions and small modules: no model needed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidllm.models import MODELS, CompressionConfig, ModelConfig, TimeConfig, get_adapter
from vidllm.models.components.frame_groups import check_timestamps, frame_interval, group_times
from vidllm.models.components.layout import Segment, VideoLayout
from vidllm.models.components.positions import mrope_position_ids, segment_positions
from vidllm.models.components.slots import SlotCompressor, compress_video, pool_like
from vidllm.models.components.time_embedding import TimeEmbedding, add_time_embedding
from vidllm.models.components.timestamp_text import QWEN3_NATIVE_TEMPLATE, frame_time_texts, qwen3_native_scheme
from vidllm.models.inputs import collate
from vidllm.models.runtime import resolve_runtime
from vidllm.time import get_scheme


def test_registry_lists_valid_names():
    assert set(MODELS) == {"qwen2_vl", "qwen2_5_vl", "qwen3_vl", "longva", "videollama"}
    with pytest.raises(ValueError, match="longva, qwen2_5_vl, qwen2_vl, qwen3_vl, videollama"):
        get_adapter("llava")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"time": TimeConfig(frame_text=True), "compression": CompressionConfig(enabled=True, per="video")},
            "per='frame'",
        ),
        ({"dtype": "fp8"}, "dtype"),
        ({"attn_implementation": "flash"}, "attn_implementation"),
    ],
)
def test_model_config_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scheme": "minutes"}, "time.scheme"),
        ({"scheme": "text", "time_tokens": True}, "adds no tokens"),
        ({"scheme": "frames", "scheme_kwargs": {"fps": 2}}, "fps comes from"),
        ({"frame_text_template": "<seconds>"}, "{time}"),
    ],
)
def test_time_config_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TimeConfig(**kwargs)


def test_config_round_trips_through_dict():
    cfg = ModelConfig(time=TimeConfig(scheme="bins", scheme_kwargs={"num_bins": 10}, time_tokens=True))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_cpu_runtime_is_float32_sdpa():
    rt = resolve_runtime("cpu")
    assert (rt.device.type, rt.dtype, rt.attn_implementation) == ("cpu", torch.float32, "sdpa")
    with pytest.raises(ValueError, match="flash-attn"):
        resolve_runtime("cpu", attn_implementation="flash_attention_2")


def test_group_times_pad_and_average():
    assert group_times(np.array([0.0, 0.5, 1.0, 1.5]), 2).tolist() == [0.25, 1.25]
    assert group_times(np.array([0.0, 2.0, 4.0]), 2).tolist() == [1.0, 4.0]  # last frame repeated
    assert frame_interval(np.array([0.0, 0.5, 1.0])) == 0.5
    with pytest.raises(ValueError, match="3 timestamps for 2 frames"):
        check_timestamps(np.zeros(3), 2)
    with pytest.raises(ValueError, match="non-decreasing"):
        check_timestamps(np.array([1.0, 0.0]), 2)


def test_time_embedding_zero_init_and_interpolation():
    emb = TimeEmbedding(max_seconds=4, dim=3)
    assert torch.count_nonzero(emb(torch.tensor([0.0, 2.5, 9.0]))) == 0
    with torch.no_grad():
        emb.table.weight.copy_(torch.arange(5.0).unsqueeze(1).expand(5, 3))
    out = emb(torch.tensor([0.0, 2.5, 3.25, 9.0]))[:, 0]
    assert torch.allclose(out, torch.tensor([0.0, 2.5, 3.25, 4.0]))  # later than max_seconds: last row
    feats = torch.zeros(6, 3)
    added = add_time_embedding(feats, torch.tensor([1.0, 2.0, 3.0]), emb)
    assert added[:, 0].tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    with pytest.raises(ValueError, match="do not split into 4"):
        add_time_embedding(feats, torch.zeros(4), emb)


def test_sinusoidal_time_embedding_orders_the_seconds_before_training():
    from vidllm.models.components.time_embedding import sinusoidal_table

    table = sinusoidal_table(64, 32)
    assert torch.allclose(table.pow(2).mean(dim=1), torch.ones(64), atol=1e-5)  # RMS 1 per row
    # nearer seconds are more alike: the code carries order before any training
    sims = table[10] @ table.T
    assert sims[10] > sims[11] > sims[13] > sims[20]
    emb = TimeEmbedding(max_seconds=63, dim=32, init="sinusoidal", scale=0.05)
    assert torch.allclose(emb(torch.tensor([3.0])), 0.05 * table[3:4])
    with pytest.raises(ValueError, match="zeros or sinusoidal"):
        TimeEmbedding(4, 3, init="random")


def test_per_video_slots_see_order_only_through_the_time_embedding():
    # Why `slots` learned only the answer prior: pooled slots are a permutation-invariant function of the tokens, so
    # with a zero-initialised time embedding a video and the same video reversed give the LLM identical slots.
    from vidllm.models.components.slots import SlotCompressor, compress_video

    torch.manual_seed(0)
    tokens, times = torch.randn(16, 32) * 0.05, torch.arange(16.0)
    reverse = torch.arange(15, -1, -1)
    compressor = SlotCompressor(32, num_slots=8)
    for init, order_kept in (("zeros", False), ("sinusoidal", True)):
        emb = TimeEmbedding(max_seconds=63, dim=32, init=init, scale=0.05)
        forward = compress_video(add_time_embedding(tokens, times, emb), 16, compressor, "video")[0]
        backward = compress_video(add_time_embedding(tokens[reverse], times, emb), 16, compressor, "video")[0]
        assert torch.allclose(forward, backward, atol=1e-6) != order_kept, init


@pytest.mark.parametrize("iterations", [0, 3])
def test_slots_are_weighted_averages(iterations):
    torch.manual_seed(0)
    comp = SlotCompressor(dim=8, num_slots=3, iterations=iterations)
    tokens = torch.randn(2, 10, 8)
    slots, weights = comp(tokens)
    assert slots.shape == (2, 3, 8) and weights.shape == (2, 3, 10)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3), atol=1e-5)
    assert (weights >= 0).all()
    assert torch.allclose(slots, weights @ tokens, atol=1e-5)
    slots.sum().backward()
    assert comp.queries.grad is not None and comp.queries.grad.abs().sum() > 0


def test_compress_video_per_video_and_per_frame():
    torch.manual_seed(0)
    comp = SlotCompressor(dim=4, num_slots=2)
    feats = torch.randn(3 * 5, 4)  # 3 groups of 5 tokens
    slots, w = compress_video(feats, 3, comp, "video")
    assert slots.shape == (2, 4) and w.shape == (1, 2, 15)
    slots, w = compress_video(feats, 3, comp, "frame")
    assert slots.shape == (6, 4) and w.shape == (3, 2, 5)
    deep = torch.randn(15, 7)
    assert pool_like(deep, w).shape == (6, 7)
    # time survives compression: a constant added to every token moves every slot by that constant
    shifted, _ = compress_video(feats + 10.0, 3, comp, "frame")
    base, _ = compress_video(feats, 3, comp, "frame")
    assert not torch.allclose(shifted, base)


def test_layout_placeholder_and_segments():
    pad, vs, ve = "<P>", "<S>", "<E>"
    plain = VideoLayout()
    assert plain.placeholder(3, 4, pad=pad, vision_start=vs, vision_end=ve) == pad * 12
    assert plain.segments(3, 2, 2, time_interval=4.0) == [Segment(3, 2, 2, 4.0)]
    text = VideoLayout(frame_text=True, slots_per_frame=2)
    got = text.placeholder(2, 4, pad=pad, vision_start=vs, vision_end=ve, texts=["<0>", "<1>"])
    assert got == "<0><S><P><P><E><1><S><P><P><E>"
    assert text.segments(2, 2, 2) == [Segment(1, 1, 2), Segment(1, 1, 2)]
    video = VideoLayout(slots_per_video=5)
    assert video.num_tokens(10, 4) == 5 and video.segments(10, 2, 2) == [Segment(1, 1, 5)]
    with pytest.raises(ValueError, match="expected 2, got 1"):
        text.placeholder(2, 4, pad=pad, vision_start=vs, vision_end=ve, texts=["<0>"])


def test_frame_time_text_uses_the_scheme():
    assert frame_time_texts([0.25, 12.0], qwen3_native_scheme(), QWEN3_NATIVE_TEMPLATE) == [
        "<0.2 seconds>",
        "<12.0 seconds>",
    ]
    vtg = get_scheme("vtgllm")
    assert frame_time_texts([12.5], vtg, "<{time}>") == [f"<{vtg.encode(12.5)}>"]
    assert frame_time_texts([1.0], get_scheme("frames", fps=2.0), "<Frame {time}>") == ["<Frame 2>"]


def test_positions_text_after_a_block_starts_past_its_largest_position():
    # 2 text, a 4-group video of 1x2 tokens spaced 3 apart, 2 text
    types = torch.tensor([[0, 0] + [2] * 8 + [0, 0]])
    pos, delta = mrope_position_ids(types, video_segments=[Segment(4, 1, 2, 3.0)])
    assert pos[0, 0, :2].tolist() == [0, 1]
    assert pos[0, 0, 2:10].tolist() == [2, 2, 5, 5, 8, 8, 11, 11]  # temporal: start + floor(g * 3)
    assert pos[2, 0, 2:4].tolist() == [2, 3]  # width
    assert pos[:, 0, 10].tolist() == [12, 12, 12]  # one past the largest (11)
    assert delta.item() == 14 - 12


def test_positions_with_padding_and_bad_layouts():
    types = torch.tensor([[0, 2, 2, 0], [0, 0, 2, 2]])
    mask = torch.tensor([[1, 1, 1, 1], [0, 1, 1, 1]])
    pos, _ = mrope_position_ids(types, video_segments=[Segment(1, 1, 2), Segment(1, 1, 2)], attention_mask=mask)
    assert pos[0, 0].tolist() == [0, 1, 1, 3]
    assert pos[0, 1].tolist() == [0, 0, 1, 1]  # padding gets 0, the rest starts at 0
    assert pos[2, 0].tolist() == [0, 1, 2, 3]  # width of the 1x2 block
    with pytest.raises(ValueError, match="no video grid left"):
        mrope_position_ids(types, video_segments=[Segment(1, 1, 2)])
    with pytest.raises(ValueError, match="without placeholders"):
        mrope_position_ids(torch.tensor([[0, 2, 2]]), video_segments=[Segment(1, 1, 2), Segment(1, 1, 2)])


def test_segment_positions_shape():
    block = segment_positions(Segment(2, 2, 3, 1.0), start=5)
    assert block.shape == (3, 12)
    assert block[0].tolist() == [5] * 6 + [6] * 6


def test_collate_pads_and_concatenates():
    a = {
        "input_ids": torch.tensor([[1, 2, 3]]),
        "attention_mask": torch.ones(1, 3, dtype=torch.long),
        "labels": torch.tensor([[-100, 2, 3]]),
        "video_timestamps": torch.tensor([0.5, 1.5]),
    }
    b = {
        "input_ids": torch.tensor([[4]]),
        "attention_mask": torch.ones(1, 1, dtype=torch.long),
        "labels": torch.tensor([[4]]),
        "video_timestamps": torch.tensor([0.25]),
    }
    right = collate([a, b], pad_token_id=0)
    assert right["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert right["labels"].tolist()[1] == [4, -100, -100]
    assert right["video_timestamps"].tolist() == [0.5, 1.5, 0.25]
    left = collate([a, b], pad_token_id=0, padding_side="left")
    assert left["attention_mask"].tolist()[1] == [0, 0, 1]


def test_npu_request_without_torch_npu_says_so():
    from vidllm.models.runtime import npu_available

    if npu_available():
        pytest.skip("an Ascend NPU is present")
    with pytest.raises(ValueError, match="torch_npu"):
        resolve_runtime("npu")
