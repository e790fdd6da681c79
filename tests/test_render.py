"""Tables 1-5 and the figures, rendered from hand-built metrics records."""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mgat.errors import ConfigError, DataError
from mgat.render import paper
from mgat.render.figures import (
    cmc_figure,
    distance_matrix_figure,
    plot_cmc,
    plot_distance_matrices,
)
from mgat.render.tables import latex_escape, render_table

matplotlib.use("Agg")

MINUS = "\u2212"
METRICS = ("top1", "top5", "top10", "top20", "mAP")


def stat(mean: float, std: float, n: int) -> dict:
    return {"mean": mean, "std": std, "n": n}


def model_record(base: float, n: int, chi: tuple[float, float]) -> dict:
    """Accuracies rising with rank, as fractions; CHI raw."""
    std = 0.012 if n > 1 else 0.0
    record = {
        "top1": stat(base, std, n),
        "top5": stat(min(base + 0.1, 1.0), std, n),
        "top10": stat(min(base + 0.15, 1.0), std, n),
        "top20": stat(min(base + 0.2, 1.0), std, n),
        "mAP": stat(base - 0.05, std / 2, n),
        "chi_probe": stat(chi[0], 3.25 if n > 1 else 0.0, n),
        "chi_gallery": stat(chi[1], 1.5 if n > 1 else 0.0, n),
        "valid_queries": stat(100, 0, n),
    }
    return record


def cmc(top1: float, std: float) -> dict:
    mean = [min(1.0, top1 + (1 - top1) * (1 - math.exp(-r / 6))) for r in range(50)]
    return {"mean": mean, "std": [std] * 50}


def metrics_record(
    dataset: str,
    source: str = "synthetic",
    n: int = 2,
    gat: bool = True,
    protocol: str = "torchreid",
) -> dict:
    models = {
        "baseline": model_record(0.7, n, (120.5, 180.25)),
        "mgat": model_record(0.76, n, (150.125, 200.0625)),
    }
    if gat:
        models["gat"] = model_record(0.72, n, (130.0, 190.0))
    return {
        "dataset": dataset,
        "data_source": source,
        "protocol": protocol,
        "ap": "noninterpolated",
        "splits": list(range(n)),
        "models": models,
        "cmc": {name: cmc(m["top1"]["mean"], 0.02 if n > 1 else 0.0) for name, m in models.items()},
    }


@pytest.fixture
def all_metrics() -> dict[str, dict]:
    return {
        "ilidsvid": metrics_record("ilidsvid"),
        "prid2011": metrics_record("prid2011"),
        "mars": metrics_record("mars", n=1, gat=False),
        "market1501": metrics_record("market1501", source="real", n=1, protocol="official"),
    }


def render(tmp_path: Path, number: int, metrics: dict) -> tuple[dict[str, Path], str]:
    paths = render_table(number, metrics, tmp_path / f"table{number}")
    return paths, paths["md"].read_text()


def md_row(md: str, method: str, source: str) -> list[str]:
    """The cells of the markdown row with this method and source."""
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) > 2 and cells[0] == method and cells[1] == source:
            return cells[2:]
    raise AssertionError(f"no row {method!r} / {source!r} in\n{md}")


# --- the paper's data ------------------------------------------------------------------------


def test_paper_data_is_complete_and_exact() -> None:
    assert set(paper.TABLES) == {2, 3, 4, 5}
    assert paper.TABLE_DATASET == {2: "ilidsvid", 3: "prid2011", 4: "mars", 5: "market1501"}
    for number, table in paper.TABLES.items():
        assert table.dataset == paper.TABLE_DATASET[number]
        for row in (*table.compared, table.baseline, table.mgat):
            assert len(row.values) == len(table.columns), row
    assert [len(paper.TABLES[n].compared) for n in (2, 3, 4, 5)] == [9, 9, 7, 9]
    assert paper.TABLES[2].headers == ("top-1", "top-5", "top-10", "top-20")
    assert paper.TABLES[4].columns == ("top1", "top5", "top20", "mAP")
    assert paper.TABLES[5].columns == ("mAP", "top1", "top5", "top10")
    rows = {r.label: r for r in paper.TABLES[2].compared}
    assert rows["RQEN [24]"].values == ("77.1", "93.2", "97.7", "99.4")
    assert rows["CNN+RNN [20]"].values == ("58", "84", "91", "96")
    assert rows["DRSA* [15]"].values == ("80.2", None, None, None)
    assert rows["DRSA* [15]"].extra_data
    assert rows["CNN+XQDA [42]"].numbers == (53.0, 81.4, None, 95.1)
    assert paper.TABLES[3].compared[5].values == ("90.3", "98.2", "99.32", "100.0")  # QAN
    assert paper.TABLES[4].mgat.values == ("81.1", "92.2", "97.7", "71.8")
    assert paper.TABLES[4].compared[3].values[0] == "73.74"  # QAN on MARS
    market = {r.label: r for r in paper.TABLES[5].compared}
    assert market["AlignedReID [5]"].values == ("90.7", "94.4", None, None)
    assert market["SpindleNet [40]"].values == (None, "76.9", "91.5", "94.6")
    assert paper.TABLE1["mars"]["Optimized"] == ("314.6908", "322.3207")
    assert paper.TABLE1["ilidsvid"]["Baseline"] == ("140.0140", "198.5689")


# --- Tables 2-5 ------------------------------------------------------------------------------


def test_table2_markdown(tmp_path: Path, all_metrics: dict) -> None:
    paths, md = render(tmp_path, 2, all_metrics)
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    title = md.splitlines()[0]
    assert title.startswith("## Table 2: iLIDS-VID")
    assert "SYNTHETIC" in title and "not comparable" in title
    assert "protocol torchreid" in title and "AP non-interpolated" in title
    assert "2 splits" in title
    assert md_row(md, "RQEN [24]", "paper (reported)") == ["77.1", "93.2", "97.7", "99.4"]
    assert md_row(md, "DRSA\\* [15]", "paper (reported)") == ["80.2", "-", "-", "-"]
    assert md_row(md, "CNN+RNN [20]", "paper (reported)") == ["58", "84", "91", "96"]
    assert md_row(md, "Baseline", "paper") == ["76.0", "94.0", "98.7", "99.3"]
    assert md_row(md, "MGAT", "paper") == ["80.3", "94.7", "98.7", "99.5"]
    assert md_row(md, "MGAT", "this run") == [
        "76.0 ± 1.2",
        "86.0 ± 1.2",
        "91.0 ± 1.2",
        "96.0 ± 1.2",
    ]
    assert md_row(md, "GAT (ablation)", "this run")[0] == "72.0 ± 1.2"
    # Δ = this run - paper, in points: 76.0 - 80.3 = -4.3; 70.0 - 76.0 = -6.0.
    delta_source = f"this run {MINUS} paper"
    mgat_delta = md_row(md, f"Δ MGAT (this run {MINUS} paper)", delta_source)
    assert mgat_delta == [f"{MINUS}4.3", f"{MINUS}8.7", f"{MINUS}7.7", f"{MINUS}3.5"]
    base_delta = md_row(md, f"Δ Baseline (this run {MINUS} paper)", delta_source)
    assert base_delta[0] == f"{MINUS}6.0"
    # Row order: compared methods, this run, paper's own, differences.
    order = [md.index(s) for s in ("| TDL [36]", "| GAT (ablation)", "| MGAT | paper |", "| Δ")]
    assert order == sorted(order)


def test_real_single_split_tables(tmp_path: Path, all_metrics: dict) -> None:
    _, md = render(tmp_path, 5, all_metrics)
    title = md.splitlines()[0]
    assert "real data" in title and "SYNTHETIC" not in title
    assert "protocol official" in title and "single split" in title
    assert md_row(md, "AlignedReID [5]", "paper (reported)") == ["90.7", "94.4", "-", "-"]
    assert md_row(md, "MGAT", "this run") == ["71.0", "76.0", "86.0", "91.0"]  # no ± with n=1
    assert md_row(md, "MGAT", "paper") == ["76.5", "91.5", "97.2", "98.0"]
    assert "GAT (ablation)" in md

    _, md4 = render(tmp_path, 4, all_metrics)
    assert "SYNTHETIC" in md4.splitlines()[0]
    assert md_row(md4, "MGAT", "paper")[3] == "71.8"
    assert md_row(md4, "QAN [17]", "paper (reported)") == ["73.74", "84.9", "91.6", "51.7"]
    assert "GAT (ablation)" not in md4  # absent model: no row
    _, md3 = render(tmp_path, 3, all_metrics)
    assert md_row(md3, "QAN [17]", "paper (reported)")[2] == "99.32"


def test_table_csv_is_numeric(tmp_path: Path, all_metrics: dict) -> None:
    paths, _ = render(tmp_path, 2, all_metrics)
    first = paths["csv"].read_text().splitlines()[0]
    assert first.startswith("table,dataset,method,source")  # no title line
    df = pd.read_csv(paths["csv"])
    assert {"top1", "top1_std", "top20", "top20_std", "data_source", "protocol", "ap", "n"} <= set(
        df.columns
    )
    for col in ("top1", "top1_std", "top5", "top10", "top20"):
        assert pd.api.types.is_float_dtype(df[col]), col
    ours = df[(df.source == "this run") & (df.method == "MGAT")].iloc[0]
    assert ours.top1 == pytest.approx(76.0) and ours.top1_std == pytest.approx(1.2)
    assert ours.data_source == "synthetic" and ours.n == 2 and ours.ap == "noninterpolated"
    rqen = df[df.method == "RQEN [24]"].iloc[0]
    assert (rqen.top1, rqen.top5, rqen.top10, rqen.top20) == (77.1, 93.2, 97.7, 99.4)
    assert math.isnan(rqen.top1_std) and not isinstance(rqen.data_source, str)
    drsa = df[df.method == "DRSA* [15]"].iloc[0]
    assert drsa.top1 == 80.2 and math.isnan(drsa.top5)
    delta = df[df.method == f"Δ MGAT (this run {MINUS} paper)"].iloc[0]
    assert delta.top1 == pytest.approx(76.0 - 80.3) and delta.top20 == pytest.approx(96.0 - 99.5)
    assert len(df) == 9 + 3 + 2 + 2


def test_table_tex(tmp_path: Path, all_metrics: dict) -> None:
    paths, _ = render(tmp_path, 2, all_metrics)
    tex = paths["tex"].read_text()
    assert tex.startswith("\\begin{table}")
    assert tex.rstrip().endswith("\\end{table}")
    assert "\\begin{tabular}{llrrrr}" in tex and "\\end{tabular}" in tex
    assert "76.0 $\\pm$ 1.2" in tex and "±" not in tex and MINUS not in tex
    assert "$\\Delta$ MGAT" in tex
    assert tex.count("\\midrule") == 4  # header + three group boundaries
    assert "\\caption{Table 2: iLIDS-VID, SYNTHETIC data" in tex
    # No unescaped % or _ anywhere (torchreid has none, but the AP note has "%").
    assert not re.search(r"(?<!\\)[%_]", tex)
    assert latex_escape("a_b 5% & x±y") == "a\\_b 5\\% \\& x$\\pm$y"


def test_table1(tmp_path: Path, all_metrics: dict) -> None:
    paths, md = render(tmp_path, 1, all_metrics)
    title = md.splitlines()[0]
    assert title.startswith("## Table 1: CHI") and "SYNTHETIC" in title
    assert "protocol torchreid" in title
    assert md_row(md, "MARS", "Baseline") == ["276.6798", "120.5000", "296.8376", "180.2500"]
    cells = md_row(md, "MARS", "Optimized (MGAT)")
    assert cells == ["314.6908", "150.1250", "322.3207", "200.0625"]
    assert md_row(md, "iLIDS-VID", "Baseline")[1] == "120.5000 ± 3.2500"
    assert "Market1501" not in md
    df = pd.read_csv(paths["csv"])
    assert list(df.dataset) == ["ilidsvid", "ilidsvid", "prid2011", "prid2011", "mars", "mars"]
    mars_opt = df[(df.dataset == "mars") & (df.method == "Optimized")].iloc[0]
    assert mars_opt.probe_paper == 314.6908 and mars_opt.gallery_paper == 322.3207
    assert mars_opt.model == "mgat" and mars_opt.probe == 150.125
    tex = paths["tex"].read_text()
    assert tex.startswith("\\begin{table}") and "\\end{tabular}" in tex


def test_table1_mixed_and_partial(tmp_path: Path) -> None:
    metrics = {"prid2011": metrics_record("prid2011", source="real")}
    _, md = render(tmp_path, 1, metrics)
    assert "real data" in md.splitlines()[0] and "iLIDS-VID" not in md
    metrics["mars"] = metrics_record("mars", n=1)
    _, md = render(tmp_path, 1, metrics)
    assert "MIXED" in md.splitlines()[0]


def test_table_bad_input(tmp_path: Path, all_metrics: dict) -> None:
    with pytest.raises(DataError, match="ilidsvid"):
        render_table(2, {"mars": all_metrics["mars"]}, tmp_path / "t2")
    with pytest.raises(DataError):
        render_table(1, {"market1501": all_metrics["market1501"]}, tmp_path / "t1")
    with pytest.raises(ConfigError):
        render_table(6, all_metrics, tmp_path / "t6")
    percent = metrics_record("ilidsvid")
    percent["models"]["mgat"]["top1"]["mean"] = 76.0  # percent instead of a fraction
    with pytest.raises(DataError, match="fraction"):
        render_table(2, {"ilidsvid": percent}, tmp_path / "t2")
    unlabelled = metrics_record("ilidsvid")
    unlabelled["data_source"] = "demo"
    with pytest.raises(DataError, match="data_source"):
        render_table(2, {"ilidsvid": unlabelled}, tmp_path / "t2")
    wrong = metrics_record("mars")
    with pytest.raises(DataError, match="for 'mars'"):
        render_table(2, {"ilidsvid": wrong}, tmp_path / "t2")
    assert not list(tmp_path.iterdir())  # nothing half-written


# --- figures ---------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def distance_fixture(m: int = 4, k: int = 5) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rng = np.random.default_rng(0)
    labels = [p for p in (3, 11, 7, 42)[:m] for _ in range(k)]
    same = np.equal.outer(labels, labels)
    base = 0.8 + 0.2 * rng.random((m * k, m * k)) - 0.3 * same
    mgat = 1.2 + 0.2 * rng.random((m * k, m * k)) - 0.9 * same
    for d in (base, mgat):
        d[:] = (d + d.T) / 2
        np.fill_diagonal(d, 0)
    return base, mgat, labels


def test_distance_matrices_share_one_scale(tmp_path: Path) -> None:
    base, mgat, labels = distance_fixture()
    fig = distance_matrix_figure(base, mgat, labels, title="Figure 4", data_source="synthetic")
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 2
    assert images[0].get_clim() == images[1].get_clim() == (0.0, float(max(base.max(), mgat.max())))
    assert images[0].get_cmap().name == "RdYlBu_r"  # blue (cold) = small
    assert len(fig.axes) == 3  # two panels, one colorbar
    panel = fig.axes[0]
    assert [t.get_text() for t in panel.get_xticklabels()] == ["3", "11", "7", "42"]
    assert len(panel.lines) == 2 * 3  # block boundaries, both directions
    texts = [t.get_text() for t in fig.texts] + [fig.get_suptitle()]
    assert any("SYNTHETIC" in t for t in texts)

    out = plot_distance_matrices(
        base, mgat, labels, tmp_path / "fig4.png", "Figure 4", data_source="real"
    )
    assert out.stat().st_size > 10_000
    width, height = png_size(out)
    assert 800 < width < 4000 and 400 < height < 2500 and width > height


def test_distance_matrices_bad_input(tmp_path: Path) -> None:
    base, mgat, labels = distance_fixture()
    with pytest.raises(DataError, match="shape"):
        distance_matrix_figure(base, mgat[:-1, :-1], labels[:-1], title="x", data_source="real")
    with pytest.raises(DataError, match="labels"):
        distance_matrix_figure(base, mgat, labels[:-1], title="x", data_source="real")
    with pytest.raises(DataError, match="square"):
        distance_matrix_figure(base[:-1], mgat[:-1], labels, title="x", data_source="real")
    with pytest.raises(DataError, match="grouped"):
        distance_matrix_figure(base, mgat, labels[1:] + labels[:1], title="x", data_source="real")
    with pytest.raises(DataError, match="data_source"):
        distance_matrix_figure(base, mgat, labels, title="x", data_source="demo")
    with pytest.raises(TypeError):
        plot_distance_matrices(base, mgat, labels, tmp_path / "f.png", "x")  # type: ignore[call-arg]


def test_cmc(tmp_path: Path, all_metrics: dict) -> None:
    curves = all_metrics["ilidsvid"]["cmc"]
    fig = cmc_figure(curves, title="CMC iLIDS-VID", data_source="synthetic")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["Baseline (rank-1 70.0%)", "GAT (rank-1 72.0%)", "MGAT (rank-1 76.0%)"]
    styles = {line.get_label().split()[0]: line.get_linestyle() for line in ax.get_lines()}
    assert styles == {"Baseline": "--", "GAT": "-", "MGAT": "-"}
    first = ax.get_lines()[2]
    assert list(first.get_xdata()) == list(range(1, 21))
    assert first.get_ydata()[0] == pytest.approx(76.0)
    assert len(ax.collections) == 3  # std bands
    assert "SYNTHETIC" in ax.get_title()

    fig5 = {k: curves[k] for k in ("gat", "mgat")}
    out = plot_cmc(fig5, tmp_path / "fig5.png", "Figure 5", data_source="real")
    assert out.stat().st_size > 10_000
    width, height = png_size(out)
    assert 600 < width < 2500 and 400 < height < 2000
    single = all_metrics["mars"]["cmc"]
    fig = cmc_figure(single, title="MARS", data_source="real", max_rank=10)
    assert not fig.axes[0].collections  # std 0 with n=1: no band
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == list(range(1, 11))


def test_cmc_bad_input() -> None:
    with pytest.raises(DataError, match="no CMC"):
        cmc_figure({}, title="x", data_source="real")
    with pytest.raises(DataError, match="empty"):
        cmc_figure({"mgat": {"mean": [], "std": []}}, title="x", data_source="real")
    with pytest.raises(DataError, match="std"):
        cmc_figure({"mgat": {"mean": [0.5, 0.6], "std": [0.1]}}, title="x", data_source="real")
    with pytest.raises(DataError, match="fractions"):
        cmc_figure({"mgat": {"mean": [50.0, 60.0]}}, title="x", data_source="real")


def test_no_pyplot_figures_left_open(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    base, mgat, labels = distance_fixture()
    plot_distance_matrices(base, mgat, labels, tmp_path / "a.png", "t", data_source="synthetic")
    assert plt.get_fignums() == before


def test_identity_attention_gets_a_footnote(tmp_path: Path, all_metrics: dict) -> None:
    """A stage-2 model whose attention was the identity at its start is footnoted where its
    rows appear (Tables 1-5); a model whose attention acted is not."""
    record = all_metrics["ilidsvid"]
    record["models"]["mgat"]["attention_identity"] = stat(0.5, 0.7, 2)
    record["models"]["mgat"]["alpha_self_start"] = stat(0.995, 0.01, 2)
    record["models"]["gat"]["attention_identity"] = stat(0.0, 0.0, 2)
    record["models"]["gat"]["alpha_self_start"] = stat(0.6, 0.01, 2)
    _, md = render(tmp_path, 2, all_metrics)
    notes = [line for line in md.splitlines() if "numerically the identity" in line]
    assert len(notes) == 1
    assert notes[0].startswith("MGAT on iLIDS-VID") and "on 1 of 2 splits" in notes[0]
    assert "0.9950" in notes[0]
    _, table1 = render(tmp_path, 1, all_metrics)
    assert sum("numerically the identity" in line for line in table1.splitlines()) == 1
    _, table3 = render(tmp_path, 3, all_metrics)
    assert "numerically the identity" not in table3


# --- sweeps ----------------------------------------------------------------------------------


def sweep_evaluation(path: Path, top1: float, alpha: float | None, split: int = 0) -> Path:
    record = {
        "dataset": "ilidsvid", "split": split, "top1": top1, "top5": min(top1 + 0.1, 1.0),
        "mAP": top1 - 0.05, "alpha_self_start": alpha, "rel_change_start": None,
    }  # fmt: skip
    if alpha is not None:
        record["rel_change_start"] = 1.0 - alpha
    path.write_text(json.dumps(record))
    return path


def test_sweep_table_and_figure(tmp_path: Path) -> None:
    from mgat.render.sweeps import render_sweep

    runs = []
    for gamma, top1, alpha in ((1.0, 0.5, 1.0), (100.0, 0.7, 0.4), (1e4, 0.6, 0.05)):
        for features in ("pooled", "bn"):
            for split in (0, 1):
                setting = {"gamma": gamma, "features": features, "of_loss": "mse",
                           "of_weight": 1.0, "M": 4, "K": 4}  # fmt: skip
                path = tmp_path / f"{gamma}-{features}-{split}.json"
                value = top1 + (0.02 if split else 0.0) - (0.1 if features == "bn" else 0.0)
                sweep_evaluation(path, value, alpha, split)
                runs.append({"stage": "mgat", "setting": setting, "evaluation": path})
    baseline = [sweep_evaluation(tmp_path / f"b{s}.json", 0.5, None, s) for s in (0, 1)]
    out = {k: tmp_path / f"sweep.{k}" for k in ("csv", "md", "png")}
    table = render_sweep(
        runs, baseline, out_csv=out["csv"], out_md=out["md"], out_png=out["png"],
        data_source="synthetic",
    )  # fmt: skip
    assert list(table["stage"]) == ["baseline"] + ["mgat"] * 6
    mgat = table[(table["stage"] == "mgat") & (table["features"] == "pooled")]
    assert list(mgat["gamma"]) == [1.0, 100.0, 1e4]
    assert mgat["top1"].tolist() == pytest.approx([0.51, 0.71, 0.61])
    assert mgat["top1_std"].iloc[0] == pytest.approx(np.std([0.5, 0.52], ddof=1))
    assert mgat["alpha_self_start"].tolist() == pytest.approx([1.0, 0.4, 0.05])
    assert (table["splits"] == 2).all()
    md = out["md"].read_text()
    assert "SYNTHETIC" in md and "| Baseline |" in md and "| MGAT | 100 | pooled |" in md
    assert png_size(out["png"])[0] > 500
    assert pd.read_csv(out["csv"]).shape[0] == 7


def test_sweep_bad_input(tmp_path: Path) -> None:
    from mgat.errors import DataError
    from mgat.render.sweeps import summarize_sweep

    with pytest.raises(DataError, match="no runs"):
        summarize_sweep([], [])
    run = {"stage": "mgat", "setting": {"gamma": 1.0}, "evaluation": tmp_path / "x.json"}
    with pytest.raises(DataError, match="lacks"):
        summarize_sweep([run], [])
    run["setting"] = dict.fromkeys(("gamma", "features", "of_loss", "of_weight", "M", "K"), 1)
    with pytest.raises(DataError, match="not found"):
        summarize_sweep([run], [])


def test_tables_4_and_5_show_the_kit_and_torchreid_protocols(tmp_path: Path, all_metrics) -> None:
    record = all_metrics["mars"]
    record["protocols"] = {
        "kit": {m: model_record(base, 1, (1.0, 1.0)) for m, base in (("baseline", 0.6),
                                                                     ("mgat", 0.65))},
        "torchreid": {m: model_record(base, 1, (1.0, 1.0)) for m, base in (("baseline", 0.7),
                                                                           ("mgat", 0.75))},
    }  # fmt: skip
    _, md = render(tmp_path, 4, all_metrics)
    assert "the dataset kit's protocol and torchreid's" in md.splitlines()[0]
    kit = "this run, dataset kit (its gallery, its AP)"
    assert md_row(md, "MGAT", kit)[0] == "65.0"
    assert md_row(md, "MGAT", "this run, torchreid")[0] == "75.0"
    # Δ against the kit's numbers: 65.0 - 81.1 (the paper's MGAT top-1 on MARS).
    delta = md_row(md, f"Δ MGAT (this run {MINUS} paper)", f"this run {MINUS} paper")
    assert delta[0] == f"{MINUS}16.1"
    table = pd.read_csv(tmp_path / "table4.csv")
    ours = table[table["source"].str.startswith("this run,")]
    assert set(ours["protocol"]) == {"kit", "torchreid"}
    assert set(ours["ap"]) == {"trapezoid", "noninterpolated"}


def test_runs_of_one_split_are_called_seeds(tmp_path: Path, all_metrics: dict) -> None:
    all_metrics["market1501"] = metrics_record("market1501", source="real", n=3)
    all_metrics["market1501"]["repeated_split"] = True
    _, md = render(tmp_path, 5, all_metrics)
    assert "mean ± std over 3 runs (seeds) of the one split" in md.splitlines()[0]
