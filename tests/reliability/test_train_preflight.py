"""Items 3 and 10 (training): data and output problems are reported in one line before the model loads; video
paths that lead outside the video root are refused unless allowed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from reliability_helpers import one_line_error

from vidllm.errors import UserError
from vidllm.train import recipe

TINY_YAML = Path(__file__).resolve().parents[2] / "train_configs" / "tiny_cpu.yaml"


def _refusal(cfg) -> str:
    with pytest.raises(UserError) as e:
        recipe.setup(cfg)
    message = str(e.value)
    assert message.startswith("training cannot start: ") and "\n" not in message
    return message


def test_a_wrong_video_root_is_refused_before_the_model_loads(make_config, tmp_path, no_model):
    message = _refusal(make_config("data.video_root=/no/such/folder"))
    assert "data.video_root=/no/such/folder is not a folder" in message
    empty = tmp_path / "empty"
    empty.mkdir()
    message = _refusal(make_config(f"data.video_root={empty}"))
    assert f"none of the first 4 videos is under data.video_root={empty}" in message


def test_a_too_small_max_length_is_refused_before_the_model_loads(make_config, no_model):
    message = _refusal(make_config("data.max_length=8"))
    assert "data.max_length=8 is shorter than every one of the first" in message and "raise data.max_length" in message


def test_missing_unreadable_and_misplaced_data_files_are_named(make_config, toy_set, tmp_path, no_model):
    message = _refusal(make_config(f"data.files=[{tmp_path / 'nope.jsonl'},{tmp_path}]"))
    assert "data.files[0]=" in message and "no such file" in message
    assert "data.files[1]=" in message and "is a folder" in message
    if os.geteuid() != 0:  # root reads every file
        locked = tmp_path / "locked.jsonl"
        locked.write_text(toy_set[0].read_text())
        locked.chmod(0)
        assert "cannot be read" in _refusal(make_config(f"data.files=[{locked}]"))


def test_an_output_dir_that_is_a_file_is_refused(make_config, tmp_path, no_model):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "checkpoint.output_dir=" in _refusal(make_config(f"checkpoint.output_dir={afile}"))
    assert "is under the file" in _refusal(make_config(f"checkpoint.output_dir={afile / 'run'}"))


def test_the_train_command_prints_one_line_for_all_of_them(cli, make_config, tmp_path, no_model):
    cfg = make_config()
    code, _, err = cli("train", "--config", TINY_YAML, f"model.path={cfg.model.path}",
                       f"data.files=[{cfg.data.files[0]}]", "data.video_root=/no/such/folder",
                       f"checkpoint.output_dir={tmp_path / 'run'}")  # fmt: skip
    assert code == 2 and "data.video_root=/no/such/folder" in one_line_error(err)


# --------------------------------------------------------------------------------------------- item 10: outside root


def _escaping_set(toy_set, tmp_path) -> tuple[Path, Path]:
    """A copy of the toy records whose videos reach outside the root: absolute, ``..`` and a symlink."""
    records, videos = toy_set
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    names = sorted({line["video"] for line in lines})
    for name in names:
        (root / name).write_bytes((videos / name).read_bytes())
    (outside / "a.mp4").write_bytes((videos / names[0]).read_bytes())
    (root / "link.mp4").symlink_to(outside / "a.mp4")
    lines[0]["video"] = str(outside / "a.mp4")  # absolute
    lines[1]["video"] = "../elsewhere/a.mp4"  # climbs out
    lines[2]["video"] = "link.mp4"  # a symlink pointing out
    out = tmp_path / "escaping.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out, root


def test_training_refuses_videos_outside_the_root_unless_allowed(make_config, toy_set, tmp_path, monkeypatch):
    data, root = _escaping_set(toy_set, tmp_path)
    with monkeypatch.context() as m:
        from transformers import PreTrainedModel

        m.setattr(PreTrainedModel, "from_pretrained", classmethod(lambda *a, **k: pytest.fail("model loaded")))
        message = _refusal(make_config(f"data.files=[{data}]", f"data.video_root={root}"))
    assert "3 of" in message and "lead outside data.video_root" in message and "allow_outside_root=true" in message
    job = recipe.setup(make_config(f"data.files=[{data}]", f"data.video_root={root}", "data.allow_outside_root=true"))
    assert len(job.dataset) > 0


def test_data_stats_counts_paths_outside_the_root(cli, toy_set, tmp_path):
    data, root = _escaping_set(toy_set, tmp_path)
    code, out, _ = cli("data", "stats", data, "--video-root", root)
    assert code == 0
    assert "0 videos missing, 3 outside the video root" in out
    assert "outside the video root: 3 records" in out


def test_a_saved_lora_folder_as_model_path_passes_the_path_checks(make_config, lora_folder, tmp_path):
    from vidllm.train import preflight

    preflight.check_paths(make_config(f"model.path={lora_folder}"))  # no config.json: its vidllm.json names the base
    moved = tmp_path / "moved"
    moved.mkdir()
    meta = json.loads((lora_folder / "vidllm.json").read_text())
    (moved / "vidllm.json").write_text(json.dumps({**meta, "base_path": str(tmp_path / "gone")}))
    with pytest.raises(UserError, match="which is not a checkpoint folder here"):
        preflight.check_paths(make_config(f"model.path={moved}"))
