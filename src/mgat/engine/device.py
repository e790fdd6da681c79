"""The one place that decides where tensors live and whether autocast is used."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TypeVar

import torch

from mgat.errors import ConfigError
from mgat.runtime import COMPILE_MODES, MEMORY_FORMATS

Model = TypeVar("Model", bound=torch.nn.Module)

log = logging.getLogger(__name__)

#: Where jobs on one machine record which GPU each holds (see :func:`claim_free_gpu`).
GPU_LOCK_DIR = Path(tempfile.gettempdir()) / "mgat-gpu-locks"

_held_gpu_locks: list[IO[str]] = []  # open for the life of the process: closing releases


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: a free CUDA device when present, else CPU; otherwise the named device, checked.

    With several visible GPUs (a workstation running jobs side by side), ``auto`` claims one no
    other mgat job holds, so Snakemake's ``gpu`` resource decides how many run and this decides
    where. A scheduler that hands each job its own GPU (SLURM's ``--gpus``) leaves one visible.
    """
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        count = torch.cuda.device_count()
        if count == 1:
            return torch.device("cuda", 0)
        gpus = [str(torch.cuda.get_device_properties(i).uuid) for i in range(count)]
        return torch.device("cuda", claim_free_gpu(gpus))
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available; use auto or cpu")
    return device


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (no loss scaling needed); full precision elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def loader_workers(threads: int, device: torch.device) -> int:
    """Data-loader processes from a job's threads: all but one beside a GPU; on a CPU, where
    the workers compete with the model for cores, half of them, and none on 1-2 cores."""
    if device.type == "cuda":
        return max(threads - 1, 0)
    return threads // 2 if threads > 2 else 0


def claim_free_gpu(gpu_ids: Sequence[str], lock_dir: Path = GPU_LOCK_DIR) -> int:
    """Index of the first GPU in ``gpu_ids`` (physical ids, the same in every process) that no
    other process has claimed, holding its lock until this process ends.

    Locks are ``flock``s on one file per GPU, released by the kernel when a job ends however it
    ends, so a killed job never leaves a GPU marked busy. When every GPU is held (the user allowed
    more GPU jobs than GPUs), the job shares one and says so.
    """
    try:
        if not lock_dir.is_dir():
            lock_dir.mkdir(exist_ok=True)
            lock_dir.chmod(0o1777)  # one folder for every user's jobs, as /tmp itself
    except OSError as err:
        log.warning("cannot use %s to pick a free GPU (%s); using GPU 0", lock_dir, err)
        return 0
    for index, gpu in enumerate(gpu_ids):
        try:
            handle = open(lock_dir / f"{gpu}.lock", "a")  # noqa: SIM115  # held until exit
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _held_gpu_locks.append(handle)
        log.info("using GPU %d (%s)", index, gpu)
        return index
    index = os.getpid() % len(gpu_ids)
    log.warning("all %d GPUs are in use by other mgat jobs; sharing GPU %d", len(gpu_ids), index)
    return index


def memory_format(name: str, device: torch.device) -> torch.memory_format:
    """The layout for ``name``: ``auto`` is channels_last on CUDA (tensor cores read NHWC
    without transposes) and contiguous on the CPU, whose bit-identical resume it keeps."""
    if name not in MEMORY_FORMATS:
        raise ConfigError(f"unknown memory format {name!r}; use one of {', '.join(MEMORY_FORMATS)}")
    if name == "channels_last" or (name == "auto" and device.type == "cuda"):
        return torch.channels_last
    return torch.contiguous_format


def prepare_model(
    model: Model, device: torch.device, layout: torch.memory_format, compile_mode: str
) -> Model:
    """Move ``model`` to ``device`` in ``layout`` and, on CUDA, compile its trunk.

    Only the trunk (``model.backbone``) is compiled, in place, so state dicts keep their keys
    and the MGAT op stays outside the compiled region, in float32. Batches are always full, so
    ``reduce-overhead`` captures one CUDA graph per stage. On the CPU compilation is skipped:
    it needs a C++ toolchain and gains little there.
    """
    if compile_mode not in COMPILE_MODES:
        raise ConfigError(
            f"unknown compile mode {compile_mode!r}; use one of {', '.join(COMPILE_MODES)}"
        )
    model = model.to(device=device).to(memory_format=layout)
    if compile_mode != "none":
        if device.type != "cuda":
            log.info("compile=%s ignored on %s: the trunk runs eagerly", compile_mode, device)
        elif hasattr(model, "backbone"):
            trunk = model.get_submodule("backbone")
            trunk.compile(mode=None if compile_mode == "default" else compile_mode)
            log.info("trunk compiled with torch.compile (mode %s)", compile_mode)
    return model
