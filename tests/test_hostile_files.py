"""Hostile model files: ``reconad.load`` refuses each with one ModelFileError and never runs what is inside.

Every case is built next to a marker path; the pickle-bearing ones would create the marker if anything
unpickled them, and every test checks that the marker is still absent after ``load``.
"""

import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import join_model_file, split_model_file
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

import reconad
from reconad import InputError, ModelFileError, SeriesDetector
from reconad.data import make_sine

FAST = dict(window=20, stride=5, epochs=1, hidden_size=8, batch_size=16, verbose=False, random_state=0)


class _Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory) -> bytes:
    det = SeriesDetector(model="gru", **FAST).fit(make_sine(3, "independent").train)
    path = tmp_path_factory.mktemp("good") / "good.reconad"
    det.save(path)
    return path.read_bytes()


def _document(change):
    """A case that edits the JSON description of a good file with ``change(document)``."""

    def build(good: bytes, marker: Path) -> bytes:
        header, body = split_model_file(good)
        document = json.loads(header["__metadata__"]["reconad"])
        replaced = change(document)
        header["__metadata__"]["reconad"] = json.dumps(document if replaced is None else replaced)
        return join_model_file(header, body)

    return build


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(document):
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return _document(change)


def _tensors(change):
    """A case that rewrites the weights of a good file with ``change(tensors)``, keeping its description."""

    def build(good: bytes, marker: Path) -> bytes:
        header, _ = split_model_file(good)
        return save_safetensors(change(dict(load_safetensors(good))), metadata=header["__metadata__"])

    return build


def _torch_save(marker: Path, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.save({"model": _Payload(marker)}, buffer, **kwargs)
    return buffer.getvalue()


def _zip_with_pickle(marker: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_Payload(marker)))
    return buffer.getvalue()


def _npy_with_objects(marker: Path) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _first_model_weight(tensors) -> str:
    return sorted(k for k in tensors if k.startswith("model."))[0]


def _first_weight(change):
    def edit(tensors):
        name = _first_model_weight(tensors)
        tensors[name] = change(tensors[name])
        return tensors

    return edit


CASES = {
    # foreign formats that would run code if something unpickled them
    "pickle renamed .reconad": lambda good, marker: pickle.dumps(_Payload(marker)),
    "pickle protocol 0": lambda good, marker: pickle.dumps(_Payload(marker), protocol=0),
    "torch.save zip with a pickle": lambda good, marker: _torch_save(marker),
    "torch.save legacy format": lambda good, marker: _torch_save(marker, _use_new_zipfile_serialization=False),
    "plain zip holding a pickle": lambda good, marker: _zip_with_pickle(marker),
    "numpy object array (pickled)": lambda good, marker: _npy_with_objects(marker),
    # damaged or foreign bytes
    "empty file": lambda good, marker: b"",
    "seven bytes": lambda good, marker: b"\x01" * 7,
    "random bytes": lambda good, marker: np.random.default_rng(0).bytes(4096),
    "truncated in the weights": lambda good, marker: good[: len(good) - 16],
    "truncated in the header": lambda good, marker: good[:64],
    "huge header length": lambda good, marker: struct.pack("<Q", 2**62) + good[8:],
    "header not JSON": lambda good, marker: struct.pack("<Q", 16) + b"not json at all!" + b"\0" * 8,
    "header nested 100k deep": lambda good, marker: _join_raw(b"[" * 100_000 + b"]" * 100_000),
    "JSON text file": lambda good, marker: b'{"format": "reconad", "format_version": 1}',
    "safetensors without a description": lambda good, marker: save_safetensors({"w": torch.zeros(3)}),
    "description not an object": _document(lambda d: [1, 2, 3]),
    # format versions
    "newer format version": _set("format_version", 99),
    "format version zero": _set("format_version", 0),
    "format version a string": _set("format_version", "1"),
    "format version a bool": _set("format_version", True),
    # fields missing or of the wrong type
    "params not a dict": _set("params", [1, 2]),
    "params missing": _document(lambda d: d.pop("params") and None),
    "state not a dict": _set("state", "x"),
    "detector type unknown": _set("detector", "EvilDetector"),
    "detector type a number": _set("detector", 5),
    "unknown parameter": _set("params", "bogus", 1),
    "parameter of the wrong type": _set("params", "window", "twenty"),
    "parameter out of range": _set("params", "score_stride", 10_000),
    "threshold parameter not an object": _set("params", "threshold", {"object": 5}),
    "threshold parameter without object": _set("params", "threshold", {"x": 5}),
    "model name unknown": _set("params", "model", "os.system"),
    "device unknown": _set("params", "device", "tpu"),
    "model_kwargs wrong type": _set("state", "model_kwargs", "big"),
    "model_kwargs unknown argument": _set("state", "model_kwargs", "bogus", 1),
    "model_kwargs allocation bomb": _set("state", "model_kwargs", "hidden_size", 10**9),
    "threshold value a string": _set("state", "threshold", "value", "high"),
    "threshold value null": _set("state", "threshold", "value", None),
    "threshold unknown kind": _set("state", "threshold", "name", "zzz"),
    "threshold missing": _document(lambda d: d["state"].pop("threshold") and None),
    "n_features not a number": _set("state", "n_features_in", "one"),
    "scaler of the wrong length": _set("state", "scaler", "mean", [0.0, 1.0, 2.0]),
    "scaler not numbers": _set("state", "scaler", "scale", ["x"]),
    "feature names not strings": _set("state", "feature_names_in", 5),
    "history not a list": _set("state", "history", 5),
    # weights that do not fit the description
    "tensor shape mismatch": _tensors(_first_weight(lambda t: torch.zeros(3, 3))),
    "tensor dtype mismatch": _tensors(_first_weight(lambda t: t.to(torch.int64))),
    "tensor holds NaN": _tensors(_first_weight(lambda t: torch.full_like(t, float("nan")))),
    "tensor missing": _tensors(lambda ts: {k: v for k, v in ts.items() if k != _first_model_weight(ts)}),
    "unexpected tensor": _tensors(lambda ts: {**ts, "model.extra": torch.zeros(2)}),
    "no tensors at all": _tensors(lambda ts: {}),
    # calibration scores (kept so that set_threshold can refit the rule) that are not finite float64 numbers
    "calibration scores with NaN": _tensors(lambda ts: {**ts, "calibration.scores": torch.tensor([1.0, float("nan")],
                                                                                                 dtype=torch.float64)}),
    "calibration scores as float32": _tensors(lambda ts: {**ts, "calibration.scores": torch.ones(5)}),
    "calibration scores a matrix": _tensors(lambda ts: {**ts, "calibration.scores": torch.ones(2, 3,
                                                                                                dtype=torch.float64)}),
    "calibration scores empty": _tensors(lambda ts: {**ts, "calibration.scores": torch.ones(0, dtype=torch.float64)}),
}


def _join_raw(raw: bytes) -> bytes:
    return struct.pack("<Q", len(raw)) + raw


@pytest.mark.parametrize("kind", list(CASES))
def test_hostile_file_is_refused_without_running(kind, good_bytes, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.reconad"
    path.write_bytes(CASES[kind](good_bytes, marker))
    with pytest.raises(ModelFileError) as caught:
        reconad.load(path)
    assert str(path) in str(caught.value)  # the message names the file
    assert "\n" not in str(caught.value).strip()  # one clear line
    assert not marker.exists(), "loading the file ran code"


def test_the_good_file_itself_loads(good_bytes, tmp_path):
    path = tmp_path / "model.reconad"
    path.write_bytes(good_bytes)
    det = reconad.load(path)
    assert isinstance(det, SeriesDetector)
    assert "calibration.scores" in load_safetensors(good_bytes)  # the cases above edit a file that holds them
    assert det.calibration_scores_.dtype == np.float64 and len(det.calibration_scores_) > 0


def test_a_pickle_refused_by_load_would_have_run(tmp_path):
    """The payload is real: unpickling it does create the marker (so the tests above prove something)."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_a_pipe_or_device_is_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.reconad"
    os.mkfifo(fifo)  # reading a pipe with no writer would block forever
    with pytest.raises(ModelFileError, match="not a regular file"):
        reconad.load(fifo)
    if Path("/dev/zero").exists():
        link = tmp_path / "zero.reconad"
        link.symlink_to("/dev/zero")  # endless bytes
        with pytest.raises(ModelFileError, match="not a regular file"):
            reconad.load(link)


def test_missing_file_and_folder_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        reconad.load(tmp_path / "missing.reconad")
    with pytest.raises(InputError, match="is a folder"):
        reconad.load(tmp_path)


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    from reconad.persistence import atomic_write_bytes

    mask = os.umask(0o022)
    try:
        path = atomic_write_bytes(tmp_path / "out.bin", b"data")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.fixture(scope="module")
def good_image_bytes(tmp_path_factory) -> bytes:
    images = np.random.default_rng(0).random((60, 1, 8, 8), dtype=np.float32)
    det = reconad.ImageDetector(epochs=1, verbose=False, random_state=0).fit(images)  # density="knn": codes saved
    path = tmp_path_factory.mktemp("good-image") / "good.reconad"
    det.save(path)
    return path.read_bytes()


def _codes(change):
    return _tensors(lambda tensors: {**tensors, "memory.codes": change(tensors["memory.codes"])})


IMAGE_CASES = {
    "codes missing": _tensors(lambda t: {k: v for k, v in t.items() if k != "memory.codes"}),
    "codes with NaN": _codes(lambda c: torch.full_like(c, float("nan"))),
    "codes of the wrong width": _codes(lambda c: c[:, :3].contiguous()),
    "codes as float64": _codes(lambda c: c.double()),
    "codes empty": _codes(lambda c: c[:0].contiguous()),
    "score statistics missing": _set("state", "score_stats", None),
    "score statistic of zero spread": _set("state", "score_stats", {"error": [0.1, 0.0], "density": [0.2, 1.0]}),
    "score statistics not numbers": _set("state", "score_stats", {"error": ["a", 1.0], "density": [0.2, 1.0]}),
    "unknown density": _set("params", "density", "gmm"),
    "unknown error": _set("params", "error", "ssim"),
}


@pytest.mark.parametrize("kind", list(IMAGE_CASES))
def test_hostile_image_file_is_refused(kind, good_image_bytes, tmp_path):
    path = tmp_path / "model.reconad"
    path.write_bytes(IMAGE_CASES[kind](good_image_bytes, tmp_path / "pwned"))
    with pytest.raises(ModelFileError) as caught:
        reconad.load(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value).strip()


def test_the_good_image_file_loads_with_its_codes(good_image_bytes, tmp_path):
    path = tmp_path / "model.reconad"
    path.write_bytes(good_image_bytes)
    det = reconad.load(path)
    assert det.memory_.shape == (54, 64) and det.score_stats_ is not None


def test_image_files_from_before_the_density_load_as_plain_mse(tmp_path):
    """Files written before transforms / error / density existed scored the plain squared error: they still do."""
    images = np.random.default_rng(1).random((40, 1, 8, 8), dtype=np.float32)
    det = reconad.ImageDetector("mlp", error="mse", density=None, epochs=1, verbose=False, random_state=0).fit(images)
    det.save(tmp_path / "new.reconad")

    def strip(document):
        for key in ("transforms", "error", "density"):
            del document["params"][key]
        del document["state"]["score_stats"]

    (tmp_path / "old.reconad").write_bytes(_document(strip)((tmp_path / "new.reconad").read_bytes(), tmp_path / "x"))
    old = reconad.load(tmp_path / "old.reconad")
    assert (old.transforms, old.error, old.density) == (None, "mse", None)
    np.testing.assert_array_equal(old.anomaly_score(images), det.anomaly_score(images))
