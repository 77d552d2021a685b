"""No silent non-finite answers (issue 36): input whose reconstruction error overflows float32 (1e20, 1e38) is
refused with one InputError, the same message from the API, streaming, ranges (Dask), the CLI and the service."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from reconad import InputError, SeriesDetector

FAST = dict(window=20, stride=5, epochs=1, hidden_size=8, batch_size=16, verbose=False, random_state=0)
MESSAGE = "reconstruction error overflows"


@pytest.fixture(scope="module")
def det():
    t = np.arange(600)
    return SeriesDetector(model="dense", **FAST).fit(pd.DataFrame({"a": np.sin(t / 10), "b": np.cos(t / 7)}))


def _huge(value: float, n: int = 1000) -> np.ndarray:
    t = np.arange(n)
    x = np.column_stack([np.sin(t / 10), np.cos(t / 7)])
    x[500:520, 0] = value
    return x


@pytest.mark.parametrize("value", [1e20, 1e38, -1e38])
def test_every_scoring_path_refuses_an_overflow_with_one_message(det, value):
    x = _huge(value)
    for path in (det.anomaly_score, det.predict, det.explain, det.explain_regions):
        with pytest.raises(InputError, match=MESSAGE) as caught:
            path(x)
        assert "check the units" in str(caught.value) and "\n" not in str(caught.value)
    scorer = det.scorer_
    with pytest.raises(InputError, match=MESSAGE):
        scorer.score_range(x, 0, 400, 600, len(x))


def test_a_refused_stream_update_leaves_the_stream_as_it_was(det):
    x = _huge(1e38)
    stream, reference = det.stream(), det.stream()
    out = [stream.update(x[:400])]
    reference.update(x[:400])
    with pytest.raises(InputError, match=MESSAGE):
        stream.update(x[400:600])
    assert stream.n_seen == 400
    clean = _huge(0.5)[400:]  # the corrected rows: the stream goes on as if the bad ones never came
    out += [stream.update(clean), stream.finish()]
    expected = det.anomaly_score(np.concatenate([x[:400], clean]))
    np.testing.assert_allclose(np.concatenate(out), expected, rtol=1e-5)


def test_finite_large_values_that_do_not_overflow_still_score(det):
    scores = det.anomaly_score(_huge(1e6))
    assert np.isfinite(scores).all() and scores[500:520].min() > scores[:400].max()


def test_reconad_score_exits_2_instead_of_writing_inf(det, tmp_path):
    model = tmp_path / "m.reconad"
    det.save(model)
    data = tmp_path / "big.csv"
    pd.DataFrame(_huge(1e38), columns=["a", "b"]).to_csv(data, index=False)
    out = tmp_path / "scores.csv"
    done = subprocess.run([sys.executable, "-m", "reconad", "score", str(model), str(data), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and MESSAGE in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
