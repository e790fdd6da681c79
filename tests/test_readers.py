"""Each reader on a tiny fixture in its dataset's real layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import scipy.io

from mgat.data import open_dataset
from mgat.data.splits import load_split, make_splits, select_split, write_splits
from mgat.data.summary import count_items, summarize
from mgat.errors import ConfigError, DataError
from tests.helpers import build_ilidsvid, build_market, build_mars, build_prid


def load(name: str, root: Path, split: int = 0, protocol: str = "torchreid"):
    record = make_splits(name, root)
    return open_dataset(name, root).load(select_split(record, split), protocol=protocol)


def test_market1501_conventions(market_root: Path) -> None:
    data = load("market1501", market_root)
    assert count_items(data.train) == {"ids": 3, "tracklets": 5, "images": 5}
    assert sorted({it.pid for it in data.train}) == [0, 1, 2]  # relabelled
    assert count_items(data.query) == {"ids": 2, "tracklets": 2, "images": 2}
    # Distractors (pid 0) stay in the gallery, junk (pid -1) is dropped, stray files ignored.
    assert sorted({it.pid for it in data.gallery}) == [0, 1, 3]
    assert len(data.gallery) == 5
    assert all(it.pid != -1 for it in data.train + data.query + data.gallery)
    cams = {Path(it.paths).name: it.camid for it in data.query + data.gallery}
    assert cams["0003_c2s1_000151_00.jpg"] == 1 and cams["0000_c4s2_000002_03.jpg"] == 3


def test_mars_torchreid_protocol(mars_root: Path) -> None:
    data = load("mars", mars_root)
    assert count_items(data.train) == {"ids": 2, "tracklets": 4, "images": 10}
    assert sorted({it.pid for it in data.train}) == [0, 1]
    assert count_items(data.query) == {"ids": 2, "tracklets": 2, "images": 5}
    assert [(it.pid, it.camid) for it in data.query] == [(2, 0), (3, 3)]
    # Gallery: test tracklets not in the query, junk dropped, distractor kept.
    assert count_items(data.gallery) == {"ids": 3, "tracklets": 4, "images": 8}
    for item in data.train + data.query + data.gallery:
        names = [Path(p).name for p in item.paths]
        assert names == sorted(names)
        for path, name in zip(item.paths, names, strict=True):
            assert Path(path).parent.name == name[:4] and Path(path).is_file()


def test_mars_official_protocol_keeps_queries_in_gallery(mars_root: Path) -> None:
    data = load("mars", mars_root, protocol="official")
    assert count_items(data.gallery) == {"ids": 3, "tracklets": 6, "images": 13}
    assert set(data.query) <= set(data.gallery)


def test_mars_unknown_protocol(mars_root: Path) -> None:
    with pytest.raises(ConfigError, match="torchreid"):
        load("mars", mars_root, protocol="kit")


def test_ilidsvid_follows_official_split_file(ilidsvid_root: Path) -> None:
    record = make_splits("ilidsvid", ilidsvid_root)
    assert record["num_splits"] == 10 and record["source"].endswith("ilidsvid.mat")
    persons = sorted(
        p.name for p in (ilidsvid_root / "ilids-vid/i-LIDS-VID/sequences/cam1").iterdir()
    )
    for k, split in enumerate(record["splits"]):
        assert len(split["train"]) == len(split["test"]) == 3
        assert sorted(split["train"] + split["test"]) == persons
        data = open_dataset("ilidsvid", ilidsvid_root).load(split)
        assert count_items(data.train)["ids"] == 3 and len(data.train) == 6
        assert {it.camid for it in data.train} == {0, 1}
        assert [it.camid for it in data.query] == [0] * 3
        assert [it.camid for it in data.gallery] == [1] * 3
        assert {it.pid for it in data.query} == {it.pid for it in data.gallery}
        assert {f"person{it.pid:03d}" for it in data.query} == set(split["test"]), k
        for item in data.train + data.query + data.gallery:
            assert list(item.paths) == sorted(item.paths)
            assert all(p.endswith(".png") for p in item.paths)


def test_ilidsvid_any_number_of_persons(tmp_path: Path) -> None:
    root = build_ilidsvid(tmp_path, persons=[3, 9, 10, 11], splits=2)
    summary = summarize("ilidsvid", root, split=1)
    assert summary["train"]["ids"] == 2 and summary["query"]["tracklets"] == 2


@pytest.mark.parametrize(
    ("split_file", "source", "train", "test"),
    [
        (
            "json",
            "splits_prid2011.json",
            ["person_0001", "person_0002"],
            ["person_0004", "person_0005"],
        ),
        (
            "mat",
            "train_test_splits_prid.mat",
            ["person_0001", "person_0004"],
            ["person_0002", "person_0005"],
        ),
    ],
)
def test_prid2011_split_files(tmp_path: Path, split_file, source, train, test) -> None:
    root = build_prid(tmp_path, split_file=split_file)
    record = make_splits("prid2011", root)
    assert record["source"] == f"prid2011/{source}" and record["seed"] is None
    assert record["splits"][0] == {"train": train, "test": test}
    data = open_dataset("prid2011", root).load(record["splits"][0])
    assert [it.camid for it in data.query] == [0, 0] and [it.camid for it in data.gallery] == [1, 1]
    assert [it.pid for it in data.query] == [int(p[-4:]) for p in test]


def test_prid2011_mat_inside_ilidsvid_archive(tmp_path: Path) -> None:
    root = build_prid(tmp_path, split_file="mat")
    moved = root / "ilids-vid" / "train-test people splits"
    moved.mkdir(parents=True)
    (root / "prid2011" / "train_test_splits_prid.mat").rename(moved / "train_test_splits_prid.mat")
    assert make_splits("prid2011", root)["source"].startswith("ilids-vid/")


def test_prid2011_derived_splits(prid_root: Path) -> None:
    record = make_splits("prid2011", prid_root, seed=3)
    assert record["num_splits"] == 10 and record["seed"] == 3
    qualifying = {"person_0001", "person_0002", "person_0004", "person_0005", "person_0006"}
    for split in record["splits"]:
        assert set(split["train"]) | set(split["test"]) == qualifying  # 3: short, 201+: not shared
        assert len(split["test"]) == 2 and len(split["train"]) == 3
    assert make_splits("prid2011", prid_root, seed=3)["splits"] == record["splits"]
    assert make_splits("prid2011", prid_root, seed=4)["splits"] != record["splits"]
    data = open_dataset("prid2011", prid_root).load(record["splits"][0])
    assert count_items(data.train)["tracklets"] == 6


def test_summary_json_shape(market_root: Path) -> None:
    summary = summarize("market1501", market_root)
    assert list(summary) == ["dataset", "split", "train", "query", "gallery"]
    assert summary["gallery"] == {"ids": 3, "tracklets": 5, "images": 5}


def test_unknown_dataset_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ilidsvid, prid2011, mars, market1501"):
        open_dataset("viper", tmp_path)


def test_split_index_out_of_range(ilidsvid_root: Path) -> None:
    with pytest.raises(ConfigError, match=r"split 10 out of range.*0\.\.9"):
        summarize("ilidsvid", ilidsvid_root, split=10)


@pytest.mark.parametrize("name", ["ilidsvid", "prid2011", "mars", "market1501"])
def test_missing_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError, match="not found") as err:
        open_dataset(name, tmp_path)
    assert "\n" not in str(err.value)


def test_wrong_layout(tmp_path: Path) -> None:
    (tmp_path / "market1501" / "bounding_box_train").mkdir(parents=True)
    with pytest.raises(DataError, match=r"Market-1501-v15\.09\.15"):
        open_dataset("market1501", tmp_path)


def test_unreadable_mat(mars_root: Path) -> None:
    (mars_root / "mars" / "info" / "tracks_train_info.mat").write_bytes(b"garbage" * 20)
    with pytest.raises(DataError, match=r"cannot read .*tracks_train_info\.mat"):
        make_splits("mars", mars_root)


def test_mat_without_expected_key(ilidsvid_root: Path) -> None:
    import scipy.io

    path = (
        ilidsvid_root / "ilids-vid" / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    )
    scipy.io.savemat(path, {"other": [1, 2]})
    with pytest.raises(DataError, match="no variable 'ls_set'"):
        make_splits("ilidsvid", ilidsvid_root)


def test_missing_split_source(ilidsvid_root: Path) -> None:
    (
        ilidsvid_root / "ilids-vid" / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    ).unlink()
    with pytest.raises(DataError, match=r"train_test_splits_ilidsvid\.mat not found"):
        make_splits("ilidsvid", ilidsvid_root)


def test_split_file_with_too_few_person_folders(tmp_path: Path) -> None:
    root = build_ilidsvid(tmp_path)
    for cam in ("cam1", "cam2"):
        folder = root / "ilids-vid/i-LIDS-VID/sequences" / cam / "person012"
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    with pytest.raises(DataError, match=r"outside 1\.\.5"):
        make_splits("ilidsvid", root)


def test_empty_tracklet_is_an_error(prid_root: Path) -> None:
    record = make_splits("prid2011", prid_root)
    person = record["splits"][0]["test"][0]
    folder = prid_root / "prid2011/prid_2011/multi_shot/cam_b" / person
    for f in folder.glob("*.png"):
        f.unlink()
    with pytest.raises(DataError, match="holds no images"):
        open_dataset("prid2011", prid_root).load(record["splits"][0])


def _change_source(dataset: str, root: Path) -> None:
    """Alter what the dataset's splits were derived from, as a re-download or edit would."""
    if dataset == "market1501":
        next((root / "market1501").rglob("*.jpg")).unlink()
    elif dataset == "mars":
        scipy.io.savemat(root / "mars" / "info" / "query_IDX.mat", {"query_IDX": [[4, 1]]})
    elif dataset == "ilidsvid":
        path = root / "ilids-vid" / "train-test people splits" / "train_test_splits_ilidsvid.mat"
        ls_set = scipy.io.loadmat(path)["ls_set"]
        scipy.io.savemat(path, {"ls_set": ls_set[::-1]})
    else:  # derived PRID2011 splits: a person's frame count changes
        frames = root / "prid2011" / "prid_2011" / "multi_shot" / "cam_a" / "person_0001"
        sorted(frames.glob("*.png"))[-1].unlink()


@pytest.mark.parametrize("dataset", ["market1501", "mars", "ilidsvid", "prid2011"])
def test_data_changed_after_the_splits_file_is_refused(tmp_path: Path, dataset: str) -> None:
    """Every reader of a split rechecks the source digest the splits file recorded: data
    replaced after the splits were written would change the sets without a word."""
    builders = {
        "market1501": build_market,
        "mars": build_mars,
        "ilidsvid": build_ilidsvid,
        "prid2011": build_prid,
    }
    root = builders[dataset](tmp_path / "data")
    splits = tmp_path / "splits.json"
    write_splits(dataset, root, splits)
    assert load_split(dataset, root, splits, 0).query  # unchanged: reads as before
    _change_source(dataset, root)
    with pytest.raises(DataError, match="changed after") as err:
        load_split(dataset, root, splits, 0)
    assert "\n" not in str(err.value) and "delete the splits file" in str(err.value)


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        ([], "holds no splits"),
        ([{"train": [], "test": ["person_0004"]}], "has no train persons"),
        ([{"train": ["person_0001", "person_0001"], "test": ["person_0004"]}], "person twice"),
        ([{"train": ["person_0001"], "test": ["person_0001"]}], "in both train and test"),
        ([{"train": ["person_0001"], "test": ["person_0099"]}], "without a folder in both"),
    ],
)
def test_bad_split_files_are_refused_when_written(tmp_path: Path, splits, message) -> None:
    import json

    root = build_prid(tmp_path / "data", split_file="json")
    (root / "prid2011" / "splits_prid2011.json").write_text(json.dumps(splits))
    with pytest.raises(DataError, match=message) as err:
        write_splits("prid2011", root, tmp_path / "splits.json")
    assert "\n" not in str(err.value) and not (tmp_path / "splits.json").exists()


def test_mars_repeated_query_rows_are_refused(tmp_path: Path) -> None:
    root = build_mars(tmp_path / "data")
    scipy.io.savemat(root / "mars" / "info" / "query_IDX.mat", {"query_IDX": [[1, 4, 4]]})
    with pytest.raises(DataError, match=r"lists test rows \[4\] more than once"):
        load("mars", root)


# --- faults refused when the splits are written, not after training -----------------------------


@pytest.mark.parametrize(
    ("which", "frame"),
    [("train", "0005C1T0002F003.jpg"), ("test", "0003C5T0002F002.jpg")],
)
def test_mars_frame_missing_on_disk_is_refused_when_splits_are_written(
    tmp_path: Path, which: str, frame: str
) -> None:
    """A frame info/ lists but bbox_* lacks (a partial extraction) used to pass the splits and
    the summary, and to fail only when extraction read it, after training."""
    root = build_mars(tmp_path / "data")
    (root / "mars" / f"bbox_{which}" / frame[:4] / frame).unlink()
    out = tmp_path / "splits.json"
    with pytest.raises(DataError, match=rf"frame .*{frame} listed in info/{which}_name\.txt is "):
        write_splits("mars", root, out)
    assert not out.exists()
    with pytest.raises(DataError, match=rf"{frame} .* extract bbox_{which}\.zip"):
        summarize("mars", root)


def test_mars_missing_person_folder_is_refused_when_splits_are_written(tmp_path: Path) -> None:
    root = build_mars(tmp_path / "data")
    folder = root / "mars" / "bbox_test" / "0002"
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    message = r"frame .*0002C1T0001F001\.jpg listed .* is missing \(6 of its 13 listed frames"
    with pytest.raises(DataError, match=message):
        write_splits("mars", root, tmp_path / "splits.json")
    assert not (tmp_path / "splits.json").exists()


def test_mars_junk_frames_are_not_required(tmp_path: Path) -> None:
    """Junk tracklets (person -1) are never read, so their frames may be absent."""
    root = build_mars(tmp_path / "data")
    for path in (root / "mars" / "bbox_test" / "00-1").glob("*.jpg"):
        path.unlink()
    assert write_splits("mars", root, tmp_path / "splits.json")["num_splits"] == 1


def test_mars_repeated_query_rows_are_refused_when_splits_are_written(tmp_path: Path) -> None:
    root = build_mars(tmp_path / "data")
    scipy.io.savemat(root / "mars" / "info" / "query_IDX.mat", {"query_IDX": [[1, 4, 4]]})
    with pytest.raises(DataError, match=r"lists test rows \[4\] more than once"):
        write_splits("mars", root, tmp_path / "splits.json")
    assert not (tmp_path / "splits.json").exists()


@pytest.mark.parametrize("subset", ["query", "bounding_box_test", "bounding_box_train"])
def test_market1501_empty_folder_is_refused_when_splits_are_written(
    tmp_path: Path, subset: str
) -> None:
    """An empty query folder used to pass the splits (its persons are in the gallery too)."""
    root = build_market(tmp_path / "data")
    for path in (root / "market1501" / "Market-1501-v15.09.15" / subset).glob("*.jpg"):
        path.unlink()
    out = tmp_path / "splits.json"
    with pytest.raises(DataError, match=rf"market1501: {subset} folder .* holds no images") as err:
        write_splits("market1501", root, out)
    assert "\n" not in str(err.value) and "re-extract" in str(err.value)
    assert not out.exists()


def test_market1501_junk_only_gallery_is_refused_when_splits_are_written(tmp_path: Path) -> None:
    root = build_market(tmp_path / "data")
    gallery = root / "market1501" / "Market-1501-v15.09.15" / "bounding_box_test"
    for path in gallery.glob("0*.jpg"):
        path.unlink()
    with pytest.raises(DataError, match=r"holds no images \(only junk, person -1\); the dataset"):
        write_splits("market1501", root, tmp_path / "splits.json")


def test_mars_frame_of_another_tracklet_is_refused_when_splits_are_written(tmp_path: Path) -> None:
    """info/ that does not belong to the frames: caught by the splits, not only by a load."""
    root = build_mars(tmp_path / "data")
    names = root / "mars" / "info" / "test_name.txt"
    lines = names.read_text().splitlines()
    lines[0] = "0003C4T0001F001.jpg"  # person 2, camera 1's tracklet lists person 3's frame
    names.write_text("\n".join(lines) + "\n")
    message = r"frame 0003C4T0001F001\.jpg is listed in a tracklet of person 2, camera 1"
    with pytest.raises(DataError, match=message):
        write_splits("mars", root, tmp_path / "splits.json")
