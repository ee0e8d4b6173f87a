"""The result of a scorer: metric values, the counts behind them, and a readable table."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass
class ScoreReport:
    """What a scorer returns.

    Attributes:
        task: Short name of the benchmark task (``tvg``, ``hd``, ``qvhl``, ``dvc``, ...).
        metrics: Metric name -> value, with the official evaluator's key names and units (percent where it prints
            percent). Insertion order is the order the table shows.
        counts: How many queries/videos were scored, missing, empty, unparseable, ... (name -> count).
        notes: Sentences a reader needs to trust the numbers (which official quirk was reproduced, what was skipped).
    """

    task: str
    metrics: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def flat(self) -> dict[str, float | int]:
        """Metric keys as they are, then the counts as ``num_<name>``: the JSON that ``--json`` writes."""
        return {**self.metrics, **{f"num_{k}": v for k, v in self.counts.items()}}

    def table(self) -> Table:
        """A rich table of the metrics."""
        table = Table(title=f"vidllm score {self.task}", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name, value in self.metrics.items():
            table.add_row(name, _fmt(value))
        return table

    def print(self, console: Console | None = None) -> None:
        """Print the table, then the counts and notes under it, to ``console`` (stdout by default)."""
        console = console or Console()
        console.print(self.table())
        if self.counts:
            console.print(", ".join(f"{k}: {v}" for k, v in self.counts.items()), highlight=False)
        for note in self.notes:
            console.print(f"- {note}", highlight=False)


def _fmt(value: float) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
    return str(value)
