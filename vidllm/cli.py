"""The ``vidllm`` command; each package adds its own subcommands:

    vidllm score {tvg,hd,qvhl,dvc,vs} --pred P --gt G [--json OUT]   (vidllm.eval.cli)
    vidllm eval {mr,hd,dvc,vs} --model_path BASE [--lora_path RUN] --dataset NAME   (vidllm.eval.run_cli)
    vidllm eval --tasks charades_sta,qvhighlights --model_path BASE [--lora_path RUN]   (vidllm.eval.multi)
    vidllm convert NAME ANNOTATION --out DIR                      (vidllm.data.cli)
    vidllm data stats FILE                                        (vidllm.data.cli)
    vidllm train --config train_configs/X.yaml [key=value ...]    (vidllm.train.cli)
    vidllm export --lora RUN --out DIR [--merge] [--base BASE] [--push_to_hub OWNER/NAME]   (vidllm.train.cli)
    vidllm demo --model_path BASE [--lora_path RUN]               (vidllm.demo.cli)
    vidllm quickstart [--config FILE] [key=value ...]             (vidllm.quickstart.cli)
    vidllm synthetic write --out DIR [key=value ...]              (vidllm.synthetic.cli)

``vidllm COMMAND --help`` lists each one's options.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from vidllm.data import cli as data_cli
from vidllm.demo import cli as demo_cli
from vidllm.errors import run_command
from vidllm.eval import cli as eval_cli
from vidllm.eval import run_cli as eval_run_cli
from vidllm.quickstart import cli as quickstart_cli
from vidllm.synthetic import cli as synthetic_cli
from vidllm.train import cli as train_cli

SUBCOMMAND_GROUPS = (quickstart_cli, synthetic_cli, eval_cli, eval_run_cli, data_cli, train_cli, demo_cli)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    """The ``vidllm`` parser and its runners by subcommand name."""
    parser = argparse.ArgumentParser(prog="vidllm", description="Teach video LLMs when things happen.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages (and show tracebacks)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runners: dict[str, Callable[[argparse.Namespace], int]] = {}
    for group in SUBCOMMAND_GROUPS:
        runners.update(group.add_subcommands(sub))
    return parser, runners


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["eval"] and len(argv) > 1 and argv[1].startswith("--") and argv[1] != "--help":
        from vidllm.eval.multi import main as eval_tasks  # vidllm eval --tasks a,b,c: several benchmarks, one load

        return eval_tasks(argv[1:])
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    # Bad input is the user's to fix: say what is wrong in one line, no traceback (vidllm.errors).
    return run_command(f"vidllm {_command_name(args)}", lambda: runners[args.command](args), traceback=args.verbose)


def _command_name(args: argparse.Namespace) -> str:
    """``score tvg``, ``eval mr``, ``data stats``...: the subcommand as typed, for error messages."""
    sub = {"score": "task", "eval": "kind_name", "data": "data_command", "synthetic": "synthetic_command"}.get(
        args.command
    )
    name = getattr(args, sub, None) if sub else None
    return f"{args.command} {name}" if isinstance(name, str) else args.command


if __name__ == "__main__":
    sys.exit(main())
