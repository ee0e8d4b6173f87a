"""A synthetic held-out set, specified apart from the training stream: what its videos are, how many, the rate they
are meant to be sampled at, and the seed (``vidllm synthetic write``; the quickstart's test suites).

>>> cfg = HeldoutConfig(n=50, fps=4.0, scenes=SyntheticDataConfig(duration=[32.0, 32.0]))
>>> paths = write_heldout(cfg, "heldout/4fps_32s")                      # doctest: +SKIP
>>> # then: eval/mr.py ... gt_path=heldout/4fps_32s/test.tvg.caption_coco_format.json sampling.fps=4
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vidllm.synthetic.dataset import SyntheticDataConfig

HELDOUT_SEED = 1_000_003
"""Default seed of held-out sets (training streams use small seeds)."""


@dataclass
class HeldoutConfig:
    """One held-out set (``vidllm synthetic write --out DIR key=value ...``).

    Attributes:
        n: Videos to write.
        seed: Seeds the scenes (use one training never uses).
        fps: Rate the set is meant to be sampled at; the mp4 files are written at ``video_fps``.
        video_fps: Frame rate of the written videos (``0``: twice ``fps``, so every sampled frame is a written one).
        split: Name in the file names (``test`` or ``val``).
        scheme: Time scheme of the answers in the VTG-IT instruction file.
        scenes: What the videos and questions are (durations, events, moments, tasks, frame size); its ``fps``
            range is unused (a written set has one rate).
    """

    n: int = field(default=100, metadata={"help": "videos"})
    seed: int = field(default=HELDOUT_SEED, metadata={"help": "seed of the scenes"})
    fps: float = field(default=2.0, metadata={"help": "sampling rate the set is meant for"})
    video_fps: float = field(default=0.0, metadata={"help": "frame rate of the mp4 files (0: 2 x fps)"})
    split: str = field(default="test", metadata={"help": "split name in the file names", "choices": ["test", "val"]})
    scheme: str = field(default="text", metadata={"help": "time scheme of the VTG-IT answers"})
    scenes: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)

    def __post_init__(self):
        if isinstance(self.scenes, dict):
            self.scenes = SyntheticDataConfig(**self.scenes)
        if self.n < 1 or not self.fps > 0 or self.video_fps < 0:
            raise ValueError(f"need n >= 1, fps > 0 and video_fps >= 0; got n={self.n} fps={self.fps} "
                             f"video_fps={self.video_fps}")  # fmt: skip
        if self.scenes.size % 2:
            raise ValueError(f"scenes.size={self.scenes.size} must be even (H.264 frames)")

    @property
    def written_fps(self) -> float:
        """Frame rate of the mp4 files."""
        return self.video_fps or 2 * self.fps


def write_heldout(cfg: HeldoutConfig, out_dir: str | Path) -> dict[str, Path]:
    """Write the set to ``out_dir`` (mp4 + VTG-IT + ground truth, see :mod:`vidllm.synthetic.benchmark`), plus
    ``heldout.yaml`` (this spec); finished videos of an earlier run with the same spec are kept."""
    from vidllm.config import save_config
    from vidllm.synthetic.benchmark import write_benchmark

    out = Path(out_dir)
    paths = write_benchmark(
        out,
        num_videos=cfg.n,
        spec=cfg.scenes.spec(),
        seed=cfg.seed,
        split=cfg.split,
        video_fps=cfg.written_fps,
        size=(cfg.scenes.size, cfg.scenes.size),
        tasks=tuple(cfg.scenes.tasks),
        scheme=cfg.scheme,
    )
    paths["spec"] = save_config(cfg, out / "heldout.yaml")
    return paths


__all__ = ["HELDOUT_SEED", "HeldoutConfig", "write_heldout"]
