import json
import os
import struct
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


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Every test on one torch thread, whatever OMP_NUM_THREADS says (see the note at the top)."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def require_module(module: str, extra: str):
    """Import an optional dependency, or skip with the install hint; under CI (CI=true) its absence fails."""
    try:
        return pytest.importorskip(module, reason=f"{module} is missing: pip install 'reconad[{extra}]'")
    except pytest.skip.Exception:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{module} must be installed under CI (the [dev] extra pulls in [{extra}])")
        raise


def split_model_file(data: bytes) -> tuple[dict, bytes]:
    """A safetensors file's bytes as its JSON header and the tensor bytes after it (to build hostile files)."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def join_model_file(header: dict, body: bytes) -> bytes:
    """The inverse of :func:`split_model_file`, with the header padded to 8 bytes as safetensors writes it."""
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body
