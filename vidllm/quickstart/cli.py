"""The ``vidllm quickstart`` subcommand (wired into :mod:`vidllm.cli` by :func:`add_subcommands`).

vidllm quickstart [--config FILE] [key=value ...]     e.g. output_dir=qs steps=1500 ablation=[all]
    test.fps=[0.5,1,4] test.durations=[8,32]  (shifted held-out suites)   seeds=[0,1,2] families=[qwen2_vl,qwen3_vl]
    rl=true rl.steps=300  (RL stage: the model continued with GRPO and, as the baseline, with more SFT)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _add_quickstart(sub: argparse._SubParsersAction) -> None:
    text = (
        "generate a synthetic grounding benchmark, train a tiny time-aware Qwen2-VL from scratch on the CPU, "
        "evaluate it and compare it with a blind model and the best constant answer"
    )
    p = sub.add_parser("quickstart", help="the whole toolkit offline on a CPU (~15 min)", description=text)
    p.add_argument("--config", help="a YAML setting fields of vidllm.quickstart.config.QuickstartConfig")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="e.g. output_dir=qs steps=1500 ablation=[all] test.fps=[1,4] test.durations=[8,32] "
                   "seeds=[0,1,2] families=[qwen2_vl,qwen2_5_vl,qwen3_vl] rl=true")  # fmt: skip


def print_summary(summary) -> None:
    """The summary table with rich, and where the files are."""
    from rich.console import Console
    from rich.table import Table

    from vidllm.quickstart.run import METRICS, suite_cell, timeline_plot

    table = Table(title=f"held-out synthetic moment retrieval ({summary.questions} questions)")
    table.add_column("model")
    for m in METRICS:
        table.add_column(m, justify="right")
    table.add_column("train min", justify="right")
    for r in summary.rows:
        table.add_row(f"{r.name}\n[dim]{r.description}[/dim]", *(f"{r.metrics[m]:.1f}" for m in METRICS),
                      f"{r.minutes:.1f}")  # fmt: skip
    console = Console()
    console.print(table)
    names = summary.suite_names()
    if len(names) > 1:  # in distribution and shifted, side by side
        suites = Table(title="every held-out suite: R1@0.5 / mIoU (first: in distribution)")
        suites.add_column("model")
        for n in names:
            suites.add_column(n, justify="right")
        for r in summary.rows:
            suites.add_row(r.name, *(suite_cell(r, n) for n in names))
        console.print(suites)
    out = summary.output_dir
    console.print(f"summary: {out / 'summary.md'}", highlight=False)
    timeline = timeline_plot(out, summary.rows[0].name)
    if timeline.is_file():
        console.print(f"timeline: {timeline}", highlight=False)


def run_quickstart(args: argparse.Namespace) -> int:
    """Run ``vidllm quickstart``."""
    from vidllm.quickstart.config import load_quickstart_config
    from vidllm.quickstart.run import run

    print_summary(run(load_quickstart_config(args.config, args.overrides)))
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``quickstart`` to the ``vidllm`` parser's subcommands; returns its runner."""
    _add_quickstart(sub)
    return {"quickstart": run_quickstart}
