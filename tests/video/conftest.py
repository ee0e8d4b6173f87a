"""Fixtures for the video tests: generated videos (see :mod:`video_helpers`) and the installed backends."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from video_helpers import VFR_MS, GenVideo, cfr_video, write_video

from vidllm.video.backends import AUTO_ORDER, BACKENDS


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, GenVideo]:
    """The test videos: 29.97, 25 and 12 fps (with B-frames), and variable frame rate without and with B-frames."""
    d = tmp_path_factory.mktemp("videos")
    return {
        "29.97fps": cfr_video(d / "ntsc.mp4", Fraction(30000, 1001), 4.0),
        "25fps": cfr_video(d / "pal.mp4", Fraction(25), 4.0),
        "12fps": cfr_video(d / "twelve.mp4", Fraction(12), 4.0, gop=5),
        "vfr": write_video(d / "vfr.mp4", VFR_MS, Fraction(1, 1000), rate=Fraction(5), last_duration=200, bframes=0),
        "vfr_bframes": write_video(d / "vfr_b.mp4", VFR_MS, Fraction(1, 1000), rate=Fraction(5), last_duration=200),
    }


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory, videos) -> dict[str, Path]:
    """Truncated mp4s (index at the end, and at the front), a zero-length file, random bytes with a video suffix."""
    d = tmp_path_factory.mktemp("bad")
    whole = videos["25fps"].path.read_bytes()
    (d / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    front = cfr_video(d / "faststart.mp4", Fraction(25), 2.0, faststart=True).path.read_bytes()
    (d / "truncated_faststart.mp4").write_bytes(front[: int(len(front) * 0.6)])
    (d / "empty.mp4").write_bytes(b"")
    (d / "noise.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    return {
        "truncated": d / "truncated.mp4",
        "truncated_faststart": d / "truncated_faststart.mp4",
        "empty": d / "empty.mp4",
        "noise": d / "noise.mp4",
    }


def _backend_param(name: str):
    reason = BACKENDS[name].unavailable_reason()
    return pytest.param(name, id=name, marks=pytest.mark.skipif(reason is not None, reason=f"{name}: {reason}"))


#: Every registered backend; unavailable ones are skipped with the reason.
BACKEND_PARAMS = [_backend_param(n) for n in AUTO_ORDER]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request) -> str:
    """Each installed backend in turn."""
    return request.param
