"""The Snakemake workflow: the demo's data stages end to end, the paper config's DAG, lint."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import torchvision

from mgat.data.summary import summarize
from mgat.models.pretrained import IMAGENET_URLS
from tests.helpers import (
    REPO,
    HttpServer,
    closed_port_url,
    md_tables,
    md_text,
    serve_as_torchvision_file,
    workflow_copy,
)

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
DATASETS = ("ilidsvid", "prid2011", "mars", "market1501")
MINUS = "\u2212"


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile from ``workdir``."""
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--cores", "2", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The demo config, its outputs redirected to a temporary folder."""
    workdir = tmp_path_factory.mktemp("demo")
    result = snakemake(
        workdir, "--configfile", str(REPO / "config" / "demo.yaml"), "--config", "results=out"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


@pytest.mark.workflow
def test_demo_renders_every_table_and_figure(demo_run: Path) -> None:
    out = demo_run / "out"
    for number in range(1, 6):
        for ext in ("md", "csv", "tex"):
            assert (out / "tables" / f"table{number}.{ext}").stat().st_size > 0
        title = (out / "tables" / f"table{number}.md").read_text().splitlines()[0]
        assert "SYNTHETIC" in title and "torchreid" in title, title
    for name in DATASETS:
        figures = [f"figures/{kind}_{name}.png" for kind in ("fig4", "fig5", "ranklist", "curves")]
        for figure in (*figures, f"{name}/cmc.png"):
            assert (out / figure).stat().st_size > 10_000, figure
        metrics = json.loads((out / name / "metrics.json").read_text())
        assert metrics["data_source"] == "synthetic" and metrics["feature"] == "pooled"
        stages = ("baseline", "finetune", "mgat", "gat")
        assert list(metrics["models"]) == [*stages, *(f"{stage}+rerank" for stage in stages)]
        pairs = ("mgat-finetune", "mgat-baseline", "mgat-gat", "mgat-baseline+rerank")
        for pair in (*pairs, "mgat+rerank-baseline+rerank"):
            for view in metrics["differences"].values():
                ci = view[pair]["top1"]
                assert ci["low"] <= ci["estimate"] <= ci["high"], (name, pair)
        # Every stage logged how far it moved the network, and stage 2 its attention.
        log = pd.read_csv(out / name / "split0" / "mgat" / "train_log.csv")
        for column in ("move_trunk", "move_head", "bn_mean_shift_head", "row_sum"):
            assert column in log.columns, column
    # Tables 2-5: this run's four models and MGAT's differences with their intervals.
    for number in range(2, 6):
        (table,) = md_tables((out / "tables" / f"table{number}.md").read_text())
        methods = [row[0] for row in table]
        for method in ("Control (stage 2, no graph)", "MGAT", "GAT (ablation)", "Baseline"):
            assert method in methods, (number, method)
            assert f"{method} + re-ranking" in methods, (number, method)
        for reference in ("control", "baseline", "baseline + re-ranking"):
            assert f"Δ MGAT {MINUS} {reference} [95% CI]" in methods, (number, reference)
        assert not any(f"this run {MINUS} paper" in m for m in methods)  # synthetic: none
    # Every table names its provenance record, which traces each run to its model and data.
    for number in range(1, 6):
        md = (out / "tables" / f"table{number}.md").read_text()
        assert f"table{number}.provenance.json" in md_text(md)
        record = json.loads((out / "tables" / f"table{number}.provenance.json").read_text())
        assert set(record["outputs"]) == {"md", "csv", "tex"} and record["sources"]
        run = record["sources"][0]["runs"][0]["made_from"]["extraction"]
        assert len(run["model_sha256"]) == len(run["splits_sha256"]) == 64
        assert (
            run["training"]["code"]["revision"] is None
            or len(run["training"]["code"]["revision"]) == 40
        )
    main, differences = md_tables((out / "sweeps" / "ilidsvid" / "sweep.md").read_text())
    stages = [row[0] for row in main[1:]]
    assert stages == ["Baseline", "Control (no graph)", *["MGAT"] * 6]
    assert differences[0][-1] == "verdict" and len(differences) == 1 + 6


def planned_after(demo_run: Path, change: str) -> dict[str, int]:
    """Jobs per rule that a dry run of the finished demo plans once ``change`` (YAML) is merged
    over its config."""
    changed = demo_run / "change.yaml"
    changed.write_text(change)
    result = snakemake(
        demo_run,
        "-n",
        "--quiet",
        "rules",
        "--configfile",
        str(REPO / "config" / "demo.yaml"),
        str(changed),
        "--config",
        "results=out",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split() for line in result.stdout.splitlines()]
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()}


@pytest.mark.workflow
def test_changing_gamma_reruns_exactly_stage_2(demo_run: Path) -> None:
    """A result-relevant value changed: stage 2 and what depends on it rerun; the baselines,
    their features and the sweep (which sets its own gammas) do not."""
    counts = planned_after(demo_run, "train: {graph: {gamma: 2500}}\n")
    assert counts["train_mgat"] == counts["train_gat"] == 6
    assert counts["extract_features"] == counts["evaluate"] == 12
    assert counts["aggregate"] == 4 and counts["render_table"] == 5
    # The control reads no gamma: it stays what MGAT is read against.
    untouched = ("train_baseline", "train_finetune", "train_sweep", "synthesize_dataset")
    for rule in (*untouched, "make_splits"):
        assert rule not in counts, rule


@pytest.mark.workflow
def test_changing_the_bn_mode_reruns_the_control_with_mgat(demo_run: Path) -> None:
    """The control trains with MGAT's BatchNorm mode: changing it reruns both (and the sweep,
    which reads every setting against its control)."""
    counts = planned_after(demo_run, "train: {graph: {bn: frozen}}\n")
    assert counts["train_mgat"] == counts["train_gat"] == counts["train_finetune"] == 6
    assert counts["train_sweep"] == 6 and "train_baseline" not in counts


@pytest.mark.workflow
def test_changing_figure4_reruns_only_figure4(demo_run: Path) -> None:
    """Figure 4 runs its own sample of frames: its settings rerun it and no extraction."""
    counts = planned_after(demo_run, "evaluation: {fig4_persons: 3, fig4_samples: 2}\n")
    assert counts.pop("render_fig4") == counts.pop("figure4_frames") == 4, counts
    assert set(counts) <= {"all", "total"}, counts


@pytest.mark.workflow
def test_changing_re_ranking_reruns_only_the_evaluations(demo_run: Path) -> None:
    """Re-ranking is scored from the features already extracted: its parameters rerun the
    main runs' evaluations and what reads them, no training, extraction or sweep evaluation
    (the sweep's table is redrawn: it reads the main runs' controls)."""
    counts = planned_after(demo_run, "evaluation: {rerank: {k1: 10}}\n")
    assert counts.pop("evaluate") == 24 and counts.pop("aggregate") == 4, counts
    assert counts.pop("render_table") == 5 and counts.pop("render_sweep") == 1, counts
    assert counts.pop("render_cmc") == counts.pop("render_fig5") == 4, counts
    assert set(counts) <= {"all", "total"}, counts


@pytest.mark.workflow
def test_changing_the_thread_count_reruns_every_training(demo_run: Path) -> None:
    """train.threads changes the weights on the CPU: it is a recorded setting, so changing it
    reruns every training job (and what follows), while --cores, which only caps what Snakemake
    grants, reruns nothing (test_demo_second_run_has_nothing_to_do)."""
    counts = planned_after(demo_run, "train: {threads: 2}\n")
    for rule in ("train_baseline", "train_mgat", "train_gat", "train_finetune"):
        assert counts[rule] == 6, (rule, counts)
    assert counts["train_sweep"] == 6 and "make_splits" not in counts


@pytest.mark.workflow
def test_demo_html_report(demo_run: Path) -> None:
    result = snakemake(
        demo_run,
        "--report",
        "report.html",
        "--configfile",
        str(REPO / "config" / "demo.yaml"),
        "--config",
        "results=out",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (demo_run / "report.html").stat().st_size > 100_000


@pytest.mark.workflow
def test_demo_synthesises_all_datasets_and_splits(demo_run: Path) -> None:
    out = demo_run / "out"
    expected_splits = {"ilidsvid": 10, "prid2011": 10, "mars": 1, "market1501": 1}
    for name in DATASETS:
        manifest = json.loads((out / "data" / f"{name}.manifest.json").read_text())
        assert manifest["source"] == "synthetic" and manifest["files"] > 0
        record = json.loads((out / "splits" / f"{name}.json").read_text())
        assert record["num_splits"] == expected_splits[name], name
        assert len(record["sha256"]) == 64
        summary = summarize(
            name,
            out / "data" / name,
            split=record["num_splits"] - 1,
            splits_file=out / "splits" / f"{name}.json",
        )
        for subset in ("train", "query", "gallery"):
            assert summary[subset]["tracklets"] > 0 and summary[subset]["ids"] > 0, (name, subset)
        assert (out / "logs" / "make_splits" / f"{name}.log").is_file()


@pytest.mark.workflow
def test_demo_second_run_has_nothing_to_do(demo_run: Path) -> None:
    """... also with fewer cores than the first run had: --cores is not a result setting."""
    result = snakemake(
        demo_run,
        "-n",
        "--cores",
        "1",
        "--configfile",
        str(REPO / "config" / "demo.yaml"),
        "--config",
        "results=out",
    )
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.workflow
def test_how_a_job_runs_reruns_nothing(demo_run: Path) -> None:
    """Device, layout, compilation and the extraction batch size change how jobs run, not
    their results: switching them plans no job."""
    changed = demo_run / "how.yaml"
    changed.write_text(
        "train: {device: auto, memory_format: channels_last, compile: reduce-overhead}\n"
        "evaluation: {batch_size: 7}\n"
    )
    result = snakemake(
        demo_run,
        "-n",
        "--configfile",
        str(REPO / "config" / "demo.yaml"),
        str(changed),
        "--config",
        "results=out",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-3000:]


def dry_run_counts(target: str, results: Path, *configfiles: Path) -> dict[str, int]:
    """Job counts per rule of a dry run of the paper config (from the repository), with
    ``configfiles`` merged over it."""
    files = ["--configfile", str(REPO / "config" / "config.yaml"), *map(str, configfiles)]
    # Targets go first: --quiet and --config take several values and would swallow them.
    result = snakemake(
        REPO, target, "-n", "--config", f"results={results}", "--quiet", "rules", *files
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split() for line in result.stdout.splitlines()]
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()}


def test_paper_config_dry_run_lists_every_stage(tmp_path: Path) -> None:
    counts = dry_run_counts("all_tables", tmp_path / "r")
    per_split = 10 + 10 + 1 + 1  # iLIDS-VID and PRID2011: 10 splits; MARS, Market1501: 1
    assert counts["prepare_dataset"] == 4 and counts["make_splits"] == 4
    for rule in ("train_baseline", "train_finetune", "train_mgat", "train_gat"):
        assert counts[rule] == per_split, rule
    assert counts["extract_features"] == counts["evaluate"] == 4 * per_split
    assert counts["aggregate"] == 4 and counts["render_table"] == 5


def test_one_figure_builds_only_what_it_needs(tmp_path: Path) -> None:
    counts = dry_run_counts(f"{tmp_path}/r/mars/cmc.png", tmp_path / "r")
    assert counts["prepare_dataset"] == counts["make_splits"] == counts["aggregate"] == 1
    assert counts["train_baseline"] == counts["train_mgat"] == counts["train_gat"] == 1
    assert counts["train_finetune"] == 1  # the control is a curve of every CMC figure
    assert counts["extract_features"] == 4 and counts["render_cmc"] == 1
    assert "render_table" not in counts and "render_fig4" not in counts


def planned_sweep(results: Path, configfile: Path) -> str:
    """The listing of a dry run of the paper config's sweeps, ``configfile`` merged over it."""
    listed = snakemake(
        REPO,
        "all_sweeps",
        "-n",
        "--configfile",
        str(REPO / "config" / "config.yaml"),
        str(configfile),
        "--config",
        f"results={results}",
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    return listed.stdout


def test_sweep_is_a_parameter_space(tmp_path: Path) -> None:
    """The grid's product (or the explicit settings) per stage and sweep split, each trained
    from the dataset's own baseline; the paper config alone sweeps nothing."""
    assert "train_sweep" not in dry_run_counts("all", tmp_path / "r")
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "sweep:\n  datasets: [ilidsvid]\n  splits: 2\n  stages: [mgat, gat]\n"
        "  grid: {gamma: [1, 250, 1.0e+4], features: [pooled, bn]}\n"
    )
    counts = dry_run_counts("all_sweeps", tmp_path / "r", grid)
    assert counts["train_sweep"] == 3 * 2 * 2 * 2  # gammas x features x stages x splits
    assert counts["extract_sweep_features"] == counts["evaluate_sweep"] == 24
    assert counts["train_baseline"] == 2 and counts["render_sweep"] == 1
    # Every setting here trains its control as train.graph does: the main runs' controls.
    assert counts["train_finetune"] == 2
    assert "train_mgat" not in counts  # the sweep needs only the baseline and the control
    modes = tmp_path / "modes.yaml"
    modes.write_text(
        "sweep:\n  datasets: [ilidsvid]\n"
        "  grid: {bn: [train, frozen], loss_reduction: [mean, sum]}\n"
    )
    counts = dry_run_counts("all_sweeps", tmp_path / "r", modes)
    # 4 MGAT settings, and the control of the 3 that train.graph does not train: one split.
    assert counts["train_sweep"] == 4 + 3 and counts["train_finetune"] == 1
    assert (
        "sweeps/ilidsvid/split0/finetune/gamma~250.0/features~pooled/of_loss~mse/of_weight~1.0/"
        "M~8/K~16/bn~frozen/loss_reduction~sum/" in planned_sweep(tmp_path / "r", modes)
    )
    no_control = tmp_path / "no_control.yaml"
    no_control.write_text(modes.read_text() + "train: {graph: {control: false}}\n")
    counts = dry_run_counts("all_sweeps", tmp_path / "r", no_control)
    assert counts["train_sweep"] == 4 and "train_finetune" not in counts
    subset = tmp_path / "subset.yaml"
    subset.write_text(
        "sweep:\n  datasets: [mars]\n  grid: {gamma: [1, 2, 3]}\n"
        "  settings: [{gamma: 10}, {gamma: 10, features: bn, M: 4, K: 8}]\n"
    )
    # Two settings, and the control of the one with other batches (M 4 x K 8).
    assert dry_run_counts("all_sweeps", tmp_path / "r", subset)["train_sweep"] == 2 + 1
    assert (
        "sweeps/mars/split0/mgat/gamma~10.0/features~bn/of_loss~mse/of_weight~1.0/M~4/K~8/"
        "bn~train/loss_reduction~mean/" in planned_sweep(tmp_path / "r", subset)
    )


def test_one_split_datasets_repeat_with_seeds(tmp_path: Path) -> None:
    """repeats: N runs of MARS's one split, each its own training (seed + k) in split{k}/."""
    repeats = tmp_path / "repeats.yaml"
    repeats.write_text("datasets: [mars]\nrepeats: {mars: 3}\n")
    counts = dry_run_counts("all_tables", tmp_path / "r", repeats)
    assert counts["train_baseline"] == counts["train_mgat"] == counts["train_gat"] == 3
    assert counts["train_finetune"] == 3
    assert counts["evaluate"] == 12 and counts["aggregate"] == 1


@pytest.mark.parametrize("config", ["config.yaml", "demo.yaml"])
def test_lint_is_clean(config: str) -> None:
    result = snakemake(REPO, "--lint", "--configfile", str(REPO / "config" / config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "data:\n  sourse: real\n",
            "invalid config: data: Additional properties are not allowed ('sourse' was "
            "unexpected); see workflow/schemas/config.schema.yaml",
        ),
        (
            "datasets: [mars]\nsweep: {datasets: [ilidsvid]}\n",
            "invalid config: sweep.datasets: ['ilidsvid'] are not among datasets ['mars']",
        ),
    ],
    ids=["unknown key", "sweep of a dataset that does not run"],
)
def test_invalid_config_is_one_line(tmp_path: Path, text: str, line: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [line]


def test_synthetic_sizes_left_out_take_each_datasets_own_defaults(tmp_path: Path) -> None:
    """A synthetic config without sizes: PRID2011's default tracklets must reach its 27-frame
    split rule (a shared default of 16 frames left no person to split)."""
    config = tmp_path / "synthetic.yaml"
    config.write_text(
        f"results: {tmp_path}/out\ndatasets: [prid2011]\ndata: {{source: synthetic}}\n"
    )
    result = snakemake(
        tmp_path, f"{tmp_path}/out/splits/prid2011.json", "--configfile", str(config)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    splits = json.loads((tmp_path / "out" / "splits" / "prid2011.json").read_text())
    assert len(splits["splits"]) == 10 and all(s["train"] for s in splits["splits"])


def test_schema_knows_every_backbone() -> None:
    import yaml

    from mgat.models.backbone import BACKBONES

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["train"]["properties"]["backbone"]["enum"] == list(BACKBONES)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("train: {backbone: resnet05}\n", "train.backbone: 'resnet05' is not one of"),
        ("train: {device: gpu}\n", "train.device: 'gpu' does not match"),
        ("train: {graph: {lr: 1.0e-6x}}\n", "train.graph.lr: '1.0e-6x' is not of type 'number'"),
        ("train: {graph: {lr: 1e-6}}\n", "train.graph.lr: '1e-6' is not of type 'number' (YAML"),
    ],
)
def test_typos_fail_the_dry_run_in_one_line(tmp_path: Path, text: str, where: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"invalid config: {where}"), lines


def test_missing_real_dataset_fails_clearly_without_output(tmp_path: Path) -> None:
    config = tmp_path / "real.yaml"
    config.write_text(
        f"results: {tmp_path}/out\ndatasets: [market1501]\n"
        f"data: {{source: real, root: {tmp_path}/data, download: false}}\n"
        "train: {weights: none}\n"  # the dataset alone is missing (and nothing is downloaded)
    )
    result = snakemake(tmp_path, "--configfile", str(config))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("mgat: error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert "Market-1501-v15.09.15.zip" in errors[0] and "put it at" in errors[0]
    assert not (tmp_path / "out" / "data" / "market1501.manifest.json").exists()
    assert not (tmp_path / "out" / "splits").exists()


@pytest.mark.workflow
def test_killed_training_job_resumes_on_rerun(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "results: out\ndatasets: [market1501]\n"
        "data: {source: synthetic, synthetic: {market1501: {ids: 5}}}\n"
        "train: {device: cpu, threads: 1, backbone: resnet18, weights: none, height: 32, "
        "width: 16, baseline: {epochs: 6, lr_step: 2, persons_per_batch: 4, "
        "batches_per_epoch: 8}}\nresources: {train: {mem_mb: 1000, runtime: 10, gpu: 0}}\n"
    )
    target = "out/market1501/split0/baseline/model.pt"
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--cores", "1"]
    command += [target, "--configfile", str(config)]  # --configfile would swallow the target
    first = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    checkpoint = tmp_path / "out/scratch/market1501/split0/baseline/checkpoint.pt"
    deadline = time.time() + 240
    while not checkpoint.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)  # the whole job tree, as a node failure would
    first.wait()
    assert checkpoint.exists() and not (tmp_path / target).exists()

    # After a hard kill, as a user would: release the lock, then rerun the incomplete job.
    assert snakemake(tmp_path, "--unlock", "--configfile", str(config)).returncode == 0
    second = snakemake(tmp_path, target, "--rerun-incomplete", "--configfile", str(config))
    assert second.returncode == 0, second.stderr[-3000:]
    log = (tmp_path / "out/logs/train_baseline/market1501/split0.log").read_text()
    assert "resuming after epoch" in log
    assert (tmp_path / target).is_file() and not checkpoint.exists()


def imagenet_config(tmp_path: Path) -> Path:
    """Market1501, synthetic, one short stage-1 training from resnet18's ImageNet weights."""
    config = tmp_path / "imagenet.yaml"
    config.write_text(
        f"results: out\ndatasets: [market1501]\ndata: {{source: synthetic, root: {tmp_path}/data, "
        "synthetic: {market1501: {ids: 4}}}\n"
        "train: {device: cpu, threads: 1, backbone: resnet18, weights: imagenet, height: 32, "
        "width: 16, baseline: {epochs: 1, persons_per_batch: 4, batches_per_epoch: 2}}\n"
        "resources: {train: {mem_mb: 1000, runtime: 10, gpu: 0}}\n"
    )
    return config


def with_resnet18_url(workflow: Path, url: str) -> None:
    """Point the workflow copy's URL table at ``url``: the real file is never fetched in tests."""
    table = workflow / "src" / "mgat" / "models" / "pretrained.py"
    table.write_text(table.read_text().replace(IMAGENET_URLS["resnet18"], url))


def run_copy(workflow: Path, tmp_path: Path, target: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "empty-torch-home")}
    command = [str(SNAKEMAKE), "--snakefile", str(workflow / "Snakefile"), "--cores", "2", target]
    command += ["--configfile", str(imagenet_config(tmp_path))]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env)


@pytest.mark.workflow
def test_weights_are_fetched_once_before_training(tmp_path: Path, server: HttpServer) -> None:
    torch.manual_seed(0)
    state = io.BytesIO()
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), state)
    name = serve_as_torchvision_file(server, "resnet18", state.getvalue())
    workflow = workflow_copy(tmp_path / "workflow")
    with_resnet18_url(workflow, server.url(name))

    result = run_copy(workflow, tmp_path, "out/market1501/split0/baseline/model.pt")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "data" / "weights" / name).is_file()
    assert server.requests == [f"/{name}"]  # once, by the fetch_weights rule
    log = (tmp_path / "out" / "logs" / "train_baseline" / "market1501" / "split0.log").read_text()
    assert f"weights loaded from {tmp_path}/data/weights/{name}" in log
    assert not (tmp_path / "empty-torch-home").exists()  # the job never went near torch hub


@pytest.mark.workflow
def test_offline_weights_fail_in_one_line_before_any_training(tmp_path: Path) -> None:
    url = closed_port_url("resnet18-f37072fd.pth")
    workflow = workflow_copy(tmp_path / "workflow")
    with_resnet18_url(workflow, url)
    result = run_copy(workflow, tmp_path, "out/market1501/split0/baseline/model.pt")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("mgat: error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert url in errors[0] and f"place it at {tmp_path}/data/weights/" in errors[0]
    assert not list((tmp_path / "data" / "weights").glob("*"))  # no partial download
    assert not (tmp_path / "out" / "logs" / "train_baseline").exists()


def test_schema_enums_are_the_vocabulary() -> None:
    """Every list of names the schema offers is mgat.vocabulary's, in every place it appears:
    the training settings, the sweep's grid and explicit settings, the evaluation."""
    import yaml

    from mgat import vocabulary

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    graph = schema["properties"]["train"]["properties"]["graph"]["properties"]
    sweep = schema["properties"]["sweep"]["properties"]
    grid, listed = sweep["grid"]["properties"], sweep["settings"]["items"]["properties"]
    names = {
        "features": vocabulary.GRAPH_FEATURES,
        "of_loss": vocabulary.OF_LOSS_FORMS,
        "bn": vocabulary.BN_MODES,
        "loss_reduction": vocabulary.LOSS_REDUCTIONS,
    }
    for key, expected in names.items():
        assert graph[key]["enum"] == list(expected), key
        assert grid[key]["items"]["enum"] == list(expected), key
        assert listed[key]["enum"] == list(expected), key
    assert sweep["stages"]["items"]["enum"] == list(vocabulary.SWEEP_STAGES)
    evaluation = schema["properties"]["evaluation"]["properties"]
    choices = {
        "feature": (vocabulary.TEST_FEATURES, vocabulary.DEFAULT_FEATURE),
        "mars_gallery": (vocabulary.PROTOCOLS, vocabulary.DEFAULT_PROTOCOL),
        "ap": (vocabulary.AP_FORMS, vocabulary.DEFAULT_AP),
        "sampling": (vocabulary.SAMPLINGS, vocabulary.DEFAULT_SAMPLING),
    }
    for key, (names_of_key, default) in choices.items():
        assert evaluation[key]["enum"] == list(names_of_key), key
        assert evaluation[key]["default"] == default, key
    for key, default in (
        ("seq_len", vocabulary.DEFAULT_SEQ_LEN),
        ("batch_size", vocabulary.DEFAULT_BATCH_SIZE),
        ("max_rank", vocabulary.DEFAULT_MAX_RANK),
    ):
        assert evaluation[key]["default"] == default, key
    rerank = evaluation["rerank"]["properties"]
    assert rerank["k1"]["default"] == vocabulary.DEFAULT_RERANK_K1
    assert rerank["k2"]["default"] == vocabulary.DEFAULT_RERANK_K2
    assert rerank["lambda"]["default"] == vocabulary.DEFAULT_RERANK_LAMBDA


def test_the_command_line_offers_the_vocabulary() -> None:
    """The mgat command's choices and defaults are the vocabulary's: one home for each list."""
    import argparse

    from mgat import vocabulary
    from mgat.cli import build_parser

    def options(command: str) -> dict[str, argparse.Action]:
        sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        return {a.dest: a for a in sub.choices[command]._actions}

    extract, evaluate = options("extract"), options("evaluate")
    train = options("train")
    assert tuple(train["stage"].choices) == vocabulary.STAGES
    assert tuple(extract["protocol"].choices) == vocabulary.PROTOCOLS
    assert tuple(extract["sampling"].choices) == vocabulary.SAMPLINGS
    assert tuple(evaluate["ap"].choices) == vocabulary.AP_FORMS
    assert tuple(evaluate["feature"].choices) == vocabulary.TEST_FEATURES
    assert evaluate["k1"].default == vocabulary.DEFAULT_RERANK_K1
    assert evaluate["k2"].default == vocabulary.DEFAULT_RERANK_K2
    assert evaluate["lambda_value"].default == vocabulary.DEFAULT_RERANK_LAMBDA
    defaults = [
        (extract, "protocol", vocabulary.DEFAULT_PROTOCOL),
        (extract, "sampling", vocabulary.DEFAULT_SAMPLING),
        (extract, "seq_len", vocabulary.DEFAULT_SEQ_LEN),
        (extract, "batch_size", vocabulary.DEFAULT_BATCH_SIZE),
        (evaluate, "ap", vocabulary.DEFAULT_AP),
        (evaluate, "feature", vocabulary.DEFAULT_FEATURE),
        (evaluate, "max_rank", vocabulary.DEFAULT_MAX_RANK),
    ]
    for actions, dest, default in defaults:
        assert actions[dest].default == default, dest
