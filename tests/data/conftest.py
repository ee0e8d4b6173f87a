"""Fixtures of the instruction-data tests: the small official-format files in ``tests/data/fixtures``."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """Folder of the hand-written official-format annotation files."""
    return FIXTURES


@pytest.fixture(scope="session")
def vtg_it_file(shared_data) -> Path:
    """The 100 shared VTG-IT-style records."""
    return shared_data / "vtg_it" / "vtg_it_style_records.json"
