"""Small test videos whose frames say which frame they are.

Every frame carries its own index as a 4 x 3 grid of black/white blocks (bit ``b`` of the index is block ``b``,
row-major), which survives H.264 and resizing; :func:`frame_number` reads it back from any frame size. Each video
is written with PyAV at a known list of presentation times, so a test knows which frame is on screen at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GRID_ROWS, GRID_COLS = 3, 4
WIDTH, HEIGHT = 64, 48


def pattern(i: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """An RGB frame ``(height, width, 3)`` whose blocks spell ``i`` in binary."""
    img = np.zeros((height, width, 3), np.uint8)
    bh, bw = height // GRID_ROWS, width // GRID_COLS
    for b in range(GRID_ROWS * GRID_COLS):
        r, c = divmod(b, GRID_COLS)
        if (i >> b) & 1:
            img[r * bh : (r + 1) * bh, c * bw : (c + 1) * bw] = 255
    return img


def frame_number(img: np.ndarray) -> int:
    """Read back the index a :func:`pattern` frame spells (at any size)."""
    h, w = img.shape[:2]
    value = 0
    for b in range(GRID_ROWS * GRID_COLS):
        r, c = divmod(b, GRID_COLS)
        y0, y1 = int((r + 0.3) * h / GRID_ROWS), int((r + 0.7) * h / GRID_ROWS)
        x0, x1 = int((c + 0.3) * w / GRID_COLS), int((c + 0.7) * w / GRID_COLS)
        if img[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)].mean() > 128:
            value |= 1 << b
    return value


@dataclass(frozen=True)
class GenVideo:
    """A generated video and the presentation time (seconds) of each of its frames."""

    path: Path
    times: np.ndarray  # float64 (N,)
    duration: float

    def shown_at(self, t: float) -> int:
        """Index of the frame on screen at ``t``: the last one that started at or before ``t``."""
        return int(np.searchsorted(self.times, t + 1e-9, side="right") - 1)


def write_video(
    path: Path,
    pts: list[int],
    time_base: Fraction,
    *,
    rate: Fraction,
    last_duration: int,
    gop: int = 12,
    bframes: int = 2,
    size: tuple[int, int] = (HEIGHT, WIDTH),
    faststart: bool = False,
) -> GenVideo:
    """Encode frame ``i`` (showing :func:`pattern` ``(i)``) at ``pts[i] * time_base`` with libx264.

    Packet durations are set from the pts gaps (the last frame lasts ``last_duration``). mp4 stores durations in
    decode order, so with B-frames and a variable rate the last frame's stored duration is not ``last_duration``.
    """
    h, w = size
    durations = {p: (q - p) for p, q in zip(pts, pts[1:], strict=False)}
    durations[pts[-1]] = last_duration
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.time_base = time_base
        stream.options = {"crf": "12", "g": str(gop), "bf": str(bframes)}

        def mux(packets):
            for packet in packets:
                if packet.pts is not None:
                    packet.duration = durations[packet.pts]
                container.mux(packet)

        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(pattern(i, h, w), format="rgb24")
            frame.pts, frame.time_base = p, time_base
            mux(stream.encode(frame))
        mux(stream.encode())
    times = np.asarray(pts, dtype=np.float64) * float(time_base)
    return GenVideo(path=path, times=times - times[0], duration=float((pts[-1] + last_duration) * time_base))


def cfr_video(path: Path, fps: Fraction, seconds: float, **kw) -> GenVideo:
    """A constant-frame-rate video of ``seconds`` at ``fps``."""
    n = int(round(seconds * fps))
    time_base = 1 / fps
    return write_video(path, list(range(n)), time_base, rate=fps, last_duration=1, **kw)


#: Hand-made presentation times (ms) for the variable-frame-rate video: bursts, long holds, irregular gaps.
VFR_MS = [0, 40, 140, 160, 400, 410, 420, 1000, 1033, 1500, 2100, 2200, 2250, 2900, 2950, 3300]
