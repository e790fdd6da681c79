"""The SLURM profile, unchanged but for the partition, against a real one-node SLURM cluster.

A reduced demo (Market1501 and one split of iLIDS-VID) runs through ``--profile profiles/slurm``
while one training job is cancelled with ``scancel`` after its first epoch checkpoint; the
profile's retry must resume it, and every metric must equal a local run's of the same config.
The cluster (tests/slurm_cluster.py) needs root; CI sets MGAT_REQUIRE_SLURM=1 so that it fails
rather than skips when it cannot start one. Its node shows a foreign slurm.conf at the default
path, as a login node or a machine with another cluster would: the jobs must not read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import torch
from slurm_cluster import LocalSlurm, can_run_here, wait_for

from tests.helpers import REPO

pytestmark = pytest.mark.slurm

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PROFILE = REPO / "profiles" / "slurm"
TIMEOUT_S = 900  # the plugin waits forever when its status command fails: never let it

REDUCED = """\
results: out
datasets: [market1501]  # one dataset: the cluster's mechanics, not the datasets, are tested
data:
  source: synthetic
  synthetic: {market1501: {ids: 6}}
train:
  device: auto  # the fake GPU has no CUDA device behind it: the CPU, as on a laptop
  threads: 1
  backbone: resnet18
  weights: none
  height: 64
  width: 32
  baseline: {epochs: 4, lr_step: 2, persons_per_batch: 4, batches_per_epoch: 10}
  graph: {epochs: 1, lr: 0.001, persons_per_batch: 4, images_per_person: 2, batches_per_epoch: 3}
evaluation: {seq_len: 4, batch_size: 32, fig4_persons: 4, fig4_samples: 2}
resources:
  train: {mem_mb: 1500, runtime: 15, gpu: 1}
  extract: {mem_mb: 1500, runtime: 15, gpu: 1}
"""
DATASETS, MODELS = ("market1501",), ("baseline", "finetune", "mgat", "gat")
#: The SLURM log folder of every job the profile submits; everything else is a localrule.
SUBMITTED = {f"rule_train_{model}/{d}_0" for model in MODELS for d in DATASETS}
SUBMITTED |= {f"rule_extract_features/{d}_0_{model}" for model in MODELS for d in DATASETS}
CANCELLED = ("train_baseline", "market1501")  # the job cancelled mid-training
#: The host's own configuration, shown to the node's jobs beneath the test cluster's: a controller
#: that does not exist, as on a machine configured for another cluster.
FOREIGN_CONF = """\
ClusterName=other
SlurmctldHost=nowhere(127.0.0.9)
AuthType=auth/munge
NodeName=nowhere NodeAddr=127.0.0.9 CPUs=1 State=UNKNOWN
PartitionName=other Nodes=ALL Default=YES State=UP
"""
PROBE_JOB = "host-conf-probe"  # a job of the test's own, left out of the workflow's records


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    reason = can_run_here()
    if reason:
        if os.environ.get("MGAT_REQUIRE_SLURM") == "1":
            pytest.fail(f"cannot start a local SLURM cluster: {reason}")
        pytest.skip(f"cannot start a local SLURM cluster: {reason}")
    slurm = LocalSlurm(tmp_path_factory.mktemp("slurm"), host_conf=FOREIGN_CONF)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a killed test run still stops its daemons (finally below)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The pinned SLURM executor plugin (pyproject's `slurm` extra), installed beside the
    project's environment rather than into it: importing it costs every other snakemake start
    a `scontrol` call, up to 9 s where no controller answers."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = project["optional-dependencies"]["slurm"]
    target = tmp_path_factory.mktemp("plugin")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--target", str(target), *pins]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return str(target)


def snakemake_env(cluster: LocalSlurm, plugin_path: str) -> dict[str, str]:
    """The SLURM clients' environment; sbatch --export=ALL hands it on to every job."""
    return {**cluster.env, "PYTHONPATH": plugin_path, "PYTHONUNBUFFERED": "1"}


def sacct(cluster: LocalSlurm) -> dict[str, dict[str, str]]:
    """Every allocation this cluster ran: job id -> partition, state, allocated TRES."""
    fields = "JobID,Partition,State,AllocTRES,JobName"
    out = cluster.run("sacct", "-X", "-n", "-P", "-a", "-S", "2000-01-01", "-o", fields).stdout
    rows = [line.split("|") for line in out.splitlines() if line]
    rows = [r for r in rows if r[4] != PROBE_JOB]
    return {r[0]: {"partition": r[1], "state": r[2].split()[0], "tres": r[3]} for r in rows}


def cancel_after_first_checkpoint(cluster: LocalSlurm, workdir: Path, run: subprocess.Popen):
    """Wait for the chosen training's first epoch checkpoint, then scancel its SLURM job."""
    rule, dataset = CANCELLED
    checkpoint = workdir / "out" / "scratch" / dataset / "split0" / "baseline" / "checkpoint.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists():
        if run.poll() is not None or time.monotonic() > deadline:
            log = (workdir / "snakemake.log").read_text()[-3000:]
            pytest.fail(f"no checkpoint to cancel at; snakemake's log ends:\n{log}")
        time.sleep(0.1)
    jobs = cluster.run("squeue", "-h", "-o", "%i %k").stdout.splitlines()
    ids = [line.split()[0] for line in jobs if f"rule_{rule}_" in line and dataset in line]
    assert len(ids) == 1, jobs
    cluster.run("scancel", ids[0])
    return ids[0]


@pytest.fixture(scope="module")
def runs(cluster: LocalSlurm, plugin_path: str, tmp_path_factory: pytest.TempPathFactory):
    """The reduced demo through SLURM (one training cancelled on the way), and locally."""
    local, remote = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("remote")
    for workdir in (local, remote):
        (workdir / "reduced.yaml").write_text(REDUCED)
    # The README's cluster command: every table (figures are localrules, drawn where it runs).
    base = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "all_tables"]

    started = time.monotonic()
    # Only the partition and the polling are overridden; --default-resources goes after the
    # target it would eat.
    command = ["timeout", "-k", "10", str(TIMEOUT_S), *base, "--profile", str(PROFILE)]
    command += ["--configfile", "reduced.yaml"]
    command += ["--default-resources", f"slurm_partition={cluster.partition}"]
    # And how soon it asks SLURM after a submission: a site's 20 s, but seconds-long test jobs.
    command += ["--slurm-init-seconds-before-status-checks", "5"]
    with open(remote / "snakemake.log", "w") as log:
        run = subprocess.Popen(
            command,
            cwd=remote,
            env=snakemake_env(cluster, plugin_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            cancelled = cancel_after_first_checkpoint(cluster, remote, run)
            returncode = run.wait(timeout=TIMEOUT_S + 30)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):  # unless it has ended already
                os.killpg(run.pid, signal.SIGKILL)  # snakemake ignores SIGTERM while it polls
            run.wait()
            raise
    slurm_seconds = time.monotonic() - started

    local_run = subprocess.run(
        [*base, "--cores", "2", "--configfile", "reduced.yaml"],
        cwd=local,
        capture_output=True,
        text=True,
    )
    assert local_run.returncode == 0, local_run.stderr[-3000:]
    log_text = (remote / "snakemake.log").read_text()
    assert returncode == 0, log_text[-5000:]
    print(f"SLURM run: {slurm_seconds:.0f} s")  # shown with pytest -s; recorded in the README
    return {
        "local": local,
        "remote": remote,
        "log": log_text,
        "cancelled": cancelled,
        "sacct": sacct(cluster),
    }


def test_a_job_step_reads_the_cluster_config_not_the_hosts(
    cluster: LocalSlurm, tmp_path: Path
) -> None:
    """Inside a job, the plugin runs srun with no SLURM_* variable but the job's identity: no
    SLURM_CONF, so srun reads the default path, where the node must show the cluster's config."""
    strip = (
        'for v in $(env | sed -n "s/^\\(SLURM_[A-Z0-9_]*\\)=.*/\\1/p"); do '
        'case $v in SLURM_JOB_ID|SLURM_JOBID) ;; *) unset "$v" ;; esac; done'
    )
    step = "srun -n1 sh -c 'grep ^ClusterName= /etc/slurm/slurm.conf'"
    log = tmp_path / "job.log"
    job = cluster.run(
        "sbatch",
        "--parsable",
        "-J",
        PROBE_JOB,
        "-p",
        cluster.partition,
        "-t",
        "1",
        "-o",
        str(log),
        "--wrap",
        f"{strip}; {step}",
    ).stdout.strip()
    wait_for("the job to end", lambda: not cluster.run("squeue", "-h", "-j", job).stdout.strip())
    assert log.read_text().strip() == "ClusterName=mgattest", log.read_text()


def test_profile_resolves_by_name_from_the_repository(
    cluster: LocalSlurm, plugin_path: str
) -> None:
    for profile in ("slurm", "profiles/slurm"):
        result = subprocess.run(
            [str(SNAKEMAKE), "-n", "all_tables", "--profile", profile],
            cwd=REPO,
            env=snakemake_env(cluster, plugin_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"Using profile {profile} for setting default" in result.stderr
        assert "fetch_weights" in result.stdout  # the paper config: weights before training


def test_jobs_went_through_slurm_with_the_profile_resources(runs: dict) -> None:
    logs = runs["remote"] / "results" / "logs" / "slurm"  # the profile's slurm-logdir
    job_logs = {p.stem: str(p.parent.relative_to(logs)) for p in logs.glob("*/*/*.log")}
    assert set(job_logs.values()) == SUBMITTED
    assert job_logs[runs["cancelled"]] == "rule_train_baseline/market1501_0"
    records = runs["sacct"]
    assert set(records) == set(job_logs)  # one SLURM job per log, and the retry its own
    assert len(records) == len(SUBMITTED) + 1
    for job_id, record in records.items():
        assert record["partition"] == "mgat-test", record
        assert "gres/gpu=1" in record["tres"] and "mem=1500M" in record["tres"], record
        expected = "CANCELLED" if job_id == runs["cancelled"] else "COMPLETED"
        assert record["state"] == expected, (job_id, record)


def test_cancelled_training_resumed_to_the_same_weights(runs: dict) -> None:
    _, dataset = CANCELLED
    log = (runs["remote"] / "out" / "logs" / "train_baseline" / dataset / "split0.log").read_text()
    assert "resuming after epoch" in log
    assert "SLURM status is: 'CANCELLED'" in runs["log"] and "Trying to restart job" in runs["log"]
    models = [
        torch.load(run / "out" / dataset / "split0" / "baseline" / "model.pt", weights_only=False)
        for run in (runs["local"], runs["remote"])
    ]
    local, remote = (m["state_dict"] for m in models)
    assert local.keys() == remote.keys()
    assert all(torch.equal(local[key], remote[key]) for key in local)


def test_metrics_equal_a_local_run(runs: dict) -> None:
    evaluations = sorted((runs["local"] / "out").glob("*/split0/*/eval.json"))
    assert len(evaluations) == len(DATASETS) * len(MODELS)
    for path in evaluations:
        twin = runs["remote"] / path.relative_to(runs["local"])
        local, remote = json.loads(path.read_text()), json.loads(twin.read_text())
        # Provenance differs by design: it records when and where each file was made, so the
        # files' digests differ too; every metric must not.
        local.pop("provenance"), remote.pop("provenance")
        assert remote == local, path
    for table in sorted((runs["local"] / "out" / "tables").glob("*.md")):
        assert (runs["remote"] / table.relative_to(runs["local"])).read_text() == table.read_text()
