"""The built wheel works outside the checkout: package data (prompts, benchmark configs, DeepSpeed presets) ships.

The wheel is built from this checkout and installed, without dependencies, into a fresh virtualenv in a temporary
folder; that virtualenv sees the dependencies of the test environment through a ``.pth`` line (plain path entries:
the test environment's editable install of the checkout is not picked up). Every command then runs with the
temporary folder as working directory, so nothing can be read from the checkout by a relative path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from vidllm.models.tiny import write_tiny_checkpoint
from vidllm.synthetic import SceneSpec
from vidllm.synthetic.benchmark import write_benchmark

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "tests" / "fixtures" / "benchmarks"
CONVERT_FIXTURES = REPO / "tests" / "data" / "fixtures"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """``(python of the fresh virtualenv, its working folder)`` with the wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    # Build from a copy of the sources: an in-tree build leaves build/lib behind, whose stale modules a later wheel
    # would ship.
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "vidllm", source / "vidllm", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = root / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        cwd=root,
    )
    (wheel,) = dist.glob("vidllm-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "vidllm/assets/prompts/prompt_sets.json",
        "vidllm/assets/eval_configs/charades_sta.yaml",
        "vidllm/assets/deepspeed/zero3.json",
    ):
        assert shipped in names, f"{shipped} is not in the wheel"
    assert not any(n.startswith(("tests/", "examples/")) for n in names)

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "_test_env_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        cwd=root,
    )
    work = root / "work"
    work.mkdir()
    return python, work


def _run(installed, *args: str) -> subprocess.CompletedProcess:
    python, work = installed
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIDLLM_ANNOTATION_DIR", "VIDLLM_EVAL_CONFIGS")
    }
    env["OMP_NUM_THREADS"] = "1"
    out = subprocess.run(
        [str(python), "-m", "vidllm.cli", *args], cwd=work, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, f"vidllm {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out


def test_imports_the_installed_copy(installed):
    python, work = installed
    where = subprocess.run(
        [str(python), "-c", "import vidllm; print(vidllm.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert str(REPO) not in where.stdout and "site-packages" in where.stdout


def test_score(installed):
    out = _run(
        installed,
        "score",
        "tvg",
        "--sample",
        "--pred",
        str(BENCHMARKS / "charades_sta" / "example_pred.timechat.json"),
        "--gt",
        str(BENCHMARKS / "charades_sta" / "test.caption_coco_format.json"),
    )
    assert "9.0" in out.stdout and "3.4" in out.stdout  # TimeChat's official R1@0.3 / R1@0.5


def test_convert_reads_the_shipped_prompts(installed):
    python, work = installed
    _run(installed, "convert", "charades_sta", str(CONVERT_FIXTURES / "charades_sta_test.txt"), "--out", "conv")
    (records,) = (work / "conv").glob("*.vtg_it.json")
    assert json.loads(records.read_text())[0]["QA"][0]["q"]


def test_eval_help_and_a_tiny_model_evaluation(installed, tmp_path):
    assert "--dataset" in _run(installed, "eval", "mr", "--help").stdout
    model = write_tiny_checkpoint("qwen2_vl", tmp_path / "tiny")
    files = write_benchmark(tmp_path / "bench", num_videos=2, spec=SceneSpec(), seed=1, tasks=("mr",))
    python, work = installed
    _run(
        installed,
        "eval",
        "mr",
        "--dataset",
        "synthetic",  # the shipped eval_configs/synthetic.yaml
        "--model_path",
        str(model),
        "--gt_path",
        str(files["tvg"]),
        "--video_root",
        str(files["videos"]),
        "--output_dir",
        "out",
        "--max_new_tokens",
        "4",
        "plots=false",
    )
    results = json.loads((work / "out" / "results.json").read_text())
    assert results["counts"]["samples"] > 0 and results["counts"]["error"] == 0
    assert results["config"]["prompt"] == "Find the moment when <query_placeholder>. Give the start and end time."
    assert set(results["metrics"]) >= {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU"}
