"""With every component off, vidllm feeds each Qwen-VL model what its release was trained with.

Oracles: the release's own position code and Qwen3-VL's release processor, read from the transformers wheels of the
release (:mod:`qwen_release_code`, skipped without them), the checkpoint's processor and model class as installed, and
qwen-vl-utils (installed) for frame sizes. Several sampling rates (0.3, 0.6, 1.2 and 25 fps are where float64
temporal positions went wrong), short and long videos, odd and even frame counts.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import qwen_release_code as reference
import torch
from tiny_models import FAMILIES, fast_sample, synthetic_video, video_messages
from transformers.video_utils import VideoMetadata

from vidllm.models.checkpoint import inner_model
from vidllm.models.components.layout import Segment
from vidllm.models.components.positions import segment_positions

FPS = (0.3, 0.6, 1.2, 2.0, 25.0)
FRAMES = (4, 7, 8, 64)  # 64 frames: 32 groups, more than the merged grid's side (long-video positions)


def _sample(adapter, frames: int, fps: float, seed: int = 0, answer: str | None = None):
    video = synthetic_video(frames, fps=fps, seed=seed)
    if answer is None:
        return adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)
    return adapter.build_inputs(video_messages(answer=answer), [video])


def _release_positions(adapter, batch):
    config = adapter.model.config
    args = {"input_ids": batch["input_ids"], "image_grid_thw": None, "video_grid_thw": batch["video_grid_thw"],
            "attention_mask": batch["attention_mask"]}  # fmt: skip
    if adapter.name == "qwen2_5_vl":
        args["second_per_grid_ts"] = batch["second_per_grid_ts"]
    return reference.rope_index(adapter.name)(SimpleNamespace(config=config), **args)


def _our_positions(adapter, batch):
    return inner_model(adapter.model).get_rope_index(
        batch["input_ids"],
        mm_token_type_ids=batch["mm_token_type_ids"],
        video_grid_thw=batch["video_grid_thw"],
        second_per_grid_ts=batch.get("second_per_grid_ts"),
        attention_mask=batch["attention_mask"],
    )


POSITION_CASES = fast_sample(
    [(f, fps, n) for f in FAMILIES for fps in FPS for n in FRAMES],
    {(f, fps, n) for f in FAMILIES for fps, n in ((0.3, 7), (1.2, 8), (25.0, 64), (2.0, 64))},
)


@pytest.mark.parametrize("family, fps, frames", POSITION_CASES)
def test_positions_are_the_releases(make_adapter, family, fps, frames):
    adapter = make_adapter(family)
    batch = adapter.collate([_sample(adapter, frames, fps)])
    ours, our_deltas = _our_positions(adapter, batch)
    release, release_deltas = _release_positions(adapter, batch)
    assert torch.equal(ours, release.to(ours.dtype))
    assert torch.equal(our_deltas.reshape(-1), torch.as_tensor(release_deltas).reshape(-1).to(our_deltas.dtype))


@pytest.mark.parametrize("family", FAMILIES)
def test_left_padded_batch_positions_are_the_releases(make_adapter, family):
    adapter = make_adapter(family)
    samples = [_sample(adapter, 7, 0.3, seed=1), _sample(adapter, 64, 25.0, seed=2), _sample(adapter, 8, 1.2, seed=3)]
    batch = adapter.collate(samples, padding_side="left")
    ours, _ = _our_positions(adapter, batch)
    release, _ = _release_positions(adapter, batch)
    keep = batch["attention_mask"].bool()
    assert torch.equal(ours[:, keep], release.to(ours.dtype)[:, keep])


def test_float64_positions_would_differ_where_the_issue_saw_it():
    """The old float64 rule and the release's float32 rule part at 0.3/0.6/1.2/25 fps, not at 0.5/1/2/4 fps."""

    def release(groups: int, fps: float) -> list[int]:
        spg = torch.tensor(2 / fps, dtype=torch.float32).item()
        return segment_positions(Segment(groups, 1, 1, spg, 2), 0)[0].tolist()

    def float64(groups: int, fps: float) -> list[int]:
        spg = torch.tensor(2 / fps, dtype=torch.float32).item()
        return [math.floor(g * (2 * spg)) for g in range(groups)]

    for fps, every in ((0.3, 3), (0.6, 3), (1.2, 3), (25.0, 25)):  # every 3rd group: a third of them
        got, old = release(300, fps), float64(300, fps)
        lower = [g for g, (a, b) in enumerate(zip(got, old)) if b == a - 1]  # e.g. 39 instead of 40
        assert lower == list(range(every, 300, every)) and all(a - b in (0, 1) for a, b in zip(got, old)), fps
    for fps in (0.5, 1.0, 2.0, 4.0):
        assert release(300, fps) == float64(300, fps)


@pytest.mark.parametrize(
    "fps, frames", fast_sample([(r, n) for r in FPS for n in (4, 7, 8, 33)], {(0.3, 7), (1.2, 33), (25.0, 8)})
)
def test_qwen3_prompt_is_the_release_processors(make_adapter, fps, frames):
    """Qwen3-VL's processor of transformers 4.57.1 (its release): no outer vision_start/end pair around the
    per-frame blocks; ids, pixels and grid equal (its token types mark images only: 4.57's positions did not read
    them)."""
    processing = reference.module("4.57.1", "models/qwen3_vl/processing_qwen3_vl.py")
    adapter = make_adapter("qwen3_vl")
    video, timestamps = synthetic_video(frames, fps=fps)
    ours = adapter.build_inputs(video_messages(), [(video, timestamps)], add_generation_prompt=True)
    text = adapter.processor.apply_chat_template(video_messages(), tokenize=False, add_generation_prompt=True)
    metadata = [VideoMetadata(total_num_frames=frames, fps=fps, frames_indices=list(range(frames)))]
    release = processing.Qwen3VLProcessor.__call__(
        adapter.processor, text=[text], videos=[video], video_metadata=metadata, do_sample_frames=False,
        return_tensors="pt", cap_pixels_per_frame=False,
    )  # fmt: skip
    for key in ("input_ids", "pixel_values_videos", "video_grid_thw"):
        assert torch.equal(ours[key], torch.as_tensor(release[key]).to(ours[key].dtype)), key


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("fps", (2.0, 25.0))
def test_stock_model_class_gives_the_same_logits_and_tokens(make_adapter, tiny_folders, family, fps):
    """The checkpoint's own model class, without vidllm's hooks, on vidllm's inputs and the release's positions:
    the same logits. Where the installed transformers' own positions are the release's (a short video), also
    without being told them, and the same greedy tokens."""
    import transformers

    adapter = make_adapter(family)
    stock = getattr(transformers, adapter.model_class).from_pretrained(tiny_folders[family]).eval()
    answer = adapter.config.time.make_scheme().format_span(1.0, 2.5)
    video = synthetic_video(4, fps=fps, size=32)  # 2 groups of 4x4 merged tokens
    batch = adapter.collate([adapter.build_inputs(video_messages(answer=answer), [video])])
    stock_inputs = {k: v for k, v in batch.items() if k not in ("video_timestamps", "labels")}
    release = _release_positions(adapter, batch)[0]
    with torch.no_grad():  # the stock class told the release's positions
        assert torch.equal(adapter.forward(batch).logits, stock(**stock_inputs, position_ids=release).logits)
    stock_positions = stock.model.get_rope_index(
        batch["input_ids"], mm_token_type_ids=batch["mm_token_type_ids"], video_grid_thw=batch["video_grid_thw"],
        second_per_grid_ts=batch.get("second_per_grid_ts"), attention_mask=batch["attention_mask"],
    )[0]  # fmt: skip
    if not torch.equal(stock_positions, release):  # Qwen2.5-VL at 2 fps: transformers 5.x's text start differs
        assert family == "qwen2_5_vl"
        return
    with torch.no_grad():
        assert torch.equal(adapter.forward(batch).logits, stock(**stock_inputs).logits)
    prompt = adapter.collate([adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)],
                             padding_side="left")  # fmt: skip
    stock_prompt = {k: v for k, v in prompt.items() if k != "video_timestamps"}
    ours = adapter.generate_output(prompt, max_new_tokens=4)
    theirs = stock.generate(**stock_prompt, max_new_tokens=4, do_sample=False)
    assert torch.equal(ours, theirs)


SIZES = {"72x108": ((72, 108), (64, 32 * 32)), "40x60": ((40, 60), (64, 24 * 24)), "100x150": ((100, 150), (64, 1600))}


@pytest.mark.parametrize(
    "frames, case", fast_sample([(n, c) for n in (3, 4, 5, 7, 8) for c in SIZES], {(7, "72x108"), (8, "72x108")})
)
def test_qwen3_frames_are_sized_per_frame_as_qwen_vl_utils(make_adapter, frames, case):
    """With frame_min/max_pixels, every Qwen3-VL frame gets qwen-vl-utils' per-frame smart_resize size (odd frame
    counts included; the processor's whole-video budget gave odd counts larger frames). Pixels: the processor's own
    resize where it picks the same size; within 2/255 of qwen-vl-utils' resize (torchvision's v1 and v2 bicubic
    round differently on uint8)."""
    from qwen_vl_utils.vision_process import smart_resize
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as F

    size, (low, high) = SIZES[case]
    adapter = make_adapter("qwen3_vl", frame_min_pixels=low, frame_max_pixels=high)
    vp = adapter.processor.video_processor
    factor, patch_t = vp.patch_size * vp.merge_size, vp.temporal_patch_size
    rng = np.random.default_rng(frames)
    video = rng.integers(0, 256, (frames, *size, 3), dtype=np.uint8)
    sample = adapter.build_inputs(video_messages(), [(video, np.arange(frames) / 2.0)], add_generation_prompt=True)
    height, width = smart_resize(*size, factor=factor, min_pixels=low, max_pixels=high)
    grid = [math.ceil(frames / patch_t), height // vp.patch_size, width // vp.patch_size]
    assert sample["video_grid_thw"].tolist() == [grid]
    padded = frames + (-frames % patch_t)
    budget = {"shortest_edge": low * padded, "longest_edge": high * padded}  # vidllm's former whole-video bounds
    kwargs = {"do_sample_frames": False, "return_tensors": "pt", "cap_pixels_per_frame": False}
    stock = vp(videos=[video], size=budget, **kwargs)
    if stock["video_grid_thw"].tolist() == [grid]:
        assert torch.equal(sample["pixel_values_videos"], stock["pixel_values_videos"])
    else:
        assert frames % patch_t, "the whole-video budget only went wrong for odd frame counts"
    resized = F.resize(torch.from_numpy(video).permute(0, 3, 1, 2), [height, width],
                       interpolation=InterpolationMode.BICUBIC, antialias=True).float()  # fmt: skip
    card = vp(videos=[resized], do_resize=False, **kwargs)["pixel_values_videos"]
    step = 1 / 255 / min(vp.image_std)
    assert (sample["pixel_values_videos"] - card).abs().max() <= 2 * step + 1e-6


@pytest.mark.parametrize("fps", FPS)
def test_qwen2_5_seconds_per_group_are_the_processors(make_adapter, fps):
    """``second_per_grid_ts`` is the processor's ``temporal_patch_size / fps`` in float32, told the real fps."""
    adapter = make_adapter("qwen2_5_vl")
    video, timestamps = synthetic_video(8, fps=fps)
    ours = adapter.build_inputs(video_messages(), [(video, timestamps)], add_generation_prompt=True)
    text = adapter.processor.apply_chat_template(video_messages(), tokenize=False, add_generation_prompt=True)
    metadata = [VideoMetadata(total_num_frames=8, fps=fps, frames_indices=list(range(8)))]
    stock = adapter.processor(text=[text], videos=[video], video_metadata=metadata, do_sample_frames=False,
                              return_tensors="pt")  # fmt: skip
    assert torch.equal(ours["second_per_grid_ts"], torch.as_tensor(stock["second_per_grid_ts"], dtype=torch.float32))
