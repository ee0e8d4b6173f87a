"""Items 2 and 4: a kill while saving never blocks a run; resume refuses settings it cannot honour."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from reliability_helpers import one_line_error

from vidllm.errors import UserError
from vidllm.train import recipe
from vidllm.train.config import load_train_config
from vidllm.train.trainer import VidllmTrainer

TINY_YAML = Path(__file__).resolve().parents[2] / "train_configs" / "tiny_cpu.yaml"

STEPS = ["optim.max_steps=6", "checkpoint.save_steps=2", "optim.scheduler=linear", "optim.lr=0.005"]


class Killed(KeyboardInterrupt):
    """A kill: not an ``Exception``, so nothing catches it on the way out."""


def losses(run_dir: Path) -> list[tuple[int, float]]:
    state = json.loads((run_dir / "trainer_state.json").read_text())
    return [(h["step"], h["loss"]) for h in state["log_history"] if "loss" in h]


@pytest.fixture(scope="module")
def whole_run(tiny_checkpoint, toy_set, tmp_path_factory):
    """An uninterrupted 6-step run (checkpoints at 2, 4, 6): the losses a resumed run must reproduce, and the
    checkpoints (each with the train_config.yaml it was trained with) the settings tests resume."""
    records, videos = toy_set
    out = tmp_path_factory.mktemp("whole") / "run"
    paths = [f"model.path={tiny_checkpoint}", f"data.files=[{records}]", f"data.video_root={videos}"]
    cfg = load_train_config(TINY_YAML, [*paths, f"checkpoint.output_dir={out}", *STEPS])
    return recipe.run(cfg)


def test_kill_while_saving_leaves_no_half_checkpoint_and_resume_reproduces_the_run(
    make_config, whole_run, monkeypatch, caplog
):
    from vidllm.train.checkpoints import STAGING_DIR, checkpoint_problem

    real = VidllmTrainer._save_rng_state

    def dying(self, output_dir):  # the kill lands after the weights and optimizer, before the trainer state
        if self.state.global_step == 4:
            raise Killed
        return real(self, output_dir)

    monkeypatch.setattr(VidllmTrainer, "_save_rng_state", dying)
    job = recipe.setup(make_config(*STEPS, out="killed"))
    with pytest.raises(Killed):
        recipe.train(job)
    monkeypatch.undo()
    run_dir = Path(job.config.checkpoint.output_dir)
    assert (run_dir / "checkpoint-2").is_dir() and not (run_dir / "checkpoint-4").exists()
    assert (run_dir / STAGING_DIR / "checkpoint-4").is_dir()  # the half-written one stayed in staging
    # older damage too: an empty folder and one with truncated weights, both newer than checkpoint-2
    (run_dir / "checkpoint-9").mkdir()
    damaged = run_dir / "checkpoint-3"
    shutil.copytree(run_dir / "checkpoint-2", damaged)
    weights = damaged / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    assert checkpoint_problem(run_dir / "checkpoint-9") == "no trainer_state.json"
    assert "cut off" in checkpoint_problem(damaged)
    with caplog.at_level(logging.WARNING, logger="vidllm.train.recipe"):
        resumed = recipe.setup(make_config(*STEPS, "resume=true", out="killed"))
    assert resumed.resume_from.endswith("checkpoint-2")
    skipped = " ".join(r.getMessage() for r in caplog.records if "skipping" in r.getMessage())
    assert "checkpoint-9" in skipped and "checkpoint-3" in skipped and "cut off" in skipped
    recipe.train(resumed)
    out = recipe.save(resumed)
    assert checkpoint_problem(out / "checkpoint-4") is None and checkpoint_problem(out / "checkpoint-6") is None
    expected, got = losses(whole_run), losses(out)
    assert [s for s, _ in got] == [s for s, _ in expected] == [1, 2, 3, 4, 5, 6]
    assert [loss for _, loss in got] == pytest.approx([loss for _, loss in expected], rel=1e-6)


def test_a_fresh_run_over_only_broken_checkpoints_says_what_to_do(make_config, no_model):
    cfg = make_config(*STEPS, out="broken")
    (Path(cfg.checkpoint.output_dir) / "checkpoint-2").mkdir(parents=True)
    with pytest.raises(UserError, match=r"only incomplete checkpoints \(checkpoint-2: no trainer_state.json\)"):
        recipe.setup(cfg)
    with pytest.raises(UserError, match="checkpoint.resume_from=.*is incomplete"):
        recipe.setup(make_config(*STEPS, f"checkpoint.resume_from={cfg.checkpoint.output_dir}/checkpoint-2"))


# ------------------------------------------------------------------------------------------------- item 4: settings


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("tuning.lora.r=4", "tuning.lora.r (8 -> 4)"),
        ("model.time.time_embedding=false", "model.time.time_embedding (True -> False)"),
        ("optim.lr=0.001", "optim.lr (0.005 -> 0.001)"),
        ("optim.batch_size=1", "optim.batch_size (2 -> 1)"),
    ],
)
def test_resume_with_settings_it_cannot_honour_is_refused_before_the_model_loads(
    make_config, whole_run, change, named, no_model
):
    cfg = make_config(*STEPS, "resume=true", change, f"checkpoint.resume_from={whole_run / 'checkpoint-4'}")
    with pytest.raises(UserError) as e:
        recipe.setup(cfg)
    message = str(e.value)
    assert named in message and "optim.max_steps" in message  # what changed, and what may change


def test_resume_with_honourable_changes_goes_on(make_config, whole_run, caplog):
    cfg = make_config(*STEPS, "resume=true", "optim.max_steps=8", "logging.steps=2", "checkpoint.save_steps=4",
                      f"checkpoint.resume_from={whole_run / 'checkpoint-4'}")  # fmt: skip
    with caplog.at_level(logging.INFO, logger="vidllm.train.checkpoints"):
        job = recipe.setup(cfg)
    assert job.resume_from.endswith("checkpoint-4")
    assert any("optim.max_steps changed (6 -> 8)" in r.getMessage() for r in caplog.records)


def test_the_train_command_reports_a_refused_resume_in_one_line(cli, make_config, whole_run, toy_set):
    records, videos = toy_set
    cfg = make_config()
    code, _, err = cli("train", "--config", TINY_YAML, f"model.path={cfg.model.path}",
                       f"data.files=[{records}]", f"data.video_root={videos}", *STEPS, "tuning.lora.r=4",
                       f"checkpoint.output_dir={whole_run}", "resume=true")  # fmt: skip
    assert code == 2 and "tuning.lora.r (8 -> 4)" in one_line_error(err)
