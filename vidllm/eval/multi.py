"""Several benchmarks on one model load: ``vidllm eval --tasks charades_sta,qvhighlights,youcook2 ...``.

Each task is an ordinary evaluation run (:func:`vidllm.eval.runner.evaluate`) of its own config -- its
``eval_configs/<task>.yaml``, then the shared flags, then ``key=value`` overrides for all tasks, then
``<task>.key=value`` overrides for that task only -- in its own folder ``OUT/<task>/`` (samples, predictions,
``results.json``), so each is resumable and shardable exactly as a single run. The model is loaded once, the first
time a task has something to generate (a finished folder is only rescored), and reused by every task. The end
writes a combined summary: ``OUT/summary.json``, ``OUT/summary.md`` and a table on the terminal::

    vidllm eval --tasks charades_sta,qvhighlights --model_path BASE --lora_path RUN --output_dir eval_outputs/run1 \\
        qvhighlights.limit=100 batch_size=4
    torchrun --nproc_per_node=8 -m vidllm eval --tasks charades_sta,youcook2 --model_path BASE --lora_path RUN

The model, adapter and its runtime (``model.*``, ``lora_path``) are shared; a per-task override of them is refused,
as it would need another model load.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vidllm.config import load_config
from vidllm.eval.config import EvalConfig
from vidllm.eval.distributed import DistInfo, rank_device
from vidllm.eval.run_cli import _FLAGS, EVAL_CONFIG_DIR, _yaml_scalar
from vidllm.eval.runner import EvalResult, evaluate
from vidllm.eval.tasks import TASKS, get_task
from vidllm.io import write_json

logger = logging.getLogger(__name__)

SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
SHARED_ONLY = ("model", "lora_path")
"""Config fields that must be the same for every task of a run (one model load)."""
PER_TASK_FLAGS = ("dataset", "gt_path", "video_root", "video_template", "dataset_name", "output_dir", "tad_queries")
"""Flags of the single-task runners that make no sense for several tasks (set them as ``<task>.key=value``)."""
HEADLINE = 6
"""Metrics of each report shown in the summary table (``summary.json`` has them all)."""


def task_configs(
    names: Sequence[str], output_dir: str | Path, shared: Sequence[str] = (), *, labels: dict[str, str] | None = None
) -> dict[str, EvalConfig]:
    """The config of each task of a multi-task run.

    Args:
        names: Registered task names (``charades_sta``, ...), in run order.
        output_dir: The run's folder; task ``t`` writes to ``output_dir/t``.
        shared: ``key=value`` overrides; those starting with ``<task>.`` apply to that task only.
        labels: How the user wrote each override (for error messages).

    Raises:
        ValueError: An unknown or repeated task, an override for a task not in the run, or a per-task override of
            the shared model.
    """
    if not names:
        raise ValueError(f"--tasks lists no task; expected names among {', '.join(TASKS)}")
    for name in names:
        get_task(name)  # unknown names list the valid ones
    if len(set(names)) != len(names):
        raise ValueError(f"--tasks lists a task twice: {','.join(names)}")
    common, own = [], {n: [] for n in names}
    for item in shared:
        head, _, rest = item.partition(".")
        if head in TASKS and "=" in rest:
            if head not in own:
                raise ValueError(f"override {item!r} is for task {head!r}, which is not in --tasks {','.join(names)}")
            if rest.split("=", 1)[0].split(".")[0] in SHARED_ONLY:
                raise ValueError(f"override {item!r}: the model and adapter are shared by all tasks (one load); set "
                                 "them without the task prefix")  # fmt: skip
            own[head].append(rest)
        else:
            common.append(item)
    cfgs = {}
    for name in names:
        task = get_task(name)
        yaml = EVAL_CONFIG_DIR / f"{name}.yaml"
        overrides = [f"dataset={name}", f"tasks=[{','.join(task.asks)}]", *common, *own[name],
                     f"output_dir={_yaml_scalar(str(Path(output_dir) / name))}"]  # fmt: skip
        cfgs[name] = load_config(EvalConfig, yaml if yaml.is_file() else None, overrides, labels=labels)
    return cfgs


class LazyAdapter:
    """The model adapter, loaded the first time it is used (a run whose tasks are all done never loads it)."""

    def __init__(self, cfg: EvalConfig, dist: DistInfo):
        self._cfg, self._dist, self._adapter = cfg, dist, None

    @property
    def loaded(self) -> bool:
        """Whether the model was loaded."""
        return self._adapter is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._adapter is None:
            from vidllm.eval.model_source import load_model

            model_cfg = dataclasses.replace(self._cfg.model, device=rank_device(self._cfg.model.device, self._dist))
            self._adapter = load_model(model_cfg, self._cfg.lora_path).adapter
            logger.info("model loaded once for every task of the run")
        return getattr(self._adapter, name)


@dataclass
class MultiResult:
    """What a multi-task run returns on rank 0.

    Attributes:
        output_dir: The run's folder.
        results: Each task's result, in run order.
        questions: Each task's questions (``mr``, ``vhd``, ...).
        files: ``summary_json``, ``summary_md``.
        model_loads: How many times the model was loaded (0 or 1).
    """

    output_dir: Path
    results: dict[str, EvalResult]
    questions: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    model_loads: int = 0

    def summary(self) -> dict[str, Any]:
        """Per task: its questions, sample counts, metrics, and where its ``results.json`` is."""
        return {
            name: {
                "questions": self.questions.get(name),
                "counts": r.counts,
                "metrics": r.metrics,
                "results": str(r.files.get("results")),
            }
            for name, r in self.results.items()
        }

    def rows(self) -> list[tuple[str, str, str, str]]:
        """``(task, samples, metric, value)`` rows of the summary table: the first metrics of each report."""
        rows = []
        for name, r in self.results.items():
            samples = f"{r.counts.get('ok', 0)}/{r.counts['samples']}"
            for report in r.reports.values():
                for metric, value in list(report.metrics.items())[:HEADLINE]:
                    rows.append((name, samples, metric, _fmt(value)))
        return rows

    def markdown(self) -> str:
        """The summary table in Markdown (``summary.md``)."""
        lines = ["| task | answered/samples | metric | value |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in self.rows()]
        return "\n".join(lines) + "\n"

    def print(self, console: Console | None = None) -> None:
        """The summary table and where the files are."""
        console = console or Console()
        table = Table(title="vidllm eval --tasks", title_justify="left")
        for col, justify in (("task", "left"), ("answered/samples", "right"), ("metric", "left"), ("value", "right")):
            table.add_column(col, justify=justify)
        for row in self.rows():
            table.add_row(*row)
        console.print(table)
        console.print(f"summary: {self.files.get('summary_json')}, {self.files.get('summary_md')}", highlight=False)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.2f}"
    return str(value)


def evaluate_tasks(
    cfgs: dict[str, EvalConfig], output_dir: str | Path, *, adapter: Any = None, dist: DistInfo | None = None
) -> MultiResult | None:
    """Run each task's evaluation with one model (see the module docstring); rank 0 returns the summary.

    Args:
        cfgs: Task name -> its config (:func:`task_configs`).
        output_dir: The run's folder (summary files).
        adapter: An already loaded adapter (tests, notebooks); default: loaded once when first needed.
        dist: Rank and world size (default: from the torchrun environment).

    Raises:
        ValueError: Tasks whose configs name different models or adapters, or a config that cannot run.
        FileNotFoundError: A task's ground-truth file is missing (checked for every task before any runs).
    """
    dist = dist or DistInfo.from_env()
    first = next(iter(cfgs.values()))
    for name, cfg in cfgs.items():
        cfg.check_runnable()
        if (cfg.model, cfg.lora_path) != (first.model, first.lora_path):
            raise ValueError(f"task {name} names another model or adapter than the first task; one multi-task run "
                             "loads one model: run it separately")  # fmt: skip
        if not Path(cfg.gt_path).is_file():
            raise FileNotFoundError(f"task {name}: no ground-truth file {cfg.gt_path}; set {name}.gt_path=PATH")
    shared = adapter if adapter is not None else LazyAdapter(first, dist)
    results: dict[str, EvalResult] = {}
    for name, cfg in cfgs.items():
        logger.info("task %s -> %s", name, cfg.output_dir)
        result = evaluate(cfg, adapter=shared, dist=dist)
        if result is not None:
            results[name] = result
    if not dist.is_main:
        return None
    out = Path(output_dir)
    loads = int(shared.loaded) if isinstance(shared, LazyAdapter) else 0
    multi = MultiResult(out, results, {n: list(c.tasks) for n, c in cfgs.items()}, model_loads=loads)
    multi.files["summary_json"] = write_json({"tasks": multi.summary(), "model_loads": loads},
                                             out / SUMMARY_JSON)  # fmt: skip
    (out / SUMMARY_MD).write_text(multi.markdown(), encoding="utf-8")
    multi.files["summary_md"] = out / SUMMARY_MD
    return multi


# ------------------------------------------------------------------------------------------------ command line


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``vidllm eval --tasks ...``."""
    parser = argparse.ArgumentParser(prog="vidllm eval", description="several benchmarks on one model load "
                                     "(vidllm eval RUNNER ... runs one: mr, hd, dvc, vs, tad)")  # fmt: skip
    parser.add_argument("--tasks", required=True, help=f"comma-separated benchmarks: {', '.join(TASKS)}")
    for flag, key, typ, text in _FLAGS:
        if key.split(".")[0] not in PER_TASK_FLAGS:
            parser.add_argument(flag, dest=key.replace(".", "__"), type=typ, default=None,
                                metavar=flag.lstrip("-").upper(), help=text)  # fmt: skip
    parser.add_argument("--output_dir", help="run folder (default eval_outputs/tasks/<model>); OUT/<task> per task")
    parser.add_argument("--overwrite", action="store_true", default=None, help="discard earlier samples")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="any EvalConfig field for every task, or <task>.key=value for one (e.g. "
                        "charades_sta.gt_path=data/cs.json)")  # fmt: skip
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[dict[str, EvalConfig], Path]:
    """The task configs and the run folder of parsed ``vidllm eval --tasks`` arguments."""
    overrides, labels = [], {}
    for flag, key, _, _ in _FLAGS:
        value = getattr(args, key.replace(".", "__"), None)
        if value is not None and key.split(".")[0] not in PER_TASK_FLAGS:
            overrides.append(f"{key}={_yaml_scalar(value)}")
            labels[key] = f"{flag} {value}"
    if args.overwrite:
        overrides.append("overwrite=true")
    names = [n.strip() for n in args.tasks.split(",") if n.strip()]
    model = next((v for v in (args.lora_path, args.model__path) if v), None) or "model"
    out = Path(args.output_dir or Path("eval_outputs") / "tasks" / (Path(model).name or "model"))
    return task_configs(names, out, [*overrides, *args.overrides], labels=labels), out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vidllm eval --tasks``: bad input prints one line to stderr and exits with 2."""
    from vidllm.errors import run_command

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    def run() -> int:
        cfgs, out = config_from_args(args)
        result = evaluate_tasks(cfgs, out)
        if result is not None:
            for name, r in result.results.items():
                Console().rule(name)
                r.print()
            result.print()
        return 0

    return run_command("vidllm eval --tasks", run)
