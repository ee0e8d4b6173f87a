"""Pixel-budget math: the output size of a frame, decided before decoding so frames are never decoded at full size
only to be shrunk.

:func:`fit_pixels` agrees with qwen-vl-utils' ``smart_resize(height, width, factor, min_pixels, max_pixels)``
(a test checks it) except where ``smart_resize`` would return a zero side: we return at least one ``multiple``.
"""

from __future__ import annotations

import math

#: Longest side over shortest side beyond which no patch grid makes sense (Qwen-VL refuses such frames too).
MAX_ASPECT_RATIO = 200


def fit_pixels(
    height: int,
    width: int,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    multiple: int = 1,
) -> tuple[int, int]:
    """Size a ``height x width`` frame to a pixel budget, keeping its aspect ratio as well as the grid allows.

    Both sides become multiples of ``multiple`` (the model's patch size times its spatial merge, e.g. 28 for
    Qwen2-VL, 32 for Qwen2.5/3-VL). Each side is first rounded to the nearest multiple; if the area is then above
    ``max_pixels`` both sides are scaled down by the same factor and rounded down, if below ``min_pixels`` scaled up
    and rounded up.

    Args:
        height: Source height in pixels (``>= 1``).
        width: Source width in pixels (``>= 1``).
        min_pixels: Smallest allowed area (``None``: no lower bound).
        max_pixels: Largest allowed area (``None``: no upper bound).
        multiple: Both output sides are multiples of this (``>= 1``).

    Returns:
        ``(height, width)`` of the output, each a positive multiple of ``multiple``.

    Raises:
        ValueError: Non-positive sizes, ``min_pixels > max_pixels``, or an aspect ratio above 200.
    """
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive, got {height}x{width} (height x width)")
    if multiple < 1 or int(multiple) != multiple:
        raise ValueError(f"multiple must be a whole number >= 1, got {multiple!r}")
    if min_pixels is not None and max_pixels is not None and min_pixels > max_pixels:
        raise ValueError(f"min_pixels ({min_pixels}) is larger than max_pixels ({max_pixels}); swap them")
    ratio = max(height, width) / min(height, width)
    if ratio > MAX_ASPECT_RATIO:
        raise ValueError(
            f"a {height}x{width} frame has aspect ratio {ratio:.1f}, above {MAX_ASPECT_RATIO}; crop it before resizing"
        )
    m = int(multiple)
    h_out = max(m, round(height / m) * m)
    w_out = max(m, round(width / m) * m)
    if max_pixels is not None and h_out * w_out > max_pixels:
        scale = math.sqrt((height * width) / max_pixels)
        h_out = max(m, math.floor(height / scale / m) * m)
        w_out = max(m, math.floor(width / scale / m) * m)
    elif min_pixels is not None and h_out * w_out < min_pixels:
        scale = math.sqrt(min_pixels / (height * width))
        h_out = math.ceil(height * scale / m) * m
        w_out = math.ceil(width * scale / m) * m
    return h_out, w_out


def output_size(
    height: int,
    width: int,
    *,
    size: tuple[int, int] | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    multiple: int | None = None,
) -> tuple[int, int] | None:
    """The output size a read request asks for, or ``None`` to keep the native size.

    Args:
        height: Native frame height.
        width: Native frame width.
        size: An exact ``(height, width)``; wins over the budget (NumPro, for instance, squashes to 336x336).
        min_pixels: See :func:`fit_pixels`.
        max_pixels: See :func:`fit_pixels`.
        multiple: See :func:`fit_pixels`; ``None`` means 1.

    Returns:
        ``(height, width)``, or ``None`` when nothing asks for a resize or the result equals the native size.

    Raises:
        ValueError: A non-positive ``size``, or as :func:`fit_pixels`.
    """
    if size is not None:
        h, w = (int(v) for v in size)
        if h < 1 or w < 1:
            raise ValueError(f"size must be a positive (height, width), got {size!r}")
    elif min_pixels is None and max_pixels is None and multiple in (None, 1):
        return None
    else:
        h, w = fit_pixels(height, width, min_pixels, max_pixels, multiple or 1)
    return None if (h, w) == (height, width) else (h, w)
