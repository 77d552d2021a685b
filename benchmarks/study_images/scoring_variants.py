"""Study (issue 38): which score of one trained default model is level with raw-pixel 5-NN on the texture suites?

Per texture suite, ``ImageDetector(random_state=0)`` is fitted once (its default model and training); its test
images are then scored by every error measure (cosine, blur, mse) reduced over the pixels by the mean, the max or
the mean of the top 1%, alone or plus the latent kNN density (both standardised on the detector's held-out
calibration images, as the detector does). ROC-AUC per variant next to raw-pixel 5-NN; one JSON line per suite.

    OMP_NUM_THREADS=1 python benchmarks/study_images/scoring_variants.py noise-grey,grain-grey [model] [epochs]
"""

import json
import sys
import time

import numpy as np
import torch

from reconad.bench.image_suites import knn_scores
from reconad.data.textures import texture_suite
from reconad.detectors import ImageDetector
from reconad.imaging import error_map, knn_distance
from reconad.metrics import roc_auc

REDUCE = {
    "mean": lambda m: m.mean(axis=(1, 2)),
    "max": lambda m: m.max(axis=(1, 2)),
    "top1": lambda m: np.sort(m.reshape(len(m), -1), axis=1)[:, -max(1, m[0].size // 100):].mean(axis=1),
}


def parts(det, images):
    x = torch.from_numpy(images)
    with torch.no_grad():
        recon, codes = det.model_.eval()(x), det.model_.encode(x)
    return {e: error_map(recon, x, e).mean(dim=1).numpy() for e in ("cosine", "blur", "mse")}, codes


def study(name: str, model: str, epochs: int) -> dict:
    kind, look = name.split("-")
    suite = texture_suite(kind, look == "colour")
    started = time.perf_counter()
    det = ImageDetector(model, random_state=0, verbose=False, epochs=epochs).fit(suite.train)
    n = len(suite.train)  # the detector's held-out calibration images: its split rule, replayed
    calibration = np.sort(np.random.default_rng(det.seed_).permutation(n)[: round(n * det.calibration_split)])
    cal_maps, cal_codes = parts(det, suite.train[calibration])
    test_maps, test_codes = parts(det, suite.test)
    cal_density = knn_distance(cal_codes, det.memory_).numpy()
    test_density = knn_distance(test_codes, det.memory_).numpy()

    def z(values, reference):
        return (values - reference.mean()) / max(reference.std(), 1e-12)

    row = {"fit_s": time.perf_counter() - started, "knn5": roc_auc(suite.labels, knn_scores(suite.train,
                                                                                            suite.test)[0]),
           "density": roc_auc(suite.labels, test_density)}
    for error in ("cosine", "blur", "mse"):
        for reduce, fn in REDUCE.items():
            test, cal = fn(test_maps[error]), fn(cal_maps[error])
            row[f"{error}-{reduce}"] = roc_auc(suite.labels, test)
            row[f"{error}-{reduce}+knn"] = roc_auc(suite.labels, z(test, cal) + z(test_density, cal_density))
    return row


if __name__ == "__main__":
    torch.set_num_threads(1)
    model = sys.argv[2] if len(sys.argv) > 2 else "deep-lrelu"
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    for suite_name in sys.argv[1].split(","):
        print(suite_name, json.dumps({k: round(v, 3) for k, v in study(suite_name, model, epochs).items()}),
              flush=True)
