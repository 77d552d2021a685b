"""Training on several processes with PyTorch's DistributedDataParallel (gloo on the CPU)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

import reconad
from reconad import SeriesDetector
from reconad.data import make_sine
from reconad.models import build_model

PARAMS = dict(model="dense", window=20, stride=5, epochs=3, batch_size=16, hidden_size=16, random_state=0,
              verbose=False)


def _rank_main(rank: int, world_size: int, init_file: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        det = SeriesDetector(**PARAMS).fit(make_sine(0).train)
        if rank == 0:
            det.save(out)
    finally:
        dist.barrier()  # no rank tears the group down while another still talks to it
        dist.destroy_process_group()


def _rank_shards(rank: int, world_size: int, init_file: str, out: str) -> None:
    from reconad.training import TrainConfig, train_autoencoder

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        data = torch.randn(37, 6, 1)
        seen = []

        def take(index):
            seen.append(index.tolist())
            return data[index]

        torch.manual_seed(0)
        model = build_model("dense", n_features=1, window=6, hidden_size=4)
        train_autoencoder(model, take, 37, TrainConfig(epochs=2, batch_size=8, verbose=False), torch.device("cpu"))
        np.save(f"{out}.{rank}.npy", np.array(seen, dtype=object), allow_pickle=True)
    finally:
        dist.barrier()  # no rank tears the group down while another still talks to it
        dist.destroy_process_group()


def test_each_rank_trains_on_its_share_of_every_batch(tmp_path):
    out = str(tmp_path / "seen")
    mp.spawn(_rank_shards, args=(2, str(tmp_path / "init"), out), nprocs=2, join=True)
    shards = [np.load(f"{out}.{r}.npy", allow_pickle=True) for r in range(2)]
    torch.manual_seed(0)
    build_model("dense", n_features=1, window=6, hidden_size=4)  # the same draws as the ranks made
    loader = DataLoader(range(37), batch_size=8, shuffle=True)  # a single process's batches: 5 an epoch
    batches = [b.numpy() for _ in range(2) for b in loader]
    assert len(shards[0]) == len(shards[1]) == len(batches)
    for batch, part0, part1 in zip(batches, *shards):
        assert not set(part0) & set(part1)  # disjoint shares ...
        assert sorted(part0 + part1) == sorted(batch.tolist())  # ... that together make the whole batch
        assert abs(len(part0) - len(part1)) <= 1


def test_two_gloo_processes_match_single_process_training(tmp_path):
    out = tmp_path / "ddp.reconad"
    mp.spawn(_rank_main, args=(2, str(tmp_path / "init"), str(out)), nprocs=2, join=True)
    single = SeriesDetector(**PARAMS).fit(make_sine(0).train)
    ddp = reconad.load(out)
    ddp_weights, single_weights = ddp.model_.state_dict(), single.model_.state_dict()
    assert ddp_weights.keys() == single_weights.keys()
    for name, w in single_weights.items():
        torch.testing.assert_close(ddp_weights[name], w, rtol=1e-4, atol=1e-5, msg=name)
    first = [h["train_loss"] for h in ddp.history_]
    np.testing.assert_allclose(first, [h["train_loss"] for h in single.history_], rtol=1e-4)
    test = make_sine(0, "independent").test
    np.testing.assert_allclose(ddp.anomaly_score(test), single.anomaly_score(test), rtol=1e-3, atol=1e-5)


def test_torchrun_fit_writes_one_model(tmp_path):
    csv = tmp_path / "series.csv"
    x = make_sine(1).train
    csv.write_text("value\n" + "\n".join(f"{v:.6f}" for v in x) + "\n")
    out = tmp_path / "model.reconad"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "reconad",
           "fit", str(csv), "--out", str(out), "--model", "dense", "--window", "20", "--stride", "5", "--epochs", "2",
           "--random-state", "0", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("wrote ") == 1  # rank 0 alone writes and reports
    det = reconad.load(out)
    assert det.anomaly_score(x).shape == x.shape
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: the GPU path is exercised where one exists")
def test_cuda_path_scores_like_the_cpu(tmp_path):
    data = make_sine(2, "independent")
    gpu = SeriesDetector(device="cuda", **PARAMS).fit(data.train)
    assert next(gpu.model_.parameters()).device.type == "cuda"
    cpu = SeriesDetector(device="cpu", **PARAMS).fit(data.train)
    scores = gpu.anomaly_score(data.test)
    np.testing.assert_allclose(scores, cpu.anomaly_score(data.test), rtol=1e-2, atol=1e-3)
    scorer = gpu.stream()
    streamed = np.concatenate([scorer.update(data.test[i : i + 97]) for i in range(0, len(data.test), 97)])
    np.testing.assert_allclose(np.concatenate([streamed, scorer.finish()]), scores, rtol=1e-3, atol=1e-4)
    n = len(data.test)
    lo, hi = gpu.scorer_.rows_needed(300, 700, n)  # a Dask partition's scores, on the GPU
    np.testing.assert_allclose(gpu.scorer_.score_range(data.test[lo:hi], lo, 300, 700, n), scores[300:700],
                               rtol=1e-6, atol=1e-7)  # the same batches; a GPU may still round differently
    gpu.save(tmp_path / "gpu.reconad")
    again = reconad.load(tmp_path / "gpu.reconad")  # device="cuda" travels with the parameters
    assert next(again.model_.parameters()).device.type == "cuda"
    np.testing.assert_allclose(again.anomaly_score(data.test), scores, rtol=1e-6, atol=1e-7)
    images = np.random.default_rng(0).random((64, 1, 8, 8), dtype=np.float32)
    img = reconad.ImageDetector(device="cuda", epochs=1, verbose=False, random_state=0).fit(images)
    assert next(img.model_.parameters()).device.type == "cuda" and img.anomaly_score(images).shape == (64,)
