"""A synthetic video-grounding benchmark: coloured shapes whose events happen at known times.

>>> import numpy as np
>>> from vidllm.synthetic import SceneSpec, render, sample_scene, scene_records
>>> scene = sample_scene(SceneSpec(), np.random.default_rng(0))
>>> frames = render(scene, np.arange(0, scene.duration, 1.0))   # (T, 32, 32, 3) uint8
>>> records = scene_records(scene, "videos/0000.mp4")            # mr / vhd / dvc questions, targets in seconds
"""

from vidllm.synthetic.render import render
from vidllm.synthetic.scenes import COLORS, EVENT_KINDS, SHAPES, Event, Scene, SceneSpec, sample_scene
from vidllm.synthetic.tasks import TASK_KINDS, scene_records

__all__ = [
    "COLORS",
    "EVENT_KINDS",
    "SHAPES",
    "TASK_KINDS",
    "Event",
    "Scene",
    "SceneSpec",
    "render",
    "sample_scene",
    "scene_records",
]
