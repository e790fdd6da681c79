"""Does compilation change training? The loss curves of an eager and a compiled model, step by step.

Three copies of one initial ReidNet train side by side on the same batches: eager in float32
(the reference), eager with the training's bf16 autocast, and bf16 with the trunk compiled as
the training jobs compile it (``mgat.engine.device.prepare_model``; ``reduce-overhead``
captures CUDA graphs). The bf16 steps are ``mgat.engine.loop.optimise``. Training from scratch
at batch 8 amplifies any rounding difference, so the compiled curve is judged against bf16's
own distance from float32, not against zero. The batches are a learnable synthetic task: each
of ``--classes`` persons is a smooth random template, every image its person's template plus
fresh noise, so the curves are compared over a real descent. Records the curves, their
distances (per step and per window of 25 steps) and the median step time of each. See
benchmarks/README.md.

    python benchmarks/compiled_curve.py --steps 300 --compile reduce-overhead \\
        --out benchmarks/results/compiled_curve_cuda.json
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mgat.engine.device import memory_format, prepare_model, resolve_device
from mgat.engine.loop import optimise
from mgat.engine.stages import StageSettings, build_optimizer
from mgat.engine.steps import BaselineStep
from mgat.models import ReidNet
from mgat.runtime import add_runtime_options

WINDOW = 25


def batches(args: argparse.Namespace, device: torch.device):
    """Batch ``t`` of the synthetic task: ``--batch`` images of distinct persons (a stage-1
    batch), each its person's template plus noise; a pure function of ``t``."""
    templates = torch.rand(args.classes, 3, 8, 4, generator=torch.Generator().manual_seed(0))
    templates = F.interpolate(templates, size=(args.height, args.width), mode="bilinear")
    for t in range(args.steps):
        generator = torch.Generator().manual_seed(t + 1)
        pids = torch.randperm(args.classes, generator=generator)[: args.batch]
        noise = torch.randn(args.batch, 3, args.height, args.width, generator=generator)
        images = templates[pids] + args.noise * noise
        yield images.to(device), pids.to(device)


def window_means(values: list[float]) -> list[float]:
    return [statistics.fmean(values[i : i + WINDOW]) for i in range(0, len(values), WINDOW)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8, help="persons per stage-1 batch")
    parser.add_argument("--classes", type=int, default=64)
    parser.add_argument("--noise", type=float, default=1.0)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--lr-backbone", type=float, default=0.001, help="the paper's stage 1")
    parser.add_argument("--lr-head", type=float, default=0.01)
    parser.add_argument("--device", default="auto")
    add_runtime_options(parser)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.batch > args.classes:
        parser.error("--batch takes distinct persons: it must be at most --classes")

    device = resolve_device(args.device)
    layout = memory_format(args.memory_format, device)
    torch.manual_seed(0)
    initial = ReidNet(args.backbone, num_classes=args.classes, weights="none").train()
    settings = StageSettings(
        epochs=1, lr_backbone=args.lr_backbone, lr_head=args.lr_head, lr_step=1000
    )
    runs = {}
    for name, mode in (("float32", "none"), ("eager", "none"), ("compiled", args.compile)):
        model = prepare_model(copy.deepcopy(initial), device, layout, mode)
        runs[name] = (model, build_optimizer(model, settings)[0])
    step = BaselineStep()
    losses: dict[str, list[float]] = {name: [] for name in runs}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for images, pids in batches(args, device):
        images = images.contiguous(memory_format=layout)
        for name, (model, optimizer) in runs.items():
            start = time.perf_counter()
            if name == "float32":  # the reference: optimise() without autocast
                out = step(model, images, pids)
                optimizer.zero_grad(set_to_none=True)
                out["loss"].backward()
                optimizer.step()
            else:
                out = optimise(model, step, optimizer, images, pids, device)
            losses[name].append(float(out["loss"].detach()))  # synchronises
            seconds[name].append(time.perf_counter() - start)

    windows = {name: window_means(values) for name, values in losses.items()}

    def apart(a: str, b: str) -> dict[str, float]:
        """How far curve ``b`` is from curve ``a``: per step and per window (relative)."""
        steps = [abs(x - y) for x, y in zip(losses[a], losses[b], strict=True)]
        rel = [abs(x - y) / max(abs(x), 1e-12) for x, y in zip(windows[a], windows[b], strict=True)]
        return {"first_step_abs": steps[0], "max_step_abs": max(steps), "max_window_rel": max(rel)}

    steady = slice(min(10, args.steps - 1), None)  # without compilation and warm-up
    record = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "machine": platform.machine(),
        "memory_format": str(layout).removeprefix("torch."),
        "compile": args.compile,
        "shape": {
            "backbone": args.backbone,
            "batch": args.batch,
            "input": [args.height, args.width],
        },
        "steps": args.steps,
        "first_loss": {name: values[0] for name, values in losses.items()},
        "last_window_mean": {name: values[-1] for name, values in windows.items()},
        # bf16's own error (eager against float32) is the yardstick for compilation's.
        "compiled_vs_eager": apart("eager", "compiled"),
        "eager_vs_float32": apart("float32", "eager"),
        "compiled_vs_float32": apart("float32", "compiled"),
        "window": WINDOW,
        "window_means": windows,
        "median_step_s": {name: statistics.median(v[steady]) for name, v in seconds.items()},
        "images_per_s": {
            name: args.batch / statistics.median(v[steady]) for name, v in seconds.items()
        },
        "losses": losses,
    }
    if device.type == "cuda":
        record["max_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    text = json.dumps(record, indent=1)
    print(
        json.dumps(
            {k: v for k, v in record.items() if k not in ("losses", "window_means")}, indent=1
        )
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
