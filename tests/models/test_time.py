"""Time is right: real fps reaches the model, positions agree between training and generation, tokens are clean."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from transformers.video_utils import VideoMetadata

from vidllm.models.checkpoint import inner_model, unwrap
from vidllm.models.components.frame_groups import group_times
from vidllm.models.components.numbering import NUMPRO_HINT
from vidllm.models.inputs import generation_inputs
from vidllm.models.tiny import FAMILIES, synthetic_video, video_messages
from vidllm.time import get_scheme, parse_intervals

VIDEO_FPS = 30.0


def _stock_inputs(adapter, frames, timestamps, *, metadata: bool = True):
    """What the checkpoint's own processor makes of the same frames (told the real frame times, or not)."""
    processor = adapter.processor
    text = processor.apply_chat_template(video_messages(), tokenize=False, add_generation_prompt=True)
    kwargs = {"do_sample_frames": False, "return_tensors": "pt", "cap_pixels_per_frame": False}
    if metadata:
        indices = [round(t * VIDEO_FPS) for t in timestamps]
        total = round((timestamps[-1] + (timestamps[1] - timestamps[0])) * VIDEO_FPS)
        kwargs["video_metadata"] = [VideoMetadata(total_num_frames=total, fps=VIDEO_FPS, frames_indices=indices)]
    return processor(text=[text], videos=[frames], **kwargs)


def _without_outer_vision_pair(adapter, stock: dict) -> dict:
    """The stock inputs with the vision_start before the first frame-time text and the vision_end after the last
    frame block removed."""
    config = adapter.model.config
    ids = torch.as_tensor(stock["input_ids"])[0]
    starts = (ids == config.vision_start_token_id).nonzero().flatten().tolist()
    ends = (ids == config.vision_end_token_id).nonzero().flatten().tolist()
    keep = torch.ones_like(ids, dtype=torch.bool)
    keep[starts[0]] = keep[ends[-1]] = False
    return {**stock, **{k: torch.as_tensor(stock[k])[:, keep] for k in ("input_ids", "mm_token_type_ids")}}


@pytest.mark.parametrize("family", FAMILIES)
def test_stock_layout_matches_the_checkpoint_processor(make_adapter, family):
    """With every component off, the inputs are exactly the stock processor's given the real frame times."""
    adapter = make_adapter(family)
    frames, timestamps = synthetic_video(8, fps=2.0)
    ours = adapter.build_inputs(video_messages(), [(frames, timestamps)], add_generation_prompt=True)
    stock = dict(_stock_inputs(adapter, frames, timestamps))
    if family == "qwen3_vl":  # transformers >= 5.10 keeps an outer vision_start/end pair that 4.57 (the release) drops
        stock = _without_outer_vision_pair(adapter, stock)
    for key in ("input_ids", "mm_token_type_ids", "pixel_values_videos", "video_grid_thw"):
        assert torch.equal(ours[key], torch.as_tensor(stock[key]).to(ours[key].dtype)), key
    if family == "qwen2_5_vl":
        assert torch.allclose(ours["second_per_grid_ts"], torch.as_tensor(stock["second_per_grid_ts"]).float())


def _video_temporal_seconds(adapter, sample) -> list[float]:
    """Seconds since the first group, read back from the temporal position ids of the video tokens."""
    inner = inner_model(adapter.model)
    positions, _ = inner.get_rope_index(
        sample["input_ids"],
        mm_token_type_ids=sample["mm_token_type_ids"],
        video_grid_thw=sample["video_grid_thw"],
        second_per_grid_ts=sample.get("second_per_grid_ts"),
        attention_mask=sample["attention_mask"],
    )
    temporal = positions[0, 0][sample["mm_token_type_ids"][0] == 2]
    ids = torch.unique_consecutive(temporal)
    return ((ids - ids[0]).float() / inner.config.vision_config.tokens_per_second).tolist()


def test_qwen2_5_temporal_positions_are_seconds_at_any_fps(make_adapter):
    """0.5 fps and 2 fps samplings of one 16-s video give the same temporal position to the same second."""
    adapter = make_adapter("qwen2_5_vl")
    seen = {}
    for fps in (0.5, 2.0):
        frames, timestamps = synthetic_video(int(16 * fps), fps=fps)
        sample = adapter.build_inputs(video_messages(), [(frames, timestamps)], add_generation_prompt=True)
        assert sample["second_per_grid_ts"].item() == pytest.approx(2 / fps)
        seconds = _video_temporal_seconds(adapter, sample)
        starts = (group_times(timestamps, 2) - group_times(timestamps, 2)[0]).tolist()
        assert seconds == pytest.approx(starts)
        seen[fps] = dict(zip(seconds, timestamps[::2].tolist()))
        if fps != 2.0:  # told nothing, the stock processor assumes 24 fps: 1/12 s per group instead of 4 s
            stock = _stock_inputs(adapter, frames, timestamps, metadata=False)
            assert stock["second_per_grid_ts"][0] == pytest.approx(2 / 24)
    assert set(seen[0.5]) <= set(seen[2.0])  # 0, 4, 8, 12 s are positions of both samplings


def test_qwen3_frame_times_are_the_real_seconds_at_any_fps(make_adapter):
    adapter = make_adapter("qwen3_vl")
    for fps in (0.5, 2.0):
        frames, timestamps = synthetic_video(int(16 * fps), fps=fps)
        sample = adapter.build_inputs(video_messages(), [(frames, timestamps)], add_generation_prompt=True)
        prompt = adapter.processor.tokenizer.decode(sample["input_ids"][0])
        written = [float(x) for x in re.findall(r"<(\d+\.\d) seconds>", prompt)]
        assert written == pytest.approx(group_times(timestamps, 2).tolist(), abs=0.051)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("component", ["none", "all"])
def test_long_video_positions_agree_between_training_and_generation(make_adapter, family, component):
    """32 groups of 2x2 tokens: text after the video starts past it; generation uses the training positions."""
    adapter = make_adapter(family, component)
    prompt = adapter.collate(
        [adapter.build_inputs(video_messages(), [synthetic_video(64, 2.0)], add_generation_prompt=True)]
    )
    positions, deltas = inner_model(adapter.model).get_rope_index(
        prompt["input_ids"],
        mm_token_type_ids=prompt["mm_token_type_ids"],
        video_grid_thw=prompt["video_grid_thw"],
        second_per_grid_ts=prompt.get("second_per_grid_ts"),
        attention_mask=prompt["attention_mask"],
    )
    video = prompt["mm_token_type_ids"][0] == 2
    last_video = int(video.nonzero().max())
    assert positions[:, 0, last_video + 1].min() > positions[:, 0, video].max()
    # decoding continues from rope_deltas: the next token's position is the one training gives it
    length = prompt["input_ids"].shape[1]
    assert (positions[:, 0, -1] + 1).tolist() == [length + int(deltas)] * 3

    inputs = generation_inputs(adapter.model, prompt)
    out = adapter.model.generate(
        **inputs, max_new_tokens=3, do_sample=False, output_logits=True, return_dict_in_generate=True
    )
    generated = out.sequences[:, length:]
    full = dict(prompt)
    full["input_ids"] = torch.cat([prompt["input_ids"], generated[:, :2]], dim=1)
    full["attention_mask"] = torch.ones_like(full["input_ids"])
    full["mm_token_type_ids"] = torch.cat([prompt["mm_token_type_ids"], torch.zeros_like(generated[:, :2]).int()], 1)
    with torch.no_grad():
        logits = adapter.forward(full).logits[0, length - 1 : length + 2]
    for step in range(3):
        assert torch.allclose(logits[step], out.logits[step][0], atol=1e-4), step

    # a plain decoding loop (cache, no position ids) positions new tokens by rope_deltas: same logits again
    model = adapter.model
    with torch.no_grad():
        first = model(**inputs, use_cache=True)
        step = model(input_ids=generated[:, :1], past_key_values=first.past_key_values, use_cache=True)
    assert torch.allclose(step.logits[0, -1], logits[1], atol=1e-4)


def test_time_tokens_tokenize_cleanly_and_read_back(make_adapter):
    adapter = make_adapter("qwen2_5_vl", "time_tokens")
    tokenizer = adapter.processor.tokenizer
    scheme = get_scheme("vtgllm")
    text = f"The door opens at {scheme.format_span(12.5, 20.0)}."
    ids = tokenizer.encode(text, add_special_tokens=False)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokenizer.decode(ids) == text
    assert parse_intervals(tokenizer.decode(ids, skip_special_tokens=True)) == [(12.5, 20.0)]
    # each time token is one id, in order, nothing glued to it
    assert [t for t in tokens if t in scheme.new_tokens] == re.findall(r"<TIME_[A-Z]+>", text)
    assert all(t in scheme.new_tokens or "TIME" not in t for t in tokens)
    # the only extra token is the lone space before a run, as before digits in Qwen's tokenizer (' 12' -> Ġ 1 2)
    assert [t for t in tokens if t not in scheme.new_tokens and t.strip("Ġ") == ""] == ["Ġ", "Ġ"]
    assert tokenizer.convert_ids_to_tokens(tokenizer.encode(" 12", add_special_tokens=False))[0] == "Ġ"


def test_time_token_rows_start_from_the_digits(make_adapter):
    adapter = make_adapter("qwen2_vl", "time_tokens")
    tokenizer, model = adapter.processor.tokenizer, unwrap(adapter.model)
    for layer in (model.get_input_embeddings(), model.get_output_embeddings()):
        weight = layer.weight
        for token, source in (("<TIME_ONE>", "1"), ("<TIME_DOT>", ".")):
            assert torch.equal(
                weight[tokenizer.convert_tokens_to_ids(token)], weight[tokenizer.convert_tokens_to_ids(source)]
            )
    # 11 tokens do not fit the 8 spare rows: the embeddings grew to the tokenizer
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)


def test_bins_tokens_fit_spare_rows(make_adapter):
    from vidllm.models import TimeConfig

    adapter = make_adapter("qwen2_vl", time=TimeConfig(scheme="bins", scheme_kwargs={"num_bins": 4}, time_tokens=True))
    model, tokenizer = unwrap(adapter.model), adapter.processor.tokenizer
    rows = model.get_input_embeddings().weight.shape[0]
    assert rows == len(tokenizer) - 4 + 8  # unchanged: the 4 new ids fit the 8 spare rows
    digits = [tokenizer.convert_tokens_to_ids(str(i)) for i in range(10)]
    t2 = tokenizer.convert_tokens_to_ids("<t2>")
    assert torch.allclose(model.get_input_embeddings().weight[t2], model.get_input_embeddings().weight[digits].mean(0))
    text = get_scheme("bins", num_bins=4).format_span(3.0, 6.0, duration=9.0)
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    assert parse_intervals(tokenizer.decode(ids), duration=9.0, num_bins=4) == [(3.0, 6.0)]


@pytest.mark.parametrize("family", FAMILIES)
def test_numpro_numbers_frames_and_explains_them(make_adapter, family):
    plain, numbered = make_adapter(family), make_adapter(family, "numpro")
    frames, timestamps = synthetic_video(8, 2.0, size=64)
    frames[:] = 255  # white frames: the drawn numbers change pixels
    a = plain.build_inputs(video_messages(), [(frames, timestamps)], add_generation_prompt=True)
    b = numbered.build_inputs(video_messages(), [(frames, timestamps)], add_generation_prompt=True)
    assert not torch.equal(a["pixel_values_videos"], b["pixel_values_videos"])
    assert NUMPRO_HINT in numbered.processor.tokenizer.decode(b["input_ids"][0])
    scheme = numbered.config.time.make_scheme(fps=2.0)
    assert scheme.decode("Frame 6") == pytest.approx(timestamps[6])
    assert np.array_equal(frames, np.full_like(frames, 255))  # the caller's frames are not drawn on


def test_reader_output_gives_fps_and_duration(make_adapter):
    """A ``vidllm.video.VideoFrames`` brings its sampling rate and duration (bins frame text needs the duration)."""
    from vidllm.models import TimeConfig
    from vidllm.video import VideoFrames

    frames, timestamps = synthetic_video(8, fps=0.5)
    jittered = timestamps - np.array([0, 0.03, 0.01, 0.02, 0, 0.03, 0.01, 0.0])  # shown slightly before asked
    video = VideoFrames(frames, jittered, 16.0, 30.0, "test", 0.5, timestamps, "clip.mp4")
    time = TimeConfig(scheme="bins", scheme_kwargs={"num_bins": 5}, time_tokens=True, frame_text=True)
    adapter = make_adapter("qwen2_5_vl", time=time)
    sample = adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)
    assert sample["second_per_grid_ts"].tolist() == [4.0]  # 2 frames / 0.5 fps, not the jittered median gap
    prompt = adapter.processor.tokenizer.decode(sample["input_ids"][0])
    assert re.findall(r"<t\d>", prompt) == ["<t0>", "<t1>", "<t2>", "<t3>"]  # group times 1, 5, 9, 13 s of 16 s
