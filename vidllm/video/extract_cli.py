"""Command line of the offline frame extractor (``preprocess/extract_frames.py`` and any ``vidllm`` subcommand).

    python preprocess/extract_frames.py --videos DIR_OR_LIST --out DIR --fps 0.5 [--number] [--max-pixels N] \
        [--workers K] [--format mp4|jpg]

:func:`main` parses arguments, runs :func:`vidllm.video.extract.extract_all` and returns the exit status: 0 when
every video was extracted, 2 when some failed (listed in ``OUT/failures.jsonl``), 1 on bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from vidllm.video.extract import ExtractOptions, extract_all, find_videos
from vidllm.video.numbering import POSITIONS, NumberStyle


def parse_size(text: str) -> tuple[int, int]:
    """``"336x336"`` (height x width) -> ``(336, 336)``."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH like 336x336, got {text!r}") from None
    return h, w


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (``prog``: the program name shown in ``--help``)."""
    p = argparse.ArgumentParser(
        prog=prog, description="Sample, resize, optionally number (NumPro), and write every video as a small clip."
    )
    p.add_argument("--videos", required=True, help="folder of videos (searched recursively) or a text file of paths")
    p.add_argument("--out", required=True, help="output folder")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=float, help="samples per second (default 0.5, as NumPro)")
    rate.add_argument("--num-frames", type=int, help="samples per video, spread evenly")
    p.add_argument("--max-frames", type=int, help="cap on samples per video (spread, never cut off)")
    p.add_argument("--size", type=parse_size, help="exact HEIGHTxWIDTH, e.g. 336x336")
    p.add_argument("--min-pixels", type=int, help="smallest frame area")
    p.add_argument("--max-pixels", type=int, help="largest frame area, e.g. 602112 (768 tokens of 28x28)")
    p.add_argument("--size-multiple", type=int, help="output sides are multiples of this (e.g. 28)")
    p.add_argument("--number", action="store_true", help="draw NumPro frame numbers")
    p.add_argument("--number-position", default="bottom_right", choices=POSITIONS)
    p.add_argument("--number-color", default="red")
    p.add_argument("--number-size", type=int, help="font size in px (default: 40 per 336 px of frame height)")
    p.add_argument("--number-outline", type=int, default=0, help="outline width in px")
    p.add_argument("--number-start", type=int, default=0, help="number of the first frame")
    p.add_argument("--format", default="mp4", choices=["mp4", "jpg"], help="small H.264 clips or JPEG folders")
    p.add_argument("--backend", default="auto", help="auto, torchcodec, pyav or decord")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--threads", type=int, help="decoder threads per video (default: 0 = auto with 1 worker, else 1)")
    p.add_argument("--crf", type=int, default=18, help="H.264 quality of mp4 output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the extractor with command-line ``argv``; returns the exit status (0 ok, 2 some videos failed, 1 bad
    arguments). Messages go to stdout/stderr because this is a command-line entry point."""
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        style = NumberStyle(
            position=args.number_position,
            color=args.number_color,
            font_size=args.number_size,
            outline=args.number_outline,
            start=args.number_start,
        )
        opts = ExtractOptions(
            fps=args.fps,
            num_frames=args.num_frames,
            max_frames=args.max_frames,
            size=args.size,
            min_pixels=args.min_pixels,
            max_pixels=args.max_pixels,
            size_multiple=args.size_multiple,
            number=args.number,
            style=style,
            fmt=args.format,
            backend=args.backend,
            threads=args.threads if args.threads is not None else (0 if args.workers <= 1 else 1),
            crf=args.crf,
        )
        videos = find_videos(args.videos)
    except (ValueError, FileNotFoundError) as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    summary = extract_all(videos, args.out, opts, workers=args.workers, progress=not args.no_progress)
    sys.stdout.write(
        f"{len(summary.done)} extracted, {len(summary.skipped)} already done, {len(summary.failed)} failed; "
        f"manifest: {summary.manifest}\n"
    )
    if summary.failed:
        sys.stderr.write(f"failed videos are listed in {summary.failures}:\n")
        for vid, err in list(summary.failed.items())[:10]:
            sys.stderr.write(f"  {vid}: {err}\n")
        if len(summary.failed) > 10:
            sys.stderr.write(f"  ... and {len(summary.failed) - 10} more\n")
        return 2
    return 0
