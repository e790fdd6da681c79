"""Device choice: CPU fallback, and one free GPU per job on a machine with several."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mgat.engine import device
from mgat.engine.device import claim_free_gpu, resolve_device

GPUS = ["GPU-aaaa", "GPU-bbbb"]


@pytest.fixture
def release_locks():
    """Drop the locks this process took, as the end of a job would."""
    yield
    while device._held_gpu_locks:
        device._held_gpu_locks.pop().close()


def test_auto_without_cuda_is_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_jobs_side_by_side_get_different_gpus(tmp_path: Path, release_locks: None) -> None:
    assert claim_free_gpu(GPUS, tmp_path) == 0
    assert claim_free_gpu(GPUS, tmp_path) == 1  # a second job while the first holds GPU 0
    assert claim_free_gpu(GPUS, tmp_path) in (0, 1)  # more jobs than GPUs: shares, with a warning


def test_a_finished_job_frees_its_gpu(tmp_path: Path, release_locks: None) -> None:
    assert claim_free_gpu(GPUS, tmp_path) == 0
    device._held_gpu_locks.pop().close()
    assert claim_free_gpu(GPUS, tmp_path) == 0


def test_a_killed_job_frees_its_gpu(tmp_path: Path, release_locks: None) -> None:
    """The lock belongs to the process: held while it runs, gone when it is killed."""
    code = (
        "import sys, time; from pathlib import Path; from mgat.engine.device import claim_free_gpu;"
        f"print(claim_free_gpu({GPUS!r}, Path({str(tmp_path)!r})), flush=True); time.sleep(60)"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "0"
        assert claim_free_gpu(GPUS, tmp_path) == 1
    finally:
        other.kill()
        other.wait()
    device._held_gpu_locks.pop().close()
    assert claim_free_gpu(GPUS, tmp_path) == 0
