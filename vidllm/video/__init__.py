"""vidllm.video: sampled frames with exact timestamps, NumPro frame numbering, offline frame extraction.

>>> from vidllm.video import read_frames
>>> v = read_frames("clip.mp4", fps=1, max_pixels=448 * 448, size_multiple=28)  # doctest: +SKIP
>>> v.frames.shape, v.timestamps[:3], v.sample_fps  # doctest: +SKIP
((30, 252, 448, 3), array([0.    , 0.9676, 1.969 ]), 1.0)

Backends (PyAV, torchcodec, decord) are chosen by what is installed: :func:`available_backends`. For a released
Qwen-VL model's exact model-card inputs (qwen-vl-utils' frame choice and resize): :func:`read_frames_qwen_vl_utils`.
"""

from vidllm.video.backends import available_backends
from vidllm.video.errors import BackendUnavailableError, UnknownBackendError, VideoDecodeError
from vidllm.video.index import FrameIndex, build_index, frames_shown_at
from vidllm.video.model_card import CardVideo, read_frames_qwen_vl_utils
from vidllm.video.numbering import NumberStyle, draw_number, number_frames
from vidllm.video.reader import VideoFrames, read_frames
from vidllm.video.resize import fit_pixels, output_size
from vidllm.video.sampling import SamplePlan, plan_every_frame, plan_samples

__all__ = [
    "BackendUnavailableError",
    "CardVideo",
    "FrameIndex",
    "NumberStyle",
    "SamplePlan",
    "UnknownBackendError",
    "VideoDecodeError",
    "VideoFrames",
    "available_backends",
    "build_index",
    "draw_number",
    "fit_pixels",
    "frames_shown_at",
    "number_frames",
    "output_size",
    "plan_every_frame",
    "plan_samples",
    "read_frames",
    "read_frames_qwen_vl_utils",
]
