"""Atomic checkpoints with everything a bit-identical resume needs."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mgat.io import atomic_path


def rng_state() -> dict[str, Any]:
    """The state of every random generator the training touches."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` through a temporary file and a rename: a kill never leaves half a file.

    The object is serialised to memory first: torch's zip writer turns a full disk in the middle
    of a tensor into a bare ``RuntimeError`` ("unexpected pos"), while a plain write of the bytes
    fails with the OSError that atomic_path reports as one line naming the path.
    """
    with atomic_path(path) as tmp:
        buffer = io.BytesIO()
        torch.save(obj, buffer)
        tmp.write_bytes(buffer.getbuffer())


def load(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_atomic` onto the CPU."""
    return torch.load(path, map_location="cpu", weights_only=False)
