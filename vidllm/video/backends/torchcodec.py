"""torchcodec backend (``pip install 'torchcodec>=0.10'``; needs FFmpeg's shared libraries, e.g. ``libavcodec59``).

The decoder is handed vidllm's frame index as torchcodec's ``custom_frame_mappings`` so it does not scan the file a
second time, decodes positions with ``get_frames_at`` (exact, keyframe-aware seeking) and scales with its
``Resize`` decoder transform (bilinear, antialiased, in C; torchcodec applies it after converting the full-size
frame to RGB, which is why PyAV, scaling inside the colour conversion, is a little faster on CPU).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path

import numpy as np

from vidllm.video.backends.base import Decoded
from vidllm.video.index import FrameIndex


def frame_mappings_json(index: FrameIndex) -> str:
    """The index as torchcodec's ``custom_frame_mappings`` JSON (pts and durations in stream time-base units)."""
    assert index.pts is not None and index.durations is not None
    frames = [
        {"pts": int(p), "duration": int(d), "key_frame": int(k)}
        for p, d, k in zip(index.pts, index.durations, index.keyframes, strict=True)
    ]
    return json.dumps({"frames": frames})


class TorchCodecBackend:
    """Decode with torchcodec."""

    name = "torchcodec"

    def unavailable_reason(self) -> str | None:
        """Why torchcodec cannot be used, or ``None``."""
        if importlib.util.find_spec("torchcodec") is None:
            return "the 'torchcodec' package is not installed (pip install torchcodec)"
        try:
            from torchcodec.decoders import VideoDecoder
        except Exception as e:  # missing FFmpeg libraries raise RuntimeError/OSError at import
            return (
                f"torchcodec is installed but cannot load ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                "install FFmpeg's shared libraries (e.g. apt-get install libavcodec59 libavformat59 libavutil57 "
                "libswscale6 libswresample4 libavdevice59 libavfilter8) and a torchcodec built for your torch"
            )
        params = inspect.signature(VideoDecoder).parameters
        if not {"transforms", "custom_frame_mappings"} <= set(params):
            return "this torchcodec is too old (vidllm needs torchcodec>=0.10: pip install -U torchcodec)"
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
        from torchcodec.decoders import VideoDecoder
        from torchcodec.transforms import Resize

        decoder = VideoDecoder(
            str(path),
            stream_index=index.stream_index,
            dimension_order="NHWC",
            num_ffmpeg_threads=threads,
            transforms=[Resize(size)] if size is not None else None,
            custom_frame_mappings=frame_mappings_json(index),
        )
        try:
            batch = decoder.get_frames_at(indices=positions.tolist())
            frames = batch.data.numpy()
            times = batch.pts_seconds.numpy().astype(np.float64) - index.origin
        finally:
            del decoder
        return Decoded(frames=frames, times=times)
