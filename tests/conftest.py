"""Shared test fixtures.

``../shared/data`` (beside the checkout) holds real benchmark files; tests that read them skip when it is absent.
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
SHARED_DATA = Path(os.environ.get("VIDLLM_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real benchmark files (``../shared/data``); skips the test when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real benchmark files not found at {SHARED_DATA} (set VIDLLM_SHARED_DATA)")
    return SHARED_DATA
