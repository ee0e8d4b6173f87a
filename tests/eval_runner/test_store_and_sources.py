"""The sample store (partial lines, precedence), sampling from the training config, hashes, moved base checkpoints."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
import torch

from vidllm.eval.config import SamplingConfig
from vidllm.eval.model_source import (
    TrainingSampling,
    folder_hash,
    load_model,
    resolve_sampling,
    training_sampling,
)
from vidllm.eval.samples import SampleWriter, done_ids, part_path, read_lines, read_parts, status_counts
from vidllm.models import ModelConfig
from vidllm.models.tiny import synthetic_video, video_messages

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")


def _line(i: str, status: str, answer: str = "a") -> dict:
    return {"id": i, "status": status, "answer": answer}


def test_partial_last_line_is_skipped_and_closed(tmp_path):
    path = part_path(tmp_path, 0)
    with SampleWriter(path) as w:
        w.write_batch([_line("0", "ok"), _line("1", "unparseable")])
    with path.open("a") as f:
        f.write('{"id": "2", "sta')
    assert [x["id"] for x in read_lines(path)[0]] == ["0", "1"] and read_lines(path)[1] == 1
    with SampleWriter(path) as w:
        w.write_batch([_line("2", "ok")])
    lines, bad = read_lines(path)
    assert [x["id"] for x in lines] == ["0", "1", "2"] and bad == 1


def test_newest_line_wins_and_final_beats_failure(tmp_path):
    with SampleWriter(part_path(tmp_path, 0)) as w:
        w.write_batch([_line("0", "missing_video"), _line("1", "ok", "first"), _line("0", "corrupt_video")])
    with SampleWriter(part_path(tmp_path, 1)) as w:
        w.write_batch([_line("2", "ok"), _line("1", "error")])
    lines = read_parts(tmp_path)
    assert lines["0"]["status"] == "corrupt_video" and lines["1"]["answer"] == "first"
    assert done_ids(lines, retry_failed=True) == {"1", "2"}
    assert done_ids(lines, retry_failed=False) == {"0", "1", "2"}
    assert status_counts(lines.values()) == {"ok": 2, "unparseable": 0, "missing_video": 0, "corrupt_video": 1,
                                             "error": 0}  # fmt: skip


def test_sampling_from_the_training_config(tmp_path, caplog):
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    (run / "train_config.yaml").write_text(
        "model:\n  family: qwen2_vl\ndata:\n  video:\n    fps: 2\n    max_frames: 64\n"
    )
    found = training_sampling(run / "final", run)
    assert found == TrainingSampling({"fps": 2, "max_frames": 64}, run / "train_config.yaml")
    s = resolve_sampling(SamplingConfig(), found)
    assert (s.fps, s.num_frames, s.max_frames) == (2, None, 64)
    assert s.sources == {"fps": "checkpoint", "max_frames": "checkpoint"}
    with caplog.at_level(logging.WARNING):
        s = resolve_sampling(SamplingConfig(fps=1.0), found)
    assert s.fps == 1.0 and s.sources["fps"] == "config" and "differs from the 2" in caplog.text
    s = resolve_sampling(SamplingConfig(num_frames=32), found)  # one choice: the checkpoint's fps is not mixed in
    assert (s.fps, s.num_frames, s.max_frames) == (None, 32, 64)
    s = resolve_sampling(SamplingConfig(from_checkpoint=False), found)
    assert (s.fps, s.max_frames, s.sources) == (1.0, 96, {"fps": "default", "max_frames": "default"})
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "vidllm_train.json").write_text(json.dumps({"sampling": {"num_frames": 96}}))
    assert training_sampling(tmp_path / "j").values == {"num_frames": 96}
    assert training_sampling(tmp_path / "nothing", None) is None


def test_folder_hash(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    big = tmp_path / "m" / "model.safetensors"
    big.write_bytes(bytes(17 * 2**20))
    first = folder_hash(tmp_path / "m")
    assert first["files"] == 2 and first["bytes"] == 17 * 2**20 + 2 and len(first["sha256"]) == 64
    data = bytearray(big.read_bytes())
    data[-1] = 1
    big.write_bytes(bytes(data))
    assert folder_hash(tmp_path / "m")["sha256"] != first["sha256"]
    data[-1], data[8 * 2**20] = 0, 1  # the middle of a file over 16 MiB is not read: documented
    big.write_bytes(bytes(data))
    assert folder_hash(tmp_path / "m")["sha256"] == first["sha256"]
    with pytest.raises(FileNotFoundError):
        folder_hash(tmp_path / "nope")


def test_adapter_over_a_moved_base(tiny_base, tiny_lora, tmp_path, caplog):
    moved = shutil.copytree(tiny_base, tmp_path / "moved_base")
    lora = shutil.copytree(tiny_lora, tmp_path / "lora")
    meta = json.loads((lora / "vidllm.json").read_text())
    (lora / "vidllm.json").write_text(json.dumps({**meta, "base_path": "/nowhere/base"}))
    with caplog.at_level(logging.WARNING):
        loaded = load_model(ModelConfig(path=str(moved), device="cpu"), str(lora))
    assert "loading it over --model_path" in caplog.text and loaded.family == "qwen2_vl"
    original = load_model(ModelConfig(path=str(tiny_base), device="cpu"), str(tiny_lora))
    batch = original.adapter.collate([original.adapter.build_inputs(video_messages(answer="1 - 2 seconds"),
                                                                    [synthetic_video(8, fps=1.0)])])  # fmt: skip
    with torch.no_grad():
        assert torch.equal(loaded.adapter.forward(batch).logits, original.adapter.forward(batch).logits)
    with pytest.raises(ValueError, match="has no vidllm.json; expected a folder written by the training recipe"):
        load_model(ModelConfig(path=str(tiny_base), device="cpu"), str(tiny_base.parent))
