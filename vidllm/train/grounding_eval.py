"""Grounding metrics on a held-out file during training, logged next to the loss.

    vidllm train --config X.yaml evaluation.dataset=charades_sta evaluation.gt_path=heldout.json \\
        evaluation.video_root=videos evaluation.limit=200 trainer.eval_steps=500

With an ``evaluation:`` section (:class:`~vidllm.train.config.EvaluationConfig`) the trainer's ``evaluate`` -- called
when ``trainer.eval_strategy`` says (``steps`` / ``epoch``, also ``eval_on_start``) -- runs the evaluation runner
(:func:`vidllm.eval.runner.evaluate`) on the model being trained: the same queries, prompts, answer parsing and
scorers as ``vidllm eval``, with the training's frame sampling. Its metrics come back as ``eval_<metric>``
(``eval_R1@0.5``, ``eval_mIoU``, ``eval_num_unparseable``...), go to ``trainer_state.json`` and the trackers like
any ``Trainer`` evaluation, and ``trainer.metric_for_best_model: eval_R1@0.5`` with ``load_best_model_at_end`` keeps
the best checkpoint. Each evaluation writes its samples and ``results.json`` to ``<output_dir>/eval/step-N``.

Under torchrun every rank generates its share of the batches (as a sharded ``vidllm eval`` does) and rank 0 scores;
the metrics are then sent to every rank. ZeRO-3 is refused: its sharded weights need every rank in each
``generate`` call.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from vidllm.errors import UserError
from vidllm.train.config import TrainConfig

logger = logging.getLogger(__name__)

ZERO3_REFUSED = (
    "evaluation: during training does not run under DeepSpeed ZeRO-3 (generate needs every rank's shards); use "
    "ZeRO-2, or evaluate the checkpoints afterwards with vidllm eval --lora_path RUN/checkpoint-N"
)

EVAL_DIR = "eval"
"""Sub-folder of the run folder holding one ``step-N`` evaluation folder per evaluation."""


class GroundingEvaluator:
    """Runs the ``evaluation:`` section of a training config on the model being trained.

    Building it reads the held-out file and checks its videos and prompt (before the model loads).

    Args:
        cfg: The training configuration (its ``evaluation`` section is set).

    Raises:
        UserError: The held-out file, video root or prompt cannot give right numbers.
    """

    def __init__(self, cfg: TrainConfig):
        from vidllm.eval.benchmarks import build_queries, get_benchmark, load_ground_truth
        from vidllm.eval.preflight import check_inputs

        if cfg.evaluation is None:
            raise ValueError("GroundingEvaluator needs a training config with an evaluation: section")
        ds_path = cfg.deepspeed_path()
        if ds_path is not None and json.loads(ds_path.read_text()).get("zero_optimization", {}).get("stage") == 3:
            raise UserError(ZERO3_REFUSED)
        self.cfg = cfg
        e = cfg.evaluation
        missing = [f"evaluation.{n}" for n in ("dataset", "gt_path", "video_root") if not getattr(e, n)]
        if missing:
            raise UserError(f"the evaluation: section does not set {', '.join(missing)}; name the held-out file")
        probe = self.eval_config(step=0, batch_size=1, device="cpu")
        gt = load_ground_truth(get_benchmark(e.dataset), e.gt_path).select(e.limit)
        self.queries = build_queries(gt, list(e.tasks), e.video_template)
        if not self.queries:
            raise UserError(f"evaluation.gt_path={e.gt_path}: no query to evaluate")
        check_inputs(probe, self.queries, self.output_root)

    @property
    def output_root(self) -> Path:
        """``<output_dir>/eval``."""
        return Path(self.cfg.checkpoint.output_dir) / EVAL_DIR

    def eval_config(self, *, step: int, batch_size: int, device: str):
        """The :class:`~vidllm.eval.config.EvalConfig` of the evaluation at ``step`` (training sampling, greedy)."""
        import dataclasses

        from vidllm.eval.config import EvalConfig, GenerationConfig, SamplingConfig

        e, d = self.cfg.evaluation, self.cfg.data
        return EvalConfig(
            dataset=e.dataset,
            tasks=list(e.tasks),
            gt_path=e.gt_path,
            video_root=e.video_root,
            video_template=e.video_template,
            model=dataclasses.replace(self.cfg.model, device=device),
            sampling=SamplingConfig(
                fps=d.fps,
                num_frames=d.num_frames,
                max_frames=d.max_frames,
                min_pixels=d.min_pixels,
                max_pixels=d.max_pixels,
                from_checkpoint=False,
                backend=d.video_backend,
            ),  # fmt: skip
            generation=GenerationConfig(max_new_tokens=e.max_new_tokens),
            prompt_set=e.prompt_set,
            prompt=e.prompt,
            output_dir=str(self.output_root / f"step-{step}"),
            batch_size=batch_size,
            limit=e.limit,
            num_workers=e.num_workers,
            overwrite=True,  # a resumed run evaluates the step again
            java=False,
        )

    def evaluate(self, trainer, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Evaluate ``trainer``'s model now; returns ``{prefix_metric: value}`` on every rank.

        Raises:
            UserError: Under DeepSpeed ZeRO-3.
        """
        import torch

        from vidllm.eval.runner import evaluate
        from vidllm.train.recipe import zero_stage

        args = trainer.args
        if zero_stage(args) == 3:
            raise UserError(ZERO3_REFUSED)
        adapter, model = trainer.adapter, trainer.model
        adapter.model = model
        cfg = self.eval_config(step=trainer.state.global_step, batch_size=args.per_device_eval_batch_size,
                               device=str(args.device))  # fmt: skip
        was_training = model.training
        model.eval()
        started = time.perf_counter()
        try:
            with torch.no_grad(), trainer.autocast_smart_context_manager():
                result = evaluate(cfg, adapter=adapter)
        finally:
            model.train(was_training)
        metrics: dict[str, Any] | None = None
        if result is not None:
            metrics = {f"{metric_key_prefix}_{k}": float(v) for k, v in result.metrics.items()}
            metrics[f"{metric_key_prefix}_runtime"] = round(time.perf_counter() - started, 4)
        if args.world_size > 1:
            box = [metrics]
            torch.distributed.broadcast_object_list(box, src=0)
            metrics = box[0]
        logger.info("step %d: %s", trainer.state.global_step,
                    ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if "num_" not in k))  # fmt: skip
        return metrics
