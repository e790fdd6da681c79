"""The catalogue of bad inputs and faults: each one clear line, a non-zero exit, no traceback,
no partial output. The README's Troubleshooting table is generated from it
(``make troubleshooting`` writes it; a test checks that it is current).

Each case builds its fault under a temporary folder and returns the command line to run (``mgat``
in-process, or ``snakemake`` on the repository's Snakefile) and the outputs that must not appear.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from mgat.cli import main
from mgat.data.splits import write_splits
from tests.helpers import REPO, build_ilidsvid, build_market, build_mars, build_prid

SNAKEMAKE = Path(sys.executable).with_name("snakemake")


@dataclass(frozen=True)
class Case:
    """A fault: ``make(tmp)`` builds it and returns (argv, outputs that must not exist)."""

    kind: str  # the class of fault, as the README groups them
    make: Callable[[Path], tuple[list[str], list[Path]]]
    message: str  # a regular expression the one error line must match (its advice included)
    says: str  # the line as the README quotes it; its parts between "..." occur in it in order
    remedy: str  # what to do, the README's third column (cases with one remedy share a row)
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


def _extract_over_the_model(tmp: Path) -> tuple[list[str], list[Path]]:
    model = _model_file(tmp, b"the model a typo would destroy")
    argv, _ = _extract(tmp, model)
    argv[argv.index("--out") + 1] = str(model)
    return argv, []


def _evaluate_over_the_features(tmp: Path) -> tuple[list[str], list[Path]]:
    features = _features_file(tmp, b"the features a typo would destroy")
    return ["evaluate", str(features), "--out", str(features)], []


def _log_over_the_model(tmp: Path) -> tuple[list[str], list[Path]]:
    argv, outputs = _train(tmp, GOOD, "baseline")
    argv[argv.index("--metrics") + 1] = argv[argv.index("--out") + 1]
    return argv, outputs


def _train_into_a_folder(tmp: Path) -> tuple[list[str], list[Path]]:
    argv, _ = _train(tmp, GOOD, "baseline")
    Path(argv[argv.index("--out") + 1]).mkdir(parents=True)
    return argv, [tmp / "out" / "log.csv"]


def _ilidsvid_model(tmp: Path, split: int) -> tuple[Path, Path, Path]:
    """iLIDS-VID with its splits, and a (untrained) model recorded as trained on ``split``."""
    import torch

    from mgat.digest import sha256_file
    from mgat.models import ReidNet
    from mgat.models.saved import model_record

    root = build_ilidsvid(tmp / "data")
    splits = tmp / "splits.json"
    write_splits("ilidsvid", root, splits)
    model = tmp / "model.pt"
    net = ReidNet("resnet18", num_classes=2, weights="none")
    record = model_record(
        net,
        stage="baseline",
        dataset="ilidsvid",
        split=split,
        provenance={"splits_sha256": sha256_file(splits)},
    )
    torch.save(record, model)
    return root, splits, model


def _model_of_another_split(tmp: Path) -> tuple[list[str], list[Path]]:
    root, splits, model = _ilidsvid_model(tmp, split=1)
    out = tmp / "f.npz"
    argv = ["extract", str(model), "ilidsvid", "--root", str(root), "--splits", str(splits)]
    return [*argv, "--split", "0", "--out", str(out), "--device", "cpu"], [out]


def _features_of_another_split(tmp: Path) -> tuple[list[str], list[Path]]:
    """Features extracted on split 0 with split 1's model, explicitly allowed; evaluated
    without the flag."""
    from mgat.featurefile import write_features

    trained = {"dataset": "ilidsvid", "split": 1, "splits_sha256": None}
    meta = {"dataset": "ilidsvid", "split": 0, "trained_on": {**trained, "relation": "other split"}}
    arrays: dict[str, np.ndarray] = {"gallery_in_query": np.zeros(1, dtype=bool)}
    for part in ("query", "gallery"):
        for kind in ("pooled", "bn"):
            arrays[f"{part}_features_{kind}"] = np.zeros((1, 4), dtype=np.float32)
        arrays[f"{part}_pids"] = arrays[f"{part}_camids"] = np.zeros(1, dtype=np.int64)
        arrays[f"{part}_paths"] = np.asarray(["a.png"])
    features = tmp / "features.npz"
    write_features(features, meta, arrays)
    return _evaluate(tmp, features)


def _workflow(tmp: Path, config: str, *targets: str) -> tuple[list[str], list[Path]]:
    """A Snakemake run of the demo config with ``config`` merged over it, results under tmp."""
    (tmp / "extra.yaml").write_text(config)
    demo = str(REPO / "config" / "demo.yaml")
    argv = ["snakemake", *targets, "--configfile", demo, str(tmp / "extra.yaml")]
    return [*argv, "--config", f"results={tmp / 'out'}"], []


def _figure4_too_large(tmp: Path) -> tuple[list[str], list[Path]]:
    """Figure 4 of 50 persons on the demo's Market1501: refused right after the splits, before
    any training, and the previous figure stays."""
    figure = tmp / "out" / "figures" / "fig4_market1501.png"
    figure.parent.mkdir(parents=True)
    figure.write_bytes(b"the previous figure")
    argv, _ = _workflow(tmp, "evaluation: {fig4_persons: 50}\n", str(figure), "-R", "render_fig4")
    return argv, [
        tmp / "out" / "market1501" / "fig4_frames.json",
        tmp / "out" / "market1501" / "split0" / "baseline" / "model.pt",
    ]


_HELD: list = []  # lock files this process holds, as another run would


def _results_in_use(tmp: Path) -> tuple[list[str], list[Path]]:
    """Another run (here: this process) holds the results folder."""
    from mgat.runlock import LOCK_NAME

    (tmp / "out").mkdir()
    handle = open(tmp / "out" / LOCK_NAME, "w")  # noqa: SIM115  # held until the tests end
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write(f"pid {os.getpid()} on here, checkout /elsewhere, since now\n")
    handle.flush()
    _HELD.append(handle)
    splits = tmp / "out" / "splits" / "market1501.json"
    return _workflow(tmp, "{}\n", str(splits))[0], [splits]


def _data_splits(root: Path, dataset: str, tmp: Path) -> tuple[list[str], list[Path]]:
    """``mgat data splits`` of ``dataset`` (rule make_splits); the splits file must not appear."""
    out = tmp / "splits.json"
    return ["data", "splits", dataset, "--root", str(root), "--out", str(out)], [out]


def _mars_frame_missing(tmp: Path) -> tuple[list[str], list[Path]]:
    """A frame info/ lists but bbox_test lacks (a partial extraction): refused by the splits,
    not by extraction after training."""
    root = build_mars(tmp / "data")
    (root / "mars" / "bbox_test" / "0003" / "0003C5T0002F002.jpg").unlink()
    return _data_splits(root, "mars", tmp)


def _market_query_empty(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_market(tmp / "data")
    for path in (root / "market1501" / "Market-1501-v15.09.15" / "query").glob("*.jpg"):
        path.unlink()
    return _data_splits(root, "market1501", tmp)


def _repeated_queries_at_splits(tmp: Path) -> tuple[list[str], list[Path]]:
    root = build_mars(tmp / "data")
    scipy.io.savemat(root / "mars" / "info" / "query_IDX.mat", {"query_IDX": [[1, 4, 4]]})
    return _data_splits(root, "mars", tmp)


def _small_features(tmp: Path, without: str | None = None) -> Path:
    """A small features file, without the array ``without`` (as an older mgat's) if named."""
    arrays: dict[str, np.ndarray] = {"gallery_in_query": np.zeros(5, dtype=bool)}
    for part, n in (("query", 3), ("gallery", 5)):
        arrays[f"{part}_pids"] = np.arange(n, dtype=np.int64) % 3
        arrays[f"{part}_camids"] = np.arange(n, dtype=np.int64) % 2
        arrays[f"{part}_paths"] = np.asarray([f"{part}/{i}.jpg" for i in range(n)])
        for kind in ("pooled", "bn"):
            arrays[f"{part}_features_{kind}"] = np.ones((n, 4), dtype=np.float32)
    arrays.pop(without or "", None)
    meta = {"dataset": "market1501", "split": 0, "protocol": "torchreid", "sampling": "all"}
    meta["chi"] = {kind: {"query": 1.0, "gallery": 1.0} for kind in ("pooled", "bn")}
    features = tmp / "features.npz"
    np.savez(features, meta=np.asarray(json.dumps(meta)), **arrays)  # write_features would refuse
    return features


def _features_lacking(tmp: Path, name: str) -> tuple[list[str], list[Path]]:
    return _evaluate(tmp, _small_features(tmp, without=name))


def _synth_under_a_file(tmp: Path) -> tuple[list[str], list[Path]]:
    (tmp / "results").write_text("a file where a folder must be")
    return _synth(tmp / "results")


# --- the catalogue -------------------------------------------------------------------------------

# What to do, shared by the cases of one README row.
PLACE = (
    "put the dataset under `data.root` (table above), or point `--root` at the folder that holds it"
)
REEXTRACT = "extract the archive again; for synthetic data, delete `{results}/data/` and rerun"
KIT_AGAIN = "the kit's file is damaged or not the official one: get it again"
SPLIT_FILE = (
    "the split file does not match the data: fix it, or delete it to fall back to the next source"
)
SPLITS_REMAKE = "delete the splits file and rerun (rule `make_splits` remakes it)"
FIX_YAML = "fix the YAML; the message lists the valid keys"
IN_RANGE = (
    "give a value in range; the schema (`workflow/schemas/config.schema.yaml`) lists each key's "
    "range"
)
RETRAIN = "retrain: delete the file and rerun (rules `train_*`)"
REEXTRACT_FEATURES = "delete it and rerun (rule `extract_features`)"
OUTPUT_ELSEWHERE = (
    "free space, fix the permissions, or choose another output folder (`results:`); training "
    "checks its outputs before it starts"
)
NO_OVERWRITE = (
    "give each output its own path, outside the inputs and the dataset's folder; every command "
    "checks this before any work"
)
SAME_SPLIT = (
    "test each split with the model trained on it (the workflow does); pass "
    "`--allow-other-split` only for a deliberate cross-split test, which the outputs then label"
)

CASES: dict[str, Case] = {
    # Missing, corrupt or wrongly laid out data.
    "missing dataset folder": Case(
        "data",
        lambda t: (_summary(t, "market1501"), []),
        r"market1501: folder .* not found; place the dataset there",
        "folder ... not found; place the dataset there",
        PLACE,
    ),
    "wrong layout": Case(
        "data",
        lambda t: ((t / "market1501").mkdir() or _summary(t, "market1501"), []),
        r"market1501: .* the dataset layout is incomplete",
        "... the dataset layout is incomplete",
        REEXTRACT,
    ),
    "MARS frame missing on disk": Case(
        "data",
        _mars_frame_missing,
        r"mars: frame .*0003C5T0002F002\.jpg listed in info/test_name\.txt is missing \(1 of its "
        r"\d+ listed frames missing\); extract bbox_test\.zip into ",
        "frame ... listed in info/... is missing",
        REEXTRACT,
    ),
    "empty Market1501 query folder": Case(
        "data",
        _market_query_empty,
        r"market1501: query folder .*query holds no images; the dataset is incomplete, "
        r"re-extract Market-1501-v15\.09\.15\.zip into ",
        "... folder ... holds no images",
        REEXTRACT,
    ),
    "corrupt .mat": Case(
        "data",
        _corrupt_mat,
        r"cannot read .* as a \.mat file .* get it again",
        "cannot read ... as a .mat file",
        KIT_AGAIN,
    ),
    ".mat without its variable": Case(
        "data",
        _keyless_mat,
        r"has no variable 'ls_set' .* get it again",
        "... has no variable ...",
        KIT_AGAIN,
    ),
    "missing split source": Case(
        "data",
        _no_split_source,
        r"train_test_splits_ilidsvid\.mat not found",
        "train_test_splits_ilidsvid.mat not found",
        "the iLIDS-VID archive is incomplete: download it again",
    ),
    "PRID2011 persons too short": Case(
        "data",
        _prid_too_short,
        r"only 0 persons among 1-200 have >= 27 frames",
        "only ... persons among 1-200 have >= 27 frames in both cameras",
        "PRID2011 is incomplete (or the synthetic sizes are too small): extract it again",
    ),
    "split file lists nothing": Case(
        "splits",
        lambda t: _prid_split_json(t, []),
        r"holds no splits; fix or delete it",
        "... holds no splits",
        SPLIT_FILE,
    ),
    "person in train and test": Case(
        "splits",
        lambda t: _prid_split_json(t, [{"train": ["person_0001"], "test": ["person_0001"]}]),
        r"puts persons \['person_0001'\] in both train and test",
        "... in both train and test",
        SPLIT_FILE,
    ),
    "split names a missing person": Case(
        "splits",
        lambda t: _prid_split_json(t, [{"train": ["person_0001"], "test": ["person_0099"]}]),
        r"names persons \['person_0099'\] without a folder in both cameras",
        "... without a folder in both cameras",
        SPLIT_FILE,
    ),
    "repeated MARS query rows": Case(
        "splits",
        _repeated_queries,
        r"lists test rows \[4\] more than once",
        "info/query_IDX.mat lists test rows [...] more than once",
        "the MARS kit's `info/` is damaged: get it again from MARS-evaluation",
    ),
    "repeated MARS query rows, caught by the splits": Case(
        "splits",
        _repeated_queries_at_splits,
        r"lists test rows \[4\] more than once",
        "info/query_IDX.mat lists test rows [...] more than once",
        "the MARS kit's `info/` is damaged: get it again from MARS-evaluation",
    ),
    "data changed after the splits": Case(
        "splits",
        _changed_after_splits,
        r"changed after .*splits\.json was written .* delete the splits file and rerun",
        "the data under ... changed after ... was written",
        "restore the data, or delete `{results}/splits/{dataset}.json` and rerun everything "
        "after it",
    ),
    "splits file not JSON": Case(
        "splits",
        _splits_not_json,
        r"is not valid JSON .* delete it and rerun",
        "splits file ... is not valid JSON",
        SPLITS_REMAKE,
    ),
    "splits file of another dataset": Case(
        "splits",
        _splits_of_another_dataset,
        r"holds the splits of 'market1501', not 'mars'",
        "... holds the splits of 'market1501', not 'mars'",
        SPLITS_REMAKE,
    ),
    "split out of range": Case(
        "splits",
        lambda t: (_summary(build_market(t), "market1501", "--split", "3"), []),
        r"split 3 out of range; it has 1 split\(s\), use 0\.\.0",
        "split 3 out of range",
        "use a split index the dataset has (`0..9` for iLIDS-VID and PRID2011, `0` otherwise)",
    ),
    # Placing the real datasets.
    "archive missing": Case(
        "prepare",
        lambda t: _prepare(t),
        r"ilidsvid: .*iLIDS-VID\.tar.* put it at",
        "... put it at ...",
        "download the named file from the named page and put it at the named place",
    ),
    "checksum mismatch": Case(
        "prepare",
        lambda t: _prepare(
            t, "--file", f"archive={_ilids_tar(t)}", "--sha256", f"archive={'0' * 64}"
        ),
        r"SHA-256 is [0-9a-f]{64} but 0{64} was expected; .* download it again",
        "SHA-256 is ... but ... was expected",
        "the archive is incomplete or corrupt: delete and download it again, or fix the "
        "checksum in the config",
    ),
    "archive with the wrong content": Case(
        "prepare",
        _wrong_archive,
        r"the layout is still wrong .* official releases",
        "the placed files were extracted ... but the layout is still wrong",
        "the archive is not the official release",
    ),
    "unknown placed-file key": Case(
        "prepare",
        lambda t: _prepare(t, "--file", "archiv=x.tar"),
        r"unknown placed-file key\(s\) archiv; valid keys: archive",
        "unknown placed-file key(s) ...",
        "use the keys the message lists (`archive`; MARS: `bbox_train`, `bbox_test`, `info`), "
        "once each",
    ),
    "repeated placed-file key": Case(
        "prepare",
        lambda t: _prepare(t, "--file", "archive=a.tar", "--file", "archive=b.tar"),
        r"--file: archive given twice",
        "--file: archive given twice",
        "use the keys the message lists (`archive`; MARS: `bbox_train`, `bbox_test`, `info`), "
        "once each",
    ),
    # Training settings and numbers.
    "settings file unreadable": Case(
        "settings",
        lambda t: _train(t, "{epochs: [", "baseline"),
        r"cannot read settings file",
        "cannot read settings file",
        FIX_YAML,
    ),
    "unknown training setting": Case(
        "settings",
        lambda t: _train(t, GOOD.replace("}", ", epoch: 3}"), "baseline"),
        r"unknown training settings \['epoch'\]; valid: ",
        "unknown training settings [...]",
        FIX_YAML,
    ),
    "zero epochs": Case(
        "settings",
        lambda t: _train(t, GOOD.replace("epochs: 1", "epochs: 0"), "baseline"),
        r"epochs must be an integer >= 1, got 0",
        "epochs must be an integer >= 1",
        IN_RANGE,
    ),
    "settings file missing a key": Case(
        "settings",
        lambda t: _train(t, GOOD.replace("lr_step: 1, ", ""), "baseline"),
        r"training settings lack required key\(s\) \['lr_step'\]; add them \(required: ",
        "training settings lack required key(s) [...]",
        FIX_YAML,
    ),
    "negative momentum": Case(
        "settings",
        lambda t: _train(
            t, GOOD.replace("}", ", persons_per_batch: 2, momentum: -0.5}"), "baseline"
        ),
        r"momentum must be a number in \[0, 1\), got -0\.5; fix momentum in the training "
        r"settings",
        "momentum must be a number in [0, 1)",
        IN_RANGE,
    ),
    "text where a number is expected": Case(
        "settings",
        lambda t: _train(
            t, GOOD.replace("}", ", persons_per_batch: 2, weight_decay: 5e-4}"), "baseline"
        ),
        r"weight_decay must be a number >= 0, got '5e-4' \(text: YAML reads 5e-4 as text, "
        r"write 5\.0e-4\); fix weight_decay",
        "... must be a number >= 0, got '5e-4' (text: YAML reads 5e-4 as text, write 5.0e-4)",
        "write numbers as numbers: unquoted, and with a dot before an exponent (`1.0e-6`)",
    ),
    "batch size 0": Case(
        "settings",
        lambda t: _extract(t, t / "m.pt", "--batch-size", "0"),
        r"argument --batch-size: must be at least 1, got 0",
        "argument --batch-size: must be at least 1",
        IN_RANGE,
        status=2,
    ),
    "negative threads": Case(
        "settings",
        lambda t: _extract(t, t / "m.pt", "--threads", "-3"),
        r"argument --threads: must be at least 1, got -3",
        "argument --threads: must be at least 1",
        IN_RANGE,
        status=2,
    ),
    "stage 2 without a stage-1 model": Case(
        "settings",
        lambda t: _train(t, GOOD, "mgat"),
        r"stage mgat starts from a stage-1 model; give one with --init",
        "stage mgat starts from a stage-1 model",
        "train the baseline first and pass it with `--init`",
    ),
    "CUDA asked for, none present": Case(
        "settings",
        _train_on_cuda,
        r"device 'cuda' requested but CUDA is not available; use auto or cpu",
        "device 'cuda' requested but CUDA is not available",
        "set `train.device: auto` or `cpu`, or run where a GPU is",
    ),
    "re-ranking on CUDA, none present": Case(
        "settings",
        lambda t: _evaluate(t, _small_features(t), "--rerank", "--device", "cuda"),
        r"device 'cuda' requested but CUDA is not available; use auto or cpu",
        "device 'cuda' requested but CUDA is not available",
        "`mgat evaluate --rerank`: pass `--device auto` or `cpu`, or run where a GPU is",
    ),
    "re-ranking lambda out of range": Case(
        "settings",
        lambda t: _evaluate(t, _small_features(t), "--rerank", "--lambda", "1.5"),
        r"argument --lambda: must be from 0 to 1, got 1\.5",
        "argument --lambda: must be from 0 to 1",
        "give lambda, the original distance's weight, from 0 to 1 (`evaluation.rerank.lambda`)",
        status=2,
    ),
    "synthetic frames inverted": Case(
        "settings",
        lambda t: _synth(t, "--min-frames", "5", "--max-frames", "4"),
        r"min_frames .* max_frames",
        "min_frames ... max_frames",
        "fix the synthetic sizes; remove the old synthetic folder first",
    ),
    "synthetic target exists": Case(
        "settings",
        _synth_exists,
        r"exists; remove it first",
        "... exists; remove it first",
        "fix the synthetic sizes; remove the old synthetic folder first",
    ),
    # Damaged intermediate files.
    "model missing": Case(
        "intermediate",
        lambda t: _extract(t, t / "absent.pt"),
        r"model .*absent\.pt not found; train it first",
        "model ... not found; train it first",
        RETRAIN,
    ),
    "model not a model": Case(
        "intermediate",
        lambda t: _extract(t, _model_file(t, b"garbage")),
        r"model\.pt is not a model saved by mgat .*; delete it and retrain it \(rules train_\*\)",
        "... is not a model saved by mgat",
        RETRAIN,
    ),
    "features missing": Case(
        "intermediate",
        lambda t: _evaluate(t, t / "absent.npz"),
        r"features file .* not found; extract it first",
        "features file ... not found; extract it first",
        REEXTRACT_FEATURES,
    ),
    "features truncated": Case(
        "intermediate",
        lambda t: _evaluate(t, _features_file(t, b"PK\x03\x04 truncated")),
        r"is not a features file written by mgat .* \(rule extract_features\)",
        "... is not a features file",
        REEXTRACT_FEATURES,
    ),
    "features file lacking an array": Case(
        "intermediate",
        lambda t: _features_lacking(t, "query_pids"),
        r"features file .*features\.npz lacks query_pids; delete it and extract it again "
        r"\(mgat extract, or rule extract_features\)",
        "features file ... lacks ...; delete it and extract it again",
        REEXTRACT_FEATURES,
    ),
    # Outputs that cannot be written, or would destroy an input.
    "output under a regular file": Case(
        "output",
        _under_a_file,
        r"cannot write .*eval\.json: .*results is a file, not a folder; move it away",
        "cannot write ...: ... is a file, not a folder",
        OUTPUT_ELSEWHERE,
    ),
    "synthetic dataset under a regular file": Case(
        "output",
        _synth_under_a_file,
        r"cannot write .*results/synth/mars: ",
        "cannot write ...: ...",
        OUTPUT_ELSEWHERE,
    ),
    "extraction output unwritable, before any work": Case(
        "output",
        _extract_under_a_file,
        r"cannot write .*f\.npz: .*choose another output folder",
        "cannot write ...: ...; ... choose another output folder",
        OUTPUT_ELSEWHERE,
    ),
    "features written over their model": Case(
        "output",
        _extract_over_the_model,
        r"features output .*model\.pt is also the model, which writing it would destroy",
        "... is also the model, which writing it would destroy",
        NO_OVERWRITE,
    ),
    "evaluation written over its features": Case(
        "output",
        _evaluate_over_the_features,
        r"metrics output .*features\.npz is also the features file",
        "... is also the features file ...",
        NO_OVERWRITE,
    ),
    "training log written over the model": Case(
        "output",
        _log_over_the_model,
        r"--out and --metrics are both .*model\.pt; give each output its own path",
        "--out and --metrics are both ...; give each output its own path",
        NO_OVERWRITE,
    ),
    "training output an existing folder": Case(
        "output",
        _train_into_a_folder,
        r"--out .*model\.pt is a folder; give the path of a file to write",
        "... is a folder; give the path of a file to write",
        NO_OVERWRITE,
    ),
    # Test persons a model was trained on.
    "model of another split": Case(
        "leakage",
        _model_of_another_split,
        r"model .* was trained on split 1 of ilidsvid, whose training persons are test persons "
        r"of split 0: .*--allow-other-split",
        "model ... was trained on split 1 of ilidsvid, whose training persons are test persons "
        "of split 0",
        SAME_SPLIT,
    ),
    "features of another split's model": Case(
        "leakage",
        _features_of_another_split,
        r"extracted with a model trained on split 1 of ilidsvid, tested on split 0: .*"
        r"--allow-other-split",
        "features file ... was extracted with a model trained on split 1 of ilidsvid, tested on "
        "split 0",
        SAME_SPLIT,
    ),
    # The workflow: config, and runs that would collide.
    "invalid config": Case(
        "config",
        lambda t: _workflow(t, "data:\n  sourse: real\n"),
        r"invalid config: data: Additional properties are not allowed",
        "invalid config: ...: ...",
        "fix that key; `1e-6` in YAML is text, write `1.0e-6`",
    ),
    "empty sweep settings": Case(
        "config",
        lambda t: _workflow(t, "sweep: {datasets: [mars], settings: []}\n"),
        r"invalid config: sweep\.settings: \[\] should be non-empty",
        "invalid config: sweep.settings: [] should be non-empty",
        "list at least one setting, or set `settings: null` to sweep the grid",
    ),
    "Figure 4 larger than the data": Case(
        "config",
        _figure4_too_large,
        r"Figure 4 asks for 50 persons x 4 frames, but split 0 of market1501 has only \d+ "
        r"persons with 4 distinct test frames .*fig4_persons",
        "Figure 4 asks for ... persons x ... frames, but split 0 of ... has only ... persons",
        "lower `evaluation.fig4_persons` or `fig4_samples`; it is checked right after the splits, "
        "before any training, and the previous figure is kept",
    ),
    "results folder in use": Case(
        "config",
        _results_in_use,
        r"results folder .* is in use by another Snakemake run \(pid \d+ on .*\); wait for it",
        "results folder ... is in use by another Snakemake run (pid ..., checkout ...)",
        "wait for the other run to end, or give this one another `results:` folder",
    ),
}


def _run(argv: list[str], tmp: Path, capsys) -> tuple[int, list[str], str]:
    """Run ``argv``: ``mgat`` in this process, ``snakemake`` as a child in ``tmp``. Returns the
    exit status, the error lines, and all it wrote to stderr."""
    if argv[0] == "snakemake":
        command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--cores", "1"]
        result = subprocess.run(
            [*command, *argv[1:]], cwd=tmp, capture_output=True, text=True, timeout=600
        )
        lines = result.stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith(("mgat: error: ", "invalid config: "))]
        return result.returncode, errors, result.stderr
    status = main(argv)
    err = capsys.readouterr().err
    return status, err.strip().splitlines(), err


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
        error, everything = lines[-1], "\n".join(lines)
    else:
        status, lines, everything = _run(argv, tmp_path, capsys)
        assert len(lines) == 1, lines or everything[-3000:]
        error = lines[0]
        assert error.startswith(("mgat: error: ", "invalid config: ")), error
    assert status == case.status
    assert re.search(case.message, error), error
    assert "Traceback" not in everything
    assert _says(case.says, error), (case.says, error)
    for path in outputs:
        assert not path.exists(), f"partial output {path}"
    if name == "Figure 4 larger than the data":
        assert (tmp_path / "out" / "figures" / "fig4_market1501.png").read_bytes() == (
            b"the previous figure"
        )


def _says(quoted: str, line: str) -> bool:
    """Whether the README's quotation of a line fits it: its parts between "..." in order."""
    pattern = ".*".join(re.escape(part.strip()) for part in quoted.split("..."))
    return re.search(pattern, line) is not None


# --- the README's Troubleshooting table ----------------------------------------------------------

BEGIN = "<!-- troubleshooting: generated from tests/test_bad_inputs.py by make troubleshooting -->"
END = "<!-- troubleshooting: end -->"


def troubleshooting_table() -> str:
    """The table: one row per kind and remedy, in catalogue order, quoting each case's line."""
    rows: dict[tuple[str, str], list[str]] = {}
    for case in CASES.values():
        quoted = rows.setdefault((case.kind, case.remedy), [])
        if case.says not in quoted:
            quoted.append(case.says)
    lines = ["| kind | the line says | what to do |", "| --- | --- | --- |"]
    for (kind, remedy), says in rows.items():
        quoted = ", ".join(f"`{text}`" for text in says)
        lines.append(f"| {kind} | {quoted} | {remedy} |")
    return "\n".join([BEGIN, *lines, END])


def _readme_table(readme: str) -> str:
    return readme[readme.index(BEGIN) : readme.index(END) + len(END)]


def test_the_catalogue_is_large_and_the_readme_table_is_generated_from_it() -> None:
    """At least 40 cases, and the README's Troubleshooting table is the one generated from them
    (``make troubleshooting`` rewrites it)."""
    assert len(CASES) >= 40
    readme = (REPO / "README.md").read_text()
    assert readme.index("## Troubleshooting") < readme.index(BEGIN)
    assert _readme_table(readme) == troubleshooting_table(), "run: make troubleshooting"


if __name__ == "__main__":  # make troubleshooting
    path = REPO / "README.md"
    text = path.read_text()
    path.write_text(text.replace(_readme_table(text), troubleshooting_table()))
