"""Shared test fixtures.

``tests/fixtures/benchmarks`` holds the real benchmark files the parity tests read (sources and licences in its
README); ``VIDLLM_SHARED_DATA`` points the fixture at another copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Busy OpenMP threads on a shared 2-core machine made torch ~35x slower; tests never need more than one.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VIDLLM_SHARED_DATA", REPO / "tests" / "fixtures" / "benchmarks"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real benchmark files (``tests/fixtures/benchmarks``)."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"real benchmark files not found at {SHARED_DATA} (unset VIDLLM_SHARED_DATA)")
    return SHARED_DATA
