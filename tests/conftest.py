"""Shared test fixtures.

``tests/fixtures/benchmarks`` holds the real benchmark files the parity tests read (sources and licences in its
README); ``VIDLLM_SHARED_DATA`` points the fixture at another copy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Busy OpenMP threads on a shared 2-core machine made torch ~35x slower; tests never need more than one.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
# Test-only helpers shared across test folders (tests/tiny_models.py) import by module name.
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))
SHARED_DATA = Path(os.environ.get("VIDLLM_SHARED_DATA", REPO / "tests" / "fixtures" / "benchmarks"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real benchmark files (``tests/fixtures/benchmarks``)."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"real benchmark files not found at {SHARED_DATA} (unset VIDLLM_SHARED_DATA)")
    return SHARED_DATA


# ----------------------------------------------------------------------------------------------------- test tiers
#
# The full suite (``pytest -q``, what CI runs) is every test but ``slow`` (real checkpoints, minutes of CPU) and
# ``gpu``. ``pytest -m "not integration"`` is the fast tier for day-to-day work (under 5 minutes on 2 cores): it
# leaves out the quickstart's training run, the multi-process runs (DeepSpeed, sharded evaluation), the browser test
# and the full family x component x sampling matrices, of which it keeps a sample. Tests (or whole files) of other
# folders are listed here by node id prefix; tests in tests/models and tests/video/test_model_card.py carry
# ``@pytest.mark.integration`` (or a sampled parametrisation) where they are defined.
INTEGRATION = (
    "tests/quickstart/test_quickstart_run.py",  # the quickstart's default training (~9 min)
    "tests/train/test_distributed.py",  # 2-process DeepSpeed ZeRO-2/3 runs
    "tests/train/test_recipe.py::test_killed_run_resumes_to_the_same_loss_curve",  # training killed and resumed
    "tests/eval_runner/test_sharded.py",  # 2-process sharded evaluation
    "tests/demo/test_browser.py",  # headless chromium
    "tests/video/test_video_memory.py",  # RSS over repeated reads
    "tests/video/test_video_extract.py::test_script_runs_with_workers",  # worker processes
)


def pytest_collection_modifyitems(config, items):
    """Mark the integration files; keep ``slow`` / ``gpu`` out unless the ``-m`` expression names them (a ``-m``
    on the command line replaces the one of ``addopts``)."""
    expression = config.getoption("markexpr") or ""
    keep, dropped = [], []
    for item in items:
        if item.nodeid.startswith(INTEGRATION):
            item.add_marker(pytest.mark.integration)
        excluded = [m for m in ("slow", "gpu") if m in item.keywords and m not in expression]
        (dropped if excluded else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
