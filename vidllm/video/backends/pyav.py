"""PyAV backend: FFmpeg through the ``av`` package (a core dependency, so always available).

Decoding only what is needed: for each wanted frame the decoder seeks to the keyframe that starts its group of
pictures only when that skips a real run of frames (the keyframe lies more than :data:`SEEK_GAP` frames beyond what
has been decoded; for a shorter gap, flushing FFmpeg's frame threads would waste more than decoding through), then
decodes forward to the frame whose pts equals the index's. Scaling to the output size happens inside the YUV->RGB
conversion (libswscale, bilinear), so no full-size RGB frame is ever made.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vidllm.video.backends.base import Decoded
from vidllm.video.index import FrameIndex

#: Decode through at most this many unneeded frames rather than seek (a seek flushes the decoder's frame threads).
SEEK_GAP = 12


def _frame_pts(frame) -> int | None:
    return frame.pts if frame.pts is not None else frame.dts


class PyAVBackend:
    """Decode with PyAV (``pip install av``)."""

    name = "pyav"

    def unavailable_reason(self) -> str | None:
        """Why PyAV cannot be used, or ``None``."""
        if importlib.util.find_spec("av") is None:
            return "the 'av' package is not installed (pip install av)"
        return None

    def decode(
        self,
        path: Path,
        index: FrameIndex,
        positions: np.ndarray,
        size: tuple[int, int] | None,
        threads: int,
    ) -> Decoded:
        """See :meth:`vidllm.video.backends.base.Backend.decode`."""
        import av
        from av.video.reformatter import VideoReformatter

        assert index.pts is not None and index.time_base is not None
        h, w = size if size is not None else (index.height, index.width)
        out = np.empty((len(positions), h, w, 3), dtype=np.uint8)
        got = np.empty(len(positions), dtype=np.int64)
        key_positions = np.flatnonzero(index.keyframes)
        reformatter = VideoReformatter()

        with av.open(str(path)) as container:
            stream = container.streams[index.stream_index]
            if threads != 1:
                stream.thread_type = "AUTO"
                stream.codec_context.thread_count = threads

            def restart(at_pts: int) -> Iterator:
                container.seek(int(at_pts), backward=True, any_frame=False, stream=stream)
                return (f for packet in container.demux(stream) for f in packet.decode())

            frames: Iterator | None = None
            last_pts: int | None = None  # pts of the last frame taken from ``frames``
            ahead = None  # a frame taken from ``frames`` but past the previous target
            for j, pos in enumerate(positions):
                target = int(index.pts[pos])
                k = np.searchsorted(key_positions, pos, side="right") - 1
                key_pos = int(key_positions[k]) if k >= 0 else 0
                key_pts = int(index.pts[key_pos])
                seek_points = [key_pts, *(int(index.pts[key_positions[i]]) for i in range(k - 1, -1, -1))]
                last_pos = int(np.searchsorted(index.pts, last_pts)) if last_pts is not None else -1
                if frames is None or last_pts is None or last_pts > target or key_pos - last_pos > SEEK_GAP:
                    frames, ahead = restart(seek_points.pop(0)), None
                found = None
                while True:
                    frame = ahead if ahead is not None else next(frames, None)
                    ahead = None
                    if frame is None:
                        break
                    pts = _frame_pts(frame)
                    if pts is None:
                        continue
                    last_pts = pts
                    if pts <= target:
                        found = frame
                        if pts == target:
                            break
                    elif found is None and seek_points:  # the seek landed after the target: start earlier
                        frames = restart(seek_points.pop(0))
                    else:
                        ahead = frame
                        break
                if found is None:
                    raise RuntimeError(f"the decoder produced no frame at or before pts {target}")
                got[j] = _frame_pts(found)
                image = reformatter.reformat(found, width=w, height=h, format="rgb24", interpolation="BILINEAR")
                out[j] = image.to_ndarray()
        times = (got - index.pts[0]).astype(np.float64) * float(index.time_base)
        return Decoded(frames=out, times=times)
