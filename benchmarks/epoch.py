"""End to end: the images/s of real training epochs and of extraction, loader included.

Synthesises a small MARS in its real on-disk layout, trains stage 1 and stage 2 on it through
``mgat.engine.stages.train_stage`` (the function every training job calls, so the figures are
the ``images_per_s`` and ``max_memory_mb`` columns of ``train_log.csv``), then runs the
extraction's frame loop (``mgat.extraction.frame_features``) over a list of test frames repeated
to ``--extract-frames`` entries. The files repeat, but every entry is read, decoded, resized and
run like a distinct frame; the real MARS test set (681,089 frames, about 3.4 GB of JPEG) stays in
the page cache of a GPU node as these do. Epoch 0 of a compiled run includes compilation; the
later epochs are the steady state. Writes a JSON record; see benchmarks/README.md.

    python benchmarks/epoch.py --work /tmp/mgat-epoch --threads 16 --compile reduce-overhead \\
        --out benchmarks/results/epoch_cuda_graph.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import platform
import time
from pathlib import Path

import torch

from mgat.data.frames import flatten_frames
from mgat.data.splits import load_split, write_splits
from mgat.data.synthetic import synthesize
from mgat.engine.device import loader_workers, memory_format, resolve_device
from mgat.engine.loop import TIMING_COLUMNS
from mgat.engine.stages import StageSettings, train_stage
from mgat.extraction import frame_features
from mgat.models.saved import load_saved_model
from mgat.runtime import add_runtime_options

DATASET = "mars"


def prepare_data(work: Path, ids: int, frames: tuple[int, int]) -> Path:
    """The synthetic MARS and its splits file under ``work`` (made once, then reused)."""
    splits = work / "splits.json"
    if not splits.is_file():
        synthesize(DATASET, work / "data", ids=ids, min_frames=frames[0], max_frames=frames[1])
        write_splits(DATASET, work / "data", splits)
    return splits


def train(args: argparse.Namespace, stage: str, splits: Path, init: Path | None) -> dict:
    """Train one stage; its per-epoch rows, as ``train_log.csv`` holds them."""
    graph = stage != "baseline"
    settings = StageSettings(
        epochs=args.epochs,
        lr_backbone=1e-6 if graph else 1e-3,
        lr_head=1e-6 if graph else 1e-2,
        lr_step=10 if graph else 3,
        persons_per_batch=8,
        images_per_person=16 if graph else 1,
        batches_per_epoch=args.stage2_batches if graph else args.stage1_batches,
        backbone=args.backbone,
        weights="none",
    )
    model = args.work / f"{stage}.pt"
    started = time.perf_counter()
    rows = train_stage(
        stage,
        dataset=DATASET,
        root=args.work / "data",
        splits_file=splits,
        split=0,
        settings=settings,
        model_out=model,
        metrics_out=args.work / f"{stage}.csv",
        checkpoint=args.work / f"{stage}.checkpoint",
        init_model=init,
        device=args.device,
        threads=args.threads,
        memory_format=args.memory_format,
        compile_mode=args.compile,
    )
    return {
        "batch": settings.persons_per_batch * settings.images_per_person,
        "job_seconds": time.perf_counter() - started,
        "epochs": [
            {k: row[k] for k in ("epoch", "images", *TIMING_COLUMNS) if k in row} for row in rows
        ],
    }


def extract(args: argparse.Namespace, splits: Path, model_path: Path) -> dict:
    """The extraction's frame loop over the test frames, repeated to ``--extract-frames``."""
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    model, _ = load_saved_model(model_path)
    layout = memory_format(args.memory_format, device)
    model = model.to(device=device, memory_format=layout).eval()
    data = load_split(DATASET, args.work / "data", splits, 0, protocol="official")
    distinct = sorted({path for path, _pid, _cam in flatten_frames(data.gallery)})
    paths = list(itertools.islice(itertools.cycle(distinct), args.extract_frames))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    _features, rate = frame_features(
        model,
        paths,
        256,
        128,
        args.extract_batch,
        loader_workers(args.threads, device),
        device,
        layout,
        "extract",
    )
    record = {
        "frames": len(paths),
        "distinct_files": len(distinct),
        "batch": args.extract_batch,
        "seconds_with_start_up": time.perf_counter() - started,
        "steady_frames_per_s": rate,
    }
    if device.type == "cuda":
        record["max_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (data, models)")
    parser.add_argument("--ids", type=int, default=8, help="synthetic MARS training identities")
    parser.add_argument("--frames", type=int, nargs=2, default=(40, 80), metavar=("MIN", "MAX"))
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--stage1-batches", type=int, default=2000, help="batches of 8 x 1")
    parser.add_argument("--stage2-batches", type=int, default=200, help="batches of 8 x 16")
    parser.add_argument("--extract-frames", type=int, default=60000)
    parser.add_argument("--extract-batch", type=int, default=256)
    parser.add_argument("--stages", nargs="+", default=["baseline", "mgat", "extract"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    add_runtime_options(parser)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    args.work.mkdir(parents=True, exist_ok=True)
    splits = prepare_data(args.work, args.ids, tuple(args.frames))
    device = resolve_device(args.device)
    record: dict = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": args.threads,
        "loader_workers": loader_workers(args.threads, device),
        "memory_format": args.memory_format,
        "compile": args.compile,
        "backbone": args.backbone,
    }
    baseline = args.work / "baseline.pt"
    for stage in args.stages:
        if stage == "extract":
            record["extract"] = extract(args, splits, baseline)
        else:
            record[stage] = train(args, stage, splits, None if stage == "baseline" else baseline)
        text = json.dumps(record, indent=1)
        print(text, flush=True)
        if args.out:  # after every stage, so that a run cut short keeps what it measured
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
