"""Training curves: the mean over runs and its band as drawn, stages without an OF loss or
without runs, and training logs that cannot be drawn."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mgat.errors import DataError
from mgat.render.curves import curves_figure, mean_over_runs, plot_curves, read_train_log

matplotlib.use("Agg")


def write_log(
    path: Path, epochs: int, seed: int, graph: bool, lr: float = 0.01, trunk: float | None = None
) -> Path:
    """A train_log.csv as training writes it (``trunk``: the trunk's learning rate where it
    differs from the head's, as in stage 1): the graph stages also log the OF loss and the
    attention."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "epoch": np.arange(epochs),
            "loss": rng.uniform(1, 5, epochs),
            "id_loss": rng.uniform(1, 5, epochs),
            "accuracy": rng.uniform(0, 1, epochs),
            "lr_backbone": lr if trunk is None else trunk,
            "lr_head": lr,
            "images": 96,
        }
    )
    if graph:
        frame.insert(3, "of_loss", rng.uniform(0.1, 0.9, epochs))
        frame["alpha_self"] = rng.uniform(0.1, 0.3, epochs)
        frame["rel_change"] = rng.uniform(0.1, 0.8, epochs)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def logs(tmp_path: Path) -> dict[str, list[Path]]:
    """Two runs of the baseline (3 epochs) and MGAT (2), one of the control; no GAT."""
    return {
        "baseline": [
            write_log(tmp_path / f"{k}/baseline.csv", 3, k, False, trunk=1e-3) for k in (0, 1)
        ],
        "finetune": [write_log(tmp_path / "0/finetune.csv", 2, 5, False, lr=1e-3)],
        "mgat": [write_log(tmp_path / f"{k}/mgat.csv", 2, 10 + k, True, lr=1e-3) for k in (0, 1)],
        "gat": [],
    }


def figure_of(logs: dict[str, list[Path]]) -> Figure:
    frames = {stage: [read_train_log(p, stage) for p in paths] for stage, paths in logs.items()}
    return curves_figure(frames, title="Training curves: MARS", data_source="synthetic")


def panel(fig: Figure, title: str) -> Axes:
    (ax,) = [ax for ax in fig.axes if ax.get_title().startswith(title)]
    return ax


def lines(ax: Axes) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each labelled line of a panel: its x and y data."""
    return {
        str(line.get_label()): (np.asarray(line.get_xdata()), np.asarray(line.get_ydata()))
        for line in ax.get_lines()
        if not str(line.get_label()).startswith("_")
    }


def test_each_line_is_the_mean_over_runs_with_the_range_as_its_band(logs) -> None:
    fig = figure_of(logs)
    runs = [pd.read_csv(path) for path in logs["baseline"]]
    expected = (runs[0]["id_loss"] + runs[1]["id_loss"]).to_numpy() / 2
    x, y = lines(panel(fig, "Identity loss"))["Baseline"]
    assert np.allclose(y, expected)
    assert np.allclose(np.round(x), [1, 2, 3]) and np.all(np.abs(x - np.round(x)) <= 0.1 + 1e-9)
    # Accuracy is drawn in percent.
    _, y = lines(panel(fig, "Training accuracy"))["Baseline"]
    assert np.allclose(y, 50 * (runs[0]["accuracy"] + runs[1]["accuracy"]).to_numpy())
    # The band spans the runs' minimum to maximum; a stage of one run has none.
    both = np.stack([r["id_loss"] for r in runs])
    bands = [c for c in panel(fig, "Identity loss").collections if len(c.get_paths())]
    heights = sorted(
        (c.get_paths()[0].vertices[:, 1].min(), c.get_paths()[0].vertices[:, 1].max())
        for c in bands
    )
    assert len(bands) == 2  # baseline and MGAT, not the one-run control
    assert any(np.isclose(lo, both.min()) and np.isclose(hi, both.max()) for lo, hi in heights)


def test_stages_without_an_of_loss_or_without_runs_are_left_out(logs) -> None:
    fig = figure_of(logs)
    assert set(lines(panel(fig, "OF loss"))) == {"MGAT"}
    assert set(lines(panel(fig, "Attention self weight"))) == {"MGAT"}
    assert set(lines(panel(fig, "Identity loss"))) == {"Baseline", "Control (no graph)", "MGAT"}
    assert "not run: GAT" in fig.get_suptitle()
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == ["Baseline (2 runs)", "Control (no graph) (1 run)", "MGAT (2 runs)"]
    # The baseline's trunk learns at its own rate: a second, thin line of its colour.
    lr = panel(fig, "Learning rate")
    assert "trunk" in lr.get_title() and len(lr.get_lines()) == 4
    # Without any graph stage, the attention panels say that nothing was logged.
    fig = figure_of({"baseline": logs["baseline"]})
    texts = [t.get_text() for t in panel(fig, "OF loss").texts]
    assert texts == ["not logged by these stages"] and not lines(panel(fig, "OF loss"))


def test_mean_over_runs_of_unequal_length_counts_the_runs_per_epoch(tmp_path: Path) -> None:
    short = read_train_log(write_log(tmp_path / "a.csv", 2, 0, True), "mgat")
    long = read_train_log(write_log(tmp_path / "b.csv", 3, 1, True), "mgat")
    table = mean_over_runs([short, long], "of_loss")
    assert table is not None
    assert table["runs"].tolist() == [2, 2, 1]
    assert table["mean"].iloc[2] == pytest.approx(long["of_loss"].iloc[2])
    assert table["min"].iloc[0] == pytest.approx(min(short["of_loss"][0], long["of_loss"][0]))
    assert mean_over_runs([read_train_log(tmp_path / "a.csv", "mgat")], "absent") is None


def test_plot_curves_writes_the_png(logs, tmp_path: Path) -> None:
    out = plot_curves(logs, tmp_path / "curves.png", dataset="mars", data_source="real")
    assert out.stat().st_size > 20_000


def test_logs_that_cannot_be_drawn_are_one_clear_error(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", 2, 0, False)
    pd.read_csv(path).drop(columns=["id_loss", "lr_head"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"lacks the columns id_loss, lr_head; delete .* rerun"):
        read_train_log(path, "baseline")
    path.write_text("")
    with pytest.raises(DataError, match="is not a CSV table"):
        read_train_log(path, "baseline")
    with pytest.raises(DataError, match=r"not found; train the stage first \(rule train_gat\)"):
        read_train_log(tmp_path / "missing.csv", "gat")
    frame = pd.read_csv(write_log(path, 2, 0, False))
    pd.concat([frame, frame]).to_csv(path, index=False)
    with pytest.raises(DataError, match="lists an epoch twice"):
        read_train_log(path, "baseline")
    with pytest.raises(DataError, match="no training logs"):
        curves_figure({"baseline": []}, title="t", data_source="real")
