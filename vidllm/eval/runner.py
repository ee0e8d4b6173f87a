"""The evaluation loop: ground truth -> queries -> batches -> generate -> parse -> one JSON line per sample -> scores.

:func:`evaluate` runs one :class:`~vidllm.eval.config.EvalConfig`::

    queries   the benchmark's ground truth (first ``limit`` entries) x the tasks, in file order
    batches   consecutive ``batch_size`` queries; under torchrun rank r takes batches r, r + N, ...
    per batch decode the videos (threads, ahead of time), build the prompts, generate once (left padding),
              read every answer with vidllm.time, append one line per sample to parts/rank<r>.jsonl
    at the end rank 0 merges the parts into samples.jsonl, writes the official prediction files and
              results.json, and (with ``plots``) the PNGs

**Resuming.** A rerun of the same command skips the samples that have a final line (``ok`` / ``unparseable``)
and retries those whose video failed. Batches are fixed by the query order, so a resumed run generates exactly the
batches an uninterrupted one would: a batch interrupted half-written is generated again whole and only its missing
lines are written. The final scores therefore equal an uninterrupted run's, and a sharded run's equal a single
process's (each batch is the same set of prompts whichever rank runs it). The output folder remembers the settings
that decide the answers (model and adapter hashes, sampling, prompts, generation, ground truth): resuming it with
other settings is refused, naming what changed.

**Checked before the model loads** (:mod:`vidllm.eval.preflight`): the video root holds the videos, a custom
prompt carries the query, the output folder and device are usable. Two runs never share an output folder: rank 0
holds its lock (:mod:`vidllm.eval.lock`) for the whole run.

**Failures never stop a run.** A missing or undecodable video, or an error while building inputs or generating,
becomes a line with that status; the sample is scored as an unreadable answer and counted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from tqdm import tqdm

import vidllm
from vidllm.config import to_dict
from vidllm.data import Record, eval_prompt, to_messages
from vidllm.data.prompts import fill
from vidllm.eval.benchmarks import (
    Benchmark,
    GroundTruth,
    Query,
    build_queries,
    get_benchmark,
    is_parsed,
    load_ground_truth,
    parse_answer,
    prompt_task,
    score_samples,
)
from vidllm.eval.confidence import can_score, confidences_of, generate_scored
from vidllm.eval.config import EvalConfig
from vidllm.eval.distributed import Barrier, DistInfo, rank_device
from vidllm.eval.lock import OutputLock
from vidllm.eval.model_source import (
    ResolvedSampling,
    detect_family,
    folder_hash,
    frame_read_kwargs,
    load_model,
    resolve_paths,
    resolve_sampling,
    saved_model_config,
    training_sampling,
)
from vidllm.eval.preflight import check_inputs
from vidllm.eval.report import ScoreReport
from vidllm.eval.samples import (
    MERGED,
    PARTS_DIR,
    SampleWriter,
    done_ids,
    part_path,
    read_parts,
    status_counts,
    write_merged,
)
from vidllm.eval.tasks import get_question
from vidllm.eval.video_loader import VideoLoader
from vidllm.io import read_json, write_json
from vidllm.models.components.frame_groups import group_times
from vidllm.video import VideoDecodeError

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
RESULTS_FILE = "results.json"


@dataclass
class EvalResult:
    """What rank 0 returns.

    Attributes:
        output_dir: The run's folder.
        reports: Score reports by scorer (``tvg``, ``qvhl``, ``hd``, ``dvc``, ``vs``).
        metrics: Every metric and scorer count, flat (as in ``results.json``).
        counts: Samples per status (``ok``, ``unparseable``, ``missing_video``, ``corrupt_video``, ``error``) and
            ``samples`` (queries of the run).
        files: Files written, by name (``samples``, ``results``, ``predictions``, ``submission``, ``plots``...).
    """

    output_dir: Path
    reports: dict[str, ScoreReport]
    metrics: dict[str, float | int]
    counts: dict[str, int]
    files: dict[str, Any] = field(default_factory=dict)

    def print(self, console: Console | None = None) -> None:
        """The score tables, the sample counts and where the files are."""
        console = console or Console()
        for report in self.reports.values():
            report.print(console)
        rest = ", ".join(f"{k}: {v}" for k, v in self.counts.items() if k != "samples")
        console.print(f"samples: {self.counts['samples']} ({rest})", highlight=False)
        console.print(f"results: {self.files.get('results')}", highlight=False)


# ------------------------------------------------------------------------------------------------------ the run


def evaluate(cfg: EvalConfig, *, adapter: Any = None, dist: DistInfo | None = None) -> EvalResult | None:
    """Run an evaluation (see the module docstring); resumes from the samples already in ``cfg.output_dir``.

    Args:
        cfg: The run.
        adapter: An already loaded model adapter to use instead of loading ``cfg.model`` / ``cfg.lora_path``
            (tests, notebooks). The paths in ``cfg`` still identify the run.
        dist: Rank and world size (default: from the torchrun environment).

    Returns:
        The scores on rank 0, ``None`` on the other ranks.

    Raises:
        ValueError: A config that cannot run, or an output folder written with other settings.
        FileNotFoundError: A missing ground-truth file or checkpoint folder.
        DataError: A malformed ground-truth file.
    """
    cfg.check_runnable()
    dist = dist or DistInfo.from_env()
    bench = get_benchmark(cfg.dataset)
    gt = load_ground_truth(bench, cfg.gt_path, tad_queries=cfg.tad_queries).select(cfg.limit)
    queries = build_queries(gt, cfg.tasks, cfg.video_template)
    if not queries:
        raise ValueError(f"{cfg.gt_path}: no query to evaluate")
    for task in cfg.tasks:  # a prompt set without the question of a task fails here, before the model loads
        make_prompt(cfg, bench, next(q for q in queries if q.task == task))
    out = output_dir(cfg)
    check_inputs(cfg, queries, out)  # video root, prompt, output folder, device: refused before the model loads
    identity = model_identity(cfg)
    sampling = resolve_sampling(cfg.sampling, identity["trained"])
    fingerprint = run_fingerprint(cfg, identity, sampling, gt)
    barrier = Barrier(dist, cfg.dist_timeout_minutes)
    lock = OutputLock(out)  # one evaluation per folder (rank 0 holds it for the run)
    try:
        if dist.is_main:
            lock.acquire()
            prepare_output(out, fingerprint, overwrite=cfg.overwrite)
        barrier.wait()
        existing = read_parts(out)
        done = done_ids(existing, retry_failed=cfg.retry_failed)
        batches = [queries[i : i + cfg.batch_size] for i in range(0, len(queries), cfg.batch_size)]
        todo = [(i, b) for i, b in enumerate(batches) if i % dist.world_size == dist.rank]
        todo = [(i, b) for i, b in todo if any(q.id not in done for q in b)]
        logger.info("rank %d/%d: %d of %d batches to run (%d samples done before)", dist.rank, dist.world_size,
                    len(todo), len(batches), len(done))  # fmt: skip
        if todo:
            if adapter is None:
                model_cfg = dataclasses.replace(cfg.model, device=rank_device(cfg.model.device, dist))
                adapter = load_model(model_cfg, cfg.lora_path).adapter
            run_batches(cfg, bench, adapter, sampling, todo, done, part_path(out, dist.rank), dist)
        barrier.wait()
        if not dist.is_main:
            return None
        return finalize(cfg, gt, queries, out, identity, sampling)
    finally:
        lock.release()
        barrier.close()


def output_dir(cfg: EvalConfig) -> Path:
    """``cfg.output_dir``, or ``eval_outputs/<dataset>-<tasks>/<adapter or model folder name>``."""
    if cfg.output_dir:
        return Path(cfg.output_dir)
    name = Path(cfg.lora_path or cfg.model.path).name or "model"
    return Path("eval_outputs") / f"{cfg.dataset}-{'+'.join(cfg.tasks)}" / name


def make_prompt(cfg: EvalConfig, bench: Benchmark, query: Query) -> str:
    """The question of a query: the custom template, or the prompt set's evaluation prompt for its task."""
    dataset = cfg.dataset_name or bench.dataset_name
    if cfg.prompt:
        return fill(cfg.prompt, query=query.entry.query, dataset=dataset)
    return eval_prompt(cfg.prompt_set, prompt_task(query.task), query=query.entry.query, dataset=dataset)


# ------------------------------------------------------------------------------------------ identity + fingerprint


def model_identity(cfg: EvalConfig) -> dict[str, Any]:
    """Paths, content hashes and training sampling of the model and adapter (no weights are loaded)."""
    base, lora, _ = resolve_paths(cfg.model, cfg.lora_path)
    lora_parent = str(Path(lora).resolve().parent) if lora else None
    return {
        "family": detect_family(base or None, lora, cfg.model.family),
        "model": folder_hash(base) if base else None,
        "adapter": folder_hash(lora) if lora else None,
        "trained": training_sampling(lora, lora_parent, base or None),
        "saved_config": saved_model_config(base or None, lora),
    }


def run_fingerprint(
    cfg: EvalConfig, identity: dict[str, Any], sampling: ResolvedSampling, gt: GroundTruth
) -> dict[str, Any]:
    """The settings that decide the answers (paths are left out: a moved checkpoint keeps its hash)."""
    model = {**to_dict(cfg.model), "family": identity["family"]}
    for runtime in ("path", "device", "attn_implementation"):
        model.pop(runtime)
    return {
        "dataset": cfg.dataset,
        "tasks": list(cfg.tasks),
        "ground_truth": hashlib.sha256(Path(gt.path).read_bytes()).hexdigest(),
        "model": {**model, "sha256": (identity["model"] or {}).get("sha256")},
        "adapter": (identity["adapter"] or {}).get("sha256"),
        "sampling": {k: v for k, v in sampling.read_kwargs().items() if k != "backend"},
        "prompt": {"prompt_set": cfg.prompt_set, "prompt": cfg.prompt, "dataset_name": cfg.dataset_name},
        "generation": asdict(cfg.generation),
        "video_template": cfg.video_template,
    }


def prepare_output(out: Path, fingerprint: dict[str, Any], *, overwrite: bool) -> None:
    """Create the folder, or check that its samples were made with the same settings (rank 0 only).

    Raises:
        ValueError: The folder holds samples of a run with other settings (unless ``overwrite``).
    """
    out.mkdir(parents=True, exist_ok=True)
    run_file = out / RUN_FILE
    has_samples = any((out / PARTS_DIR).glob("rank*.jsonl"))
    if overwrite:
        shutil.rmtree(out / PARTS_DIR, ignore_errors=True)
        (out / MERGED).unlink(missing_ok=True)
    elif has_samples and run_file.is_file():
        old = read_json(run_file).get("fingerprint", {})
        changed = [k for k in sorted(set(old) | set(fingerprint)) if old.get(k) != fingerprint.get(k)]
        if changed:
            raise ValueError(
                f"{out} holds samples of a run with other settings (changed: {', '.join(changed)}); resuming would "
                "mix their answers. Use another output_dir, or pass overwrite=true to discard the old samples"
            )
    write_json({"fingerprint": fingerprint, "vidllm": vidllm.__version__}, run_file)


# ---------------------------------------------------------------------------------------------------- generation


def run_batches(
    cfg: EvalConfig,
    bench: Benchmark,
    adapter: Any,
    sampling: ResolvedSampling,
    todo: Sequence[tuple[int, Sequence[Query]]],
    done: set[str],
    part: Path,
    dist: DistInfo,
) -> None:
    """Generate the batches of this rank and append their lines to ``part``."""
    capacity = cfg.video_cache + 2 * cfg.batch_size
    total = sum(q.id not in done for _, b in todo for q in b)
    started = time.perf_counter()
    read_kwargs = frame_read_kwargs(sampling, adapter)
    loader = VideoLoader(cfg.video_root, read_kwargs, workers=cfg.num_workers, capacity=capacity)
    with loader, SampleWriter(part) as writer, tqdm(total=total, desc=f"eval rank {dist.rank}", unit="sample",
                                                   position=dist.rank, leave=dist.is_main) as bar:  # fmt: skip
        loader.prefetch(q.video for q in todo[0][1])
        for n, (index, batch) in enumerate(todo):
            if n + 1 < len(todo):
                loader.prefetch(q.video for q in todo[n + 1][1])
            lines = run_batch(cfg, bench, adapter, loader, index, batch, done)
            writer.write_batch(lines)
            bar.update(len(lines))
    seconds = time.perf_counter() - started
    logger.info(
        "rank %d: %d samples in %.1f s (%.2f samples/s)", dist.rank, total, seconds, total / max(seconds, 1e-9)
    )


@dataclass
class _Prepared:
    query: Query
    prompt: str
    video: Any
    inputs: dict


def run_batch(
    cfg: EvalConfig,
    bench: Benchmark,
    adapter: Any,
    loader: VideoLoader,
    index: int,
    batch: Sequence[Query],
    done: set[str],
) -> list[dict]:
    """One batch: every query with a readable video is generated (done ones too, so the batch is the same as in an
    uninterrupted run); lines are returned for the queries not done yet, in query order."""
    lines: dict[str, dict] = {}
    prepared: list[_Prepared] = []
    for q in batch:
        prompt = make_prompt(cfg, bench, q)
        try:
            video = loader.get(q.video)
        except FileNotFoundError as e:
            lines[q.id] = failure_line(q, prompt, "missing_video", e)
            continue
        except VideoDecodeError as e:
            lines[q.id] = failure_line(q, prompt, "corrupt_video", e)
            continue
        except Exception as e:  # a bad request or an unexpected decoder failure: recorded, never fatal
            lines[q.id] = failure_line(q, prompt, "error", e)
            continue
        try:
            scheme = adapter.config.time.make_scheme(fps=video.sample_fps)
            messages = to_messages(Record(video=q.video, task=q.task, prompt=prompt), scheme, with_answer=False)
            inputs = adapter.build_inputs(messages, [video], add_generation_prompt=True, durations=[video.duration])
        except Exception as e:
            lines[q.id] = failure_line(q, prompt, "error", e)
            continue
        prepared.append(_Prepared(q, prompt, video, inputs))
    answers = generate(cfg, adapter, prepared, index)
    for p, answer in zip(prepared, answers, strict=True):
        if isinstance(answer, Exception):
            lines[p.query.id] = failure_line(p.query, p.prompt, "error", answer)
        else:
            lines[p.query.id] = answer_line(adapter, p, answer)
    return [lines[q.id] for q in batch if q.id not in done and q.id in lines]


def generate(cfg: EvalConfig, adapter: Any, prepared: Sequence[_Prepared], index: int) -> list[str | Exception]:
    """Answers of a batch (left-padded); if the batch fails, its samples one by one, errors kept per sample."""
    if not prepared:
        return []
    kwargs = cfg.generation.kwargs()

    def run(items: Sequence[_Prepared]) -> list[str]:
        if cfg.generation.do_sample:
            import torch

            torch.manual_seed(cfg.generation.seed + index)  # per batch: resumed and sharded runs draw the same
        batch = adapter.collate([p.inputs for p in items], padding_side="left")
        if can_score(adapter, kwargs):  # answers with their token log-probabilities (vidllm.eval.confidence)
            return list(generate_scored(adapter, batch, **kwargs))
        return list(adapter.generate(batch, **kwargs))

    try:
        return run(prepared)
    except Exception as e:
        if len(prepared) == 1:
            return [e]
        logger.warning("batch %d failed (%s: %s); generating its %d samples one by one", index, type(e).__name__, e,
                       len(prepared))  # fmt: skip
    answers: list[str | Exception] = []
    for p in prepared:
        try:
            answers.extend(run([p]))
        except Exception as e:
            answers.append(e)
    return answers


def _base_line(q: Query, prompt: str) -> dict[str, Any]:
    return {"id": q.id, "task": q.task, "key": q.entry.key, "video": q.video, "query": q.entry.query, "prompt": prompt}


def failure_line(q: Query, prompt: str, status: str, error: BaseException) -> dict[str, Any]:
    """The line of a sample that got no answer."""
    message = f"{type(error).__name__}: {error}"
    logger.warning("%s (%s): %s", q.id, status, message)
    return {**_base_line(q, prompt), "answer": None, "status": status, "error": message, "parsed": {},
            "video_duration": None, "num_frames": None, "sample_fps": None}  # fmt: skip


def answer_line(adapter: Any, p: _Prepared, answer: str) -> dict[str, Any]:
    """The line of an answered sample, with the answer read for its task."""
    time_cfg = adapter.config.time
    bins = time_cfg.scheme == "bins"
    # every scheme: answers past the video's end are clipped, or dropped when they start there
    time_kwargs = {"fps": float(p.video.sample_fps), "duration": float(p.video.duration),
                   "num_bins": time_cfg.scheme_kwargs.get("num_bins") if bins else None}  # fmt: skip
    parsed = parse_answer(p.query.task, answer, **time_kwargs, gt_duration=p.query.entry.duration)
    # the model's confidence in each interval, read with the parser's own time settings
    confidences = confidences_of(answer, get_question(p.query.task), parsed, **time_kwargs)
    if confidences is not None:
        parsed["confidences"] = confidences
    patch = getattr(getattr(adapter, "processor", None), "video_processor", None)
    groups = group_times(p.video.timestamps, int(getattr(patch, "temporal_patch_size", 1) or 1))
    return {**_base_line(p.query, p.prompt), "answer": answer,
            "status": "ok" if is_parsed(p.query.task, parsed) else "unparseable", "error": None, "parsed": parsed,
            "video_duration": float(p.video.duration), "num_frames": len(p.video.timestamps),
            "sample_fps": float(p.video.sample_fps), "num_groups": len(groups),
            "group_times": [round(float(t), 4) for t in groups]}  # fmt: skip


# --------------------------------------------------------------------------------------------------------- finalize


def finalize(
    cfg: EvalConfig,
    gt: GroundTruth,
    queries: Sequence[Query],
    out: Path,
    identity: dict[str, Any],
    sampling: ResolvedSampling,
) -> EvalResult:
    """Merge the rank files, score, write ``results.json`` (and plots); rank 0 only."""
    lines = read_parts(out)
    ordered = [q.id for q in queries]
    files: dict[str, Any] = {"samples": write_merged(out, ordered, lines)}
    selected = {i: lines[i] for i in ordered if i in lines}
    counts = {"samples": len(ordered), **status_counts(selected.values()), "not_run": len(ordered) - len(selected)}
    per_task = {t: status_counts(line for line in selected.values() if line["task"] == t) for t in cfg.tasks}
    scored = score_samples(gt, cfg.tasks, selected, queries, out, java=cfg.java, scores=cfg.scores)
    files.update(scored.files)
    metrics: dict[str, float | int] = {}
    for report in scored.reports.values():
        metrics.update(report.flat())
    if cfg.plots:
        from vidllm.eval.plots import make_plots

        files["plots"] = make_plots(out / "plots", gt, queries, selected, max_queries=cfg.plot_samples)
    files["results"] = out / RESULTS_FILE
    results = {
        "dataset": cfg.dataset,
        "tasks": list(cfg.tasks),
        "metrics": metrics,
        "counts": counts,
        "counts_per_task": per_task,
        "reports": {
            name: {"metrics": r.metrics, "counts": r.counts, "notes": r.notes} for name, r in scored.reports.items()
        },  # fmt: skip
        "family": identity["family"],
        "model": identity["model"],
        "adapter": identity["adapter"],
        "model_config": identity["saved_config"] or {**to_dict(cfg.model), "family": identity["family"]},
        "sampling": sampling.to_dict(),
        "config": to_dict(cfg),
        "ground_truth": str(Path(gt.path).resolve()),
        "files": {k: [str(p) for p in v] if isinstance(v, list) else str(v) for k, v in files.items()},
        "command": shlex.join(sys.argv),
        "vidllm": vidllm.__version__,
    }
    write_json(_plain(results), files["results"])
    _log_counts(counts)
    return EvalResult(out, scored.reports, metrics, counts, files)


def _plain(obj: Any) -> Any:
    """JSON-safe data: paths as strings, NaN (an empty bucket's mAP) as null so the file is strict JSON."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)


def _log_counts(counts: dict[str, int]) -> None:
    if counts["unparseable"]:
        logger.warning("%d answers could not be read; they are scored as misses", counts["unparseable"])
    failed = counts["missing_video"] + counts["corrupt_video"] + counts["error"]
    if failed:
        logger.warning("%d samples failed (%d missing videos, %d corrupt videos, %d errors); scored as misses",
                       failed, counts["missing_video"], counts["corrupt_video"], counts["error"])  # fmt: skip
