"""The ``trainer:`` section: any ``TrainingArguments`` field from YAML, checked by name against transformers' own
dataclass; a field a vidllm group sets is refused naming both; ``logging.report_to`` takes any tracker transformers
integrates."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from transformers import TrainingArguments

from vidllm.config import ConfigError, from_dict
from vidllm.train.config import TRAINER_FIXED, TRAINER_OWNED, TrainConfig, load_train_config, trainer_fields
from vidllm.train.recipe import available_reporters, training_arguments

REPO = Path(__file__).resolve().parents[2]
TINY_YAML = REPO / "train_configs" / "tiny_cpu.yaml"
EVALUATION = ["evaluation.dataset=synthetic", "evaluation.gt_path=held_out.json", "evaluation.video_root=videos"]


def config(tmp_path, *overrides: str) -> TrainConfig:
    return load_train_config(TINY_YAML, [f"checkpoint.output_dir={tmp_path / 'run'}", *overrides])


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["trainer.eval_strategy=epoch", *EVALUATION], {"eval_strategy": "epoch"}),
        (["trainer.eval_steps=7", "trainer.eval_on_start=true", *EVALUATION],
         {"eval_strategy": "steps", "eval_steps": 7, "eval_on_start": True}),
        (["trainer.torch_compile=true", "trainer.torch_compile_mode=reduce-overhead"],
         {"torch_compile": True, "torch_compile_mode": "reduce-overhead"}),
        (["trainer.push_to_hub=true", "trainer.hub_model_id=me/tiny-vtg", "trainer.hub_private_repo=true",
          "trainer.hub_strategy=end"],
         {"push_to_hub": True, "hub_model_id": "me/tiny-vtg", "hub_private_repo": True, "hub_strategy": "end"}),
        (["logging.report_to=[tensorboard]"], {"report_to": ["tensorboard"]}),
        (["trainer.logging_first_step=true", "trainer.save_only_model=true", "trainer.dataloader_drop_last=true"],
         {"logging_first_step": True, "save_only_model": True, "dataloader_drop_last": True}),
        (["trainer.save_strategy=epoch", "trainer.ddp_timeout=60"], {"save_strategy": "epoch", "ddp_timeout": 60}),
    ],
)  # fmt: skip
def test_trainer_fields_reach_the_training_arguments(tmp_path, overrides, expected):
    args = training_arguments(config(tmp_path, *overrides), "cpu")
    for name, value in expected.items():
        got = getattr(args, name)
        assert (got.value if hasattr(got, "value") else got) == value, name


def test_trainer_section_from_yaml_and_vidllm_groups_keep_their_fields(tmp_path):
    data = yaml.safe_load(TINY_YAML.read_text())
    data["trainer"] = {"torch_compile": True, "neftune_noise_alpha": 5.0}
    data["optim"]["lr"] = 0.003
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    cfg = load_train_config(tmp_path / "c.yaml", [f"checkpoint.output_dir={tmp_path / 'run'}"])
    args = training_arguments(cfg, "cpu")
    assert args.torch_compile and args.neftune_noise_alpha == 5.0 and args.learning_rate == 0.003


def test_every_training_arguments_field_can_be_set(tmp_path):
    """Each field is either a vidllm field (named in TRAINER_OWNED, which exists) or passes through trainer:."""
    fields = {f.name: f for f in dataclasses.fields(TrainingArguments) if f.init}
    cfg = config(tmp_path)
    passed = 0
    for name in trainer_fields():
        if name in TRAINER_OWNED:
            group, _, leaf = TRAINER_OWNED[name].rpartition(".")
            owner = getattr(cfg, group) if group else cfg
            assert hasattr(owner, leaf), (name, TRAINER_OWNED[name])
            continue
        if name in TRAINER_FIXED:
            continue
        f = fields[name]
        value = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        cfg.trainer = {name: value}
        training_arguments(from_dict(TrainConfig, dataclasses.asdict(cfg)), "cpu")
        passed += 1
    assert passed >= 80  # transformers 5.24: 82 of 114 fields pass through, 29 are vidllm's, 3 fixed


@pytest.mark.parametrize(
    "override, words",
    [
        ("trainer.eval_stratgy=steps", ["trainer.eval_stratgy", "not a transformers TrainingArguments field",
                                        "eval_strategy"]),
        ("trainer.evaluation_strategy=steps", ["trainer.evaluation_strategy", "eval_strategy"]),
        ("trainer.learning_rate=0.1", ["trainer.learning_rate", "optim.lr"]),
        ("trainer.per_device_train_batch_size=4", ["trainer.per_device_train_batch_size", "optim.batch_size"]),
        ("trainer.report_to=[wandb]", ["trainer.report_to", "logging.report_to"]),
        ("trainer.remove_unused_columns=true", ["trainer.remove_unused_columns", "cannot be changed"]),
        ("trainer.eval_strategy=steps", ["trainer.eval_strategy", "evaluation:"]),
    ],
)  # fmt: skip
def test_a_bad_trainer_key_is_one_line_naming_it(override, words):
    with pytest.raises(ConfigError) as e:
        load_train_config(TINY_YAML, [override])
    message = str(e.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_training_arguments_refusals_name_the_trainer_keys(tmp_path):
    cfg = config(tmp_path, "trainer.load_best_model_at_end=true")
    with pytest.raises(ConfigError, match=r"trainer.load_best_model_at_end.*save and eval strategy to match"):
        training_arguments(cfg, "cpu")


def test_report_to_takes_any_transformers_tracker(caplog):
    assert available_reporters(["tensorboard"]) == ["tensorboard"]
    assert available_reporters(["all"]) == ["all"]
    assert available_reporters(["swanlab"]) in ([], ["swanlab"])  # dropped with a warning unless installed
    with pytest.raises(ConfigError, match=r"tensorbord is not a tracker.*mlflow"):
        available_reporters(["tensorbord"])
