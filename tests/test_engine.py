"""The training engine: schedules, resume after a kill, divergence, the stages end to end."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from mgat.data.frames import FrameDataset
from mgat.data.samplers import PersonRoundRobinSampler
from mgat.data.splits import write_splits
from mgat.data.synthetic import synthesize
from mgat.data.transforms import train_transform
from mgat.engine import StageSettings, TrainingError, train_loop, train_stage
from mgat.engine.diagnostics import ATTENTION_COLUMNS
from mgat.engine.loop import TIMING_COLUMNS
from mgat.engine.stages import build_optimizer
from mgat.models import ReidNet
from mgat.models.saved import load_reid_model, load_saved_model
from mgat.vocabulary import MOVEMENT_COLUMNS
from tests.helpers import REPO

TINY = {
    "backbone": "resnet18",
    "weights": "none",
    "height": 32,
    "width": 16,
    "persons_per_batch": 4,
    "batches_per_epoch": 3,
}


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("market")
    synthesize("market1501", root, ids=5, seed=1)
    splits = root / "splits.json"
    write_splits("market1501", root, splits)
    return root, splits


def paper_settings(stage: str) -> StageSettings:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    train = config["train"]
    if stage == "baseline":
        values = dict(train["baseline"])
    else:
        values = dict(train["graph"])
        lr = values.pop("lr")
        del values["control"]  # which stages run, not a stage's setting
        values.update(lr_backbone=lr, lr_head=lr)
    return StageSettings.from_dict(values)


def lr_per_epoch(settings: StageSettings) -> list[dict[str, float]]:
    model = ReidNet("resnet18", num_classes=3, weights="none")
    optimizer, scheduler = build_optimizer(model, settings)
    rates = []
    for _ in range(settings.epochs):
        rates.append({g["name"]: g["lr"] for g in optimizer.param_groups})
        optimizer.step()
        scheduler.step()
    return rates


def test_stage1_schedule_matches_the_paper() -> None:
    rates = lr_per_epoch(paper_settings("baseline"))
    assert len(rates) == 9
    for epoch, rate in enumerate(rates):
        factor = 0.1 ** (epoch // 3)
        assert rate["head"] == pytest.approx(0.01 * factor, rel=1e-9), epoch
        assert rate["backbone"] == pytest.approx(0.001 * factor, rel=1e-9), epoch


def test_stage2_schedule_matches_the_paper() -> None:
    rates = lr_per_epoch(paper_settings("mgat"))
    assert len(rates) == 20
    for epoch, rate in enumerate(rates):
        expected = 1e-6 * 0.1 ** (epoch // 10)
        assert set(rate) == {"backbone", "head"}
        assert all(v == pytest.approx(expected, rel=1e-9) for v in rate.values()), epoch


def run_stage(stage, market, tmp_path, init=None, **overrides) -> tuple[list[dict], Path]:
    root, splits = market
    settings = StageSettings(epochs=2, lr_backbone=0.01, lr_head=0.01, lr_step=1, **TINY)
    settings = dataclasses.replace(settings, **overrides)
    out = tmp_path / f"{stage}.pt"
    rows = train_stage(
        stage,
        dataset="market1501",
        root=root,
        splits_file=splits,
        split=0,
        settings=settings,
        model_out=out,
        metrics_out=tmp_path / f"{stage}.csv",
        checkpoint=tmp_path / "ckpt.pt",
        init_model=init,
        device="cpu",
    )
    return rows, out


def test_three_stages_train_and_log(market, tmp_path: Path) -> None:
    _rows, baseline = run_stage("baseline", market, tmp_path)
    log = pd.read_csv(tmp_path / "baseline.csv")
    assert list(log["epoch"]) == [0, 1]
    for column in ("loss", "id_loss", "accuracy", "lr_backbone", "lr_head", "images_per_s"):
        assert column in log.columns
    assert (log["first_batch_s"] > 0).all() and (log["steady_images_per_s"] > 0).all()
    assert log["lr_head"].tolist() == pytest.approx([0.01, 0.001])
    assert not (tmp_path / "ckpt.pt").exists()  # removed once the outputs exist
    for stage in ("mgat", "gat"):
        run_stage(stage, market, tmp_path, init=baseline, persons_per_batch=3, images_per_person=4)
        graph_log = pd.read_csv(tmp_path / f"{stage}.csv")
        assert {"id_loss", "of_loss", "id_grad_x", "of_grad_x", *ATTENTION_COLUMNS} <= set(
            graph_log.columns
        )
        mass = graph_log["alpha_self"] + graph_log["attn_same"] + graph_log["attn_other"]
        assert mass.tolist() == pytest.approx([1.0, 1.0], abs=1e-5)
        model, record = load_saved_model(tmp_path / f"{stage}.pt")
        first = load_reid_model(baseline)
        # stage 2 starts from stage 1 and keeps its classifier's shape
        assert model.num_classes == first.num_classes
        assert record["diagnostics"]["alpha_self_start"] == graph_log["alpha_self"][0]


def test_control_stage_and_movement_are_logged(market, tmp_path: Path) -> None:
    """The control (stage 2 without the graph) trains with stage 2's batches and logs no
    attention; every stage logs, per epoch and in its model record, how far it moved."""
    _rows, baseline = run_stage("baseline", market, tmp_path)
    base_log = pd.read_csv(tmp_path / "baseline.csv")
    assert set(MOVEMENT_COLUMNS) <= set(base_log.columns)
    assert (base_log["move_trunk"] > 0).all() and (base_log["move_head"] > 0).all()
    _rows, control = run_stage(
        "finetune", market, tmp_path, init=baseline, persons_per_batch=3, images_per_person=4
    )
    log = pd.read_csv(tmp_path / "finetune.csv")
    assert "of_loss" not in log.columns and "alpha_self" not in log.columns
    assert set(MOVEMENT_COLUMNS) <= set(log.columns)
    assert log["move_trunk"].is_monotonic_increasing and log["move_trunk"].iloc[0] > 0
    record = load_saved_model(control)[1]
    assert "attention_identity" not in record["diagnostics"]
    history = record["diagnostics"]["history"]
    assert [h["epoch"] for h in history] == [0, 1]
    assert history[-1]["move_trunk"] == pytest.approx(log["move_trunk"].iloc[-1])
    assert not set(TIMING_COLUMNS) & set(history[0])


def test_frozen_bn_and_sum_reduction(market, tmp_path: Path) -> None:
    """bn frozen: no running statistic moves in stage 2 while the weights do; bn train: the
    statistics drift. Summing the losses over the batch instead of averaging them moves the
    weights about N = M x K times as far at a small rate (docs/protocol.md)."""
    _rows, baseline = run_stage("baseline", market, tmp_path)
    stage2 = {"persons_per_batch": 3, "images_per_person": 4, "epochs": 1, "weight_decay": 0.0}
    small = {"lr_backbone": 1e-5, "lr_head": 1e-5, "momentum": 0.0}
    moved = {}
    for bn in ("frozen", "train"):
        rows, model = run_stage("mgat", market, tmp_path, init=baseline, bn=bn, **stage2)
        start, end = load_reid_model(baseline).state_dict(), load_reid_model(model).state_dict()
        stats = [k for k in start if "running" in k]
        unchanged = all(torch.equal(start[k], end[k]) for k in stats)
        assert unchanged == (bn == "frozen")
        assert (rows[-1]["bn_mean_shift_head"] == 0.0) == (bn == "frozen")
        assert rows[-1]["move_trunk"] > 0
    for reduction in ("mean", "sum"):
        rows, _model = run_stage(
            "finetune",
            market,
            tmp_path,
            init=baseline,
            bn="frozen",
            loss_reduction=reduction,
            **stage2,
            **small,
        )
        moved[reduction] = rows[-1]["move_trunk"]
    assert moved["sum"] / moved["mean"] == pytest.approx(12, rel=0.05)


def test_identity_attention_is_said_once_in_the_log(market, tmp_path: Path, caplog) -> None:
    """A gamma far below the squared distances makes A the identity: X' = X, and the run says
    so; a gamma far above them spreads the attention and changes X."""
    _rows, baseline = run_stage("baseline", market, tmp_path)
    pk = {"persons_per_batch": 3, "images_per_person": 4, "epochs": 1}
    with caplog.at_level("WARNING", logger="mgat"):
        rows, model = run_stage("mgat", market, tmp_path, init=baseline, gamma=1e-6, **pk)
    warnings = [r for r in caplog.records if "numerically the identity" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert rows[0]["alpha_self"] > 0.99 and rows[0]["rel_change"] < 1e-3
    assert load_saved_model(model)[1]["diagnostics"]["attention_identity"] is True
    caplog.clear()
    with caplog.at_level("WARNING", logger="mgat"):
        rows, model = run_stage("mgat", market, tmp_path, init=baseline, gamma=1e9, **pk)
    assert not [r for r in caplog.records if "numerically the identity" in r.getMessage()]
    assert rows[0]["alpha_self"] < 0.2 and rows[0]["rel_change"] > 0.1
    assert load_saved_model(model)[1]["diagnostics"]["attention_identity"] is False


def test_non_finite_loss_names_stage_epoch_iteration(market, tmp_path: Path) -> None:
    _rows, baseline = run_stage("baseline", market, tmp_path)
    model = load_reid_model(baseline)

    class Exploding:
        def train_mode(self, model):
            model.train()

        def __call__(self, model, images, pids):
            return {"loss": model(images)[1].sum() * float("nan")}

    samples = [(str(p), i % 3, 0) for i, p in enumerate(sorted(market[0].rglob("*.jpg"))[:9])]
    sampler = PersonRoundRobinSampler({0: [0, 3, 6], 1: [1, 4, 7], 2: [2, 5, 8]}, 3, 2, seed=0)
    optimizer, scheduler = build_optimizer(model, StageSettings(1, 0.1, 0.1, 1))
    with pytest.raises(TrainingError, match=r"stage demo: .*epoch 0, iteration 0") as err:
        train_loop(
            stage="demo",
            model=model,
            step=Exploding(),
            optimizer=optimizer,
            scheduler=scheduler,
            sampler=sampler,
            dataset=FrameDataset(samples, train_transform(32, 16)),
            epochs=1,
            device=torch.device("cpu"),
            workers=0,
            seed=0,
            checkpoint=tmp_path / "c.pt",
            fingerprint="x",
        )
    assert "\n" not in str(err.value)


def mgat_train(market, tmp_path: Path, name: str) -> subprocess.Popen:
    root, splits = market
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        yaml.safe_dump({"epochs": 4, "lr_backbone": 0.01, "lr_head": 0.01, "lr_step": 2, **TINY})
    )
    args = [
        sys.executable,
        "-m",
        "mgat.cli",
        "train",
        "baseline",
        "market1501",
        "--root",
        str(root),
        "--splits",
        str(splits),
        "--settings",
        str(settings),
        "--out",
        str(tmp_path / name),
        "--metrics",
        str(tmp_path / f"{name}.csv"),
        "--checkpoint",
        str(tmp_path / f"{name}.ckpt"),
        "--device",
        "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_and_resume_gives_identical_weights(market, tmp_path: Path) -> None:
    straight = mgat_train(market, tmp_path, "straight.pt")
    assert straight.wait(timeout=300) == 0, straight.stderr.read().decode()[-2000:]

    killed = mgat_train(market, tmp_path, "resumed.pt")
    checkpoint = tmp_path / "resumed.pt.ckpt"
    deadline = time.time() + 300
    while not checkpoint.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert checkpoint.exists() and not (tmp_path / "resumed.pt").exists()

    resumed = mgat_train(market, tmp_path, "resumed.pt")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()[-2000:]
    a = torch.load(tmp_path / "straight.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "resumed.pt", weights_only=False)["state_dict"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ"
    assert pd.read_csv(tmp_path / "straight.pt.csv")["loss"].tolist() == (
        pd.read_csv(tmp_path / "resumed.pt.csv")["loss"].tolist()
    )


def test_repeated_runs_are_identical_on_the_cpu(market, tmp_path: Path) -> None:
    """Determinism: the same config trained twice (both stages) on the CPU gives the same
    weights, losses, features and metrics (docs/protocol.md says what holds on CUDA)."""
    from mgat.extraction import extract_features
    from mgat.featurefile import load_features
    from mgat.metrics.evaluation import evaluate_split

    root, splits = market
    outcomes = []
    for attempt in ("a", "b"):
        folder = tmp_path / attempt
        folder.mkdir()
        rows, baseline = run_stage("baseline", market, folder)
        graph_rows, model = run_stage(
            "mgat", market, folder, init=baseline, persons_per_batch=3, images_per_person=4
        )
        extract_features(
            model,
            dataset="market1501",
            root=root,
            splits_file=splits,
            split=0,
            out=folder / "f.npz",
            seq_len=2,
            batch_size=5,
            device="cpu",
        )
        metrics = evaluate_split(folder / "f.npz", folder / "e.json", model="mgat")
        weights = load_reid_model(model).state_dict()
        outcomes.append((rows, graph_rows, weights, load_features(folder / "f.npz"), metrics))
    (
        (rows_a, graph_a, weights_a, feats_a, metrics_a),
        (rows_b, graph_b, weights_b, feats_b, metrics_b),
    ) = outcomes
    for a, b in ((rows_a, rows_b), (graph_a, graph_b)):
        assert [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in a] == [
            {k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in b
        ]
    for name, tensor in weights_a.items():
        assert torch.equal(tensor, weights_b[name]), name
    for kind in ("pooled", "bn"):
        assert (feats_a[f"query_features_{kind}"] == feats_b[f"query_features_{kind}"]).all()
    for key in ("top1", "top5", "mAP", "chi_probe", "chi_gallery", "cmc"):
        assert metrics_a[key] == metrics_b[key], key


def test_the_thread_count_is_recorded_and_a_resume_under_another_says_so(
    market, tmp_path: Path, caplog, monkeypatch
) -> None:
    """On the CPU the thread count changes the weights: it is recorded with the model, and a
    checkpoint left by a run with 1 thread is not resumed with 2 (one line says why) but is
    resumed with 1. Extraction and evaluation (forward passes) are the same at any count."""
    import logging

    import mgat.engine.stages as stages
    from mgat.extraction import extract_features
    from mgat.featurefile import load_features

    root, splits = market
    settings = StageSettings(epochs=1, lr_backbone=0.01, lr_head=0.01, lr_step=1, **TINY)

    def train(threads: int) -> Path:
        out = tmp_path / f"t{threads}.pt"
        train_stage(
            "baseline",
            dataset="market1501",
            root=root,
            splits_file=splits,
            split=0,
            settings=settings,
            model_out=out,
            metrics_out=tmp_path / "log.csv",
            checkpoint=tmp_path / "ckpt.pt",
            device="cpu",
            threads=threads,
        )
        return out

    def killed(*args, **kwargs):  # the job dies after its last checkpoint, before its log
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(stages, "write_text_atomic", killed)
        with pytest.raises(KeyboardInterrupt):
            train(1)
    assert (tmp_path / "ckpt.pt").exists()
    with caplog.at_level(logging.INFO, logger="mgat"):
        two = train(2)
    said = [r.getMessage() for r in caplog.records if "CPU threads" in r.getMessage()]
    assert len(said) == 1 and "written with 1 CPU threads and this run has 2" in said[0], said
    assert load_saved_model(two)[1]["provenance"]["threads"] == 2

    with monkeypatch.context() as patch:
        patch.setattr(stages, "write_text_atomic", killed)
        with pytest.raises(KeyboardInterrupt):
            train(1)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mgat"):
        one = train(1)
    assert any("resuming after epoch 0" in r.getMessage() for r in caplog.records)
    assert load_saved_model(one)[1]["provenance"]["threads"] == 1

    features = []
    for threads in (1, 2):
        out = tmp_path / f"f{threads}.npz"
        extract_features(
            one,
            dataset="market1501",
            root=root,
            splits_file=splits,
            split=0,
            out=out,
            seq_len=2,
            batch_size=5,
            device="cpu",
            threads=threads,
        )
        features.append(load_features(out))
    for key in ("query_features_pooled", "gallery_features_bn"):
        assert np.array_equal(features[0][key], features[1][key]), key
