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


@pytest.mark.parametrize("stage", ["baseline", "mgat"])
def test_channels_last_gives_the_same_losses_on_the_cpu(stage: str) -> None:
    """The CUDA layout (channels_last) changes how convolutions read memory, not what they
    compute: the first step's loss agrees to 1e-5, the next two within float tolerance."""
    from mgat.engine.device import prepare_model
    from mgat.engine.loop import optimise
    from mgat.engine.settings import StageSettings
    from mgat.engine.stages import build_optimizer
    from mgat.engine.steps import BaselineStep, GraphStep
    from mgat.losses import OptimizationFeedbackLoss
    from mgat.models import MaskedGraphAttention, ReidNet

    cpu = torch.device("cpu")
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(3, 8, 3, 64, 32, generator=gen)
    pids = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    if stage == "baseline":
        step = BaselineStep()
    else:
        step = GraphStep(MaskedGraphAttention(250.0), OptimizationFeedbackLoss())
    losses = {}
    for layout in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(1)
        model = prepare_model(ReidNet("resnet18", 4, weights="none"), cpu, layout, "none")
        optimizer, _ = build_optimizer(model, StageSettings(1, 0.01, 0.01, 1))
        losses[layout] = [
            float(
                optimise(model, step, optimizer, x.contiguous(memory_format=layout), pids, cpu)[
                    "loss"
                ].detach()
            )
            for x in images
        ]
    assert losses[torch.channels_last][0] == pytest.approx(
        losses[torch.contiguous_format][0], rel=1e-5
    )
    # After updates, summation-order differences grow through SGD (and through the attention's
    # exp for stage 2), still far below any change a bug would make.
    assert losses[torch.channels_last] == pytest.approx(losses[torch.contiguous_format], rel=5e-3)


def test_layout_and_compile_choices() -> None:
    from mgat.engine.device import memory_format, prepare_model
    from mgat.errors import ConfigError
    from mgat.models import ReidNet

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert memory_format("auto", cpu) == torch.contiguous_format  # keeps the CPU bit-identical
    assert memory_format("auto", cuda) == torch.channels_last
    assert memory_format("channels_last", cpu) == torch.channels_last
    with pytest.raises(ConfigError, match="memory format 'nchw'"):
        memory_format("nchw", cpu)
    model = ReidNet("resnet18", 2, weights="none")
    with pytest.raises(ConfigError, match="compile mode 'fast'"):
        prepare_model(model, cpu, torch.contiguous_format, "fast")
    # On the CPU compilation is skipped: the trunk stays the eager module.
    prepared = prepare_model(model, cpu, torch.contiguous_format, "reduce-overhead")
    assert prepared.backbone._compiled_call_impl is None
