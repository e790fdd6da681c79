"""Cost of one training step against the bare forward+backward of the same model (the ceiling).

Measures, on the machine at hand, with the paper's shapes by default (ResNet50, 256x128 input,
batch 128): the stage-1 step and the stage-2 (MGAT) step exactly as the training loop runs them
(``mgat.engine.loop.optimise``: autocast, backward, SGD update), the ceiling (forward, identity
loss, backward; nothing else), and the MGAT op's forward+backward alone, as a share of the
stage-2 step. Writes a JSON record; see benchmarks/README.md for the recorded figures.

    python benchmarks/train_step.py --out benchmarks/results/train_step_cpu.json
    python benchmarks/train_step.py --memory-format channels_last --compile reduce-overhead \\
        --out benchmarks/results/train_step_cuda_graph.json      # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from mgat.engine.device import autocast, memory_format, prepare_model, resolve_device
from mgat.engine.loop import optimise
from mgat.engine.stages import StageSettings, build_optimizer
from mgat.engine.steps import BaselineStep, GraphStep
from mgat.losses import OptimizationFeedbackLoss, identity_loss
from mgat.models import MaskedGraphAttention, ReidNet
from mgat.runtime import add_runtime_options


def interleaved(
    fns: dict[str, Callable[[], object]], device: torch.device, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Wall seconds per call of each function, measured in turns so that a busy machine slows
    every contender alike; the device is synchronised around each call."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--persons", type=int, default=8, help="M of the stage-2 batch")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--classes", type=int, default=625, help="identities (MARS: 625)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    add_runtime_options(parser)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    device = resolve_device(args.device)
    torch.manual_seed(0)
    layout = memory_format(args.memory_format, device)
    model = ReidNet(args.backbone, num_classes=args.classes, weights="none").train()
    model = prepare_model(model, device, layout, args.compile)
    images = torch.randn(args.batch, 3, args.height, args.width, device=device)
    images = images.contiguous(memory_format=layout)
    per_person = args.batch // args.persons
    pids = torch.arange(args.persons, device=device).repeat_interleave(per_person)
    settings = StageSettings(epochs=1, lr_backbone=1e-6, lr_head=1e-6, lr_step=10)
    optimizer, _ = build_optimizer(model, settings)
    baseline, graph = (
        BaselineStep(),
        GraphStep(MaskedGraphAttention(250.0), OptimizationFeedbackLoss("mse")),
    )

    def ceiling() -> None:
        if device.type == "cuda":  # a new iteration of a compiled trunk's CUDA graphs
            torch.compiler.cudagraph_mark_step_begin()
        with autocast(device):
            _features, logits = model(images)
            loss = identity_loss(logits, pids)
        loss.backward()
        model.zero_grad(set_to_none=True)

    features = torch.randn(args.batch, model.feature_dim, device=device) * 30
    features.requires_grad_(True)
    mgat = MaskedGraphAttention(250.0)

    def mgat_op() -> None:
        with autocast(device):
            out = mgat(features, pids)
        out.sum().backward()
        features.grad = None

    results = interleaved(
        {
            "ceiling_s": ceiling,
            "stage1_step_s": lambda: optimise(model, baseline, optimizer, images, pids, device),
            "stage2_step_s": lambda: optimise(model, graph, optimizer, images, pids, device),
        },
        device,
        args.warmup,
        args.repeats,
    )
    results.update(interleaved({"mgat_op_s": mgat_op}, device, args.warmup, args.repeats * 4))
    median = {k: statistics.median(v) for k, v in results.items()}
    record = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "torch": torch.__version__,
        "memory_format": str(layout).removeprefix("torch."),
        "compile": args.compile,
        "shape": {
            "backbone": args.backbone,
            "batch": args.batch,
            "input": [args.height, args.width],
        },
        "median_s": median,
        "stage1_over_ceiling": median["stage1_step_s"] / median["ceiling_s"],
        "stage2_over_ceiling": median["stage2_step_s"] / median["ceiling_s"],
        "mgat_share_of_stage2": median["mgat_op_s"] / median["stage2_step_s"],
        "images_per_s": {
            "ceiling": args.batch / median["ceiling_s"],
            "stage1": args.batch / median["stage1_step_s"],
            "stage2": args.batch / median["stage2_step_s"],
        },
        "raw_s": results,
    }
    if device.type == "cuda":
        record["max_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    text = json.dumps(record, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
