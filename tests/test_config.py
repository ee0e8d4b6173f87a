import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from vidllm.config import ConfigError, load_config, save_config


@dataclass
class Optim:
    lr: float = 1e-4
    schedule: str = field(default="cosine", metadata={"choices": ["cosine", "linear"]})
    betas: tuple[float, ...] = (0.9, 0.999)


@dataclass
class Run:
    name: str = "run"
    steps: int = 10
    resume: bool = False
    mode: Literal["lora", "full"] = "lora"
    out: Path | None = None
    optim: Optim = field(default_factory=Optim)
    files: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.steps <= 0:
            raise ValueError(f"steps must be > 0, got {self.steps}")


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("name: a\noptim:\n  lr: 1e-3\n  schedule: linear\nfiles: [x.json]\n")
    cfg = load_config(Run, path, ["optim.lr=2e-4", "resume=true", "out=/tmp/o", "optim.betas=[0.9, 0.98]"])
    assert cfg.name == "a" and cfg.optim.lr == 2e-4 and cfg.optim.schedule == "linear" and cfg.resume is True
    assert cfg.out == Path("/tmp/o") and cfg.files == ["x.json"] and cfg.optim.betas == (0.9, 0.98)


def test_round_trip(tmp_path):
    cfg = load_config(Run, overrides=["mode=full", "optim.lr=3e-5"])
    assert load_config(Run, save_config(cfg, tmp_path / "c.yaml")) == cfg


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lr=fast", "field optim.lr: expected a number, got 'fast'"),
        ("optim.schedule=step", "field optim.schedule: expected one of cosine, linear, got 'step'"),
        ("mode=half", "field mode: expected one of 'lora', 'full', got 'half'"),
        ("stpes=3", "unknown field stpes (did you mean steps?)"),
        ("optim.lrr=3", "unknown field optim.lrr (did you mean optim.lr?)"),
        ("steps=0", "steps must be > 0, got 0"),
        ("resume=maybe", "field resume: expected true or false"),
        ("nokey", "expected key=value"),
    ],
)
def test_errors_name_the_field_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(Run, overrides=[override])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such config file"):
        load_config(Run, tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(Run, tmp_path / "bad.yaml")


def test_a_group_set_in_part_keeps_its_fields_default():
    # QuickstartConfig.scenes defaults to one event per video; overriding scenes.fps must not reset that to the
    # SyntheticDataConfig class default (1-3 events), which silently changed the benchmark before.
    from vidllm.quickstart.config import load_quickstart_config

    scenes = load_quickstart_config(None, ["scenes.fps=[1,2]"]).scenes
    assert scenes.fps == [1.0, 2.0] and scenes.num_events == [1, 1] and scenes.kinds == ["visible", "pulse"]
