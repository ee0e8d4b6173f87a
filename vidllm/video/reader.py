"""``read_frames``: sampled frames with the exact time of every frame.

The steps, each in its own module: read every frame's presentation time (:mod:`vidllm.video.index`), plan the
sample times (:mod:`vidllm.video.sampling`), pick for each sample time the frame being shown at that time
(:func:`vidllm.video.index.frames_shown_at`: the last frame whose pts is ``<= t``), size the output
(:mod:`vidllm.video.resize`), and let a backend (:mod:`vidllm.video.backends`) decode just those frames, scaled
inside the decoder. The times the backend reports are checked against the index.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidllm.video.backends import resolve_backend
from vidllm.video.backends.base import Backend, Decoded
from vidllm.video.backends.folder import FolderBackend, folder_index
from vidllm.video.errors import VideoDecodeError
from vidllm.video.index import FrameIndex, build_index, frames_shown_at
from vidllm.video.resize import output_size
from vidllm.video.sampling import plan_every_frame, plan_samples

logger = logging.getLogger(__name__)

#: How far (seconds) a backend's reported frame time may be from the index's before the frame counts as wrong.
#: decord reports float32 seconds, good to ~0.25 ms at one hour.
TIME_TOLERANCE = 1e-3


@dataclass(frozen=True)
class VideoFrames:
    """Frames sampled from one video, with their times.

    Attributes:
        frames: ``uint8`` array ``(T, H, W, 3)``, RGB.
        timestamps: ``float64`` array ``(T,)``: seconds (from the first frame of the video) at which each returned
            frame starts being shown, from the stream's presentation timestamps.
        duration: Seconds until the last frame of the video stops being shown.
        native_fps: The video's average frame rate (frames / duration).
        backend: Which backend decoded the frames (``"torchcodec"``, ``"decord"``, ``"pyav"`` or ``"folder"``).
        sample_fps: Rate of the sample grid: sample ``k`` was taken at ``sample_times[k] = start + k /
            sample_fps``. Frame numbers (NumPro) and the ``frames`` time scheme of :mod:`vidllm.time` use this rate.
            (When every frame is read, without ``fps`` or ``num_frames``, this is the average rate, and the grid is
            uniform only for constant-frame-rate video.)
        sample_times: ``float64`` array ``(T,)``: the times that were asked for; ``timestamps[k] <= sample_times[k]``
            and frame ``k`` is the one on screen at ``sample_times[k]``.
        path: The file or folder read.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    duration: float
    native_fps: float
    backend: str
    sample_fps: float
    sample_times: np.ndarray
    path: str

    def __len__(self) -> int:
        return len(self.frames)


def _open_index(path: Path, backend: Backend, folder_fps: float | None) -> FrameIndex:
    if path.is_dir():
        try:
            return folder_index(path, folder_fps)
        except ValueError:
            raise
        except Exception as e:
            raise VideoDecodeError(path, backend.name, f"{type(e).__name__}: {e}") from e
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, backend.name, "the file is empty (0 bytes)")
    try:
        return build_index(path)
    except Exception as e:
        raise VideoDecodeError(path, backend.name, f"reading the frame index failed ({type(e).__name__}: {e})") from e


def _check_decoded(path: Path, backend: Backend, index: FrameIndex, positions: np.ndarray, got: Decoded, size) -> None:
    h, w = size if size is not None else (index.height, index.width)
    if got.frames.dtype != np.uint8 or got.frames.shape != (len(positions), h, w, 3):
        raise VideoDecodeError(
            path,
            backend.name,
            f"expected uint8 frames of shape {(len(positions), h, w, 3)}, the decoder returned "
            f"{got.frames.dtype} {tuple(got.frames.shape)}",
        )
    expected = index.times[positions]
    bad = np.flatnonzero(np.abs(got.times - expected) > TIME_TOLERANCE)
    if len(bad):
        i = int(bad[0])
        raise VideoDecodeError(
            path,
            backend.name,
            f"asked for the frame at {expected[i]:.6f} s (stream frame {int(positions[i])}) and got the one at "
            f"{got.times[i]:.6f} s; {len(bad)} of {len(positions)} frames are wrong (a missing or corrupt frame, "
            "or a decoder that seeks inexactly)",
        )


def read_frames(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    num_frames: int | None = None,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
    backend: str = "auto",
    size: tuple[int, int] | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    size_multiple: int | None = None,
    threads: int = 0,
    folder_fps: float | None = None,
) -> VideoFrames:
    """Read sampled frames of a video, each with the time at which it is shown.

    Sampling (see :mod:`vidllm.video.sampling`): by ``fps`` (e.g. 0.5, 1, 2), or ``num_frames`` spread evenly,
    or, with neither, every frame of the window. ``max_frames`` caps the count by spreading the samples over the
    whole window, never by cutting off the end. ``start``/``end`` (seconds) restrict the window; a video shorter than
    asked gives fewer frames, never an error. For every sample time ``t`` the frame returned is the one on screen at
    ``t`` (the last frame whose presentation time is ``<= t``); its presentation time is in ``timestamps``.

    Resizing is part of the request and happens inside the decoder: ``size=(h, w)`` exactly, or a pixel budget
    (``min_pixels``/``max_pixels`` on the frame area, both sides multiples of ``size_multiple``, aspect ratio kept;
    the same sizes as qwen-vl-utils' ``smart_resize``).

    Args:
        path: A video file, or a folder of frame images (see :mod:`vidllm.video.backends.folder`).
        fps: Samples per second. Exclusive with ``num_frames``.
        num_frames: Number of samples, spread evenly over the window. Exclusive with ``fps``.
        max_frames: Most samples to return.
        start: Window start in seconds from the first frame (default 0).
        end: Window end in seconds, exclusive (default: end of the video).
        backend: ``"auto"`` (first available of pyav, torchcodec, decord), or one of those names. A folder of
            frames is always read with Pillow.
        size: Exact output ``(height, width)``.
        min_pixels: Smallest output frame area (pixel budget).
        max_pixels: Largest output frame area (pixel budget).
        size_multiple: Output sides are multiples of this (the model's patch size x merge size, e.g. 28 or 32).
        threads: Decoder threads (0: FFmpeg decides; use 1 inside multi-process data loaders).
        folder_fps: Frame rate of a frame folder without ``frames.json``.

    Returns:
        A :class:`VideoFrames` with ``frames`` ``uint8 (T, H, W, 3)`` and ``timestamps`` ``float64 (T,)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        VideoDecodeError: The file is empty, unreadable, truncated or not a video (message: path, backend, cause).
        ValueError: An invalid request (both ``fps`` and ``num_frames``, ``end < start``, a frame folder without a
            frame rate, ...).
        UnknownBackendError: ``backend`` is not a registered name.
        BackendUnavailableError: The named backend is not installed or cannot load.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such video file or frame folder")
    decoder: Backend = FolderBackend() if path.is_dir() else resolve_backend(backend)
    index = _open_index(path, decoder, folder_fps)
    if fps is None and num_frames is None:
        plan = plan_every_frame(index.times, index.duration, max_frames=max_frames, start=start, end=end)
    else:
        plan = plan_samples(
            index.duration,
            fps=fps,
            num_frames=num_frames,
            max_frames=max_frames,
            start=start,
            end=end,
            native_fps=index.native_fps,
        )
    out_size = output_size(
        index.height, index.width, size=size, min_pixels=min_pixels, max_pixels=max_pixels, multiple=size_multiple
    )
    positions = frames_shown_at(plan.times, index.times)
    unique, inverse = np.unique(positions, return_inverse=True)
    if len(unique):
        try:
            decoded = decoder.decode(path, index, unique, out_size, threads)
        except VideoDecodeError:
            raise
        except Exception as e:
            raise VideoDecodeError(path, decoder.name, f"{type(e).__name__}: {e}") from e
        _check_decoded(path, decoder, index, unique, decoded, out_size)
        frames = decoded.frames if len(unique) == len(positions) else decoded.frames[inverse]
    else:
        h, w = out_size if out_size is not None else (index.height, index.width)
        frames = np.zeros((0, h, w, 3), dtype=np.uint8)
        logger.warning("%s: the window [%s, %s) s holds no frames (duration %.3f s)", path, start, end, index.duration)
    logger.debug(
        "%s: %d frames at %.4g fps from %.3f s of video with %s",
        path,
        len(frames),
        plan.fps,
        index.duration,
        decoder.name,
    )
    return VideoFrames(
        frames=frames,
        timestamps=index.times[positions],
        duration=index.duration,
        native_fps=index.native_fps,
        backend=decoder.name,
        sample_fps=plan.fps,
        sample_times=plan.times,
        path=str(path),
    )
