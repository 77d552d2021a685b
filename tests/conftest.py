import os
from pathlib import Path

# Small models train faster on one thread than on two competing ones, and one thread count for every run keeps
# "same seed, same bits" comparisons meaningful. Set before torch is imported; subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    return Path(os.environ.get("RECONAD_DATA", REPO.parent / "shared" / "data"))


def require_dataset(name: str) -> Path:
    """The dataset folder; skipped with a reason when absent, a failure under CI (CI=true)."""
    path = data_root() / name
    if not path.is_dir():
        message = f"dataset {name!r} not found at {path}; set RECONAD_DATA to the folder holding it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
