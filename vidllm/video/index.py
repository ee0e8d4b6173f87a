"""The frame index: every frame's presentation time, read once from the container, shared by all backends.

Timestamps drift from frames when they are guessed from ``index / fps`` (29.97 fps rounded to 30 is off by 3.6 s
after an hour), when a header's duration is trusted (variable-frame-rate files and truncated files lie), or when each
decoder applies its own rounding. vidllm therefore reads the presentation timestamp (pts) of every frame from the
demuxer (packets only: no decoding), sorts them, and lets every backend decode *positions in that list*. Each backend
reports the pts of what it decoded and the reader checks them against the index, so a backend that seeks to the
wrong frame fails loudly instead of silently shifting time.

Time 0 is the first frame's presentation time. A frame is on screen until the next one starts; the last frame for
its own duration as the container stores it (the median gap between frames when it stores none). The video's
duration is when the last frame stops being shown. (torchcodec's own scan uses ``max(pts + packet duration)``,
which with B-frames and a variable frame rate overshoots, because containers store durations in decode order;
vidllm hands its index to torchcodec so all backends agree.)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from vidllm.video.sampling import TIME_EPS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameIndex:
    """Presentation times of every frame of one video stream, in display order.

    Attributes:
        times: ``float64`` array ``(N,)``: seconds from the first frame, ascending, ``times[0] == 0``.
        end: Seconds (from the first frame) at which the last frame stops being shown; the video's duration.
        keyframes: ``bool`` array ``(N,)``: frame ``i`` can be decoded without earlier frames.
        height: Native frame height in pixels.
        width: Native frame width in pixels.
        pts: ``int64`` array ``(N,)`` of raw stream pts in ``time_base`` units, or ``None`` for a folder of frames.
        durations: ``int64`` array ``(N,)``: how long each frame is shown, in ``time_base`` units (see
            :func:`display_durations`), or ``None``.
        time_base: The stream's time base, or ``None`` for a folder of frames.
        stream_index: The container's index of the video stream that was read (``-1`` for a folder).
    """

    times: np.ndarray
    end: float
    keyframes: np.ndarray
    height: int
    width: int
    pts: np.ndarray | None = None
    durations: np.ndarray | None = None
    time_base: Fraction | None = None
    stream_index: int = -1

    @property
    def num_frames(self) -> int:
        """Number of frames in the stream."""
        return len(self.times)

    @property
    def duration(self) -> float:
        """Duration in seconds (same as :attr:`end`)."""
        return self.end

    @property
    def native_fps(self) -> float:
        """Average frame rate: frames per second of content (exact for constant-rate video, e.g. 30000/1001)."""
        return self.num_frames / self.end if self.end > 0 else 0.0

    @property
    def origin(self) -> float:
        """Raw presentation time (seconds) of the first frame; backends that report raw times subtract it."""
        if self.pts is None or self.time_base is None:
            return 0.0
        return float(self.pts[0] * self.time_base)


def frames_shown_at(times: np.ndarray, frame_times: np.ndarray) -> np.ndarray:
    """The frame being shown at each time: the last frame whose presentation time is ``<= t``.

    A frame is on screen from its own presentation time until the next frame's, so the frame a viewer sees at
    ``t`` is the latest one that has started. (Choosing the *nearest* frame instead would show, at ``t``, a frame
    that only appears after ``t``.) A microsecond of slack absorbs float noise, so a sample that falls exactly on a
    frame boundary gets the frame that starts there. Times before the first frame get the first frame.

    Args:
        times: ``float`` array ``(T,)`` of sample times in seconds.
        frame_times: ``float64`` array ``(N,)`` of ascending frame presentation times in seconds (``N >= 1``).

    Returns:
        ``int64`` array ``(T,)`` of positions into ``frame_times``.
    """
    times = np.asarray(times, dtype=np.float64)
    pos = np.searchsorted(frame_times, times + TIME_EPS, side="right") - 1
    return np.clip(pos, 0, len(frame_times) - 1).astype(np.int64)


def display_durations(pts: np.ndarray, last_duration: int, fallback: int) -> np.ndarray:
    """How long each frame is on screen, in time-base units: until the next frame starts.

    Containers store durations in decode order (in mp4, the gaps between decode timestamps), which with B-frames and
    a variable frame rate do not belong to the frame displayed, so only the last frame's own duration is used.

    Args:
        pts: ``int64`` array ``(N,)`` of ascending presentation times.
        last_duration: The last frame's duration as the container gives it (``<= 0``: unknown).
        fallback: Duration to use for a lone frame of unknown duration.

    Returns:
        ``int64`` array ``(N,)``; the last entry is ``last_duration``, or the median gap when that is unknown.
    """
    gaps = np.diff(pts)
    if last_duration <= 0:
        positive = gaps[gaps > 0]
        last_duration = int(np.median(positive)) if len(positive) else fallback
    return np.append(gaps, last_duration).astype(np.int64)


def build_index(path: str | os.PathLike) -> FrameIndex:
    """Read the presentation time of every frame of a video file's first video stream (demuxing only).

    Args:
        path: The video file.

    Returns:
        The :class:`FrameIndex`.

    Raises:
        ValueError: The file has no video stream, no frames, or (mp4/mov) fewer frames than its header lists (the
            reader turns this into ``VideoDecodeError``).
        av.error.FFmpegError: The container cannot be opened or demuxed.
    """
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("the file has no video stream")
        stream = container.streams.video[0]
        time_base = stream.time_base
        if time_base is None:
            raise ValueError("the video stream has no time base")
        ctx = stream.codec_context
        height, width, stream_index = int(ctx.height), int(ctx.width), int(stream.index)
        pts_list: list[int] = []
        dur_list: list[int] = []
        key_list: list[bool] = []
        demuxed = 0
        for packet in container.demux(stream):
            if packet.size == 0 and packet.pts is None and packet.dts is None:
                continue  # PyAV's end-of-stream marker
            demuxed += 1
            if packet.size == 0 or packet.is_discard:
                continue
            t = packet.pts if packet.pts is not None else packet.dts
            if t is None:
                continue
            pts_list.append(int(t))
            dur_list.append(int(packet.duration or 0))
            key_list.append(bool(packet.is_keyframe))
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        # mp4/mov headers count every sample exactly: fewer packets than that means the file was cut short
        expected = int(stream.frames or 0) if {"mov", "mp4"} & set(container.format.name.split(",")) else 0
    if expected and demuxed < expected:
        raise ValueError(
            f"the file is truncated: its header lists {expected} frames but only {demuxed} are in the file"
        )
    if not pts_list:
        raise ValueError("the video stream has no frames")
    if height <= 0 or width <= 0:
        raise ValueError(f"the video stream reports an invalid frame size {height}x{width}")

    order = np.argsort(np.asarray(pts_list, dtype=np.int64), kind="stable")
    pts = np.asarray(pts_list, dtype=np.int64)[order]
    durations = np.asarray(dur_list, dtype=np.int64)[order]
    keyframes = np.asarray(key_list, dtype=bool)[order]
    fallback = int(round(1 / (float(rate) * time_base))) if rate else int(round(1 / (25 * time_base)))
    durations = display_durations(pts, int(durations[-1]), max(fallback, 1))

    tb = float(time_base)
    times = (pts - pts[0]).astype(np.float64) * tb
    end = float(pts[-1] + durations[-1] - pts[0]) * tb
    logger.debug("%s: %d frames, %.3f s, %d keyframes", path, len(pts), end, int(keyframes.sum()))
    return FrameIndex(
        times=times,
        end=end,
        keyframes=keyframes,
        height=height,
        width=width,
        pts=pts,
        durations=durations,
        time_base=Fraction(time_base.numerator, time_base.denominator),
        stream_index=stream_index,
    )
