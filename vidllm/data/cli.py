"""The ``vidllm convert`` and ``vidllm data`` subcommands (wired into :mod:`vidllm.cli` by :func:`add_subcommands`).

vidllm convert NAME ANNOTATION --out DIR [--split S] [--prompt-set timechat|vtgllm|numpro] [--seed N]
               [--scheme vtgllm|text] [--video-template T] [--durations FILE] [--tasks mr,dvc] [--info FILE]
               [--classes FILE] [--group-by-video] [--strict]
vidllm data stats FILE [--format auto|vtg_it|sharegpt|records] [--video-root DIR] [--strip-prefix P]
               [--fps F] [--num-bins N] [--strict] [--no-fix]
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable

from vidllm.data.convert import CONVERTERS, ConvertOptions, get_converter, read_durations, write_converted


def _add_convert(sub: argparse._SubParsersAction) -> None:
    text = "convert an official benchmark annotation file into VTG-IT instructions and vidllm score ground truth"
    p = sub.add_parser("convert", help=text, description=text)
    p.add_argument("name", choices=list(CONVERTERS), help="the benchmark")
    p.add_argument("annotation", help="the official annotation file")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--split", choices=["train", "val", "test"], help="default: from the file name")
    p.add_argument("--prompt-set", default="timechat", help="question templates: timechat, vtgllm, numpro")
    p.add_argument("--seed", type=int, default=0, help="seed of the template choice")
    schemes = "time scheme of the written answers (vtgllm = VTG-IT tokens, text = TimeIT seconds)"
    p.add_argument("--scheme", default="vtgllm", choices=["vtgllm", "text"], help=schemes)
    p.add_argument("--video-template", help="video path relative to the video root, '{vid}' = the video id")
    p.add_argument("--durations", help="video durations: JSON {vid: seconds} or CSV with id,length columns")
    p.add_argument("--tasks", help="comma-separated tasks to build, e.g. dvc,mr (default: the benchmark's own)")
    p.add_argument("--info", help="TVSum: ydata-tvsum50-info.tsv (durations and titles)")
    p.add_argument("--classes", help="charades_tad: Charades_v1_classes.txt (default: beside the CSV)")
    p.add_argument("--group-by-video", action="store_true", help="one VTG-IT item per video with several turns")
    p.add_argument("--strict", action="store_true", help="stop at the first bad annotation instead of skipping it")


def run_convert(args: argparse.Namespace) -> int:
    """Run ``vidllm convert``; prints what was written and the counts."""
    durations = read_durations(args.durations, strict=args.strict) if args.durations else None
    options = ConvertOptions(
        split=args.split,
        prompt_set=args.prompt_set,
        seed=args.seed,
        video_template=args.video_template,
        durations=durations,
        tasks=tuple(t.strip() for t in args.tasks.split(",")) if args.tasks else None,
        strict=args.strict,
    )
    convert = get_converter(args.name)
    extra = {}
    if args.info:
        if "info_path" not in inspect.signature(convert).parameters:
            raise ValueError(f"--info is for tvsum, not {args.name}")
        extra["info_path"] = args.info
    if getattr(args, "classes", None):
        if "classes_path" not in inspect.signature(convert).parameters:
            raise ValueError(f"--classes is for charades_tad, not {args.name}")
        extra["classes_path"] = args.classes
    converted = convert(args.annotation, options, **extra)
    paths = write_converted(converted, args.out, args.scheme, group_by_video=args.group_by_video)
    out = sys.stdout
    out.write(f"{converted.report.summary()}\n")
    if durations is not None and durations.skipped:
        out.write(f"{args.durations}: {len(durations.skipped)} rows skipped without a usable duration "
                  f"(first: {durations.skipped[0]})\n")  # fmt: skip
    for kind, path in paths.items():
        out.write(f"  {kind:>12}: {path}\n")
    return 0


def _add_data(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="inspect instruction files")
    actions = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    text = "counts per task, duration and interval-length histograms, and the problems found"
    p = actions.add_parser("stats", help=text, description=text)
    p.add_argument("file", help="a VTG-IT / TimeIT, sharegpt or vidllm records file")
    p.add_argument("--format", default="auto", choices=["auto", "vtg_it", "sharegpt", "records"])
    p.add_argument("--video-root", help="check that every video is under this folder")
    p.add_argument("--strip-prefix", help="leading part of the stored video paths to remove")
    p.add_argument("--fps", type=float, help="sampling rate, to read answers in frame numbers")
    p.add_argument("--num-bins", type=int, help="token count, to read answers in <tk> tokens")
    p.add_argument("--strict", action="store_true", help="stop at the first problem")
    p.add_argument("--no-fix", dest="fix", action="store_false", help="count fixable problems as errors")


def run_data(args: argparse.Namespace) -> int:
    """Run ``vidllm data stats``; prints the stats."""
    from vidllm.data.load import load_records
    from vidllm.data.stats import compute_stats, format_stats

    records, report = load_records(
        args.file,
        format=args.format,
        video_root=args.video_root,
        strip_prefix=args.strip_prefix,
        fps=args.fps,
        num_bins=args.num_bins,
        strict=args.strict,
        fix=args.fix,
        check_video_files=args.video_root is not None,
    )
    sys.stdout.write(format_stats(compute_stats(records, report)) + "\n")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"convert": run_convert, "data": run_data}
"""``args.command`` -> runner, for :func:`vidllm.cli.main`'s dispatch table."""


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``convert`` and ``data`` to the ``vidllm`` parser's subcommands; returns their runners by name."""
    _add_convert(sub)
    _add_data(sub)
    return COMMANDS
