"""Placing real datasets: archives found, downloaded, checked, extracted; manifests written."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from mgat.data.prepare import prepare_dataset, write_manifest
from mgat.digest import sha256_file
from mgat.errors import ConfigError, DataError
from tests.helpers import build_ilidsvid, build_market, build_mars


def make_tar(src: Path, out: Path) -> Path:
    with tarfile.open(out, "w") as tar:
        for child in sorted(src.iterdir()):
            tar.add(child, arcname=child.name)
    return out


def make_zip(src: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(src.rglob("*")):
            archive.write(path, path.relative_to(src).as_posix())
    return out


@pytest.fixture
def ilids_tar(tmp_path: Path) -> Path:
    source = build_ilidsvid(tmp_path / "source") / "ilids-vid"
    return make_tar(source, tmp_path / "iLIDS-VID.tar")


def test_placed_archive_is_extracted(tmp_path: Path, ilids_tar: Path) -> None:
    root = tmp_path / "data"
    folder = prepare_dataset(
        "ilidsvid",
        root,
        files={"archive": str(ilids_tar)},
        sha256={"archive": sha256_file(ilids_tar)},
    )
    assert (folder / "i-LIDS-VID" / "sequences" / "cam1").is_dir()
    record = write_manifest("ilidsvid", root, tmp_path / "manifest.json", source="real")
    assert record["files"] == json.loads((tmp_path / "manifest.json").read_text())["files"] > 0
    # In place now: a second call extracts nothing and reads nothing from the archive.
    ilids_tar.unlink()
    assert prepare_dataset("ilidsvid", root) == folder


def test_archive_at_default_place(tmp_path: Path, ilids_tar: Path) -> None:
    root = tmp_path / "data"
    (root / "ilids-vid").mkdir(parents=True)
    ilids_tar.rename(root / "ilids-vid" / "iLIDS-VID.tar")
    prepare_dataset("ilidsvid", root)
    assert (root / "ilids-vid" / "train-test people splits").is_dir()


def test_download_when_missing(tmp_path: Path, ilids_tar: Path) -> None:
    root = tmp_path / "data"
    prepare_dataset("ilidsvid", root, url=ilids_tar.as_uri())
    assert (root / "ilids-vid" / "iLIDS-VID.tar").is_file()
    assert (root / "ilids-vid" / "i-LIDS-VID").is_dir()


def test_checksum_mismatch_extracts_nothing(tmp_path: Path, ilids_tar: Path) -> None:
    root = tmp_path / "data"
    with pytest.raises(DataError, match=r"SHA-256|sha256|checksum") as err:
        prepare_dataset(
            "ilidsvid", root, files={"archive": str(ilids_tar)}, sha256={"archive": "0" * 64}
        )
    assert "\n" not in str(err.value)
    assert not (root / "ilids-vid" / "i-LIDS-VID").exists()


def test_missing_archive_names_page_file_and_place(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        prepare_dataset("market1501", tmp_path)
    message = str(err.value)
    assert "Market-1501-v15.09.15.zip" in message
    assert "liangzheng" in message
    assert str(tmp_path / "market1501" / "Market-1501-v15.09.15.zip") in message


def test_download_disabled_is_the_missing_message(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"iLIDS-VID\.tar is missing"):
        prepare_dataset("ilidsvid", tmp_path, url="http://127.0.0.1:9/x.tar", allow_download=False)


def test_market_zip_and_mars_parts(tmp_path: Path) -> None:
    source = build_market(tmp_path / "m") / "market1501"
    zipped = make_zip(source, tmp_path / "Market-1501-v15.09.15.zip")
    prepare_dataset("market1501", tmp_path / "data", files={"archive": str(zipped)})

    mars = build_mars(tmp_path / "s") / "mars"
    parts = {}
    for part in ("bbox_train", "bbox_test"):
        parts[part] = str(make_zip(mars, tmp_path / f"{part}.zip"))
        # each zip holds only its own top-level folder
        with zipfile.ZipFile(parts[part], "w") as archive:
            for path in sorted((mars / part).rglob("*")):
                archive.write(path, path.relative_to(mars).as_posix())
    parts["info"] = str(mars / "info")
    folder = prepare_dataset("mars", tmp_path / "data", files=parts)
    assert sorted(p.name for p in folder.iterdir()) == ["bbox_test", "bbox_train", "info"]


def test_prid_archive_without_top_folder_is_nested(tmp_path: Path) -> None:
    from tests.helpers import build_prid

    source = build_prid(tmp_path / "p") / "prid2011" / "prid_2011"
    zipped = make_zip(source, tmp_path / "prid_2011.zip")  # holds multi_shot/ at the top
    folder = prepare_dataset("prid2011", tmp_path / "data", files={"archive": str(zipped)})
    assert (folder / "prid_2011" / "multi_shot" / "cam_a").is_dir()


def test_wrong_archive_content(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    (junk / "something").mkdir(parents=True)
    (junk / "something" / "a.txt").write_text("x")
    archive = make_tar(junk, tmp_path / "iLIDS-VID.tar")
    with pytest.raises(DataError, match="layout is still wrong"):
        prepare_dataset("ilidsvid", tmp_path / "data", files={"archive": str(archive)})
    assert not (tmp_path / "data" / "ilids-vid" / "something").exists()  # nothing left behind


def test_a_given_checksum_is_checked_when_already_in_place(tmp_path: Path, ilids_tar) -> None:
    root = tmp_path / "data"
    prepare_dataset("ilidsvid", root, files={"archive": str(ilids_tar)})
    good = sha256_file(ilids_tar)
    prepare_dataset("ilidsvid", root, files={"archive": str(ilids_tar)}, sha256={"archive": good})
    with pytest.raises(DataError, match="SHA-256 is"):
        prepare_dataset(
            "ilidsvid", root, files={"archive": str(ilids_tar)}, sha256={"archive": "f" * 64}
        )


@pytest.mark.parametrize(
    ("dataset", "files", "sha256", "message"),
    [
        (
            "ilidsvid",
            {"archiv": "x.tar"},
            {},
            "unknown placed-file key.*archiv; valid keys: archive",
        ),
        ("mars", {}, {"bbox_tets": "0" * 64}, "unknown checksum key.*valid keys: bbox_train"),
        ("mars", {}, {"info": "0" * 64}, "info is a folder, which has no SHA-256"),
    ],
)
def test_unknown_or_meaningless_keys_are_refused(tmp_path, dataset, files, sha256, message):
    with pytest.raises(ConfigError, match=message) as err:
        prepare_dataset(dataset, tmp_path, files=files, sha256=sha256)
    assert "\n" not in str(err.value)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--file", "archive=a", "--file", "archive=b"], "--file: archive given twice"),
        (["--sha256", "archive=ab", "--sha256", "archive=ab"], "--sha256: archive given twice"),
        (["--file", "archiv=a.tar"], "unknown placed-file key"),
    ],
)
def test_cli_key_values_are_checked(tmp_path: Path, capsys, args, message) -> None:
    from mgat.cli import main

    assert main(["data", "prepare", "ilidsvid", "--root", str(tmp_path), "--no-download", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
