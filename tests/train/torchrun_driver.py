"""A ``torchrun`` target for the tests: the recipe, optionally on mixed data or stopped early.

    torchrun --standalone --nproc_per_node=2 tests/train/torchrun_driver.py [--mixed] [--stop-after N] CONFIG [k=v ...]

``--mixed``: every other record loses its video. With data.shuffle=false and one sample per rank, rank 0 always gets a
video and rank 1 never does -- the batches that make ZeRO-3 gather different vision-tower parameters on different
ranks unless every rank runs the vision tower.

``--stop-after N``: stop after N optimizer steps without the final save, as a run killed right after its checkpoint.
"""

import argparse
import logging

from transformers import TrainerCallback

from vidllm.train import recipe
from vidllm.train.config import load_train_config


class StopAfter(TrainerCallback):
    def __init__(self, steps: int):
        self.steps = steps

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.steps:
            control.should_training_stop = True


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mixed", action="store_true")
    parser.add_argument("--stop-after", type=int)
    parser.add_argument("config")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    job = recipe.setup(
        load_train_config(args.config, args.overrides),
        callbacks=[StopAfter(args.stop_after)] if args.stop_after else (),
    )
    if args.mixed:
        job.dataset.records = [r if i % 2 == 0 else r.replace(video="") for i, r in enumerate(job.dataset.records)]
    recipe.train(job)
    if not args.stop_after:
        recipe.save(job)
    recipe.cleanup(job)
