"""The training stages of the paper (Section 4.2) from a dataset split to a saved model.

Stage 1 (``baseline``) trains ResNet-bn with identity loss on batches of 8 persons x 1 image.
Stage 2 (``mgat``) starts from the stage-1 weights, reuses its classifier on the MGAT output X'
and adds the OF loss, on PK batches of M persons x K images. ``gat`` is stage 2 with the
conventional, unmasked graph attention: the paper's ablation. ``finetune`` is the control: the
same stage 2 without the graph (X' = X, no OF loss), so that MGAT's rows can be read against a
training that differs from it only in the graph.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from mgat import __version__
from mgat.data.frames import FrameDataset, flatten_frames, person_index
from mgat.data.registry import dataset_folder
from mgat.data.samplers import PersonRoundRobinSampler, PKSampler
from mgat.data.splits import load_split, read_splits
from mgat.data.transforms import train_transform
from mgat.digest import sha256_file
from mgat.engine.checkpoint import save_atomic, seed_everything
from mgat.engine.device import loader_workers, prepare_model, resolve_device
from mgat.engine.device import memory_format as choose_memory_format
from mgat.engine.diagnostics import IDENTITY_ALPHA
from mgat.engine.loop import TIMING_COLUMNS, train_loop
from mgat.engine.settings import StageSettings
from mgat.engine.steps import BaselineStep, GraphStep
from mgat.errors import ConfigError
from mgat.io import check_outputs, ensure_writable, write_text_atomic
from mgat.losses import OptimizationFeedbackLoss
from mgat.models import MaskedGraphAttention, ReidNet
from mgat.models.saved import load_reid_model, model_record
from mgat.provenance import device_name, environment
from mgat.vocabulary import BASELINE, CONTROL, MGAT, STAGES

log = logging.getLogger(__name__)


def train_stage(
    stage: str,
    *,
    dataset: str,
    root: str | Path,
    splits_file: str | Path,
    split: int,
    settings: StageSettings,
    model_out: str | Path,
    metrics_out: str | Path,
    checkpoint: str | Path,
    init_model: str | Path | None = None,
    device: str = "auto",
    threads: int = 1,
    memory_format: str = "auto",
    compile_mode: str = "none",
) -> list[dict[str, float]]:
    """Train ``stage`` on split ``split`` of ``dataset``; write the model and metrics CSV.

    ``threads`` is torch's number of CPU threads. On the CPU it changes the weights (the
    backward pass sums over threads in another order), so it is recorded with the model and in
    the resume fingerprint. ``device``, ``memory_format`` and ``compile_mode`` say how to run,
    not what to compute (``mgat.engine.device``); the loader's workers, derived from
    ``threads``, change no batch (``mgat.data.frames.make_loader``).
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; valid stages: {', '.join(STAGES)}")
    if stage != BASELINE and init_model is None:
        raise ConfigError(
            f"stage {stage} starts from a stage-1 model; give one with --init (mgat train) "
            "or init_model (Python)"
        )
    # Before hours of training, not after: no output may destroy an input or another output.
    check_outputs(
        {"model output": model_out, "metrics output": metrics_out, "checkpoint": checkpoint},
        {"splits file": splits_file, "stage-1 model": init_model},
        {"dataset folder": dataset_folder(dataset, root)},
    )
    ensure_writable(model_out, metrics_out, checkpoint)
    torch.set_num_threads(max(threads, 1))
    seed_everything(settings.seed)  # the classifier's (and, without weights, trunk's) init
    target = resolve_device(device)
    record = read_splits(splits_file, dataset)
    data = load_split(dataset, root, splits_file, split)
    samples = flatten_frames(data.train)
    persons = person_index(samples)
    # The paper draws every batch "from the cross-camera image set": cameras take turns.
    camids = [camid for _path, _pid, camid in samples] if settings.cross_camera else None
    images = FrameDataset(
        samples, train_transform(settings.height, settings.width, flip=settings.flip)
    )

    sampler: PersonRoundRobinSampler | PKSampler
    step: BaselineStep | GraphStep
    if stage == BASELINE:
        model, sampler, step = _stage1(settings, persons, camids)
        init_digest = None
    else:
        assert init_model is not None  # refused above for every stage but the baseline
        model, sampler, step = _stage2(stage, settings, persons, camids, init_model)
        if model.num_classes != len(persons):
            raise ConfigError(
                f"stage-1 model {init_model} classifies {model.num_classes} persons but split "
                f"{split} of {dataset} trains {len(persons)}; retrain the baseline"
            )
        init_digest = sha256_file(init_model)

    layout = choose_memory_format(memory_format, target)
    model = prepare_model(model, target, layout, compile_mode)
    optimizer, scheduler = build_optimizer(model, settings)
    fingerprint = _fingerprint(
        stage, dataset, split, record["sha256"], settings, init_digest, threads
    )
    log.info(
        "%s on %s split %d: %d persons, %d images, %d batches/epoch, device %s",
        stage,
        dataset,
        split,
        len(persons),
        len(samples),
        len(sampler),
        target,
    )
    rows = train_loop(
        stage=stage,
        model=model,
        step=step,
        optimizer=optimizer,
        scheduler=scheduler,
        sampler=sampler,
        dataset=images,
        epochs=settings.epochs,
        device=target,
        workers=loader_workers(threads, target),
        seed=settings.seed,
        checkpoint=checkpoint,
        fingerprint=fingerprint,
        layout=layout,
        threads=threads,
    )
    record_model = model_record(
        model,
        stage=stage,
        dataset=dataset,
        split=split,
        settings=settings,
        diagnostics=_diagnostics(stage, dataset, split, settings, rows),
        provenance=environment(
            device=device_name(target),
            splits_sha256=sha256_file(splits_file),
            init_model_sha256=init_digest,
            threads=threads,
        ),
    )
    save_atomic(record_model, model_out)
    write_text_atomic(metrics_out, pd.DataFrame(rows).to_csv(index=False))
    Path(checkpoint).unlink(missing_ok=True)
    return rows


def _stage1(
    settings: StageSettings, persons: dict[int, list[int]], camids: list[int] | None
) -> tuple[ReidNet, PersonRoundRobinSampler, BaselineStep]:
    """Stage 1: a new ResNet-bn, batches of persons x one image each, identity loss."""
    model = ReidNet(settings.backbone, num_classes=len(persons), weights=settings.weights)
    sampler = PersonRoundRobinSampler(
        persons,
        persons_per_batch=settings.persons_per_batch,
        batches_per_epoch=settings.batches_per_epoch,
        seed=settings.seed,
        camids=camids,
    )
    return model, sampler, BaselineStep()


def _stage2(
    stage: str,
    settings: StageSettings,
    persons: dict[int, list[int]],
    camids: list[int] | None,
    init_model: str | Path,
) -> tuple[ReidNet, PKSampler, GraphStep]:
    """Stage 2 from the stage-1 model, on PK batches: the graph (masked for MGAT, not for GAT,
    none for the control) and the OF loss plugged into the step."""
    model = load_reid_model(init_model)
    sampler = PKSampler(
        persons,
        persons_per_batch=settings.persons_per_batch,
        images_per_person=settings.images_per_person,
        batches_per_epoch=settings.batches_per_epoch,
        seed=settings.seed,
        camids=camids,
    )
    graph = of_loss = None
    if stage != CONTROL:
        graph = MaskedGraphAttention(settings.gamma, masked=stage == MGAT)
        of_loss = OptimizationFeedbackLoss(
            settings.of_loss,
            weight=settings.of_weight,
            detach_target=settings.of_detach_target,
            reduction=settings.loss_reduction,
        )
    step = GraphStep(
        graph,
        of_loss,
        features=settings.features,
        bn=settings.bn,
        reduction=settings.loss_reduction,
    )
    return model, sampler, step


def _diagnostics(
    stage: str, dataset: str, split: int, settings: StageSettings, rows: list[dict[str, float]]
) -> dict[str, Any]:
    """What the model record keeps of the run: the attention at the start of stage 2 and, per
    epoch, the losses, the attention and how far the stage moved the network."""
    return {
        **(_attention_at_start(stage, dataset, split, settings, rows) or {}),
        "history": [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in rows],
    }


def _attention_at_start(
    stage: str, dataset: str, split: int, settings: StageSettings, rows: list[dict[str, float]]
) -> dict[str, float | bool] | None:
    """The first epoch's attention statistics of a stage-2 run, with a warning if the attention
    was numerically the identity (then X' = X and the stage is identity-loss fine-tuning)."""
    if not rows or "alpha_self" not in rows[0]:  # stage 1 and the control have no attention
        return None
    first = rows[0]
    identity = first["alpha_self"] > IDENTITY_ALPHA
    if identity:
        log.warning(
            "%s on %s split %d: the attention is numerically the identity at the start of "
            "stage 2 (mean alpha_ii %.4f > %.2f; median e^2 %.4g = %.3g x gamma %g; "
            "||X'-X||/||X|| %.2e): X' = X, so this run is identity-loss fine-tuning, not %s; "
            "raise train.graph.gamma towards the median e^2 or read train.graph.features in "
            "docs/protocol.md",
            stage,
            dataset,
            split,
            first["alpha_self"],
            IDENTITY_ALPHA,
            first["e2_median"],
            first["e2_over_gamma"],
            settings.gamma,
            first["rel_change"],
            stage.upper(),
        )
    return {
        "alpha_self_start": first["alpha_self"],
        "rel_change_start": first["rel_change"],
        "e2_over_gamma_start": first["e2_over_gamma"],
        "attention_identity": identity,
    }


def build_optimizer(
    model: ReidNet, settings: StageSettings
) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.StepLR]:
    """SGD over the trunk and head groups, the rate multiplied by ``lr_decay`` every
    ``lr_step`` epochs (stage 1: 0.001 / 0.01, x0.1 every 3; stage 2: 1e-6, x0.1 every 10)."""
    optimizer = torch.optim.SGD(
        model.param_groups(backbone_lr=settings.lr_backbone, head_lr=settings.lr_head),
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=settings.lr_step, gamma=settings.lr_decay
    )
    return optimizer, scheduler


def _fingerprint(
    stage: str,
    dataset: str,
    split: int,
    splits_sha: str,
    settings: StageSettings,
    init_digest: str | None,
    threads: int,
) -> str:
    """What a checkpoint must match to be resumed: same stage, data, settings, start model and
    CPU thread count."""
    payload = {
        "stage": stage,
        "dataset": dataset,
        "split": split,
        "splits_sha256": splits_sha,
        "settings": dataclasses.asdict(settings),
        "init": init_digest,
        "threads": threads,
        "version": __version__,
        "torch": torch.__version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
