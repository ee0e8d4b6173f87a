"""Frames exactly as the Qwen-VL model cards feed them: qwen-vl-utils' frame choice, counts and resize.

vidllm's own sampling (:func:`vidllm.video.read_frames`) takes the frame on screen at ``k / fps`` and resizes inside
the decoder, so frame times are exact and frame ``k`` is ``k / fps`` seconds. The model cards of Qwen2-VL, Qwen2.5-VL
and Qwen3-VL instead call qwen-vl-utils (``process_vision_info`` -> ``fetch_video``), which

* counts frames from the rate (``total / video_fps * fps``), rounds down to a multiple of 2 and keeps the count in
  ``[4, 768]`` (:func:`vidllm.video.sampling.qwen_frame_count`),
* spreads that many frames from the first to the last frame with ``linspace`` (:func:`qwen_frame_indices`): the
  grid stretches to reach the end, so frame ``k`` is not at ``k / fps``,
* decodes them at full size and resizes with torchvision's bicubic filter, antialiased, to qwen-vl-utils'
  ``smart_resize`` size under a per-frame budget derived from a total pixel budget (:func:`qwen_pixel_bounds`).

:func:`read_frames_qwen_vl_utils` reproduces that (tests compare it with qwen-vl-utils 0.0.14 itself, frame indices
and pixels), with the frame times read from the stream as vidllm always does. Use it to feed a released model its
model-card inputs; keep :func:`~vidllm.video.read_frames` for training and evaluation with exact times. Measured
differences of the two: ``docs/video.md``.

>>> from vidllm.video.model_card import read_frames_qwen_vl_utils
>>> video = read_frames_qwen_vl_utils("clip.mp4", fps=2.0, image_patch_size=16)   # Qwen3-VL   # doctest: +SKIP
>>> adapter = from_pretrained("Qwen/Qwen3-VL-8B-Instruct", **video.pixel_bounds)                # doctest: +SKIP
>>> sample = adapter.build_inputs(messages, [video], add_generation_prompt=True)               # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidllm.video.backends import resolve_backend
from vidllm.video.errors import VideoDecodeError
from vidllm.video.index import build_index
from vidllm.video.reader import VideoFrames
from vidllm.video.resize import fit_pixels
from vidllm.video.sampling import QWEN_FPS, QWEN_MIN_FRAMES, qwen_frame_count, qwen_frame_indices, qwen_frame_window

#: qwen-vl-utils' video budgets, in LLM tokens of ``(patch * 2)**2`` pixels: per frame at least 128 and at most 768
#: tokens, and a total of 90% of a 128,000-token sequence (``MODEL_SEQ_LEN`` there).
MIN_TOKENS_PER_FRAME = 128
MAX_TOKENS_PER_FRAME = 768
SEQUENCE_TOKENS = 128_000
SPATIAL_MERGE = 2


@dataclass(frozen=True)
class CardVideo(VideoFrames):
    """:class:`~vidllm.video.VideoFrames` read as qwen-vl-utils reads them, with what the card's processor is told.

    Attributes:
        frame_indices: Stream frame index of each frame (qwen-vl-utils' ``frames_indices``).
        video_fps: The stream's average frame rate (qwen-vl-utils' ``video_fps``; the card's metadata ``fps``).
        min_pixels: The per-frame lower bound the size was chosen under.
        max_pixels: The per-frame upper bound the size was chosen under.
    """

    frame_indices: np.ndarray | None = None
    video_fps: float = 0.0
    min_pixels: int = 0
    max_pixels: int = 0

    @property
    def pixel_bounds(self) -> dict[str, int]:
        """``frame_min_pixels`` / ``frame_max_pixels`` for a :class:`~vidllm.models.ModelConfig` under which the
        adapter keeps these frames as they are (the card passes them to the processor unresized)."""
        return {"frame_min_pixels": self.min_pixels, "frame_max_pixels": self.max_pixels}


def qwen_pixel_bounds(
    num_frames: int,
    image_patch_size: int = 14,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    total_pixels: int | None = None,
) -> tuple[int, int]:
    """The per-frame ``(min_pixels, max_pixels)`` qwen-vl-utils resizes video frames under.

    Args:
        num_frames: Frames of the video (after the frame choice).
        image_patch_size: The vision patch (14 for Qwen2/2.5-VL, 16 for Qwen3-VL); sides are multiples of twice it.
        min_pixels: Per-frame lower bound (default 128 tokens).
        max_pixels: Per-frame upper bound asked for; never above the budget's share (see below).
        total_pixels: The whole video's budget (default 90% of 128,000 tokens); each frame gets at most
            ``2 * total / num_frames`` and 768 tokens, but at least ``1.05 * min_pixels``.
    """
    factor = image_patch_size * SPATIAL_MERGE
    low = min_pixels if min_pixels is not None else MIN_TOKENS_PER_FRAME * factor**2
    total = total_pixels if total_pixels is not None else SEQUENCE_TOKENS * factor**2 * 0.9
    high = max(min(MAX_TOKENS_PER_FRAME * factor**2, total / num_frames * 2), int(low * 1.05))
    if max_pixels is not None:
        high = min(max_pixels, high)
    return int(low), int(high)


def average_frame_rate(path: str | os.PathLike) -> float:
    """The stream's average frame rate as its header gives it (what decord's ``get_avg_fps`` returns)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise VideoDecodeError(Path(path), "pyav", "the video stream has no frame rate")
    return float(rate)


def resize_bicubic(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``uint8 (T, H, W, 3)`` frames resized to ``size`` with ``torchvision.transforms.functional.resize`` (bicubic,
    antialiased, on ``uint8``), qwen-vl-utils' resize."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as F

    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    resized = F.resize(video, list(size), interpolation=InterpolationMode.BICUBIC, antialias=True)
    return resized.permute(0, 2, 3, 1).contiguous().numpy()


def read_frames_qwen_vl_utils(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    nframes: int | None = None,
    min_frames: int = QWEN_MIN_FRAMES,
    max_frames: int | None = None,
    video_start: float | None = None,
    video_end: float | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    total_pixels: int | None = None,
    image_patch_size: int = 14,
    backend: str = "decord",
    threads: int = 0,
) -> CardVideo:
    """Read a video as qwen-vl-utils' ``fetch_video`` does (arguments named as its ``ele`` keys).

    Args:
        path: A video file.
        fps: Frames per second asked for (default 2; exclusive with ``nframes``).
        nframes: An exact frame count (rounded to 2).
        min_frames: Fewest frames when sampling by rate (4).
        max_frames: Most frames when sampling by rate (default 768, at most the video's).
        video_start: Window start in seconds.
        video_end: Window end in seconds.
        min_pixels: Per-frame lower bound (see :func:`qwen_pixel_bounds`).
        max_pixels: Per-frame upper bound.
        total_pixels: Whole-video budget.
        image_patch_size: 14 for Qwen2/2.5-VL, 16 for Qwen3-VL.
        backend: The decoder (``decord`` by default, as qwen-vl-utils prefers it after torchcodec; pixels then equal
            its output exactly; other backends convert colours their own way, see ``docs/video.md``).
        threads: Decoder threads.

    Returns:
        A :class:`CardVideo`: ``timestamps`` are the chosen frames' presentation times, ``sample_fps`` is
        qwen-vl-utils' ``sample_fps`` (frames / window frames * video fps; Qwen2.5-VL's processor is given it).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Both ``fps`` and ``nframes``, or a count or window qwen-vl-utils refuses.
        VideoDecodeError: The file cannot be read.
    """
    if fps is not None and nframes is not None:
        raise ValueError(f"give fps or nframes, not both (got fps={fps}, nframes={nframes})")
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    decoder = resolve_backend(backend)
    try:
        index = build_index(path)
        video_fps = average_frame_rate(path)
    except VideoDecodeError:
        raise
    except Exception as e:
        raise VideoDecodeError(path, decoder.name, f"reading the frame index failed ({type(e).__name__}: {e})") from e
    first, last = qwen_frame_window(index.num_frames, video_fps, video_start, video_end)
    window = last - first + 1
    count = qwen_frame_count(window, video_fps, fps=fps or QWEN_FPS, nframes=nframes, min_frames=min_frames,
                             max_frames=max_frames)  # fmt: skip
    indices = qwen_frame_indices(first, last, count)
    unique, inverse = np.unique(indices, return_inverse=True)
    decoded = decoder.decode(path, index, unique, None, threads)
    frames = decoded.frames[inverse] if len(unique) != len(indices) else decoded.frames
    low, high = qwen_pixel_bounds(count, image_patch_size, min_pixels=min_pixels, max_pixels=max_pixels,
                                  total_pixels=total_pixels)  # fmt: skip
    size = fit_pixels(index.height, index.width, low, high, image_patch_size * SPATIAL_MERGE)
    return CardVideo(
        frames=resize_bicubic(frames, size),
        timestamps=index.times[indices],
        duration=index.duration,
        native_fps=index.native_fps,
        backend=decoder.name,
        sample_fps=count / max(window, 1e-6) * video_fps,
        sample_times=indices / video_fps,
        path=str(path),
        frame_indices=indices,
        video_fps=video_fps,
        min_pixels=low,
        max_pixels=high,
    )


def grid_vs_card(
    path: str | os.PathLike, *, fps: float = QWEN_FPS, image_patch_size: int = 14, backend: str = "decord"
) -> dict[str, float]:
    """How far vidllm's sampling (:func:`~vidllm.video.read_frames`: the frame on screen at ``k / fps``, resized in
    the decoder) is from the model card's (:func:`read_frames_qwen_vl_utils`) on one video.

    Returns:
        ``grid_frames`` / ``card_frames`` (counts); ``max_time_gap_s``, the largest ``|t_grid[k] - t_card[k]|`` over
        the frames both have; ``max_nearest_gap_s``, the largest distance from a grid frame to the nearest card
        frame; and over the card's own frames decoded vidllm's way (scaled inside the decoder to the card's size)
        ``max_pixel_diff`` / ``mean_pixel_diff`` in 0-255 levels.
    """
    from vidllm.video.reader import read_frames

    card = read_frames_qwen_vl_utils(path, fps=fps, image_patch_size=image_patch_size, backend=backend)
    grid = read_frames(path, fps=fps, backend=backend)
    shared = min(len(grid), len(card))
    gaps = np.abs(grid.timestamps[:shared] - card.timestamps[:shared])
    nearest = np.abs(grid.timestamps[:, None] - card.timestamps[None, :]).min(axis=1)
    decoder = resolve_backend(backend)
    unique, inverse = np.unique(card.frame_indices, return_inverse=True)
    scaled = decoder.decode(Path(path), build_index(path), unique, card.frames.shape[1:3], 0).frames[inverse]
    diff = np.abs(scaled.astype(np.int16) - card.frames.astype(np.int16))
    return {
        "grid_frames": float(len(grid)),
        "card_frames": float(len(card)),
        "max_time_gap_s": float(gaps.max()) if shared else 0.0,
        "max_nearest_gap_s": float(nearest.max()) if len(nearest) else 0.0,
        "max_pixel_diff": float(diff.max()),
        "mean_pixel_diff": float(diff.mean()),
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m vidllm.video.model_card VIDEO [--fps 2] [--patch 14]``: print :func:`grid_vs_card`."""
    import argparse
    import json
    import logging

    parser = argparse.ArgumentParser(description=grid_vs_card.__doc__.split("\n")[0])
    parser.add_argument("video")
    parser.add_argument("--fps", type=float, default=QWEN_FPS)
    parser.add_argument("--patch", type=int, default=14, help="14: Qwen2/2.5-VL, 16: Qwen3-VL")
    parser.add_argument("--backend", default="decord")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    result = grid_vs_card(args.video, fps=args.fps, image_patch_size=args.patch, backend=args.backend)
    logging.getLogger(__name__).info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
