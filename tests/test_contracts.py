"""The core's contracts: one meaning of score, transactional fits, a small surface, older model files."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest

import reconad
from reconad import InputError, ModelFileError, SeriesDetector
from reconad.persistence import read_model_file, write_model_file
from reconad.thresholds import POT, MeanStd, Quantile

FAST = dict(window=20, stride=5, epochs=2, batch_size=16, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    t = np.arange(900)
    return pd.DataFrame({"a": np.sin(t / 6), "b": np.cos(t / 9), "c": 0.2 * rng.standard_normal(len(t))})


@pytest.fixture(scope="module")
def fitted(frame):
    return SeriesDetector(**FAST).fit(frame.iloc[:600])


def test_the_series_detector_takes_at_most_18_arguments():
    names = list(inspect.signature(SeriesDetector.__init__).parameters)[1:]
    assert len(names) <= 18, names
    for knob in ("context", "spread", "min_scale", "fold", "smooth", "checkpoint", "precision"):
        assert knob not in names


@pytest.mark.parametrize("threshold", [Quantile(q=0.5), MeanStd(k=0.5), POT(risk=0.01), "median_mad"])
def test_scores_do_not_depend_on_the_threshold(frame, threshold):
    """Swap the threshold and refit only it: the scores stay bit-identical, and only the flags move."""
    det = SeriesDetector(**FAST).fit(frame.iloc[:600])
    before, flags = det.anomaly_score(frame), det.predict(frame)
    det.set_threshold(threshold)
    np.testing.assert_array_equal(det.anomaly_score(frame), before)
    assert float(det.threshold_) != pytest.approx(float(MeanStd(k=4.0).fit(det.calibration_scores_)))
    np.testing.assert_array_equal(det.predict(frame), (before > float(det.threshold_)).astype(np.int8))
    assert not np.array_equal(det.predict(frame), flags) or threshold == "median_mad"


def test_a_fit_with_another_threshold_gives_the_same_scores(frame):
    one = SeriesDetector(**FAST).fit(frame.iloc[:600])
    other = SeriesDetector(threshold=Quantile(q=0.5), **FAST).fit(frame.iloc[:600])
    np.testing.assert_array_equal(one.anomaly_score(frame), other.anomaly_score(frame))
    assert float(one.threshold_) > float(other.threshold_)


def test_threshold_reads_as_a_number(fitted):
    value = float(fitted.threshold_)
    assert value == fitted.threshold_.value_ and np.isfinite(value) and value > 0


def test_set_threshold_refuses_a_bad_rule_and_keeps_the_old_one(fitted):
    before = float(fitted.threshold_)
    with pytest.raises(InputError, match="unknown threshold"):
        fitted.set_threshold("nonsense")
    assert float(fitted.threshold_) == before


@pytest.mark.parametrize("change", [
    lambda det, frame: det.set_params(drift=["zzz"]).fit(frame[["a", "b"]]),
    lambda det, frame: det.set_params(score_stride=50).fit(frame[["a", "b"]]),
    lambda det, frame: det.set_params(model="conv").fit(frame[["a", "b"]]),
    lambda det, frame: det.fit(frame[["a", "b"]].to_numpy()[:30]),
    lambda det, frame: det.fit(frame[["a", "b"]], validation=(frame[["a"]], np.zeros(len(frame)))),
])
def test_a_failed_refit_leaves_the_detector_as_it_was(frame, change):
    det = SeriesDetector(**FAST).fit(frame.iloc[:600])
    params, scores = det.get_params(), det.anomaly_score(frame)
    state = {k: v for k, v in vars(det).items() if k.endswith("_") and not k.startswith("_")}
    with pytest.raises(InputError):
        change(det, frame)
    det.set_params(**params)
    assert det.n_features_in_ == 3 and det.feature_names_in_ == ["a", "b", "c"]
    assert all(vars(det)[k] is v for k, v in state.items())
    np.testing.assert_array_equal(det.anomaly_score(frame), scores)


def test_scoring_other_columns_is_an_input_error_not_a_runtime_error(fitted, frame):
    with pytest.raises(InputError, match="fitted on 3"):
        fitted.anomaly_score(frame[["a", "b"]].to_numpy())
    with pytest.raises(InputError, match="no columns"):
        fitted.anomaly_score(frame[["a", "b"]])


def test_the_public_scorer_is_what_the_detector_scores_with(fitted, frame):
    scorer = fitted.scorer_
    np.testing.assert_array_equal(scorer.score(frame), fitted.anomaly_score(frame))
    x = scorer.prepare(frame)
    raw = scorer.folded_errors(x)
    np.testing.assert_array_equal(scorer.finish(raw, 0, 0, len(x), len(x)), fitted.anomaly_score(frame))
    lo, hi = scorer.rows_needed(300, 400, len(frame))
    np.testing.assert_array_equal(scorer.score_range(frame.iloc[lo:hi], lo, 300, 400, len(frame)),
                                  fitted.anomaly_score(frame)[300:400])


def test_calibration_scores_and_threshold_survive_a_round_trip(fitted, frame, tmp_path):
    fitted.save(tmp_path / "m.reconad")
    again = reconad.load(tmp_path / "m.reconad")
    np.testing.assert_array_equal(again.calibration_scores_, fitted.calibration_scores_)
    np.testing.assert_array_equal(again.anomaly_score(frame), fitted.anomaly_score(frame))
    again.set_threshold("quantile")
    assert float(again.threshold_) == pytest.approx(np.quantile(fitted.calibration_scores_, 0.99))


# ---- model files written by earlier versions ----------------------------------------------------------------------


def _rewrite(path, edit) -> None:
    document, tensors = read_model_file(path)
    edit(document)
    document = {k: v for k, v in document.items() if k not in ("format", "format_version")}
    write_model_file(path, {k: v for k, v in tensors.items() if k != "calibration.scores"}, document)


def _as_before(document: dict) -> None:
    """The parameters today's main wrote before the reshape: the knobs, at their defaults then."""
    document["reconad_version"] = "0.1.0"
    document["params"].update(context=50, spread=0, min_scale=0.0, fold="mean", smooth=None, checkpoint="last",
                               precision="fp32")
    for key in ("smooth", "fold"):
        document["state"].pop(key)


def test_a_file_from_before_the_reshape_loads_and_scores_the_same(fitted, frame, tmp_path):
    path = tmp_path / "old.reconad"
    fitted.save(path)
    _rewrite(path, _as_before)
    old = reconad.load(path)
    np.testing.assert_array_equal(old.anomaly_score(frame), fitted.anomaly_score(frame))
    assert old.calibration_scores_ is None
    with pytest.raises(InputError, match="refit"):
        old.set_threshold("quantile")


def test_an_old_file_with_its_own_smoothing_keeps_it(fitted, frame, tmp_path):
    path = tmp_path / "old.reconad"
    fitted.save(path)
    _rewrite(path, lambda d: (_as_before(d), d["params"].update(smooth=1)))
    assert reconad.load(path).scorer_.smooth == 1


@pytest.mark.parametrize("edit, what", [
    (lambda d: d["params"].update(spread=3), "spread"),
    (lambda d: d["params"].update(threshold={"object": {"name": "batch_split", "params": {"k": 2.0},
                                                        "value": 1.0}}), "batch_split"),
])
def test_an_old_file_this_version_cannot_score_names_its_version(fitted, tmp_path, edit, what):
    path = tmp_path / "old.reconad"
    fitted.save(path)
    _rewrite(path, lambda d: (_as_before(d), edit(d)))
    with pytest.raises(ModelFileError, match=f"written by reconad 0.1.0 with (the )?{what}.*refit"):
        reconad.load(path)


def test_calibration_scores_in_a_file_are_checked(fitted, tmp_path):
    import torch

    path = tmp_path / "bad.reconad"
    fitted.save(path)
    document, tensors = read_model_file(path)
    tensors["calibration.scores"] = torch.tensor([1.0, float("nan")], dtype=torch.float64)
    write_model_file(path, tensors, {k: v for k, v in document.items() if k not in ("format", "format_version")})
    with pytest.raises(ModelFileError, match="calibration scores"):
        reconad.load(path)
    assert json.loads(json.dumps(document["params"]))["window"] == 20


@pytest.mark.parametrize("params, match", [
    (dict(window=(1 << 20) + 1), "window must be at most"),
    (dict(hidden_size=(1 << 20) + 1), "hidden_size must be at most"),
    (dict(num_layers=65), "num_layers must be at most"),
])
def test_a_detector_that_could_not_be_loaded_back_is_refused_at_fit(frame, params, match):
    with pytest.raises(InputError, match=match):
        SeriesDetector(**{**FAST, **params}).fit(frame)


def test_too_large_images_are_refused_at_fit():
    from reconad import ImageDetector

    with pytest.raises(InputError, match="at most 16,777,216"):
        ImageDetector(epochs=1, verbose=False).fit(np.zeros((1, 1, 4097, 4097), dtype=np.float32))
