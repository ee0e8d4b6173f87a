"""NumPro frame numbering: draw each sampled frame's number on the frame.

NumPro (Wu et al., "Number it: Temporal Grounding Videos like Flipping Manga") lets a video LLM name moments by the
frame numbers it sees. Its layout, reproduced here by default: red DejaVu Sans Bold digits, 40 px on a 336-px-high
frame (the size scales with frame height), in the bottom-right corner. The placement rule: measure the text's
bounding box ``(w, h)`` as drawn from the origin (Pillow's box runs from the origin to the advance width, and from
the top of the digits to the baseline), put the text origin at ``(W - w, H - h - h / 3)`` (corners on the left or
top use 0 instead). On a 336 x 336 frame the digits then end 2-4 px from the right edge and 1-3 px from the bottom.
Numbers are positions in the sampled sequence, starting at 0.

What a number means in seconds is not decided here: frame ``k`` of a sequence sampled at ``sample_fps`` from
``start`` is at ``start + k / sample_fps`` seconds, which is the ``frames`` time scheme of :mod:`vidllm.time`
(``vidllm.time.get_scheme("frames", fps=sample_fps)``); that module owns the number <-> seconds mapping, for any
fps (NumPro's own scripts hard-code x2 for 0.5 fps). This module only draws integers.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

#: NumPro's font size and the frame height it was chosen for.
REFERENCE_FONT_SIZE = 40
REFERENCE_HEIGHT = 336
POSITIONS = ("bottom_right", "bottom_left", "top_right", "top_left", "center")
FONT_FILE = "DejaVuSans-Bold.ttf"

Color = str | tuple[int, int, int]


@dataclass(frozen=True)
class NumberStyle:
    """How frame numbers look. The defaults are NumPro's.

    Attributes:
        position: One of ``"bottom_right"``, ``"bottom_left"``, ``"top_right"``, ``"top_left"``, ``"center"``.
        color: Text colour: a name Pillow knows (``"red"``) or an ``(r, g, b)`` tuple.
        font_size: Font size in pixels; ``None`` scales NumPro's 40 px at 336 px with the frame height.
        outline: Outline (stroke) width in pixels; 0 for none.
        outline_color: Outline colour.
        margin: Extra distance in pixels from the frame edges.
        start: Number of the first frame.
        font_path: A TrueType font to use instead of DejaVu Sans Bold.
    """

    position: str = "bottom_right"
    color: Color = "red"
    font_size: int | None = None
    outline: int = 0
    outline_color: Color = "black"
    margin: int = 0
    start: int = 0
    font_path: str | None = None

    def __post_init__(self):
        if self.position not in POSITIONS:
            raise ValueError(f"position must be one of {', '.join(POSITIONS)}; got {self.position!r}")
        if self.font_size is not None and self.font_size < 1:
            raise ValueError(f"font_size must be a positive number of pixels, got {self.font_size!r}")
        if self.outline < 0:
            raise ValueError(f"outline must be >= 0 pixels, got {self.outline!r}")


def font_size_for(height: int, style: NumberStyle | None = None) -> int:
    """Font size in pixels for a frame of ``height`` pixels: NumPro's 40 px per 336 px unless the style fixes it."""
    if style is not None and style.font_size is not None:
        return int(style.font_size)
    return max(1, round(REFERENCE_FONT_SIZE * height / REFERENCE_HEIGHT))


@functools.cache
def find_font() -> Path:
    """Locate DejaVu Sans Bold: matplotlib ships it (matplotlib is a dependency), so no system path is needed.

    Raises:
        FileNotFoundError: Neither matplotlib's copy nor a font matplotlib can find; install matplotlib or pass
            ``NumberStyle(font_path=...)``.
    """
    try:
        import matplotlib
    except ImportError as e:
        raise FileNotFoundError(
            f"{FONT_FILE} not found: matplotlib (which ships it) is not installed; pip install matplotlib or pass "
            "NumberStyle(font_path=...)"
        ) from e
    bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILE
    if bundled.is_file():
        return bundled
    from matplotlib import font_manager

    try:
        found = font_manager.findfont(
            font_manager.FontProperties(family="DejaVu Sans", weight="bold"), fallback_to_default=False
        )
    except ValueError:
        found = None
    if found and Path(found).name == FONT_FILE:
        return Path(found)
    raise FileNotFoundError(
        f"{FONT_FILE} not found in matplotlib's fonts ({bundled}) nor by matplotlib's font manager; reinstall "
        "matplotlib or pass NumberStyle(font_path=...)"
    )


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=64)
def _rgb(color: Color) -> tuple[int, int, int]:
    from PIL import ImageColor

    if isinstance(color, str):
        return ImageColor.getrgb(color)[:3]
    r, g, b = (int(c) for c in color)
    return r, g, b


def text_origin(text: str, height: int, width: int, style: NumberStyle | None = None) -> tuple[float, float]:
    """Where the text origin goes (Pillow's ``"la"`` anchor), in pixels, as NumPro places it.

    Args:
        text: The digits.
        height: Frame height.
        width: Frame width.
        style: The style (default: NumPro's).

    Returns:
        ``(x, y)``; ``y`` may be fractional (bottom positions lift the text by a third of its height).
    """
    style = style or NumberStyle()
    font = _font(str(style.font_path or find_font()), font_size_for(height, style))
    left, top, right, bottom = font.getbbox(text, stroke_width=style.outline)
    tw, th = right - left, bottom - top
    m = style.margin
    if style.position == "center":
        return float((width - tw) // 2), float((height - th) // 2)
    x = width - tw - m if style.position.endswith("right") else m
    y = height - th - m - th / 3 if style.position.startswith("bottom") else m
    return float(x), float(y)


def draw_number(frame: np.ndarray, number: int, style: NumberStyle | None = None) -> np.ndarray:
    """Draw ``number`` on one frame.

    Only a small box around the digits goes through Pillow, so large frames cost no full-frame copies; the pixels are
    the same as drawing the text on the whole frame with Pillow.

    Args:
        frame: ``uint8`` array ``(H, W, 3)``, RGB.
        number: The integer to draw.
        style: The style (default: NumPro's).

    Returns:
        A new ``uint8`` array ``(H, W, 3)``.
    """
    out = np.array(frame, dtype=np.uint8, copy=True)
    _draw_in_place(out, str(int(number)), style or NumberStyle())
    return out


def _draw_in_place(frame: np.ndarray, text: str, style: NumberStyle) -> None:
    from PIL import Image, ImageDraw

    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an RGB frame of shape (H, W, 3), got {frame.shape}")
    height, width = frame.shape[:2]
    font = _font(str(style.font_path or find_font()), font_size_for(height, style))
    x, y = text_origin(text, height, width, style)
    left, top, right, bottom = font.getbbox(text, stroke_width=style.outline)
    # crop box: contains every pixel the text can touch, and starts at or before the origin so that the origin's
    # offset inside the crop keeps its sign and fractional part (Pillow renders sub-pixel starts)
    x0 = max(0, math.floor(x) + min(0, left) - 2)
    y0 = max(0, math.floor(y) + min(0, top) - 2)
    x1 = min(width, math.ceil(x) + right + 2)
    y1 = min(height, math.ceil(y) + bottom + 2)
    if x1 <= x0 or y1 <= y0:
        return
    crop = Image.fromarray(np.ascontiguousarray(frame[y0:y1, x0:x1]))
    ImageDraw.Draw(crop).text(
        (x - x0, y - y0),
        text,
        font=font,
        fill=_rgb(style.color),
        stroke_width=style.outline,
        stroke_fill=_rgb(style.outline_color) if style.outline else None,
    )
    frame[y0:y1, x0:x1] = np.asarray(crop)


def number_frames(frames: np.ndarray, style: NumberStyle | None = None) -> np.ndarray:
    """Number a sampled sequence: frame ``i`` gets ``style.start + i``.

    Args:
        frames: ``uint8`` array ``(T, H, W, 3)``, RGB.
        style: The style (default: NumPro's: red, bold, 40 px per 336 px, bottom right, from 0).

    Returns:
        A new ``uint8`` array ``(T, H, W, 3)`` with the numbers drawn.
    """
    style = style or NumberStyle()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (T, H, W, 3), got {frames.shape}")
    out = np.array(frames, dtype=np.uint8, copy=True)
    for i in range(len(out)):
        _draw_in_place(out[i], str(style.start + i), style)
    return out
