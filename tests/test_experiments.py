import argparse
import gzip
import struct

import numpy as np
import pandas as pd
import pytest

from reconad import InputError
from reconad.commands.experiment import add_cli
from reconad.data import ImageData, load_digits_images
from reconad.experiments import course_split, image_demo, mnist_course, mnist_oneclass


@pytest.fixture(scope="module")
def digits() -> ImageData:
    images, labels = load_digits_images()
    return ImageData(images[:1200], labels[:1200], images[1200:], labels[1200:])


def test_course_split_follows_the_slides(digits):
    train, (test_x, test_y), (val_x, val_y) = course_split(digits, normal=(1, 2))
    assert len(train) == np.isin(digits.train_labels, (1, 2)).sum()
    kept = np.flatnonzero(np.isin(digits.test_labels, (0, 1, 2)))
    assert len(test_x) == len(kept) // 2 and len(test_x) + len(val_x) == len(kept)
    np.testing.assert_array_equal(test_x, digits.test_images[kept[: len(kept) // 2]])  # first half, file order
    np.testing.assert_array_equal(test_y, digits.test_labels[kept[: len(kept) // 2]] == 0)
    np.testing.assert_array_equal(val_y, digits.test_labels[kept[len(kept) // 2 :]] == 0)


def test_a_tiny_course_grid_writes_its_table_and_figures(digits, tmp_path):
    table = mnist_course(epochs=2, seeds=[0], models=["mlp", "conv"], latent_dims=[4], normal_sets=[(1,), (1, 2)],
                         data=digits, out_dir=tmp_path)
    assert len(table) == 4
    for column in ("normal", "model", "latent_dim", "seed", "best_epoch", "test_auc_last", "test_auc_best_val",
                   "val_auc_last", "val_auc_best_val", "test_normal_score_last", "test_anomaly_score_last",
                   "parameters", "seconds"):
        assert column in table.columns, column
    assert table["test_auc_last"].between(0, 1).all() and table["test_auc_best_val"].between(0, 1).all()
    assert (table["val_auc_best_val"] >= table["val_auc_last"]).all()  # the best epoch is the best on validation
    written = pd.read_csv(tmp_path / "mnist_course.csv", dtype={"normal": str, "anomaly": str})
    pd.testing.assert_frame_equal(written, table, check_dtype=False, check_exact=False)
    markdown = (tmp_path / "mnist_course.md").read_text()
    assert "test AUC (last epoch)" in markdown and "test AUC (best-val checkpoint)" in markdown
    assert "**no**" not in markdown and "0.9840" not in markdown  # MNIST's reference numbers do not apply here
    figures = {p.name for p in (tmp_path / "mnist_course_figures").iterdir()}
    assert {"roc_n1.png", "scores_n12.png", "reconstructions_n1.png", "history_n12.png"} <= figures


def test_oneclass_scores_every_test_image(digits, tmp_path):
    table = mnist_oneclass(epochs=1, models=["mlp"], latent_dims=[4], digits=[0, 7], data=digits, out_dir=tmp_path)
    assert table["digit"].tolist() == [0, 7]
    assert table["test_auc"].between(0, 1).all()
    assert (table["n_train"] == [np.sum(digits.train_labels == d) for d in (0, 7)]).all()
    assert "| mlp | 4 | 0 |" in (tmp_path / "mnist_oneclass.md").read_text()


def test_unknown_models_are_refused_before_any_work(digits):
    with pytest.raises(InputError, match="unknown image models"):
        mnist_course(models=["lstm"], data=digits)


def test_image_demo_writes_its_figures(tmp_path):
    metrics = image_demo(tmp_path, verbose=False)
    assert (tmp_path / "roc_curve.png").stat().st_size > 0
    assert (tmp_path / "reconstructions.png").stat().st_size > 0
    assert metrics["roc_auc"] > 0.9  # digit 1 against the rest of the 8x8 digits
    assert metrics["false_alarm_rate"] <= 0.1 and metrics["recall_at_threshold"] > 0.5 and metrics["n_test"] > 0


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_cli_handler_runs_a_tiny_grid(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    for prefix, n in (("train", 60), ("t10k", 40)):
        _write_idx(data / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(data / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 6)
    parser = argparse.ArgumentParser(prog="reconad")
    add_cli(parser.add_subparsers(dest="command"))
    out = tmp_path / "out"
    args = parser.parse_args(["experiment", "mnist-course", "--epochs", "1", "--seeds", "0", "--models", "mlp",
                              "--latent-dims", "4", "--data", str(data), "--out", str(out), "--quiet"])
    assert args.func(args) == 0
    assert (out / "mnist_course.csv").exists() and "wrote 3 runs" in capsys.readouterr().out
    args = parser.parse_args(["experiment", "mnist-oneclass", "--epochs", "1", "--models", "mlp",
                              "--latent-dims", "4", "--digits", "3", "--data", str(data), "--out", str(out),
                              "--quiet"])
    assert args.func(args) == 0 and (out / "mnist_oneclass.md").exists()
    args = parser.parse_args(["experiment", "mnist-course", "--digits", "3", "--data", str(data), "--quiet"])
    assert args.func(args) == 2 and "oneclass only" in capsys.readouterr().out
