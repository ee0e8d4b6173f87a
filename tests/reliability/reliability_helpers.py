"""Helpers of the fault-injection tests (imported by the test modules; fixtures are in ``conftest.py``)."""

from __future__ import annotations

FAMILY = "qwen2_5_vl"


class NoModel(AssertionError):
    """Raised when a test that expects a refusal before the model loads reaches the model loading."""


def one_line_error(err: str) -> str:
    """The error line of a CLI's stderr; fails the test on a traceback or on more than one error line."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    return lines[0]


def charades_cut(root, *, n_videos: int = 2, duration: float = 8.0):
    """A Charades-STA-style ground truth (TimeChat's COCO-caption form) with stand-in mp4 videos, built here.

    Returns:
        ``(gt_path, video_root)``: two queries per video.
    """
    import json

    import numpy as np

    from vidllm.synthetic import SceneSpec, render, sample_scene
    from vidllm.video.extract import write_clip

    videos = root / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    annotations = []
    for k in range(n_videos):
        name = f"V{k:04d}.mp4"
        scene = sample_scene(
            SceneSpec(duration=(duration, duration), event_length=(2.0, 4.0)), np.random.default_rng(k)
        )
        write_clip(videos / name, render(scene, np.arange(0, duration, 1.0), 16, 16), 1.0)
        for j, caption in enumerate(("person opens a door.", "person sits down.")):
            annotations.append({"image_id": name, "caption": caption, "timestamp": [1.0 + j, 4.0 + j],
                                "id": 2 * k + j})  # fmt: skip
    gt = root / "test.caption_coco_format.json"
    gt.write_text(json.dumps({"annotations": annotations}))
    return gt, videos
