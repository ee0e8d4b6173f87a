"""read_frames: the frame returned for time t is the frame shown at t, for every installed backend."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from video_helpers import HEIGHT, WIDTH, frame_number, pattern

from vidllm.video import (
    UnknownBackendError,
    VideoDecodeError,
    available_backends,
    fit_pixels,
    read_frames,
)
from vidllm.video.backends import AUTO_ORDER

VIDEO_NAMES = ["29.97fps", "25fps", "12fps", "vfr", "vfr_bframes"]
REQUESTS = {
    "fps1": {"fps": 1},
    "fps2": {"fps": 2},
    "fps0.5": {"fps": 0.5},
    "fps3.7": {"fps": 3.7},
    "fps30": {"fps": 30},
    "n7": {"num_frames": 7},
    "n1": {"num_frames": 1},
    "window": {"fps": 2, "start": 0.55, "end": 2.9},
    "max_frames": {"fps": 5, "max_frames": 6},
    "every_frame": {},
    "every_frame_window": {"start": 1.01, "end": 2.2},
}


def check_frames_match_times(out, video) -> None:
    """Every returned frame is the one on screen at its sample time, and carries that frame's true start time."""
    assert out.frames.dtype == np.uint8
    assert out.timestamps.dtype == np.float64
    assert len(out.frames) == len(out.timestamps) == len(out.sample_times)
    for k, t in enumerate(out.sample_times):
        expected = video.shown_at(t)
        assert frame_number(out.frames[k]) == expected, f"sample {k} at {t:.4f} s"
        assert out.timestamps[k] == pytest.approx(video.times[expected], abs=1e-6)
        assert out.timestamps[k] <= t + 1e-6


@pytest.mark.parametrize("name", VIDEO_NAMES)
@pytest.mark.parametrize("request_id", list(REQUESTS))
def test_frame_returned_for_t_is_frame_shown_at_t(videos, backend, name, request_id):
    video = videos[name]
    out = read_frames(video.path, backend=backend, **REQUESTS[request_id])
    assert out.backend == backend
    assert out.frames.shape[1:] == (HEIGHT, WIDTH, 3)
    if name == "vfr_bframes":  # mp4 cannot store the last frame's display time here; it ends somewhere after it
        assert video.times[-1] < out.duration <= video.duration + 1e-6
    else:
        assert out.duration == pytest.approx(video.duration, abs=1e-6)
        assert out.native_fps == pytest.approx(len(video.times) / video.duration)
    assert len(out) > 0
    check_frames_match_times(out, video)


def test_fps_grid_and_exact_native_rate(videos, backend):
    out = read_frames(videos["29.97fps"].path, backend=backend, fps=1)
    assert out.native_fps == pytest.approx(30000 / 1001, rel=1e-12)
    assert out.sample_fps == 1.0
    np.testing.assert_allclose(out.sample_times, [0, 1, 2, 3, 4])  # 120 frames last 4.004 s
    # the frame shown at 1 s started at frame 29 (0.9676 s), not frame 30 (an fps=30 guess)
    np.testing.assert_allclose(out.timestamps, np.array([0, 29, 59, 89, 119]) * 1001 / 30000, atol=1e-9)


def test_every_frame_of_vfr(videos, backend):
    video = videos["vfr"]
    out = read_frames(video.path, backend=backend)
    assert [frame_number(f) for f in out.frames] == list(range(len(video.times)))
    np.testing.assert_allclose(out.timestamps, video.times, atol=1e-9)


def test_backends_agree(videos):
    names = available_backends()
    outs = {n: read_frames(videos["29.97fps"].path, backend=n, fps=2.5, size=(24, 32)) for n in names}
    ref = outs[names[0]]
    for name, out in outs.items():
        np.testing.assert_array_equal(out.timestamps, ref.timestamps, err_msg=name)
        assert out.frames.shape == ref.frames.shape
        diff = np.abs(out.frames.astype(int) - ref.frames.astype(int)).mean()
        assert diff < 6, f"{name} differs from {names[0]} by {diff:.2f} on average"


def test_auto_backend_is_first_available(videos):
    out = read_frames(videos["25fps"].path, fps=1)
    assert out.backend == next(n for n in AUTO_ORDER if n in available_backends())


def test_single_threaded_decoding_gives_the_same_frames(videos, backend):
    a = read_frames(videos["12fps"].path, backend=backend, fps=3, threads=1)
    b = read_frames(videos["12fps"].path, backend=backend, fps=3)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.frames, b.frames)


# --- resizing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, shape",
    [
        ({"size": (24, 32)}, (24, 32)),
        ({"size": (30, 30)}, (30, 30)),
        ({"max_pixels": 32 * 24, "size_multiple": 8}, fit_pixels(HEIGHT, WIDTH, None, 32 * 24, 8)),
        ({"min_pixels": 96 * 128, "size_multiple": 16}, fit_pixels(HEIGHT, WIDTH, 96 * 128, None, 16)),
        ({"size_multiple": 28}, fit_pixels(HEIGHT, WIDTH, None, None, 28)),
    ],
    ids=["size", "square", "max_pixels", "min_pixels", "multiple"],
)
def test_resize_in_the_decoder(videos, backend, kw, shape):
    video = videos["25fps"]
    out = read_frames(video.path, backend=backend, fps=2, **kw)
    assert out.frames.shape[1:3] == shape
    check_frames_match_times(out, video)


# --- windows, caps and short videos -------------------------------------------------------------------------------


def test_max_frames_spreads_and_keeps_the_end(videos, backend):
    video = videos["12fps"]
    out = read_frames(video.path, backend=backend, fps=10, max_frames=5)
    assert len(out) == 5
    assert out.sample_fps == pytest.approx(5 / video.duration)
    assert out.sample_times[-1] >= video.duration - video.duration / 5 - 1e-9
    check_frames_match_times(out, video)


def test_video_shorter_than_asked_gives_fewer_frames(videos, backend):
    video = videos["12fps"]  # 4 s, 48 frames
    assert len(read_frames(video.path, backend=backend, fps=1, end=100)) == 4
    many = read_frames(video.path, backend=backend, num_frames=1000)
    assert len(many) == 48
    assert [frame_number(f) for f in many.frames] == list(range(48))
    late = read_frames(video.path, backend=backend, fps=1, start=10)
    assert late.frames.shape == (0, HEIGHT, WIDTH, 3)
    assert late.timestamps.shape == (0,)


def test_request_errors(videos):
    path = videos["25fps"].path
    with pytest.raises(ValueError, match="not both"):
        read_frames(path, fps=1, num_frames=4)
    with pytest.raises(ValueError, match="before start"):
        read_frames(path, fps=1, start=3, end=1)
    with pytest.raises(ValueError, match="fps"):
        read_frames(path, fps=0)


# --- bad input ------------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path, backend):
    missing = tmp_path / "nope" / "missing.mp4"
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        read_frames(missing, backend=backend, fps=1)


@pytest.mark.parametrize("kind", ["truncated", "truncated_faststart", "empty", "noise"])
def test_unreadable_video_raises_one_error(bad_files, backend, kind):
    path = bad_files[kind]
    with pytest.raises(VideoDecodeError) as info:
        read_frames(path, backend=backend, fps=1)
    err = info.value
    assert err.backend == backend and err.path == str(path)
    assert str(path) in str(err) and backend in str(err) and err.reason in str(err)


def test_unknown_backend_lists_valid_names(videos):
    with pytest.raises(UnknownBackendError, match="'pyav'") as info:
        read_frames(videos["25fps"].path, backend="opencv", fps=1)
    for name in AUTO_ORDER:
        assert repr(name) in str(info.value)


# --- a folder of frames ---------------------------------------------------------------------------------------------


@pytest.fixture
def frame_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(24):  # 2 s at 12 fps; names sort naturally, not as strings
        Image.fromarray(pattern(i)).save(folder / f"frame_{i}.png")
    return folder


def test_folder_with_fps(frame_folder):
    out = read_frames(frame_folder, folder_fps=12, fps=3)
    assert out.backend == "folder"
    assert out.duration == pytest.approx(2.0)
    assert [frame_number(f) for f in out.frames] == [0, 4, 8, 12, 16, 20]
    np.testing.assert_allclose(out.timestamps, np.arange(6) / 3)
    small = read_frames(frame_folder, folder_fps=12, num_frames=4, size=(24, 32))
    assert small.frames.shape == (4, 24, 32, 3)
    assert [frame_number(f) for f in small.frames] == [0, 6, 12, 18]


def test_folder_timestamps_from_frames_json(frame_folder):
    times = [i * 0.1 + (0.05 if i >= 12 else 0.0) for i in range(24)]
    files = [f"frame_{i}.png" for i in range(24)]
    (frame_folder / "frames.json").write_text(json.dumps({"timestamps": times, "duration": 2.5, "files": files}))
    out = read_frames(frame_folder, fps=2)
    assert out.duration == 2.5
    np.testing.assert_allclose(out.sample_times, [0, 0.5, 1.0, 1.5, 2.0])
    assert [frame_number(f) for f in out.frames] == [0, 5, 10, 14, 19]
    np.testing.assert_allclose(out.timestamps, [times[i] for i in [0, 5, 10, 14, 19]])


def test_folder_errors(frame_folder, tmp_path):
    with pytest.raises(ValueError, match="folder_fps"):
        read_frames(frame_folder, fps=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoDecodeError, match="no frame images"):
        read_frames(empty, folder_fps=1, fps=1)
