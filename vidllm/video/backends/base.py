"""What a decoding backend is: a small protocol every backend module implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from vidllm.video.index import FrameIndex


@dataclass(frozen=True)
class Decoded:
    """Frames a backend decoded.

    Attributes:
        frames: ``uint8`` array ``(T, H, W, 3)``, RGB.
        times: ``float64`` array ``(T,)``: the presentation time (seconds from the first frame) the backend reports
            for each frame it returned; the reader checks it against the index.
    """

    frames: np.ndarray
    times: np.ndarray


class Backend(Protocol):
    """A video decoder: turns positions in a :class:`~vidllm.video.index.FrameIndex` into RGB frames.

    Implementations import their library lazily, so an uninstalled library only makes the backend unavailable.
    """

    #: Registry name, e.g. ``"pyav"``.
    name: str

    def unavailable_reason(self) -> str | None:
        """``None`` when the backend can be used, else why not and how to fix it (e.g. the pip command)."""
        ...

    def decode(
        self,
        path: Path,
        index: FrameIndex,
        positions: np.ndarray,
        size: tuple[int, int] | None,
        threads: int,
    ) -> Decoded:
        """Decode frames at ``positions`` (ascending, unique ``int64`` positions into ``index``).

        Args:
            path: The video file.
            index: Its frame index (from :func:`vidllm.video.index.build_index`).
            positions: Which frames, as ascending unique positions in display order.
            size: Output ``(height, width)``, scaled inside the decoder's colour conversion; ``None`` keeps the
                native size.
            threads: Decoder threads; 0 lets FFmpeg choose.

        Returns:
            The frames, in the order of ``positions``, and the times the decoder reports for them.
        """
        ...
