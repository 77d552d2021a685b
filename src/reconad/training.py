"""The fit loop shared by every detector: plain PyTorch, seeded, with history and a best-epoch copy.

Models never train themselves; a detector hands this loop a model, a way to fetch a batch of samples by
index, and optionally an ``evaluate(model) -> dict`` callback run after every epoch (validation metrics).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from reconad.errors import InputError

log = logging.getLogger("reconad")

CHECKPOINTS = ("last", "best")
MIN_TRAIN_WINDOWS = 200  # a short training part is cut with a finer stride until it gives this many windows


def progress(iterable: Iterable, enabled: bool, **kwargs) -> Iterable:
    """The one progress-bar helper: a tqdm bar on stderr when ``enabled``, the bare iterable otherwise."""
    return tqdm(iterable, leave=False, dynamic_ncols=True, **kwargs) if enabled else iterable


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` unless a torch.distributed process group is running."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed_from_env() -> bool:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1): NCCL on GPUs, gloo on CPUs.

    Returns whether this process is one of several. Each rank then trains on its share of every mini-batch
    with ``DistributedDataParallel`` (see :func:`train_autoencoder`).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return True


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; anything else is checked and passed to ``torch.device``.

    Under ``torchrun`` with GPUs, ``"auto"`` and ``"cuda"`` mean this rank's GPU (``LOCAL_RANK``).
    """
    if isinstance(device, torch.device):
        return device
    if device in ("auto", "cuda") and torch.cuda.is_available() and world()[1] > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device='cuda' was asked for but CUDA is not available here; use device='auto' or 'cpu'")
    return resolved


def resolve_seed(random_state: int | None) -> int:
    """The seed to use: ``random_state`` itself, or a fresh one (recorded by the caller) when it is None."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if not isinstance(random_state, (int, np.integer)) or isinstance(random_state, bool) or random_state < 0:
        raise InputError(f"random_state must be a non-negative integer or None, got {random_state!r}")
    return int(random_state)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block with torch's global generators seeded, restoring their state afterwards."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    checkpoint: str = "last"  # "best": keep the weights of the epoch with the best monitored metric
    monitor: str | None = None  # a key of evaluate()'s dict, higher is better
    verbose: bool = True

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise InputError(f"lr must be a positive number, got {self.lr!r}")
        if self.checkpoint not in CHECKPOINTS:
            raise InputError(f"checkpoint must be one of {CHECKPOINTS}, got {self.checkpoint!r}")


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one dict per epoch: epoch, train_loss, seconds, ...
    best_epoch: int | None = None  # 1-based epoch whose weights the model holds at the end


def epoch_order(n_samples: int) -> np.ndarray:
    """One epoch's sample order, drawn from torch's global generator exactly as a shuffling ``DataLoader`` does.

    A ``DataLoader(..., shuffle=True)`` iterator first draws its base seed, then its ``RandomSampler`` draws the
    seed of a fresh generator for ``randperm``. Drawing the same way means a plain PyTorch loop seeded like the
    course material sees the very same batches as reconad (tests check it against ``DataLoader`` itself).
    """
    torch.empty((), dtype=torch.int64).random_()  # the iterator's base seed (for worker processes)
    seed = int(torch.empty((), dtype=torch.int64).random_().item())  # the sampler's seed
    return torch.randperm(n_samples, generator=torch.Generator().manual_seed(seed)).numpy()


def train_autoencoder(
    model: nn.Module,
    take: Callable[[np.ndarray], torch.Tensor],
    n_samples: int,
    config: TrainConfig,
    device: torch.device,
    evaluate: Callable[[nn.Module], dict] | None = None,
) -> TrainResult:
    """Train ``model`` to reconstruct its input with Adam on the mean squared error.

    ``take(indices)`` returns the samples ``(B, ...)`` at those indices (on the CPU), or a pair ``(inputs,
    targets)`` when the model learns to restore targets from altered inputs. Every epoch visits
    all ``n_samples`` once in an order drawn from torch's global generator (:func:`epoch_order`), which the
    caller seeds (the detectors run fit inside :func:`seeded`, so one ``random_state`` fixes the initial
    weights and every shuffle, and the caller's own generator state is restored afterwards). With
    ``config.checkpoint == "best"`` the weights of the epoch with the highest ``evaluate(model)[monitor]``
    are restored at the end (a real copy, not an alias of the live weights).
    """
    if config.checkpoint == "best" and (evaluate is None or config.monitor is None):
        raise InputError("checkpoint='best' needs validation data to choose the best epoch; pass validation=...")
    with torch.enable_grad():  # training needs gradients even when the caller runs under torch.no_grad()
        return _train(model, take, n_samples, config, device, evaluate)


CLOSED_FORM_BATCH = 4096  # samples handed to a closed-form fit at a time


def fit_closed_form(model: nn.Module, take: Callable[[np.ndarray], torch.Tensor], n_samples: int,
                    device: torch.device, evaluate: Callable[[nn.Module], dict] | None = None) -> TrainResult:
    """Fit a closed-form model (a registry family with ``closed_form=True``) with its ``fit_windows(batches)``.

    Why: a model such as ``pca`` has an exact solution, so running epochs of gradient descent would only
    approximate it, slower. It sees every sample once, in index order, ``CLOSED_FORM_BATCH`` at a time; the
    history then holds one record, as if one epoch had run: the mean squared reconstruction error on the
    training samples, the seconds, and ``evaluate(model)``'s metrics when given. ``best_epoch`` is 1.
    """
    started = time.perf_counter()

    def batches() -> Iterator[torch.Tensor]:
        for begin in range(0, n_samples, CLOSED_FORM_BATCH):
            yield take(np.arange(begin, min(begin + CLOSED_FORM_BATCH, n_samples))).to(device)

    squared, elements = 0.0, 0
    with torch.no_grad():
        model.fit_windows(batches())
        model.eval()
        for batch in batches():
            squared += float(torch.sum((model(batch).float() - batch.float()) ** 2))
            elements += batch.numel()
    record = {"epoch": 1, "train_loss": squared / max(elements, 1), "seconds": time.perf_counter() - started}
    if evaluate is not None:
        with torch.no_grad():
            record.update(evaluate(model))
    return TrainResult(history=[record], best_epoch=1)


def _train(model, take, n_samples, config, device, evaluate) -> TrainResult:
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    result = TrainResult()
    best_value, best_state = -math.inf, None
    pin = device.type == "cuda"
    rank, world_size = world()
    # Several processes (torchrun): every rank draws the same order and takes its share of each mini-batch;
    # DDP averages the gradients, and the loss is scaled so that the average is the full batch's gradient.
    net = model if world_size == 1 else DistributedDataParallel(model, device_ids=[device.index] if pin else None)
    bar = progress(range(1, config.epochs + 1), config.verbose and rank == 0, desc="training", unit="epoch")
    for epoch in bar:
        started = time.perf_counter()
        net.train()
        order = epoch_order(n_samples)  # the same on every rank: they share the seed
        losses = []
        for begin in range(0, n_samples, config.batch_size):
            index = order[begin : begin + config.batch_size]
            if world_size > 1 and len(index) < world_size:
                continue  # a last batch too small to give every rank a sample
            batch = take(index[rank::world_size])
            inputs, targets = batch if isinstance(batch, tuple) else (batch, batch)
            if pin:
                inputs, targets = inputs.pin_memory(), targets.pin_memory()
            inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            x_hat = net(inputs).float()
            if world_size == 1:
                loss = torch.mean((x_hat - targets) ** 2)
            else:  # sum over this rank's share / (whole batch) * world: DDP's mean is the full batch's mean
                loss = torch.sum((x_hat - targets) ** 2) * (world_size / (len(index) * targets[0].numel()))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if world_size > 1:
                loss = loss.detach().clone()
                dist.all_reduce(loss)
                loss /= world_size
            losses.append(loss.item())
        record = {"epoch": epoch, "train_loss": float(np.mean(losses)), "seconds": time.perf_counter() - started}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                record.update(evaluate(model))
        result.history.append(record)
        if config.verbose and rank == 0:
            bar.set_postfix(loss=f"{record['train_loss']:.4f}")
        log.debug("epoch %d: %s", epoch, record)
        if config.checkpoint == "best":
            value = record[config.monitor]
            if value > best_value or best_state is None:
                best_value, result.best_epoch = value, epoch
                best_state = copy.deepcopy(model.state_dict())
    if config.checkpoint == "best" and best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.best_epoch = config.epochs
    model.eval()
    return result
