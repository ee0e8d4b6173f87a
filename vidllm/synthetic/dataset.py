"""Training samples drawn from the synthetic generator on the fly: sample ``i`` is a fresh scene, rendered, asked
about and encoded by the model adapter, so a run needs no training set on disk and never sees a video twice.

Sample ``i`` depends only on ``(seed, i)``, so any data-loader worker, rank or resumed run builds the same sample for
the same index. ``frames: shuffled`` or ``blank`` trains a *blind* model on the same questions and answers: the frames
are permuted in time (what is in the video stays, when it happens is lost) or replaced by the empty background.
Such a model can only learn the answer prior, which makes it the baseline a grounding model has to beat.

>>> cfg = SyntheticDataConfig(num_events=[1, 3], kinds=["visible", "move"])
>>> ds = SyntheticInstructionDataset(cfg, adapter, fps=2.0, num_samples=1000)     # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vidllm.data.batches import SKIPPED_KEY, Clip, encode_record
from vidllm.synthetic.benchmark import sample_times
from vidllm.synthetic.render import BACKGROUND, render
from vidllm.synthetic.scenes import COLORS, EVENT_KINDS, SHAPES, SceneSpec, sample_scene
from vidllm.synthetic.tasks import TASK_KINDS, scene_records

FRAME_MODES = ("real", "shuffled", "blank")


@dataclass
class SyntheticDataConfig:
    """What the synthetic training stream draws (``data.synthetic`` of a training config).

    Attributes:
        seed: Seed of the stream (held-out sets are written with other seeds).
        num_samples: Samples in one pass (0: one fresh sample per training slot, ``max_steps`` x global batch).
        duration: Video length range ``[low, high]`` in seconds.
        fps: Sampling rate range ``[low, high]``: each sample draws its own rate (uniform); ``[]``: the run's
            ``data.fps`` for every sample.
        num_events: Events per video ``[low, high]``; the ones a question does not name are distractors.
        kinds: Event kinds: ``visible``, ``move``, ``pulse``.
        moments: How many times a ``visible`` shape appears ``[low, high]`` (its query has that many moments).
        event_length: Event length range ``[low, high]`` in seconds.
        grid: Event boundaries fall on multiples of this many seconds.
        size: Frame side in pixels (square frames).
        shapes: Shapes events use.
        colors: Colours events use.
        tasks: Questions asked: ``mr`` (moment), ``vhd`` (highlights), ``dvc`` (list every event).
        frames: ``real``; ``shuffled`` (frames permuted in time) or ``blank`` (empty frames) for a blind baseline.
    """

    seed: int = field(default=0, metadata={"help": "seed of the synthetic stream"})
    num_samples: int = field(default=0, metadata={"help": "samples per pass (0: max_steps x global batch)"})
    duration: list[float] = field(default_factory=lambda: [16.0, 16.0], metadata={"help": "video length range (s)"})
    fps: list[float] = field(default_factory=list, metadata={"help": "sampling rate range per sample ([]: data.fps)"})
    num_events: list[int] = field(default_factory=lambda: [1, 3], metadata={"help": "events per video range"})
    moments: list[int] = field(default_factory=lambda: [1, 1], metadata={"help": "moments per visible shape"})
    kinds: list[str] = field(
        default_factory=lambda: list(EVENT_KINDS), metadata={"help": "event kinds", "choices": list(EVENT_KINDS)}
    )
    event_length: list[float] = field(default_factory=lambda: [2.0, 8.0], metadata={"help": "event length range"})
    grid: float = field(default=1.0, metadata={"help": "event boundaries on multiples of this (s)"})
    size: int = field(default=28, metadata={"help": "frame side in pixels"})
    shapes: list[str] = field(
        default_factory=lambda: list(SHAPES), metadata={"help": "shapes", "choices": list(SHAPES)}
    )
    colors: list[str] = field(
        default_factory=lambda: list(COLORS), metadata={"help": "colours", "choices": list(COLORS)}
    )
    tasks: list[str] = field(
        default_factory=lambda: ["mr"], metadata={"help": "questions asked", "choices": list(TASK_KINDS)}
    )
    frames: str = field(default="real", metadata={"help": "real, shuffled or blank", "choices": list(FRAME_MODES)})

    def __post_init__(self):
        if self.fps and (len(self.fps) != 2 or not 0 < self.fps[0] <= self.fps[1]):
            raise ValueError(f"data.synthetic.fps must be [] or [low, high] with 0 < low <= high, got {self.fps}")
        for name in ("duration", "num_events", "event_length", "moments"):
            value = getattr(self, name)
            if len(value) != 2 or value[0] > value[1]:
                raise ValueError(f"data.synthetic.{name} must be [low, high] with low <= high, got {value}")
        if self.size < 8 or self.num_samples < 0:
            raise ValueError(f"data.synthetic.size must be >= 8 and num_samples >= 0, got {self.size}, "
                             f"{self.num_samples}")  # fmt: skip
        if self.frames not in FRAME_MODES:
            raise ValueError(f"data.synthetic.frames must be one of {', '.join(FRAME_MODES)}, got {self.frames!r}")
        self.spec()  # SceneSpec checks the ranges against each other

    def spec(self) -> SceneSpec:
        """The :class:`~vidllm.synthetic.scenes.SceneSpec` these settings describe."""
        return SceneSpec(
            duration=(float(self.duration[0]), float(self.duration[1])),
            num_events=(int(self.num_events[0]), int(self.num_events[1])),
            kinds=tuple(self.kinds),
            event_length=(float(self.event_length[0]), float(self.event_length[1])),
            grid=self.grid,
            shapes=tuple(self.shapes),
            colors=tuple(self.colors),
            moments=(int(self.moments[0]), int(self.moments[1])),
        )

    def sample_fps(self, index: int, fps: float) -> float:
        """The sampling rate of sample ``index``: drawn from :attr:`fps` (its own random stream, so the scenes stay
        those of a fixed rate), or ``fps`` when no range is set."""
        if not self.fps:
            return float(fps)
        return float(np.random.default_rng((self.seed, index, 1)).uniform(self.fps[0], self.fps[1]))


def hide_time(frames: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    """The frames a blind baseline sees.

    Args:
        frames: ``uint8`` of shape ``(T, H, W, 3)``.
        mode: ``real`` (unchanged), ``shuffled`` (a random permutation in time) or ``blank`` (background only).
        rng: Draws the permutation.

    Returns:
        ``uint8`` frames of the same shape.
    """
    if mode == "real":
        return frames
    if mode == "shuffled":
        return frames[rng.permutation(len(frames))]
    if mode == "blank":
        return np.full_like(frames, BACKGROUND)
    raise ValueError(f"unknown frame mode {mode!r}; valid: {', '.join(FRAME_MODES)}")


def draw_record(cfg: SyntheticDataConfig, index: int):
    """The question of sample ``index`` without its frames: ``(record, scene, rng)`` (``rng`` continues the
    sample's random stream)."""
    rng = np.random.default_rng((cfg.seed, index))
    scene = sample_scene(cfg.spec(), rng)
    records = scene_records(scene, f"synthetic/{cfg.seed}/{index:09d}.mp4", tasks=tuple(cfg.tasks))
    if not records:  # e.g. only ``vhd`` asked and no pulse event drawn: ask about another scene
        return draw_record(cfg, index + 10**9)
    return records[int(rng.integers(len(records)))], scene, rng


def draw_sample(cfg: SyntheticDataConfig, index: int, fps: float):
    """Sample ``index`` of the stream: ``(record, frames uint8 (T,H,W,3), timestamps float64 (T,) seconds)``, sampled
    at ``fps`` or at the sample's own rate when ``cfg.fps`` is a range (:meth:`SyntheticDataConfig.sample_fps`)."""
    record, scene, rng = draw_record(cfg, index)
    times = sample_times(scene.duration, cfg.sample_fps(index, fps))
    frames = hide_time(render(scene, times, cfg.size, cfg.size), cfg.frames, rng)
    return record, frames, times


class SyntheticInstructionDataset(torch.utils.data.Dataset):
    """Synthetic training samples encoded by a loaded adapter (map-style; sample ``i`` depends on ``(seed, i)``).

    Args:
        cfg: What to draw.
        adapter: A loaded :class:`~vidllm.models.protocol.VideoLLMAdapter`.
        fps: Sampling rate of the frames the model sees.
        num_samples: Length of the dataset (``cfg.num_samples`` wins when set).

    Attributes:
        skipped: Always empty (the generator makes no bad samples); kept for the training recipe's report.
    """

    def __init__(self, cfg: SyntheticDataConfig, adapter, *, fps: float, num_samples: int):
        self.cfg = cfg
        self.adapter = adapter
        self.fps = fps
        self.num_samples = cfg.num_samples or num_samples
        self.skipped: Counter[str] = Counter()

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict[str, Any]:
        record, frames, times = draw_sample(self.cfg, index, self.fps)
        clip = Clip(frames, times, self.cfg.sample_fps(index, self.fps), record.duration)
        sample = encode_record(self.adapter, record, clip)
        sample[SKIPPED_KEY] = 0
        return sample
