"""The ``vidllm synthetic`` subcommand (wired into :mod:`vidllm.cli` by :func:`add_subcommands`).

vidllm synthetic write --out DIR [--config FILE] [key=value ...]
    e.g. vidllm synthetic write --out heldout/1fps_32s n=100 fps=1 scenes.duration=[32,32] scenes.num_events=[1,3]
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _add_synthetic(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synthetic", help="write synthetic held-out sets (mp4 + questions + ground truth)")
    commands = p.add_subparsers(dest="synthetic_command", required=True, metavar="SUBCOMMAND")
    w = commands.add_parser(
        "write",
        help="render a held-out set",
        description="Render synthetic videos to mp4 with VTG-IT questions and ground truth for vidllm score / "
        "eval/mr.py. key=value set fields of vidllm.synthetic.heldout.HeldoutConfig (n, seed, fps, video_fps, split, "
        "scheme, scenes.duration, scenes.num_events, scenes.kinds, scenes.moments, scenes.tasks, scenes.size ...).",
    )
    w.add_argument("--out", required=True, help="output folder")
    w.add_argument("--config", help="a YAML setting fields of HeldoutConfig")
    w.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. n=100 fps=1 scenes.duration=[32,32]")


def run_synthetic(args: argparse.Namespace) -> int:
    """Run ``vidllm synthetic write``."""
    from vidllm.config import load_config
    from vidllm.synthetic.heldout import HeldoutConfig, write_heldout

    cfg = load_config(HeldoutConfig, args.config, args.overrides)
    paths = write_heldout(cfg, args.out)
    for name, path in paths.items():
        logger.info("%s: %s", name, path)
    logger.info("evaluate with sampling.fps=%g (the rate the set is written for)", cfg.fps)
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``synthetic`` to the ``vidllm`` parser's subcommands; returns its runner."""
    _add_synthetic(sub)
    return {"synthetic": run_synthetic}
