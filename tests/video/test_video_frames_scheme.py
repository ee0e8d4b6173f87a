"""A drawn frame number k means the time the ``frames`` scheme of vidllm.time gives it, at any sampling fps."""

import numpy as np
import pytest

from vidllm.time import get_scheme, parse_intervals
from vidllm.video import read_frames
from vidllm.video.extract import write_clip


@pytest.mark.parametrize("fps", [0.5, 1.0, 2.0])
def test_frame_numbers_map_to_sample_times(tmp_path, fps):
    path = tmp_path / "clip.mp4"
    write_clip(path, np.zeros((40, 16, 16, 3), dtype=np.uint8), 4.0)  # 10 s at 4 fps
    video = read_frames(path, fps=fps)
    scheme = get_scheme("frames", fps=video.sample_fps)
    for k, t in enumerate(video.sample_times):
        assert scheme.decode(f"Frame {k}") == pytest.approx(t)
        assert scheme.encode(t) == str(k)
    last = len(video.sample_times) - 1
    [(s, e)] = parse_intervals(f"From Frame 1 to Frame {last}", fps=video.sample_fps)
    assert (s, e) == pytest.approx((video.sample_times[1], video.sample_times[last]))
