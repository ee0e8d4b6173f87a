"""``vidllm score TASK --pred P --gt G``: the official-metric scorers from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from vidllm.errors import UserError
from vidllm.io import write_json

_TASK_HELP = {
    "tvg": "single-moment grounding, Charades-STA style (TimeChat eval_tvg.py): R1@0.3/0.5/0.7, mIoU",
    "hd": "highlight detection from per-clip saliency (TimeChat eval_vhd.py): HL-min-*-{mAP,Hit1}",
    "qvhl": "QVHighlights submission JSONL (moment_detr standalone_eval): MR-* and HL-* keys",
    "dvc": "dense video captioning (TimeChat eval_dvc.py): CIDER, METEOR, SODA_c_2, F1, Para_*",
    "vs": "video summarization (TVSum): top-5 mAP as UMT / UniVTG report it, summary F1",
    "tad": "temporal action detection (ActivityNet eval_detection.py): mAP over tIoU thresholds, R@k",
}


def _add_score(sub: argparse._SubParsersAction) -> None:
    score = sub.add_parser("score", help="score predictions against ground truth, as the official evaluators do")
    tasks = score.add_subparsers(dest="task", required=True, metavar="TASK")
    for task, text in _TASK_HELP.items():
        p = tasks.add_parser(task, help=text, description=text)
        p.add_argument("--pred", required=True, help="prediction file")
        p.add_argument("--gt", required=True, help="ground-truth file")
        p.add_argument("--json", metavar="OUT", help="also write the metrics and counts as a flat JSON object")
        if task == "tvg":
            p.add_argument("--sample", action="store_true", help="score only the predicted queries")
        if task == "qvhl":
            p.add_argument("--no-match-number", dest="match_number", action="store_false",
                           help="score the queries in both files instead of requiring the same query set")  # fmt: skip
        if task == "tad":
            thresholds = "tIoU thresholds: activitynet 0.5:0.05:0.95, charades 0.1:0.1:0.7, ego4d 0.1:0.1:0.5"
            p.add_argument("--protocol", default="activitynet", choices=["activitynet", "charades", "ego4d"],
                           help=thresholds)  # fmt: skip
            p.add_argument(
                "--subset",
                help="score only GT videos of this subset (default: all of a file with one "
                "subset; validation of a file with several, as ActivityNet's evaluator)",
            )
        if task == "dvc":
            p.add_argument("--no-java", dest="java", action="store_false",
                           help="skip the Java-based metrics (METEOR, PTB tokenizer for CIDEr)")  # fmt: skip


def check_output_file(path: str | None, flag: str = "--json") -> None:
    """Refuse an output file path that cannot be written -- before the scoring, not after the table is printed.

    Raises:
        UserError: The path is a folder, or lies under a file.
    """
    if path is None:
        return
    out = Path(path)
    if out.is_dir():
        raise UserError(f"{flag} {out} is a folder; expected a file name for the metrics, e.g. {out / 'scores.json'}")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise UserError(f"{flag} {out} is under the file {above}; expected a path inside a folder")


def run_score(args: argparse.Namespace) -> int:
    from vidllm.eval.scorers import get_scorer

    check_output_file(args.json)
    names = ("sample", "match_number", "java", "protocol", "subset")
    options = {k: getattr(args, k) for k in names if hasattr(args, k)}
    report = get_scorer(args.task)(args.pred, args.gt, **options)
    report.print()
    if args.json:
        write_json(report.flat(), args.json)
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``score`` to the ``vidllm`` parser's subcommands; returns its runner by name."""
    _add_score(sub)
    return {"score": run_score}
