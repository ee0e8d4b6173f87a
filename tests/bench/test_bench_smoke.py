"""Every benchmark in bench/ imports and runs a micro configuration (seconds), prints its table and writes its JSON;
every bench script starts with the command that runs it. The real runs are documented in docs/performance.md."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    """A bench script as a module (bench/ is a folder of scripts, not a package)."""
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_first_line_is_the_command(script):
    first = (BENCH / script).read_text().splitlines()[0]
    assert f"bench/{script}" in first, first


def test_padding(tmp_path, capsys):
    out = tmp_path / "padding.json"
    result = load("padding").main(["--batch", "4", "--world", "1", "--seeds", "1", "--sources", "vtg_it_style",
                                   "--json", str(out)])  # fmt: skip
    run = result["sources"]["vtg_it_style"]["runs"][0]
    assert run["grouped"] < run["random"] and json.loads(out.read_text())["worst_grouped"] == run["grouped"]
    assert "random" in capsys.readouterr().out


def test_eval_throughput(tmp_path):
    out = tmp_path / "eval.json"
    args = ["--batch", "1", "2", "--queries", "2", "--frames", "4", "--max-new-tokens", "2", "--cache", str(tmp_path)]
    result = load("eval_throughput").main([*args, "--json", str(out)])
    assert [r["questions"] for r in result["runs"]] == [2, 2] and result["runs"][0]["ratio"] == 1.0
    assert json.loads(out.read_text())["runs"][1]["stages"]["generate"] > 0


def test_scale(tmp_path):
    out = tmp_path / "scale.json"
    result = load("scale").main(["--models", "smoke", "--tokens", "8", "16", "--json", str(out)])
    smoke = result["models"]["smoke"]
    assert len(smoke["cells"]) == 4 * 3 * 2 * 2 and smoke["measured"]["layer_runs"][1]["saved_bytes"] > 0
    assert json.loads(out.read_text())["models"]["smoke"]["largest_frames_extrapolated"]


def test_latency(tmp_path):
    decode = load("decode")
    video = decode.make_video(tmp_path / "clip.mp4", 4, fps=4, height=64, width=96)
    out = tmp_path / "latency.json"
    result = load("latency").main(["--model", "smoke", "--video", str(video), "--minutes", "0.07", "--tokens", "8",
                                   "16", "--new-tokens", "2", "--json", str(out)])  # fmt: skip
    assert set(result["rows"]) == {"none", "slots/video K=256"} and result["frames"] == 4
    assert json.loads(out.read_text())["rows"]["none"]["dominant_stage"]


def test_loader(tmp_path):
    out = tmp_path / "loader.json"
    result = load("loader").main(["--seconds", "2", "--samples", "1", "--height", "120", "--width", "160",
                                  "--cache", str(tmp_path), "--json", str(out)])  # fmt: skip
    assert len(result["runs"]) == 2 and all(r["samples_per_s"] > 0 for r in result["runs"])
    assert json.loads(out.read_text())["workers_needed"]


def test_scale_gpu_path_runs_on_the_cpu(tmp_path):
    """The --gpu code (full model in bf16, every cell) on the CPU with the smoke shape, so it is not first run on a
    GPU machine."""
    out = tmp_path / "gpu.json"
    result = load("scale").main(["--gpu", "--device", "cpu", "--models", "smoke", "--frames", "4", "--repeats", "1",
                                 "--json", str(out)])  # fmt: skip
    cells = result["models"]["smoke"]["gpu_cells"]
    assert len(cells) == 3 * 2 and all(c["seconds"] > 0 for c in cells)
    assert json.loads(out.read_text())["device"] == "cpu"
