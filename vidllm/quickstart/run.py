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

Layout of ``output_dir``::

    model_init/              the randomly initialised model every run starts from
    heldout/                 held-out videos, VTG-IT file and ground truth
    runs/<name>/             training runs (loadable by vidllm.models and eval/mr.py)
    eval/<name>/             samples.jsonl, results.json, plots/timelines.png ...
    summary.md, summary.json

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
from vidllm.quickstart.config import QuickstartConfig
from vidllm.quickstart.model import count_parameters, write_scratch_model
from vidllm.quickstart.variants import VARIANTS, get_variant

logger = logging.getLogger(__name__)

HELDOUT_SEED_OFFSET = 1_000_003
"""The held-out set's seed is ``seed + HELDOUT_SEED_OFFSET`` (a stream of its own, apart from the training stream)."""

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
    """

    name: str
    description: str
    metrics: dict[str, float]
    minutes: float = 0.0
    unparsed: int = 0
    files: dict[str, str] = field(default_factory=dict)


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


# --------------------------------------------------------------------------------------------------- 1-2. inputs


def write_heldout(cfg: QuickstartConfig, out: Path) -> dict[str, Path]:
    """The held-out benchmark (kept when already written with the same settings)."""
    from vidllm.synthetic.benchmark import write_benchmark

    return write_benchmark(
        out,
        num_videos=cfg.test_videos,
        spec=cfg.scenes.spec(),
        seed=cfg.seed + HELDOUT_SEED_OFFSET,
        split="test",
        video_fps=2 * cfg.fps,  # a multiple of the sampling rate: every sampled frame is a written frame
        size=(cfg.scenes.size, cfg.scenes.size),
        tasks=tuple(cfg.scenes.tasks),
    )


def initial_model(cfg: QuickstartConfig, out: Path) -> Path:
    """The randomly initialised model every run starts from (written once)."""
    if not (out / "config.json").is_file():
        write_scratch_model(out, cfg.model, seed=cfg.seed)
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
            family="qwen2_vl",
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
    from vidllm.train.recipe import run

    done = run_dir / "quickstart_train.json"
    if done.is_file():
        logger.info("%s: already trained, kept", run_dir)
        return float(json.loads(done.read_text())["minutes"])
    start = time.perf_counter()
    run(train_config(cfg, variant, frames, init, run_dir))
    minutes = (time.perf_counter() - start) / 60
    done.write_text(json.dumps({"minutes": minutes, "variant": variant, "frames": frames}))
    return minutes


# ------------------------------------------------------------------------------------------------------- 4. eval


def eval_config(cfg: QuickstartConfig, init: Path, run_dir: Path, bench: dict[str, Path], out: Path):
    """The :class:`~vidllm.eval.config.EvalConfig` of one model on the held-out set (what ``eval/mr.py`` runs)."""
    from vidllm.eval.config import EvalConfig, GenerationConfig, SamplingConfig
    from vidllm.models.config import ModelConfig
    from vidllm.synthetic.tasks import PROMPTS

    return EvalConfig(
        dataset="synthetic",
        tasks=["mr"],
        gt_path=str(bench["tvg"]),
        video_root=str(bench["videos"]),
        model=ModelConfig(
            family="qwen2_vl", path=str(init), dtype="float32", attn_implementation="sdpa", device="cpu"
        ),  # fmt: skip
        lora_path=str(run_dir),
        sampling=SamplingConfig(fps=cfg.fps, backend="pyav"),
        generation=GenerationConfig(max_new_tokens=40),
        prompt=PROMPTS["mr"],
        output_dir=str(out),
        batch_size=cfg.eval_batch_size,
        num_workers=1,
        plots=True,
        java=False,
    )


def evaluate_model(cfg: QuickstartConfig, init: Path, run_dir: Path, bench: dict[str, Path], out: Path):
    """Evaluate one trained model; returns ``(metrics, unparsed count, files)``."""
    from vidllm.eval.runner import evaluate

    result = evaluate(eval_config(cfg, init, run_dir, bench, out))
    metrics = {m: float(result.metrics[m]) for m in METRICS}
    files = {k: str(v) for k, v in result.files.items() if isinstance(v, (str, Path))}
    return metrics, int(result.counts.get("unparseable", 0)), files


# -------------------------------------------------------------------------------------------- 5. baselines, table


def constant_baseline(cfg: QuickstartConfig, gt_path: Path) -> tuple[tuple[float, float], dict[str, float]]:
    """Fit the best constant span on the training stream's first questions; score it on the held-out set."""
    import dataclasses

    import numpy as np

    from vidllm.eval import tvg
    from vidllm.synthetic.dataset import draw_record

    scenes = dataclasses.replace(cfg.scenes, seed=cfg.seed, tasks=["mr"])
    targets = np.array([draw_record(scenes, i)[0].targets.intervals[0] for i in range(cfg.constant_fit_samples)])
    span = best_constant_span(targets)
    gt = tvg.load_ground_truth(gt_path)
    report = tvg.score({qid: [list(span)] for qid in gt}, gt)
    return span, {m: float(report.metrics[m]) for m in METRICS}


def run(cfg: QuickstartConfig) -> Summary:
    """Generate, train, evaluate, compare (see the module docstring); returns the summary (also written to
    ``output_dir``)."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "quickstart.yaml")
    bench = write_heldout(cfg, out / "heldout")
    init = initial_model(cfg, out / "model_init")
    rows = []
    for name, variant, frames in cfg.runs():
        logger.info("training %s (%s, %s frames, %d steps x %d samples)", name, variant, frames, cfg.steps,
                    cfg.batch_size)  # fmt: skip
        run_dir = out / "runs" / name
        minutes = train_model(cfg, variant, frames, init, run_dir)
        metrics, unparsed, files = evaluate_model(cfg, init, run_dir, bench, out / "eval" / name)
        description = VARIANTS[variant].description
        if frames != "real":
            description = f"blind: same model, frames {frames} in time"
        rows.append(Row(name, description, metrics, minutes, unparsed, files))
        logger.info("%s: %s", name, ", ".join(f"{k} {v:.1f}" for k, v in metrics.items()))
    if cfg.baselines:
        span, metrics = constant_baseline(cfg, bench["tvg"])
        rows.append(Row("constant", f"always answer {span[0]:g} - {span[1]:g} s (best on training questions)",
                        metrics))  # fmt: skip
    questions = len(Path(bench["records"]).read_text(encoding="utf-8").splitlines())
    summary = Summary(rows, out, questions, count_parameters(init))
    write_summary(cfg, summary)
    return summary


def event_count(cfg: QuickstartConfig) -> str:
    """``"1 event"`` or ``"1-3 events"``."""
    low, high = cfg.scenes.num_events
    return "1 event" if low == high == 1 else f"{low}-{high} events" if low != high else f"{low} events"


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
        f"Predicted vs. true intervals of {main.name}: {timeline_plot(out, main.name)}",
    ]
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data: dict[str, Any] = {
        "config": to_dict(cfg),
        "parameters": summary.parameters,
        "questions": summary.questions,
        "rows": [r.__dict__ for r in summary.rows],
    }
    (out / "summary.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
