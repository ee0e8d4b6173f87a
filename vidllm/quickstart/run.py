"""``vidllm quickstart``: the whole toolkit on a laptop CPU, with no download.

1. **Benchmark**: a held-out set of synthetic videos (mp4) with VTG-IT questions and ground truth
   (:func:`vidllm.synthetic.benchmark.write_benchmark`).
2. **Model**: a Qwen2-VL of the real architecture with random weights (:mod:`vidllm.quickstart.model`).
3. **Training**: the training recipe (:mod:`vidllm.train.recipe`) on fresh synthetic samples, with the time
   components of the chosen variant; then the same for the blind model (frames shuffled in time) and each ablation
   variant.
4. **Evaluation**: the evaluation runner (:mod:`vidllm.eval.runner`, what ``eval/mr.py`` runs) on the held-out
   videos: answers parsed by :mod:`vidllm.time`, R1@0.3/0.5/0.7 and mIoU, timeline plots.
5. **Baselines and summary**: the best constant span fitted on the training questions; one table with every model,
   written to ``summary.md`` / ``summary.json``.
6. **RL stage** (``rl.enabled=true``): the main model continued on a fresh stream with GRPO (``<variant>+grpo``,
   :mod:`vidllm.train.rl`) and with more SFT for the same steps and sequences (``<variant>+sft``), both evaluated
   on every suite.

Layout of ``output_dir``::

    model_init/              the randomly initialised model every run starts from
    heldout/                 in-distribution held-out videos, VTG-IT file and ground truth
    heldout_<suite>/         each shifted suite (``test.fps``, ``test.durations``), e.g. heldout_4fps_8-24s
    runs/<name>/             training runs (loadable by vidllm.models and eval/mr.py; <variant>+grpo, +sft: RL stage)
    eval/<name>/             samples.jsonl, results.json, plots/timelines.png ... (in distribution)
    eval_suites/<suite>/<name>/   the same on each shifted suite
    summary.md, summary.json, suites.png (R1@0.5 per model and suite)

With several ``families`` or ``seeds``, each (family, seed) is such a folder, ``<family>_seed<seed>/``, and the
top-level summary gives the mean and standard deviation over seeds.

Reruns continue: finished trainings and evaluated samples are kept.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidllm.config import save_config, to_dict
from vidllm.quickstart.baselines import best_constant_span
from vidllm.quickstart.config import QuickstartConfig, Suite
from vidllm.quickstart.model import count_parameters, write_scratch_model
from vidllm.quickstart.variants import VARIANTS, get_variant

logger = logging.getLogger(__name__)

HELDOUT_SEED_OFFSET = 1_000_003
"""The held-out set's seed is ``seed + HELDOUT_SEED_OFFSET`` (a stream of its own, apart from the training stream)."""

RL_SEED_OFFSET = 2_000_029
"""The RL stage's fresh training stream has seed ``seed + RL_SEED_OFFSET`` (neither the SFT stream nor a held-out
set)."""

METRICS = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")


@dataclass
class Row:
    """One line of the summary table.

    Attributes:
        name: Run name (variant, ``blind_<variant>`` or ``constant``).
        description: What it is.
        metrics: ``R1@0.3``, ``R1@0.5``, ``R1@0.7``, ``mIoU`` (percent) on the held-out questions.
        minutes: Training time (0 for the constant span).
        unparsed: Answers without a readable interval (scored as misses).
        files: Where its outputs are.
        suites: ``{suite: {metric: value}}`` on every held-out suite (the in-distribution one included).
        spread: The same layout, standard deviations over seeds (aggregated summaries only).
    """

    name: str
    description: str
    metrics: dict[str, float]
    minutes: float = 0.0
    unparsed: int = 0
    files: dict[str, str] = field(default_factory=dict)
    suites: dict[str, dict[str, float]] = field(default_factory=dict)
    spread: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class Summary:
    """The result of a quickstart run: the table rows (main model first) and where everything is."""

    rows: list[Row]
    output_dir: Path
    questions: int
    parameters: int

    def row(self, name: str) -> Row:
        """The row of run ``name``."""
        return next(r for r in self.rows if r.name == name)

    def markdown(self) -> str:
        """The table as markdown."""
        head = "| model | " + " | ".join(METRICS) + " | train min | unparsed |"
        lines = [head, "|" + "---|" * (len(METRICS) + 3)]
        for r in self.rows:
            values = " | ".join(f"{r.metrics.get(m, float('nan')):.1f}" for m in METRICS)
            lines.append(f"| {r.name}: {r.description} | {values} | {r.minutes:.1f} | {r.unparsed} |")
        return "\n".join(lines)

    def suite_names(self) -> list[str]:
        """The held-out suites of the table, in-distribution first."""
        return list(self.rows[0].suites) if self.rows else []

    def suites_markdown(self) -> str:
        """R1@0.5 / mIoU of every model on every suite (mean +- std over seeds when aggregated)."""
        names = self.suite_names()
        lines = ["| model | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
        for r in self.rows:
            lines.append(f"| {r.name} | " + " | ".join(suite_cell(r, n) for n in names) + " |")
        return "\n".join(lines)


def suite_cell(row: Row, suite: str) -> str:
    """``"92.0 / 83.8"`` (R1@0.5 / mIoU), with ``+- std`` when the row has a spread."""
    m, sd = row.suites.get(suite, {}), row.spread.get(suite, {})
    if not m:
        return "-"
    if sd:
        return f"{m['R1@0.5']:.1f}±{sd['R1@0.5']:.1f} / {m['mIoU']:.1f}±{sd['mIoU']:.1f}"
    return f"{m['R1@0.5']:.1f} / {m['mIoU']:.1f}"


# --------------------------------------------------------------------------------------------------- 1-2. inputs


def suite_scenes(cfg: QuickstartConfig, suite: Suite):
    """The scenes of a held-out suite: the training scenes at the suite's lengths (events shortened to fit)."""
    import dataclasses

    low, high = cfg.scenes.event_length
    shortest = suite.duration[0]
    return dataclasses.replace(cfg.scenes, duration=list(suite.duration), fps=[],
                               event_length=[min(low, shortest), min(high, shortest)])  # fmt: skip


def heldout_dir(out: Path, cfg: QuickstartConfig, suite: Suite) -> Path:
    """``heldout/`` for the in-distribution suite, ``heldout_<suite>/`` for the others."""
    return out / "heldout" if suite == cfg.suites()[0] else out / f"heldout_{suite.name}"


def write_heldout(cfg: QuickstartConfig, out: Path, suite: Suite | None = None) -> dict[str, Path]:
    """A held-out suite's benchmark (the in-distribution one by default; kept when already written)."""
    from vidllm.synthetic.heldout import HeldoutConfig, write_heldout

    suite = suite or cfg.suites()[0]
    first = suite == cfg.suites()[0]
    spec = HeldoutConfig(
        n=cfg.test_videos if first else cfg.test.videos or cfg.test_videos,
        seed=cfg.seed + HELDOUT_SEED_OFFSET,
        fps=suite.fps,  # written at twice the rate: every sampled frame is a written frame
        scenes=suite_scenes(cfg, suite),
    )
    return write_heldout(spec, out)


def initial_model(cfg: QuickstartConfig, out: Path) -> Path:
    """The randomly initialised model every run starts from (written once)."""
    if not (out / "config.json").is_file():
        write_scratch_model(out, cfg.model, seed=cfg.seed, family=cfg.families[0])
    return out


# ------------------------------------------------------------------------------------------------------ 3. train


def train_config(cfg: QuickstartConfig, variant: str, frames: str, init: Path, run_dir: Path):
    """The :class:`~vidllm.train.config.TrainConfig` of one quickstart model: full training from scratch on the
    synthetic stream."""
    import dataclasses

    from vidllm.models.config import ModelConfig
    from vidllm.train.config import CheckpointConfig, DataConfig, LoggingConfig, OptimConfig, TrainConfig, TuningConfig

    v = get_variant(variant)
    side = cfg.model.frame
    return TrainConfig(
        model=ModelConfig(
            family=cfg.families[0],
            path=str(init),
            dtype="float32",
            attn_implementation="sdpa",
            device="cpu",
            time=v.time,
            compression=v.compression,
        ),  # fmt: skip
        data=DataConfig(
            fps=cfg.fps,
            max_frames=None,
            max_pixels=side * side,
            min_pixels=side * side,
            max_length=1024,
            num_workers=cfg.workers,
            synthetic=dataclasses.replace(cfg.scenes, seed=cfg.seed, frames=frames),
        ),
        tuning=TuningConfig(mode="full", train_vision=True, train_projector=True, train_time_modules=True),
        optim=OptimConfig(
            lr=cfg.lr,
            time_lr=cfg.time_lr,
            scheduler="linear",
            warmup_ratio=cfg.warmup_ratio,
            max_steps=cfg.steps,
            batch_size=cfg.batch_size,
            bf16=False,
            gradient_checkpointing=False,
            seed=cfg.seed,
        ),
        checkpoint=CheckpointConfig(output_dir=str(run_dir), save_steps=max(cfg.steps // 4, 1), save_total_limit=1),
        logging=LoggingConfig(steps=max(cfg.steps // 20, 1), report_to=[]),
        resume=True,
    )


def train_model(cfg: QuickstartConfig, variant: str, frames: str, init: Path, run_dir: Path) -> float:
    """Train one model unless ``run_dir`` already holds its final save; returns the minutes it took (or took)."""
    return train_once(train_config(cfg, variant, frames, init, run_dir), {"variant": variant, "frames": frames})


def train_once(train_cfg, meta: dict[str, Any]) -> float:
    """Run the training recipe on ``train_cfg`` unless its run folder already holds the final save (marked by
    ``quickstart_train.json``); returns the minutes it took (or took)."""
    from vidllm.train.recipe import run

    run_dir = Path(train_cfg.checkpoint.output_dir)
    done = run_dir / "quickstart_train.json"
    if done.is_file():
        kept = json.loads(done.read_text())
        logger.info("%s: already trained, kept", run_dir)
        if "settings" in meta and kept.get("settings") != meta["settings"]:
            logger.warning("%s was trained with other settings (%s) than asked (%s); delete the folder to retrain",
                           run_dir, kept.get("settings"), meta["settings"])  # fmt: skip
        return float(kept["minutes"])
    start = time.perf_counter()
    run(train_cfg)
    minutes = (time.perf_counter() - start) / 60
    done.write_text(json.dumps({"minutes": minutes, **meta}))
    return minutes


def continuation_config(cfg: QuickstartConfig, variant: str, start: Path, run_dir: Path, method: str):
    """The RL stage's training config: the model in ``start`` (the main SFT run) continued on a fresh synthetic stream
    (seed ``seed + RL_SEED_OFFSET``) with GRPO (``method="grpo"``) or with more SFT (``"sft"``, the baseline), at a
    constant ``rl.lr`` (``rl.sft_lr``)."""
    import dataclasses

    from vidllm.train.config import CheckpointConfig, LoggingConfig

    rl = cfg.rl
    base = train_config(cfg, variant, "real", start, run_dir)
    steps = rl.steps if method == "grpo" else rl.sft_steps or rl.steps
    lr = rl.lr if method == "grpo" else rl.sft_lr or rl.lr
    data = dataclasses.replace(
        base.data, synthetic=dataclasses.replace(base.data.synthetic, seed=rl_stream_seed(cfg))
    )  # fmt: skip
    optim = dataclasses.replace(base.optim, lr=lr, time_lr=None, scheduler="constant", warmup_ratio=0.0,
                                max_steps=steps, batch_size=rl.batch_size)  # fmt: skip
    return dataclasses.replace(
        base,
        method=method,
        rl=rl.settings(),
        data=data,
        optim=optim,
        checkpoint=CheckpointConfig(output_dir=str(run_dir), save_steps=max(steps // 2, 1), save_total_limit=1),
        logging=LoggingConfig(steps=max(steps // 20, 1), report_to=[]),
    )


def rl_stream_seed(cfg: QuickstartConfig) -> int:
    """The seed of the RL stage's fresh stream: ``rl.stream_seed``, else ``seed + RL_SEED_OFFSET``."""
    return cfg.rl.stream_seed if cfg.rl.stream_seed is not None else cfg.seed + RL_SEED_OFFSET


def continuations(cfg: QuickstartConfig, start: Path, runs: Path) -> list[tuple[str, str, Any]]:
    """The RL stage's runs after the main model: ``(name, description, train config)``, GRPO first, then (with
    ``rl.more_sft``) the more-SFT baseline; ``[]`` when ``rl.enabled`` is false. Building them checks the settings
    (the GRPO path's refusals included), so a bad one fails before any training."""
    rl = cfg.rl
    if not rl.enabled:
        return []
    name = cfg.variant
    grpo = continuation_config(cfg, name, start, runs / f"{name}+grpo", "grpo")
    text = (f"{name} + {rl.steps} GRPO steps (G={rl.num_generations}, {rl.batch_size} completions, lr {rl.lr:g}, "
            f"T={rl.temperature:g})")  # fmt: skip
    out = [(f"{name}+grpo", text, grpo)]
    if rl.more_sft:
        sft = continuation_config(cfg, name, start, runs / f"{name}+sft", "sft")
        out.append((f"{name}+sft", f"{name} + {sft.optim.max_steps} more SFT steps x {rl.batch_size} samples, lr "
                    f"{sft.optim.lr:g} (baseline)", sft))  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------------- 4. eval


def eval_config(
    cfg: QuickstartConfig, init: Path, run_dir: Path, bench: dict[str, Path], out: Path, fps: float | None = None
):
    """The :class:`~vidllm.eval.config.EvalConfig` of one model on a held-out set sampled at ``fps`` (default: the
    main ``fps``): what ``eval/mr.py ... sampling.fps=...`` runs."""
    from vidllm.eval.config import EvalConfig, GenerationConfig, SamplingConfig
    from vidllm.models.config import ModelConfig
    from vidllm.synthetic.tasks import PROMPTS

    return EvalConfig(
        dataset="synthetic",
        tasks=["mr"],
        gt_path=str(bench["tvg"]),
        video_root=str(bench["videos"]),
        model=ModelConfig(
            family=cfg.families[0], path=str(init), dtype="float32", attn_implementation="sdpa", device="cpu"
        ),  # fmt: skip
        lora_path=str(run_dir),
        sampling=SamplingConfig(fps=fps or cfg.fps, backend="pyav"),
        generation=GenerationConfig(max_new_tokens=40),
        prompt=PROMPTS["mr"],
        output_dir=str(out),
        batch_size=cfg.eval_batch_size,
        num_workers=1,
        plots=True,
        java=False,
    )


def evaluate_model(
    cfg: QuickstartConfig, init: Path, run_dir: Path, bench: dict[str, Path], out: Path, fps: float | None = None
):
    """Evaluate one trained model; returns ``(metrics, unparsed count, files)``."""
    from vidllm.eval.runner import evaluate

    result = evaluate(eval_config(cfg, init, run_dir, bench, out, fps))
    metrics = {m: float(result.metrics[m]) for m in METRICS}
    files = {k: str(v) for k, v in result.files.items() if isinstance(v, (str, Path))}
    return metrics, int(result.counts.get("unparseable", 0)), files


# -------------------------------------------------------------------------------------------- 5. baselines, table


def constant_baseline(
    cfg: QuickstartConfig, gt_path: Path, suite: Suite | None = None
) -> tuple[tuple[float, float], dict[str, float]]:
    """Fit the best constant span on the first questions of the training stream drawn at the suite's lengths (the
    training stream itself for the in-distribution suite); score it on the suite's held-out set."""
    import dataclasses

    import numpy as np

    from vidllm.eval import tvg
    from vidllm.synthetic.dataset import draw_record

    scenes = suite_scenes(cfg, suite) if suite else cfg.scenes
    scenes = dataclasses.replace(scenes, seed=cfg.seed, tasks=["mr"])
    targets = np.array([draw_record(scenes, i)[0].targets.intervals[0] for i in range(cfg.constant_fit_samples)])
    span = best_constant_span(targets)
    gt = tvg.load_ground_truth(gt_path)
    report = tvg.score({qid: [list(span)] for qid in gt}, gt)
    return span, {m: float(report.metrics[m]) for m in METRICS}


def run(cfg: QuickstartConfig) -> Summary:
    """Generate, train, evaluate, compare (see the module docstring); returns the summary (also written to
    ``output_dir``). With several families or seeds, one run per (family, seed) and a summary over them."""
    if len(cfg.families) == 1 and len(cfg.seed_list()) == 1:
        return run_one(cfg)
    return run_grid(cfg)


def run_one(cfg: QuickstartConfig) -> Summary:
    """One family, one seed: every model trained, evaluated on every suite, and the constant span per suite."""
    import dataclasses

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = dataclasses.replace(cfg, seed=cfg.seed_list()[0], seeds=[])
    save_config(cfg, out / "quickstart.yaml")
    init = out / "model_init"
    # the RL stage continues the main model's run folder; its settings are checked here, before any work
    planned = continuations(cfg, out / "runs" / cfg.variant, out / "runs")
    suites = cfg.suites()
    benches = {s.name: write_heldout(cfg, heldout_dir(out, cfg, s), s) for s in suites}
    bench = benches[suites[0].name]
    init = initial_model(cfg, init)

    def scored(name: str, description: str, minutes: float, run_dir: Path) -> Row:
        metrics, unparsed, files = evaluate_model(cfg, init, run_dir, bench, out / "eval" / name)
        row = Row(name, description, metrics, minutes, unparsed, files, suites={suites[0].name: metrics})
        for s in suites[1:]:
            shifted = out / "eval_suites" / s.name / name
            row.suites[s.name] = evaluate_model(cfg, init, run_dir, benches[s.name], shifted, s.fps)[0]
        logger.info("%s: %s", name, ", ".join(f"{k} {v:.1f}" for k, v in metrics.items()))
        return row

    rows = []
    for name, variant, frames in cfg.runs():
        logger.info("training %s (%s, %s frames, %d steps x %d samples)", name, variant, frames, cfg.steps,
                    cfg.batch_size)  # fmt: skip
        run_dir = out / "runs" / name
        minutes = train_model(cfg, variant, frames, init, run_dir)
        description = VARIANTS[variant].description
        if frames != "real":
            description = f"blind: same model, frames {frames} in time"
        rows.append(scored(name, description, minutes, run_dir))
        if name != cfg.variant:
            continue
        for rl_name, rl_description, train_cfg in planned:  # the RL stage: the main model continued
            logger.info("RL stage: training %s (%s)", rl_name, rl_description)
            meta = {"variant": variant, "method": train_cfg.method, "start": str(run_dir), "settings": to_dict(cfg.rl)}
            rl_minutes = train_once(train_cfg, meta)
            rows.append(scored(rl_name, rl_description, rl_minutes, Path(train_cfg.checkpoint.output_dir)))
    if cfg.baselines:
        span, metrics = constant_baseline(cfg, bench["tvg"])
        row = Row("constant", f"always answer {span[0]:g} - {span[1]:g} s (best on training questions)", metrics,
                  suites={suites[0].name: metrics})  # fmt: skip
        for s in suites[1:]:  # fitted per suite: the best a model that knows only the answers' distribution does
            row.suites[s.name] = constant_baseline(cfg, benches[s.name]["tvg"], s)[1]
        rows.append(row)
    questions = len(Path(bench["records"]).read_text(encoding="utf-8").splitlines())
    summary = Summary(rows, out, questions, count_parameters(init))
    write_summary(cfg, summary)
    return summary


def seed_mean(name: str, seeds: list[Row]) -> Row:
    """One row of the same model over seeds: mean metrics, and per suite their standard deviation (``spread``)."""
    import numpy as np

    def mean(values: list[dict[str, float]]) -> dict[str, float]:
        return {k: float(np.mean([v[k] for v in values])) for k in values[0]}

    def std(values: list[dict[str, float]]) -> dict[str, float]:
        return {k: float(np.std([v[k] for v in values])) for k in values[0]}

    row = Row(name, seeds[0].description, mean([r.metrics for r in seeds]), float(np.mean([r.minutes for r in seeds])),
              int(sum(r.unparsed for r in seeds)))  # fmt: skip
    row.suites = {s: mean([r.suites[s] for r in seeds]) for s in seeds[0].suites}
    if len(seeds) > 1:
        row.spread = {s: std([r.suites[s] for r in seeds]) for s in seeds[0].suites}
    return row


def run_grid(cfg: QuickstartConfig) -> Summary:
    """Every (family, seed) in ``<family>_seed<seed>/``; the summary's rows are ``<family>/<name>`` with the mean
    over seeds and their standard deviation (``Row.spread``)."""
    import dataclasses

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "quickstart.yaml")
    per_seed: dict[str, list[Row]] = {}
    done = []
    for family in cfg.families:
        for seed in cfg.seed_list():
            sub = dataclasses.replace(cfg, families=[family], seed=seed, seeds=[],
                                      output_dir=str(out / f"{family}_seed{seed}"))  # fmt: skip
            done.append(run_one(sub))
            for r in done[-1].rows:
                per_seed.setdefault(f"{family}/{r.name}", []).append(r)
    rows = [seed_mean(name, seeds) for name, seeds in per_seed.items()]
    summary = Summary(rows, out, done[0].questions, done[0].parameters)
    write_summary(cfg, summary)
    return summary


def event_count(cfg: QuickstartConfig) -> str:
    """``"1 event"`` or ``"1-3 events"``."""
    low, high = cfg.scenes.num_events
    return "1 event" if low == high == 1 else f"{low}-{high} events" if low != high else f"{low} events"


def suite_legend(cfg: QuickstartConfig) -> str:
    """What the suites are: the first is in distribution."""
    rates = f"{cfg.scenes.fps[0]:g}-{cfg.scenes.fps[1]:g}" if cfg.scenes.fps else f"{cfg.fps:g}"
    low, high = cfg.scenes.duration
    length = f"{low:g}" if low == high else f"{low:g}-{high:g}"
    return f"trained at {rates} fps on {length}-s videos; the first suite is in distribution"


def suites_plot(summary: Summary) -> Path | None:
    """A heat map of R1@0.5, models x suites, as ``suites.png`` (``None`` with a single suite)."""
    names = summary.suite_names()
    if len(names) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    values = np.array([[r.suites.get(n, {}).get("R1@0.5", np.nan) for n in names] for r in summary.rows])
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 3, 0.45 * len(summary.rows) + 1.5))
    ax.imshow(values, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(summary.rows)), [r.name for r in summary.rows])
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", color="white" if v < 60 else "black", fontsize=8)
    ax.set_title("R1@0.5 on each held-out suite")
    fig.tight_layout()
    path = summary.output_dir / "suites.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def timeline_plot(out: Path, name: str) -> Path:
    """The evaluation's plot of predicted vs. true intervals for run ``name``."""
    return out / "eval" / name / "plots" / "timeline.png"


def write_summary(cfg: QuickstartConfig, summary: Summary) -> None:
    """``summary.md`` (the table and what was run) and ``summary.json`` (every number)."""
    out = summary.output_dir
    main = summary.rows[0]
    lines = [
        "# vidllm quickstart",
        "",
        f"Held-out: {cfg.test_videos} synthetic videos, {summary.questions} moment questions "
        f"({event_count(cfg)} of kind {' / '.join(cfg.scenes.kinds)} per video). "
        f"Model: Qwen2-VL architecture, {summary.parameters / 1e6:.2f}M parameters from scratch, "
        f"{cfg.steps} steps x {cfg.batch_size} fresh samples at {cfg.fps:g} fps.",
        "",
        summary.markdown(),
        "",
        f"Every held-out suite, R1@0.5 / mIoU ({suite_legend(cfg)}; seeds {cfg.seed_list()}, families "
        f"{', '.join(cfg.families)}):",
        "",
        summary.suites_markdown(),
        "",
        f"Predicted vs. true intervals of {main.name}: {timeline_plot(out, main.name)}",
    ]
    if cfg.rl.enabled:
        lines[6:6] = [
            f"RL stage: `+grpo` and `+sft` continue the SFT model on fresh samples (stream seed "
            f"{rl_stream_seed(cfg)}), GRPO rewarded by {cfg.rl.rewards} (loss {cfg.rl.loss_type}, beta "
            f"{cfg.rl.beta:g}) and more SFT with as many steps x {cfg.rl.batch_size} sequences unless rl.sft_steps "
            "says otherwise; their train min is the extra stage alone.",
            "",
        ]
    if suites_plot(summary) is not None:
        lines.append(f"R1@0.5 per model and suite: {out / 'suites.png'}")
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data: dict[str, Any] = {
        "config": to_dict(cfg),
        "parameters": summary.parameters,
        "questions": summary.questions,
        "rows": [r.__dict__ for r in summary.rows],
    }
    (out / "summary.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
