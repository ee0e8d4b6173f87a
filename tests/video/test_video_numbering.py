"""NumPro frame numbering: red bold digits, 40 px at 336 px, bottom-right, numbered from 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from vidllm.video.numbering import NumberStyle, draw_number, find_font, font_size_for, number_frames


def red_mask(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 128) & (g < 100) & (b < 100)


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the True pixels, inclusive."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


def numpro_reference(frame: np.ndarray, text: str, size: int = 40) -> np.ndarray:
    """NumPro's layout drawn on the whole frame with Pillow: origin at (W - w, H - h - h/3) of the text box."""
    img = Image.fromarray(frame.copy())
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(find_font()), size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    w, h = right - left, bottom - top
    draw.text((img.width - w, img.height - h - h / 3), text, font=font, fill="red")
    return np.asarray(img)


def test_font_is_dejavu_sans_bold_from_matplotlib():
    path = find_font()
    assert path.name == "DejaVuSans-Bold.ttf" and path.is_file()
    import matplotlib

    assert Path(matplotlib.get_data_path()) in path.parents


@pytest.mark.parametrize("number", [0, 7, 12, 123])
def test_red_digits_in_the_bottom_right_corner_of_a_336_frame(number):
    frame = np.zeros((336, 336, 3), np.uint8)
    out = draw_number(frame, number)
    mask = red_mask(out)
    top, left, bottom, right = bbox(mask)
    # a few pixels from the right and bottom edges, as in NumPro's data
    assert 330 <= right <= 335 and 331 <= bottom <= 335
    # a 40 px bold digit is about 29 px tall and 20-25 px wide per digit
    assert 26 <= bottom - top + 1 <= 32
    digits = len(str(number))
    assert 18 * digits <= right - left + 1 <= 27 * digits
    # nothing red anywhere else
    assert not mask[: top - 1].any() and not mask[:, : left - 1].any()
    # and the pixels are exactly what NumPro's own layout gives
    np.testing.assert_array_equal(out, numpro_reference(frame, str(number)))


def test_same_pixels_as_numpro_on_a_busy_frame():
    frame = np.random.default_rng(0).integers(0, 256, (336, 336, 3), dtype=np.uint8)
    np.testing.assert_array_equal(draw_number(frame, 45), numpro_reference(frame, "45"))


@pytest.mark.parametrize("height, size", [(336, 40), (168, 20), (672, 80), (480, 57), (24, 3)])
def test_font_scales_with_frame_height(height, size):
    assert font_size_for(height) == size
    frame = np.zeros((height, height * 4 // 3, 3), np.uint8)
    out = draw_number(frame, 8)
    if height >= 168:
        np.testing.assert_array_equal(out, numpro_reference(frame, "8", size))
        top, _, bottom, _ = bbox(red_mask(out))
        assert (bottom - top + 1) == pytest.approx(29 * height / 336, rel=0.1)


def test_number_frames_counts_from_start():
    frames = np.zeros((3, 336, 336, 3), np.uint8)
    out = number_frames(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8 and not frames.any()
    for i in range(3):
        np.testing.assert_array_equal(out[i], draw_number(frames[i], i))
    shifted = number_frames(frames, NumberStyle(start=5))
    np.testing.assert_array_equal(shifted[2], draw_number(frames[2], 7))


@pytest.mark.parametrize(
    "position, corner",
    [("top_left", "tl"), ("top_right", "tr"), ("bottom_left", "bl"), ("bottom_right", "br"), ("center", "c")],
)
def test_positions(position, corner):
    frame = np.zeros((336, 448, 3), np.uint8)
    top, left, bottom, right = bbox(red_mask(draw_number(frame, 3, NumberStyle(position=position))))
    cy, cx = (top + bottom) / 2, (left + right) / 2
    expect_y = {"t": cy < 60, "b": cy > 336 - 60, "c": abs(cy - 168) < 20}
    expect_x = {"l": cx < 60, "r": cx > 448 - 60, "c": abs(cx - 224) < 20}
    assert expect_y[corner[0]] and expect_x[corner[-1]]


def test_colour_size_margin_and_outline():
    frame = np.full((336, 336, 3), 128, np.uint8)
    style = NumberStyle(color=(0, 255, 0), font_size=60, margin=10, outline=3, outline_color="black")
    out = draw_number(frame, 5, style)
    green = (out[..., 1] > 200) & (out[..., 0] < 60)
    top, _, bottom, right = bbox(green)
    assert right <= 336 - 10 and 38 <= bottom - top + 1 <= 48
    black = (out < 30).all(axis=-1)
    assert black.sum() > 200  # the outline
    assert not red_mask(out).any()


def test_bad_styles():
    with pytest.raises(ValueError, match="position"):
        NumberStyle(position="middle")
    with pytest.raises(ValueError, match="font_size"):
        NumberStyle(font_size=0)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        number_frames(np.zeros((4, 4, 3), np.uint8))
