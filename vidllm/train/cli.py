"""The ``vidllm train`` and ``vidllm export`` subcommands (wired into :mod:`vidllm.cli` by :func:`add_subcommands`).

vidllm train --config train_configs/X.yaml [key=value ...]        (one process; under torchrun: one per device)
vidllm export --lora RUN_DIR --out DIR [--base BASE_DIR] [--merge] [--overwrite] [--dtype auto|...|float32]
vidllm export --lora RUN_DIR --push_to_hub OWNER/NAME [--private] [--merge] [--base HUB_ID] [--results FILE ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def _add_train(sub: argparse._SubParsersAction) -> None:
    text = "fine-tune a time-aware video LLM (LoRA or full; DeepSpeed under torchrun)"
    p = sub.add_parser(
        "train",
        help=text,
        description=f"{text}. Multi-GPU: torchrun --nproc_per_node=8 -m vidllm.train --config FILE [key=value ...]",
    )
    p.add_argument("--config", required=True, help="training YAML (train_configs/*.yaml)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="overrides, e.g. optim.lr=2e-4 resume=true")


def run_train(args: argparse.Namespace) -> int:
    """Run ``vidllm train``: the recipe of :mod:`vidllm.train.recipe` in this process."""
    from vidllm.train.config import load_train_config
    from vidllm.train.recipe import run

    run(load_train_config(args.config, args.overrides))
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    text = "export a LoRA run: merge it into a standalone checkpoint (--merge) or re-point it at a base checkpoint"
    p = sub.add_parser("export", help=text, description=text)
    p.add_argument("--lora", required=True, help="the run folder of a LoRA run (or one of its checkpoint-N)")
    p.add_argument("--out", help="output folder (required unless --push_to_hub: then a temporary one)")
    p.add_argument("--base", help="base checkpoint folder or Hub id (default: the one the run recorded)")
    p.add_argument("--merge", action="store_true", help="fold LoRA into the weights (plain transformers loads it)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty --out: its model files are replaced, other files stay")  # fmt: skip
    p.add_argument(
        "--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"], help="dtype of the weights"
    )
    p.add_argument("--push_to_hub", metavar="OWNER/NAME", help="upload the export to this Hub repo, with a model card")
    p.add_argument("--private", action="store_true", help="with --push_to_hub: create the repo private")
    p.add_argument("--results", nargs="+", default=[], metavar="PATH",
                   help="results.json files (or folders) for the card's evaluation table (default: the run's "
                        "newest eval/step-N)")  # fmt: skip


def run_export(args: argparse.Namespace) -> int:
    """Run ``vidllm export``."""
    from vidllm.errors import UserError
    from vidllm.train.export import export

    options = {"base": args.base, "merge": args.merge, "dtype": args.dtype, "overwrite": args.overwrite}
    if args.push_to_hub:
        from vidllm.train.publish import export_to_hub

        info = export_to_hub(args.lora, args.push_to_hub, out=args.out, results=args.results,
                             private=args.private or None, **options)  # fmt: skip
        sys.stdout.write(f"pushed to {info.repo_url}\n")
        return 0
    if not args.out:
        raise UserError("vidllm export needs --out DIR (or --push_to_hub OWNER/NAME to upload the export)")
    if args.private or args.results:
        raise UserError("--private and --results go with --push_to_hub OWNER/NAME")
    out = export(args.lora, args.out, **options)
    sys.stdout.write(f"exported to {out}\n")
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``train`` and ``export`` to the ``vidllm`` parser's subcommands; returns their runners by name."""
    _add_train(sub)
    _add_export(sub)
    return {"train": run_train, "export": run_export}
