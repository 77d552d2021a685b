"""The conv family's depth grows with the image; a saved model keeps the depth it was built with."""

import json

import numpy as np
import pytest

from reconad import ImageDetector, load

FAST = {"epochs": 1, "hidden_size": 4, "latent_dim": 4, "random_state": 0, "verbose": False}


@pytest.mark.parametrize("model", ["conv", "conv-bn"])
def test_a_saved_conv_model_rebuilds_its_depth(tmp_path, model):
    images = np.random.default_rng(0).random((24, 1, 40, 40)).astype(np.float32)
    det = ImageDetector(model=model, **FAST).fit(images)
    assert det.model_.num_layers == 3  # 40 -> 20 -> 10 -> 5: three halvings to reach 8 pixels or fewer
    det.save(tmp_path / "m.reconad")
    again = load(tmp_path / "m.reconad")
    assert again.model_.num_layers == 3
    np.testing.assert_allclose(again.anomaly_score(images), det.anomaly_score(images), rtol=1e-5)


def test_a_file_from_before_the_depth_grew_loads_with_two_layers(tmp_path):
    from conftest import join_model_file, split_model_file

    images = np.random.default_rng(0).random((24, 1, 40, 40)).astype(np.float32)
    det = ImageDetector(model="conv-bn", num_layers=2, **FAST).fit(images)
    det.save(tmp_path / "m.reconad")
    header, body = split_model_file((tmp_path / "m.reconad").read_bytes())
    document = json.loads(header["__metadata__"]["reconad"])
    document["params"]["num_layers"] = None  # as such files were written: the depth left to the family
    document["state"]["model_kwargs"]["num_layers"] = None
    header["__metadata__"]["reconad"] = json.dumps(document)
    (tmp_path / "old.reconad").write_bytes(join_model_file(header, body))
    old = load(tmp_path / "old.reconad")
    assert old.model_.num_layers == 2
    np.testing.assert_allclose(old.anomaly_score(images), det.anomaly_score(images), rtol=1e-5)
