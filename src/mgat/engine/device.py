"""The one place that decides where tensors live and whether autocast is used."""

from __future__ import annotations

import contextlib

import torch

from mgat.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else CPU; otherwise the named device, checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
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
