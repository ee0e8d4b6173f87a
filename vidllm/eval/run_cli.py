"""Command line of the evaluation runners: ``python eval/{mr,hd,dvc,vs,tad}.py`` and ``vidllm eval {mr,...,tad}``.

Flags map onto :class:`~vidllm.eval.config.EvalConfig` fields; the config is built from, in order: the YAML file
(``--config``, or ``eval_configs/<dataset>.yaml`` when only ``--dataset`` is given and that file exists), the
flags, then trailing ``key=value`` overrides of any field (``sampling.fps=2``, ``model.dtype=bfloat16``)::

    python eval/mr.py --model_path BASE --lora_path ADAPTER --dataset charades_sta
    torchrun --nproc_per_node=8 eval/mr.py --config eval_configs/charades_sta.yaml --model_path BASE --lora_path A
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from vidllm.assets import asset_dir
from vidllm.config import load_config
from vidllm.eval.config import BENCHMARK_NAMES, EvalConfig

EVAL_CONFIG_DIR = Path(os.environ.get("VIDLLM_EVAL_CONFIGS") or asset_dir("eval_configs"))
"""Where ``--dataset NAME`` looks for ``NAME.yaml`` when no ``--config`` is given."""

KINDS: dict[str, tuple[str, ...]] = {"mr": ("mr",), "hd": ("vhd",), "dvc": ("dvc",), "vs": ("vs",), "tad": ("tad",)}
"""Runner name -> the tasks it asks by default."""

_DESCRIPTIONS = {
    "mr": "moment retrieval / temporal grounding (Charades-STA, ActivityNet Captions, QVHighlights MR)",
    "hd": "highlight detection (QVHighlights); --tasks mr,vhd for a full moment_detr submission",
    "dvc": "dense video captioning (YouCook2, ActivityNet Captions)",
    "vs": "video summarization (TVSum): top-5 mAP and summary F1",
    "tad": "temporal action detection (Charades, ActivityNet v1.3, Ego4D MQ): detection mAP, R@k",
}

# flag -> (config key, type, help)
_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--model_path", "model.path", str, "base checkpoint folder (the one the adapter was trained on)"),
    ("--lora_path", "lora_path", str, "adapter folder written by the training recipe"),
    ("--family", "model.family", str, "family when the checkpoint does not name it (vidllm.json, config.json)"),
    ("--dataset", "dataset", str, f"benchmark: {', '.join(BENCHMARK_NAMES)}"),
    ("--gt_path", "gt_path", str, "ground-truth file"),
    ("--video_root", "video_root", str, "folder of the videos"),
    ("--video_template", "video_template", str, "video path under the root, with {vid} (default {vid}.mp4)"),
    ("--output_dir", "output_dir", str, "output folder (default eval_outputs/<dataset>-<tasks>/<model>)"),
    ("--prompt_set", "prompt_set", str, "timechat, timechat_finetuned, vtgllm, numpro, numpro_ft"),
    ("--prompt", "prompt", str, "custom question template (<query_placeholder>, <dataset_placeholder>)"),
    ("--dataset_name", "dataset_name", str, "name put in <dataset_placeholder>"),
    ("--fps", "sampling.fps", float, "frames per second (default: as trained)"),
    ("--num_frames", "sampling.num_frames", int, "frames per video (default: as trained)"),
    ("--max_frames", "sampling.max_frames", int, "cap on frames per video (default: as trained)"),
    ("--max_pixels", "sampling.max_pixels", int, "largest decoded frame area"),
    ("--batch_size", "batch_size", int, "prompts per generate call"),
    ("--limit", "limit", int, "first N queries only"),
    ("--max_new_tokens", "generation.max_new_tokens", int, "longest answer"),
    ("--device", "model.device", str, "auto, cpu, cuda[:n], npu[:n]"),
    ("--dtype", "model.dtype", str, "auto, bfloat16, float16, float32"),
    ("--num_workers", "num_workers", int, "video decoding threads"),
    ("--plot_samples", "plot_samples", int, "queries shown in the plots"),
    ("--tad_queries", "tad_queries", str, "TAD: all classes per video (protocol) or only the present ones"),
    ("--scores", "scores", str, "rank detections by the model's token probabilities (model) or text order (rank)"),
)


def add_arguments(parser: argparse.ArgumentParser, kind: str) -> argparse.ArgumentParser:
    """Add the runner flags of ``kind`` (``mr``, ``hd``, ``dvc``, ``vs``) to ``parser``."""
    parser.add_argument("--config", help="eval_configs/*.yaml to start from")
    for flag, key, typ, text in _FLAGS:
        metavar = flag.lstrip("-").upper()
        parser.add_argument(flag, dest=key.replace(".", "__"), type=typ, default=None, metavar=metavar, help=text)
    parser.add_argument("--tasks", help=f"comma-separated tasks (default {','.join(KINDS[kind])})")
    parser.add_argument("--plots", action="store_true", default=None, help="write PNG plots to OUTPUT/plots")
    parser.add_argument("--overwrite", action="store_true", default=None, help="discard earlier samples")
    if kind == "dvc":
        parser.add_argument("--no_java", dest="java", action="store_false", default=None,
                            help="skip the Java-based metrics (METEOR, CIDEr's PTB tokenizer, SODA_c)")  # fmt: skip
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="any EvalConfig field, e.g. sampling.fps=2")
    parser.set_defaults(kind=kind)
    return parser


def build_parser(kind: str) -> argparse.ArgumentParser:
    """The parser of ``python eval/<kind>.py``."""
    parser = argparse.ArgumentParser(prog=f"eval/{kind}.py", description=_DESCRIPTIONS[kind])
    return add_arguments(parser, kind)


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    """The :class:`EvalConfig` of parsed runner arguments (YAML, then flags, then ``key=value``).

    Raises:
        ConfigError: A bad value (names the field and what is allowed).
        FileNotFoundError: A ``--config`` file that does not exist.
    """
    overrides, labels = [], {}
    for flag, key, _, _ in _FLAGS:
        value = getattr(args, key.replace(".", "__"))
        if value is not None:
            overrides.append(f"{key}={_yaml_scalar(value)}")
            labels[key] = f"{flag} {value}"  # errors name the flag the user typed, not the YAML file
    if args.tasks:
        overrides.append(f"tasks=[{args.tasks}]")
        labels["tasks"] = f"--tasks {args.tasks}"
    for name in ("plots", "overwrite", "java"):
        value = getattr(args, name, None)
        if value is not None:
            overrides.append(f"{name}={str(value).lower()}")
            labels[name] = f"--{name}"
    path = args.config
    dataset = getattr(args, "dataset", None)
    if path is None and dataset and (EVAL_CONFIG_DIR / f"{dataset}.yaml").is_file():
        path = EVAL_CONFIG_DIR / f"{dataset}.yaml"
        logging.getLogger(__name__).info("using %s for the paths of %s", path, dataset)
    cfg = load_config(EvalConfig, path, [*overrides, *args.overrides], labels=labels)
    if not cfg.tasks:
        cfg.tasks = list(KINDS[args.kind])
    return cfg


def _yaml_scalar(value: object) -> str:
    """A flag value as YAML that reads back as the same string/number (quotes strings with YAML meaning)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the tables on rank 0; returns the exit code."""
    from vidllm.eval.runner import evaluate

    result = evaluate(config_from_args(args))
    if result is not None:
        result.print()
    return 0


def main(kind: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``eval/<kind>.py``: bad input prints one line to stderr and exits with 2."""
    from vidllm.errors import run_command

    args = build_parser(kind).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_command(f"eval/{kind}.py", lambda: run(args))


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``vidllm eval {mr,hd,dvc,vs}`` to the ``vidllm`` parser; returns its runner by name."""
    parser = sub.add_parser("eval", help="run a model on a benchmark and score it (resumable, shardable)",
                            description="vidllm eval RUNNER ... runs one benchmark; vidllm eval --tasks a,b,c ... "
                            "runs several on one model load (vidllm eval --tasks x --help)")  # fmt: skip
    kinds = parser.add_subparsers(dest="kind_name", required=True, metavar="RUNNER")
    for kind, text in _DESCRIPTIONS.items():
        add_arguments(kinds.add_parser(kind, help=text, description=text), kind)
    return {"eval": run}
