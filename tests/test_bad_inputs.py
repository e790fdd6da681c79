"""The catalogue of bad inputs and faults: each one clear line, a non-zero exit, no traceback,
no partial output. The README's Troubleshooting section lists these messages (checked below).

Each case builds its fault under a temporary folder and returns the ``mgat`` command line to
run and the outputs that must not appear. The workflow-level cases (an invalid config, a
missing real dataset under Snakemake, weights offline) live in test_workflow.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from mgat.cli import main
from mgat.data.splits import write_splits
from tests.conftest import build_ilidsvid, build_market, build_mars, build_prid

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """A fault: ``make(tmp)`` builds it and returns (argv, outputs that must not exist)."""

    kind: str  # the class of fault, as the README groups them
    make: Callable[[Path], tuple[list[str], list[Path]]]
    message: str  # a regular expression the one error line must match (its advice included)
    readme: str  # the words of the message the README's Troubleshooting section quotes
    status: int = 1


# --- builders ----------------------------------------------------------------------------------


def _settings(tmp: Path, text: str) -> Path:
    path = tmp / "settings.yaml"
    path.write_text(text)
    return path


def _market_with_splits(tmp: Path) -> tuple[Path, Path]:
    root = build_market(tmp / "data")
    splits = tmp / "splits.json"
    write_splits("market1501", root, splits)
    return root, splits


def _train(tmp: Path, settings: str, *extra: str) -> tuple[list[str], list[Path]]:
    root, splits = _market_with_splits(tmp)
    out = tmp / "out" / "model.pt"
    argv = ["train", *extra, "market1501", "--root", str(root), "--splits", str(splits)]
    argv += ["--settings", str(_settings(tmp, settings)), "--out", str(out)]
    argv += ["--metrics", str(tmp / "out" / "log.csv"), "--device", "cpu"]
    return argv, [out, tmp / "out" / "log.csv"]


GOOD = "{epochs: 1, lr_backbone: 0.1, lr_head: 0.1, lr_step: 1, backbone: resnet18, weights: none}"


def _extract(tmp: Path, model: Path, *extra: str) -> tuple[list[str], list[Path]]:
    root, splits = _market_with_splits(tmp)
    out = tmp / "f.npz"
    argv = ["extract", str(model), "market1501", "--root", str(root), "--splits", str(splits)]
    return [*argv, "--out", str(out), "--device", "cpu", *extra], [out]


def _evaluate(tmp: Path, features: Path, *extra: str) -> tuple[list[str], list[Path]]:
    out = tmp / "eval.json"
    return ["evaluate", str(features), "--out", str(out), *extra], [out]


def _summary(root: Path, dataset: str, *extra: str) -> list[str]:
    return ["data", "summary", dataset, "--root", str(root), *extra]


def _train_on_cuda(tmp: Path) -> tuple[list[str], list[Path]]:
    argv, outputs = _train(tmp, GOOD, "baseline")
    argv[argv.index("--device") + 1] = "cuda"
    return argv, outputs


def _corrupt_mat(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_mars(tmp / "data")
    (root / "mars" / "info" / "tracks_test_info.mat").write_bytes(b"not a mat file")
    return _summary(root, "mars"), []


def _keyless_mat(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_ilidsvid(tmp / "data")
    path = root / "ilids-vid" / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    scipy.io.savemat(path, {"other": np.zeros((2, 2))})
    return _summary(root, "ilidsvid"), []


def _no_split_source(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_ilidsvid(tmp / "data")
    path = root / "ilids-vid" / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    path.unlink()
    out = tmp / "splits.json"
    return ["data", "splits", "ilidsvid", "--root", str(root), "--out", str(out)], [out]


def _prid_split_json(tmp: Path, splits: list) -> tuple[list[str], list[Path]]:
    root = build_prid(tmp / "data", split_file="json")
    (root / "prid2011" / "splits_prid2011.json").write_text(json.dumps(splits))
    out = tmp / "splits.json"
    return ["data", "splits", "prid2011", "--root", str(root), "--out", str(out)], [out]


def _prid_too_short(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_prid(tmp / "data")
    for folder in (root / "prid2011" / "prid_2011" / "multi_shot" / "cam_b").iterdir():
        for frame in sorted(folder.glob("*.png"))[5:]:
            frame.unlink()
    out = tmp / "splits.json"
    return ["data", "splits", "prid2011", "--root", str(root), "--out", str(out)], [out]


def _repeated_queries(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_mars(tmp / "data")
    scipy.io.savemat(root / "mars" / "info" / "query_IDX.mat", {"query_IDX": [[1, 4, 4]]})
    return _summary(root, "mars"), []


def _changed_after_splits(tmp: Path) -> tuple[list[str], list[Path]]:
    root, splits = _market_with_splits(tmp)
    next((root / "market1501").rglob("*.jpg")).unlink()
    return _summary(root, "market1501", "--splits", str(splits)), []


def _splits_not_json(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_market(tmp / "data")
    (tmp / "splits.json").write_text("{half")
    return _summary(root, "market1501", "--splits", str(tmp / "splits.json")), []


def _splits_of_another_dataset(tmp: Path) -> tuple[list[str], list[Path]]:
    root, splits = _market_with_splits(tmp)
    build_mars(tmp / "data")
    return _summary(root, "mars", "--splits", str(splits)), []


def _prepare(tmp: Path, *extra: str) -> tuple[list[str], list[Path]]:
    root = tmp / "data"
    argv = ["data", "prepare", "ilidsvid", "--root", str(root), "--no-download", *extra]
    return argv, [root / "ilids-vid" / "i-LIDS-VID"]


def _ilids_tar(tmp: Path) -> Path:
    import tarfile

    source = build_ilidsvid(tmp / "source") / "ilids-vid"
    archive = tmp / "iLIDS-VID.tar"
    with tarfile.open(archive, "w") as tar:
        for child in sorted(source.iterdir()):
            tar.add(child, arcname=child.name)
    return archive


def _wrong_archive(tmp: Path) -> tuple[list[str], list[Path]]:
    import tarfile

    (tmp / "junk").mkdir()
    (tmp / "junk" / "readme.txt").write_text("not the dataset")
    archive = tmp / "iLIDS-VID.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp / "junk", arcname="junk")
    return _prepare(tmp, "--file", f"archive={archive}")


def _model_file(tmp: Path, content: bytes) -> Path:
    path = tmp / "model.pt"
    path.write_bytes(content)
    return path


def _features_file(tmp: Path, content: bytes) -> Path:
    path = tmp / "features.npz"
    path.write_bytes(content)
    return path


def _under_a_file(tmp: Path) -> tuple[list[str], list[Path]]:
    (tmp / "results").write_text("a file where a folder must be")
    features = _features_file(tmp, b"")
    return ["evaluate", str(features), "--out", str(tmp / "results" / "eval.json")], []


def _extract_under_a_file(tmp: Path) -> tuple[list[str], list[Path]]:
    (tmp / "results").write_text("a file where a folder must be")
    argv, _ = _extract(tmp, _model_file(tmp, b"never read: the output fails first"))
    argv[argv.index("--out") + 1] = str(tmp / "results" / "f.npz")
    return argv, []


def _synth(tmp: Path, *extra: str) -> tuple[list[str], list[Path]]:
    return ["synth", "mars", "--out", str(tmp / "synth"), *extra], [tmp / "synth" / "mars"]


def _synth_exists(tmp: Path) -> tuple[list[str], list[Path]]:
    (tmp / "synth" / "mars").mkdir(parents=True)
    return ["synth", "mars", "--out", str(tmp / "synth")], []


# --- the catalogue -------------------------------------------------------------------------------

CASES: dict[str, Case] = {
    # Missing, corrupt or wrongly laid out data.
    "missing dataset folder": Case(
        "data",
        lambda t: (_summary(t, "market1501"), []),
        r"market1501: folder .* not found; place the dataset there",
        "not found; place the dataset there",
    ),
    "wrong layout": Case(
        "data",
        lambda t: ((t / "market1501").mkdir() or _summary(t, "market1501"), []),
        r"market1501: .* the dataset layout is incomplete",
        "the dataset layout is incomplete",
    ),
    "corrupt .mat": Case(
        "data",
        _corrupt_mat,
        r"cannot read .* as a \.mat file .* get it again",
        "as a .mat file",
    ),
    ".mat without its variable": Case(
        "data",
        _keyless_mat,
        r"has no variable 'ls_set' .* get it again",
        "has no variable",
    ),
    "missing split source": Case(
        "data",
        _no_split_source,
        r"train_test_splits_ilidsvid\.mat not found",
        "train_test_splits_ilidsvid.mat not found",
    ),
    "PRID2011 persons too short": Case(
        "data",
        _prid_too_short,
        r"only 0 persons among 1-200 have >= 27 frames",
        "have >= 27 frames in both cameras",
    ),
    "split file lists nothing": Case(
        "splits",
        lambda t: _prid_split_json(t, []),
        r"holds no splits; fix or delete it",
        "holds no splits",
    ),
    "person in train and test": Case(
        "splits",
        lambda t: _prid_split_json(t, [{"train": ["person_0001"], "test": ["person_0001"]}]),
        r"puts persons \['person_0001'\] in both train and test",
        "in both train and test",
    ),
    "split names a missing person": Case(
        "splits",
        lambda t: _prid_split_json(t, [{"train": ["person_0001"], "test": ["person_0099"]}]),
        r"names persons \['person_0099'\] without a folder in both cameras",
        "without a folder in both cameras",
    ),
    "repeated MARS query rows": Case(
        "splits",
        _repeated_queries,
        r"lists test rows \[4\] more than once",
        "more than once",
    ),
    "data changed after the splits": Case(
        "splits",
        _changed_after_splits,
        r"changed after .*splits\.json was written .* delete the splits file and rerun",
        "changed after",
    ),
    "splits file not JSON": Case(
        "splits",
        _splits_not_json,
        r"is not valid JSON .* delete it and rerun",
        "is not valid JSON",
    ),
    "splits file of another dataset": Case(
        "splits",
        _splits_of_another_dataset,
        r"holds the splits of 'market1501', not 'mars'",
        "holds the splits of",
    ),
    "split out of range": Case(
        "splits",
        lambda t: (_summary(build_market(t), "market1501", "--split", "3"), []),
        r"split 3 out of range; it has 1 split\(s\), use 0\.\.0",
        "out of range",
    ),
    # Placing the real datasets.
    "archive missing": Case(
        "prepare",
        lambda t: _prepare(t),
        r"ilidsvid: .*iLIDS-VID\.tar.* put it at",
        "put it at",
    ),
    "checksum mismatch": Case(
        "prepare",
        lambda t: _prepare(
            t, "--file", f"archive={_ilids_tar(t)}", "--sha256", f"archive={'0' * 64}"
        ),
        r"SHA-256 is [0-9a-f]{64} but 0{64} was expected; .* download it again",
        "was expected",
    ),
    "archive with the wrong content": Case(
        "prepare",
        _wrong_archive,
        r"the layout is still wrong .* official releases",
        "the layout is still wrong",
    ),
    "unknown placed-file key": Case(
        "prepare",
        lambda t: _prepare(t, "--file", "archiv=x.tar"),
        r"unknown placed-file key\(s\) archiv; valid keys: archive",
        "unknown placed-file key",
    ),
    "repeated placed-file key": Case(
        "prepare",
        lambda t: _prepare(t, "--file", "archive=a.tar", "--file", "archive=b.tar"),
        r"--file: archive given twice",
        "given twice",
    ),
    # Training settings and numbers.
    "settings file unreadable": Case(
        "settings",
        lambda t: _train(t, "{epochs: [", "baseline"),
        r"cannot read settings file",
        "cannot read settings file",
    ),
    "unknown training setting": Case(
        "settings",
        lambda t: _train(t, GOOD.replace("}", ", epoch: 3}"), "baseline"),
        r"unknown training settings \['epoch'\]; valid: ",
        "unknown training settings",
    ),
    "zero epochs": Case(
        "settings",
        lambda t: _train(t, GOOD.replace("epochs: 1", "epochs: 0"), "baseline"),
        r"epochs must be an integer >= 1, got 0",
        "must be an integer >=",
    ),
    "stage 2 without a stage-1 model": Case(
        "settings",
        lambda t: _train(t, GOOD, "mgat"),
        r"stage mgat starts from a stage-1 model; give one with --init",
        "starts from a stage-1 model",
    ),
    "CUDA asked for, none present": Case(
        "settings",
        _train_on_cuda,
        r"device 'cuda' requested but CUDA is not available; use auto or cpu",
        "CUDA is not available",
    ),
    "batch size 0": Case(
        "settings",
        lambda t: _extract(t, t / "m.pt", "--batch-size", "0"),
        r"argument --batch-size: must be at least 1, got 0",
        "must be at least",
        status=2,
    ),
    "negative threads": Case(
        "settings",
        lambda t: _extract(t, t / "m.pt", "--threads", "-3"),
        r"argument --threads: must be at least 1, got -3",
        "must be at least",
        status=2,
    ),
    "synthetic frames inverted": Case(
        "settings",
        lambda t: _synth(t, "--min-frames", "5", "--max-frames", "4"),
        r"min_frames .* max_frames",
        "max_frames",
    ),
    "synthetic target exists": Case(
        "settings",
        _synth_exists,
        r"exists; remove it first",
        "exists; remove it first",
    ),
    # Damaged intermediate files.
    "model missing": Case(
        "intermediate",
        lambda t: _extract(t, t / "absent.pt"),
        r"model .*absent\.pt not found; train it first",
        "train it first",
    ),
    "model not a model": Case(
        "intermediate",
        lambda t: _extract(t, _model_file(t, b"garbage")),
        r"model\.pt is not a model saved by mgat .*; delete it and retrain it \(rules train_\*\)",
        "is not a model saved by mgat",
    ),
    "features missing": Case(
        "intermediate",
        lambda t: _evaluate(t, t / "absent.npz"),
        r"features file .* not found; extract it first",
        "extract it first",
    ),
    "features truncated": Case(
        "intermediate",
        lambda t: _evaluate(t, _features_file(t, b"PK\x03\x04 truncated")),
        r"is not a features file written by mgat .* \(rule extract_features\)",
        "is not a features file",
    ),
    # Outputs that cannot be written.
    "output under a regular file": Case(
        "output",
        _under_a_file,
        r"cannot write .*eval\.json: .*; free space, fix the permissions",
        "cannot write",
    ),
    "extraction output unwritable, before any work": Case(
        "output",
        _extract_under_a_file,
        r"cannot write .*f\.npz: .*choose another output folder",
        "choose another output folder",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fault_is_one_clear_line(name: str, tmp_path: Path, capsys) -> None:
    case = CASES[name]
    argv, outputs = case.make(tmp_path)
    capsys.readouterr()  # what building the fault printed
    if case.status == 2:  # argparse's own refusal: usage, then one error line
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        status = exit_info.value.code
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines[0].startswith("usage: mgat"), lines
        error = lines[-1]
    else:
        status = main(argv)
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1, lines
        error = lines[0]
        assert error.startswith("mgat: error: "), error
    assert status == case.status
    assert re.search(case.message, error), error
    assert "Traceback" not in error
    for path in outputs:
        assert not path.exists(), f"partial output {path}"


def test_the_catalogue_is_large_and_in_the_readme() -> None:
    """At least 30 cases; each one's message is quoted in the README's Troubleshooting."""
    assert len(CASES) >= 30
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Troubleshooting") :]
    missing = [name for name, case in CASES.items() if case.readme not in section]
    assert not missing, missing
