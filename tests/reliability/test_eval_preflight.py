"""Items 5, 7 (evaluation) and 12: runs that cannot be right are refused before the model loads, in one line; two
evaluations never share an output folder."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys

import pytest
import torch
from reliability_helpers import charades_cut, one_line_error

from vidllm.config import load_config
from vidllm.errors import UserError
from vidllm.eval.config import EvalConfig
from vidllm.eval.runner import evaluate


@pytest.fixture(scope="module")
def charades(tmp_path_factory):
    return charades_cut(tmp_path_factory.mktemp("charades"))


def _eval(cli, charades, tiny_checkpoint, out, *extra):
    gt, videos = charades
    args = ["eval", "mr", "--dataset", "charades_sta", "--gt_path", gt, "--video_root", videos,
            "--model_path", tiny_checkpoint, "--output_dir", out, "--device", "cpu", "--max_new_tokens", "8",
            "--num_workers", "0"]  # fmt: skip
    return cli(*args, *extra)


def test_a_video_root_that_does_not_exist_or_holds_no_video_is_refused(cli, charades, tiny_checkpoint, tmp_path,
                                                                        no_model):  # fmt: skip
    code, out, err = _eval(cli, charades, tiny_checkpoint, tmp_path / "out", "--video_root", "/no/such/videos")
    assert code == 2 and "--video_root /no/such/videos is not a folder" in one_line_error(err) and "R1" not in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _eval(cli, charades, tiny_checkpoint, tmp_path / "out", "--video_root", empty)
    assert code == 2 and "none of the first 2 videos is under --video_root" in one_line_error(err)


def test_a_prompt_without_the_query_placeholder_is_refused(cli, charades, tiny_checkpoint, tmp_path, no_model):
    code, _, err = _eval(cli, charades, tiny_checkpoint, tmp_path / "out", "--prompt", "When does it happen?")
    line = one_line_error(err)
    assert code == 2 and "has no <query_placeholder>" in line and "mr" in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_device_cuda_without_a_gpu_is_one_line(cli, charades, tiny_checkpoint, tmp_path, no_model):
    code, _, err = _eval(cli, charades, tiny_checkpoint, tmp_path / "out", "--device", "cuda")
    assert code == 2 and "device='cuda' but no CUDA GPU is usable here" in one_line_error(err)


def test_an_output_dir_that_is_a_file_is_refused(cli, charades, tiny_checkpoint, tmp_path, no_model):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = _eval(cli, charades, tiny_checkpoint, afile)
    assert code == 2 and f"--output_dir {afile} is a file" in one_line_error(err)
    code, _, err = _eval(cli, charades, tiny_checkpoint, afile / "sub")
    assert code == 2 and "is under the file" in one_line_error(err)


# ------------------------------------------------------------------------------------------------ item 12: the lock


def _config(charades, tiny_checkpoint, out) -> EvalConfig:
    gt, videos = charades
    return load_config(EvalConfig, overrides=[
        "dataset=charades_sta", "tasks=[mr]", f"gt_path='{gt}'", f"video_root='{videos}'",
        f"model.path='{tiny_checkpoint}'", "model.device=cpu", f"output_dir='{out}'", "generation.max_new_tokens=8",
        "num_workers=0", "sampling.fps=1.0", "sampling.max_frames=8"])  # fmt: skip


def test_a_second_evaluation_into_the_same_folder_is_refused_naming_the_holder(charades, tiny_checkpoint, tmp_path):
    from vidllm.eval.model_source import load_model

    out = tmp_path / "out"
    cfg = _config(charades, tiny_checkpoint, out)
    adapter = load_model(cfg.model).adapter
    real, refusals = adapter.generate, []

    def generate_and_start_another(batch, **kwargs):  # a second user starts the same run meanwhile
        if not refusals:
            with pytest.raises(UserError) as e:
                evaluate(_config(charades, tiny_checkpoint, out), adapter=adapter)
            refusals.append(str(e.value))
        return real(batch, **kwargs)

    adapter.generate = generate_and_start_another
    result = evaluate(cfg, adapter=adapter)
    assert result.counts["samples"] == 4
    assert f"pid {os.getpid()} on {socket.gethostname()}" in refusals[0] and "started" in refusals[0]
    assert not (out / ".lock").exists()  # released at the end


def test_a_lock_of_a_live_process_is_refused_and_a_dead_one_taken_over(charades, tiny_checkpoint, tmp_path, caplog):
    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {"pid": sleeper.pid, "host": socket.gethostname(), "started": "2026-12-01 10:00:00"}
        (out / ".lock").write_text(json.dumps(lock))
        with pytest.raises(UserError, match=rf"in use by another evaluation \(pid {sleeper.pid} on .*2026-12-01"):
            evaluate(_config(charades, tiny_checkpoint, out), adapter=object())
    finally:
        sleeper.kill()
        sleeper.wait()
    with caplog.at_level(logging.WARNING, logger="vidllm.eval.lock"):
        result = evaluate(_config(charades, tiny_checkpoint, out))  # the holder is gone: taken over
    assert result.counts["samples"] == 4
    assert any(f"left by pid {sleeper.pid}" in r.getMessage() for r in caplog.records)
