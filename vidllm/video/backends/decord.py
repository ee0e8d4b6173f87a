"""decord backend (``pip install decord``).

decord builds its own frame list on opening and scales inside its decoder when given an output size. Its frame
``i`` must be the index's frame ``i``: the reported timestamps (decord keeps them as ``float32``) are checked against
the index, so a file on which decord counts or orders frames differently fails instead of shifting time.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from vidllm.video.backends.base import Decoded
from vidllm.video.index import FrameIndex


class DecordBackend:
    """Decode with decord."""

    name = "decord"

    def unavailable_reason(self) -> str | None:
        """Why decord cannot be used, or ``None``."""
        if importlib.util.find_spec("decord") is None:
            return "the 'decord' package is not installed (pip install decord)"
        try:
            import decord  # noqa: F401
        except Exception as e:  # a broken native library must not break the other backends
            return f"decord is installed but cannot load ({type(e).__name__}: {e})"
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
        import decord

        h, w = size if size is not None else (-1, -1)
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), width=w, height=h, num_threads=threads)
        try:
            if len(reader) != index.num_frames:
                raise RuntimeError(
                    f"decord counts {len(reader)} frames where the container holds {index.num_frames}; "
                    "use backend='pyav' or 'torchcodec' for this file"
                )
            idx = positions.tolist()
            stamps = reader.get_frame_timestamp(idx)
            first = reader.get_frame_timestamp([0])
            frames = reader.get_batch(idx).asnumpy()
        finally:
            del reader
        times = stamps[:, 0].astype(np.float64) - float(first[0, 0])
        return Decoded(frames=np.ascontiguousarray(frames, dtype=np.uint8), times=times)
