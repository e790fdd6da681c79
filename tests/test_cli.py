"""The ``mgat`` command line: JSON on success; one error line and a non-zero exit otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mgat.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mgat.cli", *args], capture_output=True, text=True, check=False
    )


def assert_one_error_line(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_summary_prints_one_json_object(mars_root: Path, capsys) -> None:
    assert (
        main(["data", "summary", "mars", "--root", str(mars_root), "--protocol", "official"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary == {
        "dataset": "mars",
        "split": 0,
        "train": {"ids": 2, "tracklets": 4, "images": 10},
        "query": {"ids": 2, "tracklets": 2, "images": 5},
        "gallery": {"ids": 3, "tracklets": 6, "images": 13},
    }


def test_summary_reads_a_splits_file(ilidsvid_root: Path, tmp_path: Path, capsys) -> None:
    splits = tmp_path / "splits.json"
    assert (
        main(["data", "splits", "ilidsvid", "--root", str(ilidsvid_root), "--out", str(splits)])
        == 0
    )
    record = json.loads(splits.read_text())
    assert record["dataset"] == "ilidsvid" and record["num_splits"] == 10
    assert len(record["sha256"]) == 64
    capsys.readouterr()
    args = ["data", "summary", "ilidsvid", "--root", str(ilidsvid_root), "--split", "3"]
    assert main([*args, "--splits", str(splits)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split"] == 3 and summary["query"]["ids"] == summary["gallery"]["ids"] == 3


def test_missing_dataset_folder(tmp_path: Path) -> None:
    result = run_cli("data", "summary", "market1501", "--root", str(tmp_path))
    assert_one_error_line(result, "mgat: error:", "market1501", "not found")


def test_split_out_of_range(ilidsvid_root: Path) -> None:
    result = run_cli("data", "summary", "ilidsvid", "--root", str(ilidsvid_root), "--split", "12")
    assert_one_error_line(result, "split 12 out of range", "0..9")


def test_unknown_dataset_lists_valid_names(tmp_path: Path) -> None:
    result = run_cli("data", "summary", "viper", "--root", str(tmp_path))
    assert result.returncode == 2
    for name in ("ilidsvid", "prid2011", "mars", "market1501"):
        assert name in result.stderr


def test_failed_splits_leave_no_file(ilidsvid_root: Path, tmp_path: Path) -> None:
    mat = (
        ilidsvid_root / "ilids-vid" / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    )
    mat.write_bytes(b"\x00" * 64)
    out = tmp_path / "out" / "ilidsvid.json"
    result = run_cli("data", "splits", "ilidsvid", "--root", str(ilidsvid_root), "--out", str(out))
    assert_one_error_line(result, "cannot read", "train_test_splits_ilidsvid.mat")
    assert not out.exists()


def test_checksum_mismatch(tmp_path: Path) -> None:
    archive = tmp_path / "Market-1501-v15.09.15.zip"
    archive.write_bytes(b"PK not really")
    result = run_cli(
        "data",
        "prepare",
        "market1501",
        "--root",
        str(tmp_path / "data"),
        "--file",
        f"archive={archive}",
        "--sha256",
        "archive=" + "ab" * 32,
    )
    assert_one_error_line(result, "Market-1501-v15.09.15.zip")
    assert not (tmp_path / "data" / "market1501" / "Market-1501-v15.09.15").exists()


@pytest.mark.parametrize("bad", ["--split-file=mat", "--ids=1"])
def test_synth_bad_arguments(tmp_path: Path, bad: str) -> None:
    result = run_cli("synth", "market1501", "--out", str(tmp_path), bad)
    assert_one_error_line(result, "mgat: error:")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (
            [
                "extract",
                "m.pt",
                "mars",
                "--root",
                "r",
                "--splits",
                "s",
                "--out",
                "o",
                "--batch-size",
                "0",
            ],
            "--batch-size",
        ),
        (
            [
                "extract",
                "m.pt",
                "mars",
                "--root",
                "r",
                "--splits",
                "s",
                "--out",
                "o",
                "--seq-len",
                "0",
            ],
            "--seq-len",
        ),
        (
            [
                "extract",
                "m.pt",
                "mars",
                "--root",
                "r",
                "--splits",
                "s",
                "--out",
                "o",
                "--threads",
                "-3",
            ],
            "--threads",
        ),
        (
            [
                "extract",
                "m.pt",
                "mars",
                "--root",
                "r",
                "--splits",
                "s",
                "--out",
                "o",
                "--height",
                "8",
            ],
            "--height",
        ),
        (["evaluate", "f.npz", "--out", "o", "--max-rank", "0"], "--max-rank"),
        (["data", "summary", "mars", "--root", "r", "--split", "-1"], "--split"),
    ],
)
def test_bad_numbers_are_refused_by_flag(args: list[str], flag: str, capsys) -> None:
    from mgat.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: must be at least" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"lr_step": 0}, "lr_step must be an integer >= 1"),
        ({"lr_head": 0}, "lr_head must be a positive number"),
        ({"batches_per_epoch": 0}, "batches_per_epoch must be null or >= 1"),
        ({"height": 4}, "height must be an integer >= 16"),
    ],
)
def test_bad_training_settings_are_refused(values: dict, message: str) -> None:
    from mgat.engine import StageSettings
    from mgat.errors import ConfigError

    base = {"epochs": 1, "lr_backbone": 0.1, "lr_head": 0.1, "lr_step": 1}
    with pytest.raises(ConfigError, match=message):
        StageSettings.from_dict({**base, **values})
