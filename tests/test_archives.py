"""Tests for mgat.data.archives: safe extraction of tar and zip files, all or nothing."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from mgat.data.archives import safe_extract
from mgat.errors import DataError


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def _tar_file(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def _tar_dir(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def _tar_link(
    name: str, target: str, kind: bytes = tarfile.SYMTYPE
) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _make_tar(path: Path, members: list, mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _make_zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


NORMAL_TAR = [
    _tar_dir("market"),
    _tar_dir("market/bounding box train"),
    _tar_file("market/bounding box train/0001_c1s1 01.jpg", b"img1"),
    _tar_file("market/deep/er/nested file.txt", b"nested"),  # parents not listed
    _tar_link("market/link to img", "bounding box train/0001_c1s1 01.jpg"),
    _tar_link("market/deep/er/up", "../../bounding box train"),
    _tar_file("readme.txt", b"hello"),
]


def _assert_untouched(dest: Path) -> None:
    assert not dest.exists() or list(dest.iterdir()) == []


# ------------------------------------------------------------------------------------------
# Extraction: normal archives
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix,mode", [(".tar", "w"), (".tar.gz", "w:gz"), (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz")]
)
def test_extract_normal_tar(tmp_path: Path, suffix: str, mode: str) -> None:
    archive = _make_tar(tmp_path / f"a{suffix}", NORMAL_TAR, mode)
    dest = tmp_path / "out"
    created = safe_extract(archive, dest)
    assert created == [dest / "market", dest / "readme.txt"]
    assert sorted(p.name for p in dest.iterdir()) == ["market", "readme.txt"]
    assert (dest / "market/bounding box train/0001_c1s1 01.jpg").read_bytes() == b"img1"
    assert (dest / "market/deep/er/nested file.txt").read_bytes() == b"nested"
    link = dest / "market/link to img"
    assert link.is_symlink() and link.read_bytes() == b"img1"
    assert (dest / "market/deep/er/up/0001_c1s1 01.jpg").read_bytes() == b"img1"
    assert (dest / "readme.txt").read_bytes() == b"hello"


def test_extract_tar_with_dot_root_and_hardlink_inside(tmp_path: Path) -> None:
    members = [
        _tar_dir("./"),
        _tar_file("./d/a.txt", b"A"),
        _tar_link("./d/b.txt", "./d/a.txt", tarfile.LNKTYPE),
    ]
    archive = _make_tar(tmp_path / "a.tgz", members, "w:gz")
    dest = tmp_path / "out"
    assert safe_extract(archive, dest) == [dest / "d"]
    assert (dest / "d/b.txt").read_bytes() == b"A"


def test_extract_tar_drops_setuid(tmp_path: Path) -> None:
    archive = _make_tar(tmp_path / "a.tar", [_tar_file("tool", b"#!", mode=0o4755)])
    dest = tmp_path / "out"
    safe_extract(archive, dest)
    mode = stat.S_IMODE((dest / "tool").stat().st_mode)
    assert not mode & (stat.S_ISUID | stat.S_ISGID) and mode & stat.S_IRUSR


def test_extract_normal_zip(tmp_path: Path) -> None:
    archive = _make_zip(
        tmp_path / "a.zip",
        [
            ("Market 1501/", b""),
            ("Market 1501/query/0001 c1.jpg", b"q"),
            ("Market 1501/a/b/c/deep file.txt", b"deep"),
            ("top.txt", b"t"),
        ],
    )
    dest = tmp_path / "out"
    created = safe_extract(archive, dest)
    assert created == [dest / "Market 1501", dest / "top.txt"]
    assert (dest / "Market 1501/query/0001 c1.jpg").read_bytes() == b"q"
    assert (dest / "Market 1501/a/b/c/deep file.txt").read_bytes() == b"deep"
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == []


def test_extract_zip_without_suffix_is_sniffed(tmp_path: Path) -> None:
    archive = _make_zip(tmp_path / "download", [("x/y.txt", b"y")])
    dest = tmp_path / "out"
    assert safe_extract(archive, dest) == [dest / "x"]


# ------------------------------------------------------------------------------------------
# Extraction: refused archives leave dest untouched
# ------------------------------------------------------------------------------------------

BAD_TARS = {
    "dotdot": [_tar_file("ok.txt"), _tar_file("d/../../evil.txt")],
    "symlink-out": [_tar_file("ok.txt"), _tar_link("d/link", "../../outside")],
    "symlink-abs": [_tar_link("link", "/etc/passwd")],
    "symlink-chain": [
        _tar_dir("x"),
        _tar_link("x/y", ".."),  # -> archive root: fine on its own
        _tar_link("a", "x/y"),  # -> archive root
        _tar_link("b", "a/.."),  # lexically '.', really the parent of dest
    ],
    "hardlink-out": [_tar_file("ok.txt"), _tar_link("h", "../outside", tarfile.LNKTYPE)],
    "hardlink-abs": [_tar_link("h", "/etc/passwd", tarfile.LNKTYPE)],
    "hardlink-missing": [_tar_link("h", "not-there.txt", tarfile.LNKTYPE)],
    "fifo": [_tar_file("ok.txt"), _tar_link("pipe", "", tarfile.FIFOTYPE)],
    "device": [_tar_link("dev", "", tarfile.CHRTYPE)],
    "file-and-dir": [_tar_file("a/b"), _tar_file("a/b/c")],
}

#: Archives tar(1) extracts inside the destination, and so does tarfile's data filter.
TARS_KEPT_INSIDE = {
    "absolute": ([_tar_file("/tmp/inside.txt", b"1")], "tmp/inside.txt"),  # '/' stripped
    "through-symlink": ([_tar_link("d", "."), _tar_file("d/inside.txt", b"1")], "inside.txt"),
    "file-twice": ([_tar_file("inside.txt", b"0"), _tar_file("inside.txt", b"1")], "inside.txt"),
}


@pytest.mark.parametrize("case", sorted(BAD_TARS))
def test_extract_refuses_unsafe_tar(tmp_path: Path, case: str) -> None:
    archive = _make_tar(tmp_path / "bad.tar", BAD_TARS[case])
    dest = tmp_path / "out"
    with pytest.raises(DataError) as err:
        safe_extract(archive, dest)
    assert "refusing to extract" in _one_line(err)
    assert not dest.exists()
    dest.mkdir()
    with pytest.raises(DataError):
        safe_extract(archive, dest)
    assert list(dest.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar", "out"]


@pytest.mark.parametrize("case", sorted(TARS_KEPT_INSIDE))
def test_extract_keeps_odd_tar_inside(tmp_path: Path, case: str) -> None:
    members, written = TARS_KEPT_INSIDE[case]
    archive = _make_tar(tmp_path / "odd.tar", members)
    dest = tmp_path / "out"
    safe_extract(archive, dest)
    assert (dest / written).read_bytes() == b"1"  # the later of two members wins, as in tar(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.tar", "out"]


def _zip_symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


BAD_ZIPS = {
    "absolute": [("ok.txt", b"x"), ("/tmp/evil.txt", b"x")],
    "dotdot": [("ok.txt", b"x"), ("d/../../evil.txt", b"x")],
    "backslash-dotdot": [("..\\evil.txt", b"x")],
    "symlink": [("ok.txt", b"x"), _zip_symlink("link", "../../outside")],
    "symlink-inside": [("ok.txt", b"x"), _zip_symlink("link", "ok.txt")],
    "file-and-dir": [("a/b", b"x"), ("a/b/c", b"x")],
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_extract_refuses_unsafe_zip(tmp_path: Path, case: str) -> None:
    archive = _make_zip(tmp_path / "bad.zip", BAD_ZIPS[case])
    dest = tmp_path / "out"
    with pytest.raises(DataError) as err:
        safe_extract(archive, dest)
    assert "refusing to extract" in _one_line(err)
    assert not dest.exists()


# ------------------------------------------------------------------------------------------
# Extraction: corrupt archives and clashes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,mode", [("a.tar.gz", "w:gz"), ("a.tar", "w"), ("a.zip", None)])
def test_extract_truncated_archive(tmp_path: Path, name: str, mode: str | None) -> None:
    big = bytes(range(256)) * 400
    path = tmp_path / name
    if mode is None:
        _make_zip(path, [("d/a.bin", big), ("d/b.bin", big)])
    else:
        _make_tar(path, [_tar_file("d/a.bin", big), _tar_file("d/b.bin", big)], mode)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    dest = tmp_path / "out"
    with pytest.raises(DataError) as err:
        safe_extract(path, dest)
    text = _one_line(err)
    assert "not a readable tar/zip archive" in text and "download it again" in text
    assert not dest.exists() or list(dest.iterdir()) == []


def test_extract_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"this is not an archive" * 10)
    with pytest.raises(DataError, match="not a readable tar/zip archive"):
        safe_extract(path, tmp_path / "out")


def test_extract_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        safe_extract(tmp_path / "nope.tar", tmp_path / "out")


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_extract_existing_top_level_entry(tmp_path: Path, kind: str) -> None:
    if kind == "tar":
        archive = _make_tar(tmp_path / "a.tar", [_tar_file("new.txt"), _tar_file("market/x")])
    else:
        archive = _make_zip(tmp_path / "a.zip", [("new.txt", b"x"), ("market/x", b"x")])
    dest = tmp_path / "out"
    (dest / "market").mkdir(parents=True)
    (dest / "market" / "mine.txt").write_text("keep")
    with pytest.raises(DataError) as err:
        safe_extract(archive, dest)
    text = _one_line(err)
    assert str(dest / "market") in text and "remove it" in text
    assert sorted(p.name for p in dest.iterdir()) == ["market"]
    assert [p.name for p in (dest / "market").iterdir()] == ["mine.txt"]


def test_extract_zip_with_bad_crc_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("d/ok.txt", b"fine")
        zf.writestr("d/data.bin", b"A" * 1000)
    data = bytearray(path.read_bytes())
    data[data.index(b"A" * 1000) + 500] = ord("B")  # corrupt the stored bytes, not the index
    path.write_bytes(bytes(data))
    dest = tmp_path / "out"
    with pytest.raises(DataError, match="not a readable tar/zip archive"):
        safe_extract(path, dest)
    assert not dest.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]
