"""Synthetic datasets: layouts, split files, determinism, atomic writes and argument checks."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from mgat.data.synthetic import synthesize, writing
from mgat.errors import ConfigError, OutputError
from tests.helpers import one_error_line, run_on_tmpfs

MARKET_NAME = re.compile(r"^(-1|\d{4})_c([1-6])s([1-6])_(\d{6})_(\d{2})\.jpg$")
MARS_NAME = re.compile(r"^(00-1|\d{4})C([1-6])T(\d{4})F(\d{3})\.jpg$")
ILIDS_NAME = re.compile(r"^cam([12])_person(\d{3})_(\d{5})\.png$")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All four datasets at their defaults (PRID with a JSON split file)."""
    out = tmp_path_factory.mktemp("synthetic")
    for name in ("market1501", "mars", "ilidsvid"):
        synthesize(name, out)
    synthesize("prid2011", out, split_file="json")
    return out


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in _files(folder)}


# --------------------------------------------------------------------------- Market-1501


def test_market_layout(root: Path) -> None:
    base = root / "market1501" / "Market-1501-v15.09.15"
    folders = {d: base / d for d in ("bounding_box_train", "bounding_box_test", "query")}
    cams: dict[str, dict[int, set[int]]] = {d: defaultdict(set) for d in folders}
    names: dict[str, set[str]] = {}
    for d, folder in folders.items():
        assert (folder / "Thumbs.db").is_file()
        images = [p.name for p in folder.iterdir() if p.name != "Thumbs.db"]
        names[d] = set(images)
        for name in images:
            m = MARKET_NAME.match(name)
            assert m, name
            cams[d][int(m.group(1))].add(int(m.group(2)))
    train = set(cams["bounding_box_train"])
    test = set(cams["bounding_box_test"]) - {0, -1}
    assert len(train) == len(test) == 12
    assert not train & test
    assert {0, -1} <= set(cams["bounding_box_test"])
    assert 0 not in train and -1 not in train
    for pid in train:
        assert len(cams["bounding_box_train"][pid]) >= 2
    for pid in test:
        assert len(cams["bounding_box_test"][pid]) >= 2
        # One query per camera the pid appears in.
        assert cams["query"][pid] == cams["bounding_box_test"][pid]
    assert set(cams["query"]) == test
    queries = [n for n in names["query"]]
    assert len(queries) == sum(len(cams["query"][p]) for p in test)
    assert not names["query"] & names["bounding_box_test"]
    # Several images per (pid, camera) in the gallery.
    per = defaultdict(int)
    for name in names["bounding_box_train"]:
        per[name[:7]] += 1
    assert min(per.values()) >= 2
    img = Image.open(folders["query"] / queries[0])
    assert img.format == "JPEG" and img.size == (64, 128) and img.mode == "RGB"


# --------------------------------------------------------------------------------- MARS


def _mars_split(base: Path, split: str) -> tuple[list[str], np.ndarray]:
    names = (base / "info" / f"{split}_name.txt").read_text().splitlines()
    table = scipy.io.loadmat(base / "info" / f"tracks_{split}_info.mat")[f"track_{split}_info"]
    return names, table


def test_mars_tables_index_as_readers_index_the_real_kit(root: Path) -> None:
    """Readers written for the real kit index with the loaded arrays themselves (torchreid:
    ``track_test[query_IDX - 1, :]`` and ``names[start - 1:end]``); float tables fail there."""
    info = root / "mars" / "info"
    test = scipy.io.loadmat(info / "tracks_test_info.mat")["track_test_info"]
    query_idx = scipy.io.loadmat(info / "query_IDX.mat")["query_IDX"].squeeze() - 1
    names = (info / "test_name.txt").read_text().splitlines()
    queries = test[query_idx, :]
    gallery = test[[i for i in range(test.shape[0]) if i not in set(query_idx.tolist())], :]
    assert len(queries) + len(gallery) == len(test)
    for start, end, pid, _cam in queries:
        frames = names[start - 1 : end]
        assert frames and all(int(f[:4]) == pid for f in frames)


def test_mars_layout_and_tables(root: Path) -> None:
    base = root / "mars"
    pids_of: dict[str, set[int]] = {}
    for split in ("train", "test"):
        names, table = _mars_split(base, split)
        on_disk = sorted(p.name for p in (base / f"bbox_{split}").rglob("*.jpg"))
        assert names == sorted(names) == on_disk
        for p in (base / f"bbox_{split}").rglob("*.jpg"):
            assert MARS_NAME.match(p.name), p.name
            assert p.parent.name == p.name[:4]
        assert table.dtype == np.int32 and table.ndim == 2 and table.shape[1] == 4  # the kit's
        # Rows tile the name list in order; every frame carries its row's pid and camera.
        assert table[0, 0] == 1 and table[-1, 1] == len(names)
        assert np.all(table[1:, 0] == table[:-1, 1] + 1)
        lengths = table[:, 1] - table[:, 0] + 1
        assert lengths.min() >= 1 and lengths.min() <= 2  # some short tracklets
        for start, end, pid, cam in table.astype(int):
            frames = names[start - 1 : end]
            assert len({f[:11] for f in frames}) == 1
            for f in frames:
                m = MARS_NAME.match(f)
                assert m is not None
                assert m.group(1) == ("00-1" if pid == -1 else f"{pid:04d}")
                assert int(m.group(2)) == cam
                assert (base / f"bbox_{split}" / f[:4] / f).is_file()
            numbers = [int(f[12:15]) for f in frames]
            assert numbers == list(range(1, len(frames) + 1))
        pids_of[split] = set(table[:, 2].astype(int).tolist())
        # Some identity with two tracklets in the same camera; every identity in >= 2 cameras.
        real = table[table[:, 2] > 0].astype(int)
        pairs = defaultdict(int)
        for _, _, pid, cam in real:
            pairs[(pid, cam)] += 1
        assert max(pairs.values()) >= 2
        for pid in set(real[:, 2]):
            assert len({c for (p, c) in pairs if p == pid}) >= 2
    assert 0 not in pids_of["train"] and -1 not in pids_of["train"]
    assert {0, -1} <= pids_of["test"]
    assert len(pids_of["train"]) == 8 and len(pids_of["test"] - {0, -1}) == 8
    assert not pids_of["train"] & pids_of["test"]

    _, table = _mars_split(base, "test")
    query = scipy.io.loadmat(base / "info" / "query_IDX.mat")["query_IDX"]
    assert query.dtype == np.uint16 and query.shape[0] == 1  # the kit's class
    rows = query[0].astype(int) - 1
    assert len(set(rows)) == len(rows)
    assert rows.min() >= 0 and rows.max() < len(table)
    assert np.all(table[rows, 2] > 0)
    # One query per (test identity, camera it appears in).
    test_pairs = {(int(p), int(c)) for p, c in table[table[:, 2] > 0][:, 2:]}
    assert {(int(p), int(c)) for p, c in table[rows, 2:]} == test_pairs
    img = Image.open(next((base / "bbox_test").rglob("*.jpg")))
    assert img.format == "JPEG" and img.size == (128, 256)


# ---------------------------------------------------------------------------- iLIDS-VID


def test_ilids_layout_and_splits(root: Path) -> None:
    base = root / "ilids-vid"
    seq = base / "i-LIDS-VID" / "sequences"
    persons = {cam: sorted(p.name for p in (seq / cam).iterdir()) for cam in ("cam1", "cam2")}
    assert persons["cam1"] == persons["cam2"]
    numbers = [int(name[6:]) for name in persons["cam1"]]
    assert all(re.fullmatch(r"person\d{3}", n) for n in persons["cam1"])
    assert len(numbers) == 16 and numbers[-1] > 16  # gaps in the numbering
    for cam in ("cam1", "cam2"):
        for person in persons[cam]:
            frames = sorted(p.name for p in (seq / cam / person).iterdir())
            assert len(frames) >= 8
            numbers = []
            for f in frames:
                m = ILIDS_NAME.match(f)
                assert m and f"cam{m.group(1)}" == cam and f"person{m.group(2)}" == person, f
                numbers.append(int(m.group(3)))
            assert numbers[0] > 1 and numbers == list(range(numbers[0], numbers[0] + len(frames)))
    img = Image.open(next(seq.rglob("*.png")))
    assert img.format == "PNG" and img.size == (64, 128)
    mat = base / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    ls_set = scipy.io.loadmat(mat)["ls_set"]
    assert ls_set.shape == (10, 16) and ls_set.dtype == np.float64
    for row in ls_set:
        assert sorted(row.astype(int).tolist()) == list(range(1, 17))


# ----------------------------------------------------------------------------- PRID2011


def _prid_lengths(base: Path) -> dict[str, dict[str, int]]:
    multi = base / "prid_2011" / "multi_shot"
    out: dict[str, dict[str, int]] = {}
    for cam in ("cam_a", "cam_b"):
        out[cam] = {}
        for person in (multi / cam).iterdir():
            frames = sorted(p.name for p in person.iterdir())
            assert frames == [f"{i:04d}.png" for i in range(1, len(frames) + 1)]
            out[cam][person.name] = len(frames)
    return out


def test_prid_layout_and_json(root: Path) -> None:
    base = root / "prid2011"
    lengths = _prid_lengths(base)
    shared = [f"person_{i:04d}" for i in range(1, 17)]
    a, b = lengths["cam_a"], lengths["cam_b"]
    extra_a = sorted(set(a) - set(shared))
    extra_b = sorted(set(b) - set(shared))
    assert set(shared) <= set(a) and set(shared) <= set(b)
    assert extra_a and extra_b and len(extra_b) > len(extra_a)
    assert extra_a[0] == extra_b[0] == "person_0201"
    for cam in ("cam_a", "cam_b"):
        single = sorted(p.name for p in (base / "prid_2011" / "single_shot" / cam).iterdir())
        assert single == sorted(f"{p}.png" for p in lengths[cam])
    short = [p for p in shared if min(a[p], b[p]) < 27]
    assert 1 <= len(short) <= 4
    qualifying = sorted(p for p in shared if min(a[p], b[p]) >= 27)
    assert len(qualifying) % 2 == 0
    for p in qualifying:
        assert max(a[p], b[p]) <= 40
    splits = json.loads((base / "splits_prid2011.json").read_text())
    assert isinstance(splits, list) and len(splits) == 10
    for split in splits:
        assert set(split) == {"train", "test"}
        assert len(split["train"]) == len(split["test"]) == len(qualifying) // 2
        assert sorted(split["train"] + split["test"]) == qualifying
    assert not (base / "train_test_splits_prid.mat").exists()


def test_prid_mat_split_and_frame_ranges(tmp_path: Path) -> None:
    base = synthesize("prid2011", tmp_path / "m", ids=9, split_file="mat", min_frames=5)
    lengths = _prid_lengths(base)
    a, b = lengths["cam_a"], lengths["cam_b"]
    shared = [f"person_{i:04d}" for i in range(1, 10)]
    assert min(min(v.values()) for v in lengths.values()) >= 5
    qualifying = sorted(p for p in shared if min(a[p], b[p]) >= 27)
    assert 0 < len(qualifying) < 9
    ls_set = scipy.io.loadmat(base / "train_test_splits_prid.mat")["ls_set"]
    nq = len(qualifying) // 2 * 2
    assert ls_set.shape == (10, nq) and ls_set.dtype == np.float64
    for row in ls_set:
        assert sorted(row.astype(int).tolist()) == list(range(1, nq + 1))
    assert not (base / "splits_prid2011.json").exists()
    # No person can be short when min_frames >= 27; no split without any qualifying person.
    base = synthesize("prid2011", tmp_path / "n", ids=4, min_frames=27, max_frames=28)
    assert all(n in (27, 28) for v in _prid_lengths(base).values() for n in v.values())
    with pytest.raises(ConfigError):
        synthesize("prid2011", tmp_path / "o", ids=4, max_frames=20, split_file="json")


# ------------------------------------------------------------------ general properties

SMALL = {
    "market1501": {"ids": 4},
    "mars": {"ids": 4, "max_frames": 4},
    "ilidsvid": {"ids": 4, "min_frames": 2, "max_frames": 3},
    "prid2011": {"ids": 4, "min_frames": 3, "max_frames": 28, "split_file": "mat"},
}


@pytest.mark.parametrize("dataset", sorted(SMALL))
def test_deterministic(tmp_path: Path, dataset: str) -> None:
    first = _tree(synthesize(dataset, tmp_path / "a", **SMALL[dataset]))
    second = _tree(synthesize(dataset, tmp_path / "b", **SMALL[dataset]))
    other = _tree(synthesize(dataset, tmp_path / "c", seed=1, **SMALL[dataset]))
    assert first == second
    assert first != other
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_frames_written_in_shuffled_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[Path] = []
    original = writing.Context.save

    def record(self: writing.Context, img: Image.Image, path: Path) -> None:
        saved.append(path)
        original(self, img, path)

    monkeypatch.setattr(writing.Context, "save", record)
    synthesize("ilidsvid", tmp_path, ids=4, min_frames=10, max_frames=12)
    by_folder = defaultdict(list)
    for p in saved:
        by_folder[p.parent.name + p.parent.parent.name].append(p.name)
    assert any(names != sorted(names) for names in by_folder.values())


def test_existing_target_and_failure_leave_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "new" / "root"  # created when missing
    target = synthesize("market1501", out, ids=4)
    assert target == out / "market1501"
    with pytest.raises(ConfigError, match="exists"):
        synthesize("market1501", out, ids=4)
    assert sorted(p.name for p in out.iterdir()) == ["market1501"]

    def boom(*args: object, **kwargs: object) -> None:
        root = args[1]
        assert isinstance(root, Path)
        (root / "partial.txt").write_text("x")
        raise RuntimeError("disk full")

    monkeypatch.setattr("mgat.data.mars.synthetic.write", boom)
    with pytest.raises(RuntimeError):
        synthesize("mars", out, ids=4)
    assert sorted(p.name for p in out.iterdir()) == ["market1501"]


@pytest.mark.parametrize(
    ("dataset", "kwargs"),
    [
        ("cuhk03", {}),
        ("market1501", {"ids": 3}),
        ("market1501", {"ids": 2.5}),
        ("market1501", {"split_file": "json"}),
        ("mars", {"ids": 0}),
        ("mars", {"min_frames": 5, "max_frames": 4}),
        ("mars", {"max_frames": 1000}),
        ("mars", {"min_frames": 0}),
        ("ilidsvid", {"ids": 7}),
        ("ilidsvid", {"ids": True}),
        ("prid2011", {"ids": 201}),
        ("prid2011", {"split_file": "csv"}),
        ("prid2011", {"seed": -1}),
    ],
)
def test_bad_arguments(tmp_path: Path, dataset: str, kwargs: dict) -> None:
    with pytest.raises(ConfigError) as info:
        synthesize(dataset, tmp_path, **kwargs)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def _feature(path: Path) -> np.ndarray:
    """Mean colour of the central columns in four horizontal bands (crude appearance)."""
    arr = np.asarray(Image.open(path), dtype=np.float64)
    w = arr.shape[1]
    centre = arr[:, w // 4 : 3 * w // 4]
    return np.concatenate([band.mean(axis=(0, 1)) for band in np.array_split(centre, 4)])


def test_identity_is_learnable(root: Path) -> None:
    seq = root / "ilids-vid" / "i-LIDS-VID" / "sequences"
    same, different = [], []
    for cam in ("cam1", "cam2"):
        feats = {}
        for person in sorted((seq / cam).iterdir()):
            frames = sorted(person.iterdir())
            feats[person.name] = [_feature(frames[0]), _feature(frames[-1])]
        people = sorted(feats)
        for i, p in enumerate(people):
            same.append(np.linalg.norm(feats[p][0] - feats[p][1]))
            for q in people[i + 1 :]:
                different.append(np.linalg.norm(feats[p][0] - feats[q][1]))
    assert np.mean(same) < 0.5 * np.mean(different)


# --- outputs that cannot be written: one line, nothing of the dataset left ------------------------

# The command line in a real full or read-only filesystem, then what is left on it.
SYNTH_AND_LIST = (
    '"$0" -m mgat.cli synth mars --out "$1"; status=$?; find "$2" -mindepth 1; exit $status'
)


def test_synth_under_a_regular_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "results").write_text("a file where a folder must be")
    with pytest.raises(OutputError) as info:
        synthesize("mars", tmp_path / "results" / "synth", ids=4)
    assert str(info.value).startswith(f"cannot write {tmp_path}/results/synth/mars: ")
    with pytest.raises(OutputError, match=r"results is a file, not a folder; give the folder"):
        synthesize("mars", tmp_path / "results", ids=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


@pytest.mark.parametrize("below", ["synth", ""], ids=["new folder", "the mount itself"])
def test_synth_on_a_read_only_folder_is_one_line(tmp_path: Path, below: str) -> None:
    """A read-only tmpfs: root may write into a 0555 folder, not onto a read-only mount."""
    mount = tmp_path / "ro"
    out = mount / below if below else mount
    script = ["sh", "-c", SYNTH_AND_LIST, sys.executable, str(out), str(mount)]
    result = run_on_tmpfs(mount, "ro", script)
    assert result.returncode == 1 and result.stdout == ""
    assert one_error_line(result).startswith(
        f"mgat: error: cannot write {out}/mars: read-only file system; "
    )


def test_synth_on_a_full_disk_is_one_line(tmp_path: Path) -> None:
    """A 256 KiB tmpfs fills up in the middle of MARS: one line, and no dataset folder nor its
    temporary one is left (only the empty root the command was asked to create)."""
    mount = tmp_path / "full"
    script = ["sh", "-c", SYNTH_AND_LIST, sys.executable, str(mount / "synth"), str(mount)]
    result = run_on_tmpfs(mount, "size=256k", script)
    assert result.returncode == 1 and result.stdout.split() == [str(mount / "synth")]
    assert one_error_line(result).startswith(
        f"mgat: error: cannot write {mount}/synth/mars: no space left on device; "
    )
