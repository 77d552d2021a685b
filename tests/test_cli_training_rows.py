"""`reconad evaluate` leaves out the rows the model was fitted on (issue 35): a model reconstructs what it learned."""

import json

import numpy as np
import pandas as pd
import pytest

from reconad import load
from reconad.cli import main

FAST = ["--window", "8", "--stride", "4", "--epochs", "1", "--hidden-size", "4", "--random-state", "0", "--quiet"]


@pytest.fixture
def labelled_csv(tmp_path):
    # 1,200 rows; labels mark 50 rows inside the training stretch 0:400 and 20 rows after it
    step = np.arange(1200)
    anomaly = np.zeros(1200, dtype=int)
    anomaly[100:150] = 1
    anomaly[800:820] = 1
    value = np.sin(step / 9)
    value[800:820] += 3.0
    pd.DataFrame({"t": step, "value": value, "anomaly": anomaly}).to_csv(tmp_path / "log.csv", index=False)
    return tmp_path / "log.csv"


def evaluate(caplog, model, data, tmp_path, *extra):
    """The metrics JSON and the warnings of one ``reconad evaluate`` run."""
    out = tmp_path / "metrics.json"
    caplog.clear()
    assert main(["evaluate", str(model), str(data), "--time-col", "t", "--json", str(out), "--quiet",
                 *map(str, extra)]) == 0
    return json.loads(out.read_text()), caplog.text


def test_the_model_remembers_its_rows_and_evaluate_leaves_them_out(capsys, caplog, tmp_path, labelled_csv):
    model = tmp_path / "m.reconad"
    assert main(["fit", str(labelled_csv), "--out", str(model), "--time-col", "t", "--rows", ":400", *FAST]) == 0
    assert "training data log.csv rows 0:400: sha256:" in capsys.readouterr().out
    record = load(model).training_data_
    assert record["file"] == "log.csv" and record["rows"] == [0, 400] and record["fingerprint"].startswith("sha256:")

    metrics, err = evaluate(caplog, model, labelled_csv, tmp_path)
    assert "leaving rows 0:400 of" in err and "800 rows evaluated" in err, err
    assert metrics["rows"] == {"evaluated": 800, "anomalous": 20, "left_out_as_training": [0, 400]}

    # --rows picks the rows scored; the training rows among them still stay out of the metrics
    metrics, err = evaluate(caplog, model, labelled_csv, tmp_path, "--rows", "300:1000")
    assert metrics["rows"] == {"evaluated": 600, "anomalous": 20, "left_out_as_training": [300, 400]}, err
    metrics, err = evaluate(caplog, model, labelled_csv, tmp_path, "--rows", "500:")
    assert metrics["rows"] == {"evaluated": 700, "anomalous": 20, "left_out_as_training": None}
    assert "leaving rows" not in err

    # only training rows: they are evaluated, with a warning that the metrics flatter the model
    metrics, err = evaluate(caplog, model, labelled_csv, tmp_path, "--rows", "10:300")
    assert metrics["rows"] == {"evaluated": 290, "anomalous": 50, "left_out_as_training": None}
    assert "fitted on every row evaluated (rows 10:300" in err and "optimistic" in err


def test_another_file_is_evaluated_whole(caplog, tmp_path, labelled_csv):
    model = tmp_path / "m.reconad"
    assert main(["fit", str(labelled_csv), "--out", str(model), "--time-col", "t", "--rows", ":400", *FAST]) == 0
    other = tmp_path / "other.csv"
    frame = pd.read_csv(labelled_csv)
    frame.loc[0, "value"] += 1e-3  # other bytes, other fingerprint: not the file the model was fitted on
    frame.to_csv(other, index=False)
    metrics, err = evaluate(caplog, model, other, tmp_path)
    assert metrics["rows"] == {"evaluated": 1200, "anomalous": 70, "left_out_as_training": None}
    assert "leaving rows" not in err


def test_a_detector_fitted_in_python_records_nothing_and_a_bad_record_is_refused(tmp_path):
    from reconad import InputError, SeriesDetector

    det = SeriesDetector(window=8, stride=4, epochs=1, hidden_size=4, random_state=0, verbose=False)
    det.fit(np.sin(np.arange(300) / 9))
    assert det.training_data_ is None
    with pytest.raises(InputError, match="rows"):
        det.record_training_data(file="a.csv", fingerprint="sha256:00", rows=(5, 5))
    assert det.training_data_ is None  # a refused record leaves the detector as it was
    det.record_training_data(file="a.csv", fingerprint="sha256:00", rows=(0, 300))
    det.save(tmp_path / "m.reconad")
    assert load(tmp_path / "m.reconad").training_data_ == {"file": "a.csv", "fingerprint": "sha256:00",
                                                            "rows": [0, 300]}
    det.fit(np.sin(np.arange(300) / 7))
    assert det.training_data_ is None  # a new fit forgets where the old data came from


@pytest.mark.parametrize("record", [{"file": "a.csv"}, {"file": "a.csv", "fingerprint": "md5:1", "rows": [0, 9]},
                                    {"file": "a.csv", "fingerprint": "sha256:1", "rows": [9, 3]}])
def test_a_file_with_a_bad_training_record_is_refused(tmp_path, record):
    from conftest import join_model_file, split_model_file

    from reconad import ModelFileError, SeriesDetector

    det = SeriesDetector(window=8, stride=4, epochs=1, hidden_size=4, random_state=0, verbose=False)
    det.fit(np.sin(np.arange(300) / 9)).save(tmp_path / "m.reconad")
    header, body = split_model_file((tmp_path / "m.reconad").read_bytes())
    document = json.loads(header["__metadata__"]["reconad"])
    document["training_data"] = record
    header["__metadata__"]["reconad"] = json.dumps(document)
    (tmp_path / "bad.reconad").write_bytes(join_model_file(header, body))
    with pytest.raises(ModelFileError, match="training data record"):
        load(tmp_path / "bad.reconad")


def test_the_report_shades_the_training_rows_and_its_metrics_leave_them_out(tmp_path, labelled_csv):
    from reconad.report_inputs import series_report_of

    model = tmp_path / "m.reconad"
    assert main(["fit", str(labelled_csv), "--out", str(model), "--time-col", "t", "--rows", ":400", *FAST]) == 0
    report = tmp_path / "report.html"
    assert main(["evaluate", str(model), str(labelled_csv), "--time-col", "t", "--report", str(report),
                 "--quiet"]) == 0
    assert "the training rows (0 to 399) shaded grey" in report.read_text()
    # the report's own evaluation covers the same 800 rows as the metrics printed
    det = load(model)
    frame = pd.read_csv(labelled_csv)
    x = frame[["value"]]
    scores = det.anomaly_score(x)
    _, evaluation = series_report_of(det, x, scores, det.predict(x), frame["anomaly"].to_numpy(),
                                     data_info={"name": "log.csv"}, training=(0, 400))
    labels = frame["anomaly"].to_numpy()[400:]
    flagged = det.predict(x)[400:]
    recall = ((flagged == 1) & (labels == 1)).sum() / labels.sum()  # 20 labelled rows after the training stretch
    assert evaluation["label_free"]["recall"] == pytest.approx(recall)
