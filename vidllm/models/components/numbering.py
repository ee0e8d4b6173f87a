"""NumPro: frame numbers drawn on the frames, and a sentence that tells the model what they mean.

The drawing belongs to :mod:`vidllm.video.numbering` (``number_frames``, NumPro's style); this module only calls it
and writes the explanation. Frame ``n`` is the ``n``-th sampled frame counting from 0, so an answer in frame
numbers reads back with the ``frames`` time scheme at the sampling fps.
"""

from __future__ import annotations

import numpy as np

NUMPRO_HINT = (
    "The number drawn on each frame is the frame's number, counting from 0 in the order the frames are shown."
)


def number_video_frames(frames: np.ndarray, start: int = 0) -> np.ndarray:
    """Draw frame numbers on ``frames`` with :func:`vidllm.video.numbering.number_frames` (NumPro's style).

    Args:
        frames: ``uint8`` array of shape ``(T, H, W, 3)``.
        start: Number of the first frame.

    Returns:
        ``uint8`` array of the same shape.

    Raises:
        ImportError: When :mod:`vidllm.video.numbering` is not available.
    """
    try:
        from vidllm.video.numbering import NumberStyle, number_frames
    except ImportError as e:  # the video package owns the drawing
        raise ImportError(
            f"NumPro needs vidllm.video.numbering.number_frames, which does not import ({e}); set time.numpro=False"
        ) from e
    return number_frames(frames, NumberStyle(start=start))
