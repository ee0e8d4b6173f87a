"""The model-card sampling option reproduces qwen-vl-utils 0.0.14 (installed): frame choice, counts, sizes, pixels."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_models import fast_sample
from video_helpers import cfr_video

from vidllm.video.model_card import qwen_pixel_bounds, read_frames_qwen_vl_utils
from vidllm.video.resize import fit_pixels
from vidllm.video.sampling import qwen_frame_count, qwen_frame_indices, qwen_frame_window

vision = pytest.importorskip("qwen_vl_utils.vision_process", reason="qwen-vl-utils is not installed")


def _theirs(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (ValueError, AssertionError) as e:
        return type(e)


def _ours(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValueError as e:
        return type(e)


@settings(max_examples=400, deadline=None)
@given(
    total=st.integers(1, 30_000),
    video_fps=st.floats(1.0, 120.0),
    fps=st.floats(0.05, 8.0),
    nframes=st.one_of(st.none(), st.integers(1, 2000)),
    min_frames=st.integers(1, 16),
    max_frames=st.one_of(st.none(), st.integers(2, 1024)),
)
def test_frame_count_is_qwen_vl_utils(total, video_fps, fps, nframes, min_frames, max_frames):
    ele = {"nframes": nframes} if nframes is not None else {"fps": fps, "min_frames": min_frames}
    if nframes is None and max_frames is not None:
        ele["max_frames"] = max_frames
    theirs = _theirs(vision.smart_nframes, ele, total_frames=total, video_fps=video_fps)
    kwargs = {"nframes": nframes} if nframes is not None else {"fps": fps, "min_frames": min_frames,
                                                                   "max_frames": max_frames}  # fmt: skip
    ours = _ours(qwen_frame_count, total, video_fps, **kwargs)
    assert ours == (ValueError if theirs is AssertionError else theirs)


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(1, 10_000),
    video_fps=st.floats(1.0, 120.0),
    start=st.one_of(st.none(), st.floats(-5.0, 500.0)),
    end=st.one_of(st.none(), st.floats(-5.0, 500.0)),
)
def test_frame_window_is_qwen_vl_utils(total, video_fps, start, end):
    ele = {k: v for k, v in (("video_start", start), ("video_end", end)) if v is not None}
    theirs = _theirs(vision.calculate_video_frame_range, ele, total, video_fps)
    ours = _ours(qwen_frame_window, total, video_fps, start, end)
    assert ours == (theirs if isinstance(theirs, type) else theirs[:2])


@settings(max_examples=200, deadline=None)
@given(first=st.integers(0, 100), span=st.integers(1, 5000), count=st.integers(2, 800))
def test_frame_indices_are_qwen_vl_utils(first, span, count):
    expected = torch.linspace(first, first + span, count).round().long().tolist()
    assert qwen_frame_indices(first, first + span, count).tolist() == expected


@settings(max_examples=300, deadline=None)
@given(
    h=st.integers(28, 2000),
    w=st.integers(28, 2000),
    n=st.integers(2, 768),
    patch=st.sampled_from([14, 16]),
    min_tokens=st.one_of(st.none(), st.integers(4, 256)),
    max_tokens=st.one_of(st.none(), st.integers(256, 2000)),
)
def test_frame_size_is_qwen_vl_utils(h, w, n, patch, min_tokens, max_tokens):
    """The size fetch_video computes: its budget per frame, then smart_resize (where it gives no zero side)."""
    factor = patch * 2
    min_pixels = min_tokens * factor**2 if min_tokens else None
    max_pixels = max_tokens * factor**2 if max_tokens else None
    low, high = qwen_pixel_bounds(n, patch, min_pixels=min_pixels, max_pixels=max_pixels)
    their_low = min_pixels if min_pixels is not None else vision.VIDEO_MIN_TOKEN_NUM * factor**2
    total = vision.MODEL_SEQ_LEN * factor**2 * 0.9
    their_high = max(
        min(vision.VIDEO_MAX_TOKEN_NUM * factor**2, total / n * vision.FRAME_FACTOR), int(their_low * 1.05)
    )
    their_high = min(max_pixels, their_high) if max_pixels is not None else their_high
    assert (low, high) == (their_low, int(their_high))
    theirs = _theirs(vision.smart_resize, h, w, factor=factor, min_pixels=their_low, max_pixels=their_high)
    if isinstance(theirs, tuple) and min(theirs) > 0:
        assert fit_pixels(h, w, low, high, factor) == theirs


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    return cfr_video(tmp_path_factory.mktemp("card") / "long.mp4", Fraction(30), 21.5)


@pytest.fixture
def qwen_decord(monkeypatch):
    """qwen-vl-utils reading with decord (its torchvision fallback is broken with torchvision 0.29)."""
    pytest.importorskip("decord")
    monkeypatch.setattr(vision, "FORCE_QWENVL_VIDEO_READER", "decord")
    vision.get_video_reader_backend.cache_clear()
    yield
    vision.get_video_reader_backend.cache_clear()


CASES = [
    ({"fps": 2.0, "min_pixels": 16 * 28 * 28}, 14),
    ({"fps": 0.5, "min_pixels": 16 * 28 * 28}, 14),
    ({"fps": 25.0, "min_pixels": 4 * 32 * 32, "max_pixels": 8 * 32 * 32}, 16),  # more than the video: capped
    ({"nframes": 9, "min_pixels": 16 * 32 * 32}, 16),
    ({"fps": 1.0, "video_start": 3.2, "video_end": 11.7, "min_pixels": 16 * 28 * 28}, 14),
    ({"fps": 2.0, "max_frames": 10, "min_pixels": 16 * 28 * 28}, 14),
    ({"fps": 2.0}, 14),  # default budgets: 48x64 frames grow to qwen-vl-utils' 128-token minimum
]


@pytest.mark.parametrize("case", fast_sample(list(range(len(CASES))), {0, 4}))
def test_frames_are_qwen_vl_utils_fetch_video(qwen_decord, long_video, videos, case):
    ele, patch = CASES[case]
    for clip in (long_video, videos["29.97fps"], videos["12fps"]):
        if "video_start" in ele and clip is not long_video:
            continue
        (theirs, metadata), sample_fps = vision.fetch_video(
            {"video": str(clip.path), **ele}, image_patch_size=patch, return_video_sample_fps=True,
            return_video_metadata=True,
        )  # fmt: skip
        ours = read_frames_qwen_vl_utils(clip.path, **ele, image_patch_size=patch)
        assert ours.frame_indices.tolist() == metadata["frames_indices"]
        assert ours.video_fps == pytest.approx(metadata["fps"], abs=1e-9)
        assert ours.sample_fps == pytest.approx(sample_fps, rel=1e-12)
        expected = theirs.permute(0, 2, 3, 1).numpy()
        assert ours.frames.shape == expected.shape and np.array_equal(ours.frames, expected.astype(np.uint8))
        assert np.allclose(ours.timestamps, clip.times[ours.frame_indices])
        assert ours.min_pixels <= ours.frames.shape[1] * ours.frames.shape[2] <= ours.max_pixels


def test_fps_and_nframes_are_exclusive(videos):
    with pytest.raises(ValueError, match="fps or nframes"):
        read_frames_qwen_vl_utils(videos["25fps"].path, fps=1.0, nframes=4)


def test_adapter_keeps_card_frames_as_they_are(videos, tmp_path):
    """Through the Qwen3-VL adapter with the card's bounds, the frames reach the processor unresized: the pixels are
    the processor's on the card frames with do_resize=False (what the model card calls)."""
    from vidllm.models import from_pretrained
    from vidllm.models.tiny import video_messages, write_tiny_checkpoint

    folder = write_tiny_checkpoint("qwen3_vl", tmp_path / "tiny")
    video = read_frames_qwen_vl_utils(videos["25fps"].path, fps=2.0, image_patch_size=4, min_pixels=64,
                                      max_pixels=24 * 24, backend="pyav")  # fmt: skip
    adapter = from_pretrained(folder, device="cpu", **video.pixel_bounds)
    sample = adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)
    vp = adapter.processor.video_processor
    stock = vp(videos=[video.frames], do_resize=False, do_sample_frames=False, return_tensors="pt")
    assert torch.equal(sample["pixel_values_videos"], stock["pixel_values_videos"])
    groups = math.ceil(len(video.frames) / 2)
    assert sample["video_grid_thw"].tolist() == [[groups, video.frames.shape[1] // 4, video.frames.shape[2] // 4]]
