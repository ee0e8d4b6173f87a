"""The ``vidllm`` command. Subcommands:

vidllm score tvg  --pred P --gt G [--sample] [--json OUT]
vidllm score hd   --pred P --gt G [--json OUT]
vidllm score qvhl --pred P --gt G [--no-match-number] [--json OUT]
vidllm score dvc  --pred P --gt G [--no-java] [--json OUT]
"""

from __future__ import annotations

import argparse
import logging
import sys

from vidllm.io import DataError, write_json


def _add_score(sub: argparse._SubParsersAction) -> None:
    score = sub.add_parser("score", help="score predictions against ground truth, as the official evaluators do")
    tasks = score.add_subparsers(dest="task", required=True, metavar="TASK")
    helps = {
        "tvg": "single-moment grounding, Charades-STA style (TimeChat eval_tvg.py): R1@0.3/0.5/0.7, mIoU",
        "hd": "highlight detection from per-clip saliency (TimeChat eval_vhd.py): HL-min-*-{mAP,Hit1}",
        "qvhl": "QVHighlights submission JSONL (moment_detr standalone_eval): MR-* and HL-* keys",
        "dvc": "dense video captioning (TimeChat eval_dvc.py): CIDER, METEOR, SODA_c_2, F1, Para_*",
    }
    for task, text in helps.items():
        p = tasks.add_parser(task, help=text, description=text)
        p.add_argument("--pred", required=True, help="prediction file")
        p.add_argument("--gt", required=True, help="ground-truth file")
        p.add_argument("--json", metavar="OUT", help="also write the metrics and counts as a flat JSON object")
        if task == "tvg":
            p.add_argument("--sample", action="store_true", help="score only the predicted queries")
        if task == "qvhl":
            p.add_argument("--no-match-number", dest="match_number", action="store_false",
                           help="score the queries in both files instead of requiring the same query set")  # fmt: skip
        if task == "dvc":
            p.add_argument("--no-java", dest="java", action="store_false",
                           help="skip the Java-based metrics (METEOR, PTB tokenizer for CIDEr)")  # fmt: skip


def _run_score(args: argparse.Namespace) -> int:
    from vidllm.eval.scorers import get_scorer

    options = {k: getattr(args, k) for k in ("sample", "match_number", "java") if hasattr(args, k)}
    report = get_scorer(args.task)(args.pred, args.gt, **options)
    report.print()
    if args.json:
        write_json(report.flat(), args.json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidllm", description="Teach video LLMs when things happen.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_score(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    commands = {"score": _run_score}
    try:
        return commands[args.command](args)
    except (DataError, FileNotFoundError, ValueError) as e:
        # Bad input is the user's to fix: say what is wrong in one line, no traceback.
        print(f"vidllm {args.command}: error: {e}", file=sys.stderr)  # noqa: T201
        return 2


if __name__ == "__main__":
    sys.exit(main())
