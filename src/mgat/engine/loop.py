"""The training loop every stage shares: batches, optimisation, per-epoch checkpoints, metrics.

Stages differ only in the ``step`` they plug in. A killed run started again with the same
arguments resumes from its last checkpoint and, on the CPU, ends with bit-identical weights:
the checkpoint holds the model, optimizer, scheduler, sampler and every RNG state, and the data
loader of each epoch is seeded from (seed, epoch) alone.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
from tqdm import tqdm

from mgat.data.frames import make_loader
from mgat.data.transforms import model_input
from mgat.engine.checkpoint import load, rng_state, save_atomic, seed_everything, set_rng_state
from mgat.engine.device import autocast
from mgat.engine.diagnostics import Movement
from mgat.errors import MgatError

if TYPE_CHECKING:
    from mgat.models import ReidNet

log = logging.getLogger(__name__)


class Step(Protocol):
    """A stage's step: (model, images, person ids) -> named scalar tensors; "loss" is optimised
    and "correct" counts correctly classified images. ``train_mode`` puts the network in the
    mode the stage trains in (e.g. BatchNorm frozen) at the start of every epoch."""

    def train_mode(self, model: ReidNet) -> None: ...

    def __call__(
        self, model: ReidNet, images: torch.Tensor, pids: torch.Tensor
    ) -> dict[str, torch.Tensor]: ...


#: The module torch loads once a compiled function runs as CUDA graphs.
CUDA_GRAPH_TREES = "torch._inductor.cudagraph_trees"

#: The columns of a metrics row that time the run rather than describe the training: the
#: epoch's seconds and images/s, the wait for its first batch (the loader starting its
#: workers), the images/s without that wait, and the peak GPU memory.
TIMING_COLUMNS = (
    "seconds",
    "images_per_s",
    "first_batch_s",
    "steady_images_per_s",
    "max_memory_mb",
)

#: How often (iterations) the loop synchronises with the device to look for a non-finite loss.
FINITE_CHECK_EVERY = 25


class TrainingError(MgatError):
    """Training cannot go on (e.g. the loss diverged)."""


def train_loop(
    *,
    stage: str,
    model: ReidNet,
    step: Step,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    sampler: Any,
    dataset: torch.utils.data.Dataset,
    epochs: int,
    device: torch.device,
    workers: int,
    seed: int,
    checkpoint: str | Path,
    fingerprint: str,
    layout: torch.memory_format = torch.contiguous_format,
    threads: int | None = None,
) -> list[dict[str, float]]:
    """Train for ``epochs`` epochs, resuming from ``checkpoint`` when it matches ``fingerprint``.

    Returns one metrics row per epoch, with how far the network has moved from ``model`` as
    given (:class:`~mgat.engine.diagnostics.Movement`). The checkpoint is rewritten atomically
    after every epoch and left in place; the caller removes it once the final outputs are
    written. Input batches are laid out in ``layout``, the model's own (see
    ``mgat.engine.device.prepare_model``). ``threads`` (part of ``fingerprint``) is kept in the
    checkpoint so that a resume under another count can say why it starts over.
    """
    checkpoint = Path(checkpoint)
    rows: list[dict[str, float]] = []
    start = 0
    model.to(device)
    movement = Movement(model)  # the stage's start, before a checkpoint moves it on
    state = _resumable(checkpoint, fingerprint, threads)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"])
        rows = state["rows"]
        start = state["epoch"] + 1
        log.info("%s: resuming after epoch %d from %s", stage, state["epoch"], checkpoint)
    else:
        seed_everything(seed)

    for epoch in range(start, epochs):
        rows.append(
            _train_epoch(
                stage,
                model,
                step,
                optimizer,
                sampler,
                dataset,
                epoch,
                device,
                workers,
                seed,
                layout,
            )
        )
        rows[-1].update(movement.measure())
        scheduler.step()
        log.info("%s: epoch %d %s", stage, epoch, _format_row(rows[-1]))
        save_atomic(
            {
                "fingerprint": fingerprint,
                "threads": threads,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "sampler": sampler.state_dict(),
                "rng": rng_state(),
                "rows": rows,
            },
            checkpoint,
        )
    return rows


def _resumable(checkpoint: Path, fingerprint: str, threads: int | None) -> dict[str, Any] | None:
    if not checkpoint.is_file():
        return None
    try:
        state = load(checkpoint)
    except Exception as err:  # a checkpoint from another version or a damaged disk
        log.warning("ignoring unreadable checkpoint %s (%s); starting over", checkpoint, err)
        return None
    written_with = state.get("threads")
    if state.get("fingerprint") != fingerprint and written_with not in (None, threads):
        log.warning(
            "checkpoint %s was written with %s CPU threads and this run has %s, which trains "
            "other weights on the CPU; starting over (train.threads: %s, or mgat train "
            "--threads %s, resumes it)",
            checkpoint,
            written_with,
            threads,
            written_with,
            written_with,
        )
        return None
    if state.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s of other settings; starting over", checkpoint)
        return None
    return state


def _train_epoch(
    stage: str,
    model: ReidNet,
    step: Step,
    optimizer: torch.optim.Optimizer,
    sampler: Any,
    dataset: torch.utils.data.Dataset,
    epoch: int,
    device: torch.device,
    workers: int,
    seed: int,
    layout: torch.memory_format = torch.contiguous_format,
) -> dict[str, float]:
    step.train_mode(model)
    sampler.set_epoch(epoch)
    loader = make_loader(dataset, sampler, workers=workers, device=device, seed=seed, epoch=epoch)
    lrs = {group.get("name", str(i)): group["lr"] for i, group in enumerate(optimizer.param_groups)}
    sums: dict[str, torch.Tensor] = {}
    first_bad = torch.full((), math.inf, device=device)
    images_seen = 0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    first_batch_s = 0.0
    progress = tqdm(loader, desc=f"{stage} epoch {epoch}", mininterval=10.0, leave=False)
    for iteration, (images, pids, *_rest) in enumerate(progress):
        if iteration == 0:
            first_batch_s = time.perf_counter() - started
        images = model_input(images, device, layout)
        pids = pids.to(device, non_blocking=True)
        out = optimise(model, step, optimizer, images, pids, device)
        loss = out["loss"]
        # Accumulate on the device; synchronise only every few iterations.
        finite = torch.isfinite(loss.detach())
        first_bad = torch.where(finite, first_bad, first_bad.clamp_max(iteration))
        for name, value in out.items():
            value = value.detach().float()
            sums[name] = sums[name] + value if name in sums else value
        images_seen += images.shape[0]
        if (iteration + 1) % FINITE_CHECK_EVERY == 0:
            _check_finite(stage, epoch, first_bad)
    _check_finite(stage, epoch, first_bad)
    seconds = time.perf_counter() - started
    batches = max(len(loader), 1)
    row: dict[str, float] = {"epoch": epoch}
    for name, total in sums.items():
        if name == "correct":
            row["accuracy"] = float(total) / max(images_seen, 1)
        else:
            row[name] = float(total) / batches
    row.update({f"lr_{name}": lr for name, lr in lrs.items()})
    row.update({"images": images_seen, "seconds": seconds, "images_per_s": images_seen / seconds})
    fed = seconds - first_batch_s  # once the first batch had arrived
    row["first_batch_s"] = first_batch_s
    row["steady_images_per_s"] = images_seen / fed if fed > 0 else 0.0
    if device.type == "cuda":
        row["max_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return row


def optimise(
    model: ReidNet,
    step: Step,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    pids: torch.Tensor,
    device: torch.device,
) -> dict[str, torch.Tensor]:
    """One optimisation step: the stage's step under autocast, backward, SGD update.

    No host-device synchronisation happens here; the loop checks finiteness periodically.
    Where CUDA graphs are in use (a trunk compiled with ``reduce-overhead``), each call starts
    a new iteration of them: the previous step's outputs are no longer needed.
    """
    if CUDA_GRAPH_TREES in sys.modules:
        torch.compiler.cudagraph_mark_step_begin()
    with autocast(device):
        out = step(model, images, pids)
    optimizer.zero_grad(set_to_none=True)
    out["loss"].backward()
    optimizer.step()
    return out


def _check_finite(stage: str, epoch: int, first_bad: torch.Tensor) -> None:
    bad = float(first_bad)
    if math.isfinite(bad):
        raise TrainingError(
            f"stage {stage}: the loss became non-finite at epoch {epoch}, iteration {int(bad)}; "
            "lower the learning rate or check the input data"
        )


def _format_row(row: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch")
