"""Shared fixtures of the test suite."""
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data sets: $ANISO_DATA_DIR if set, else ../shared/data next to the repo."""
    env = os.environ.get("ANISO_DATA_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"data directory {path} not found; set ANISO_DATA_DIR")
    return path
