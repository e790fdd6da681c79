"""Decoding image files of every mode into the 8-bit RGB picture they hold (mgat.data.images).

Pillow's plain ``convert("RGB")`` clips a 16-bit grey PNG to white and truncates a float image
to black; each mode here is either decoded to the right picture or refused in one line.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mgat.data import frames
from mgat.data.images import load_rgb
from mgat.errors import DataError

# A grey ramp over the whole 16-bit range: its 8-bit picture is the ramp's high byte.
RAMP16 = (np.arange(16 * 32, dtype=np.uint32).reshape(16, 32) * 65535 // (16 * 32 - 1)).astype(
    np.uint16
)


def _png(path: Path, samples: np.ndarray, color_type: int) -> Path:
    """Write a 16-bit PNG by hand (Pillow cannot write 16-bit colour or grey+alpha PNGs)."""
    height, width = samples.shape[:2]
    rows = samples.astype(">u2").reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def _pixels(path: Path) -> np.ndarray:
    image = load_rgb(str(path))
    assert image.mode == "RGB"
    return np.asarray(image)


def _grey(expected: np.ndarray) -> np.ndarray:
    return np.repeat(expected[..., None], 3, axis=2)


def test_16bit_grey_png_is_scaled_not_saturated(tmp_path: Path) -> None:
    """The bug this module fixes: Pillow's convert("RGB") reads this ramp as nearly all white."""
    path = tmp_path / "ramp16.png"
    Image.fromarray(RAMP16).save(path)
    assert Image.open(path).mode == "I;16"
    pixels = _pixels(path)
    assert np.array_equal(pixels, _grey((RAMP16 >> 8).astype(np.uint8)))
    assert len(np.unique(pixels)) == 256  # the whole ramp, not 0 and 255


def test_plain_convert_saturates_a_16bit_png(tmp_path: Path) -> None:
    """Why load_rgb cannot be Image.open(...).convert("RGB"): most of the ramp clips to 255."""
    path = tmp_path / "ramp16.png"
    Image.fromarray(RAMP16).save(path)
    naive = np.asarray(Image.open(path).convert("RGB"))
    assert (naive == 255).mean() > 0.9


@pytest.mark.parametrize("byteorder", ["I;16", "I;16B"])
def test_16bit_grey_tiff_any_byte_order(tmp_path: Path, byteorder: str) -> None:
    path = tmp_path / "ramp16.tif"
    data = RAMP16.astype(">u2" if byteorder == "I;16B" else "<u2").tobytes()
    Image.frombytes(byteorder, RAMP16.shape[::-1], data).save(path)
    assert Image.open(path).mode.startswith("I;16")
    assert np.array_equal(_pixels(path), _grey((RAMP16 >> 8).astype(np.uint8)))


def test_16bit_pgm_read_as_mode_i(tmp_path: Path) -> None:
    """Pillow reads a PGM with maxval 65535 as mode I (as older Pillow read a 16-bit PNG)."""
    path = tmp_path / "ramp16.pgm"
    height, width = RAMP16.shape
    path.write_bytes(f"P5 {width} {height} 65535\n".encode() + RAMP16.astype(">u2").tobytes())
    assert Image.open(path).mode == "I"
    assert np.array_equal(_pixels(path), _grey((RAMP16 >> 8).astype(np.uint8)))


def test_16bit_colour_and_grey_alpha_pngs(tmp_path: Path) -> None:
    rgb = np.stack([RAMP16, RAMP16[::-1], np.full_like(RAMP16, 0x8000)], axis=2)
    assert np.array_equal(_pixels(_png(tmp_path / "rgb48.png", rgb, 2)), rgb >> 8)
    la = np.stack([RAMP16, np.full_like(RAMP16, 0x1234)], axis=2)
    assert np.array_equal(_pixels(_png(tmp_path / "la32.png", la, 4)), _grey(RAMP16 >> 8))


@pytest.mark.parametrize(
    ("array", "suffix", "why"),
    [
        (RAMP16.astype(np.float32) / 65535, ".tif", "32-bit float"),
        (RAMP16.astype(np.int32) * 1000, ".tif", "32-bit integer"),
    ],
)
def test_modes_without_a_range_are_refused(tmp_path: Path, array, suffix: str, why: str) -> None:
    path = tmp_path / f"wide{suffix}"
    Image.fromarray(array).save(path)
    mode = Image.open(path).mode
    with pytest.raises(DataError, match=rf"cannot read image .*wide\.tif: mode {mode} \({why}\)"):
        load_rgb(str(path))


def test_palette_with_transparency_keeps_its_colours(tmp_path: Path) -> None:
    image = Image.new("P", (8, 4))
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.paste(1, (4, 0, 8, 4))
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "palette images with transparency" warning
        pixels = _pixels(path)
    assert pixels[0, 0].tolist() == [10, 20, 30] and pixels[0, 7].tolist() == [200, 100, 50]


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_dropped_colour_kept(tmp_path: Path, mode: str) -> None:
    """Crops with an alpha channel read as their colour channels, as torchreid reads them."""
    colour = (40, 90, 200) if mode == "RGBA" else (77,)
    path = tmp_path / "alpha.png"
    Image.new(mode, (6, 6), (*colour, 0)).save(path)
    expected = list(colour) * (3 // len(colour))
    assert _pixels(path)[3, 3].tolist() == expected


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)  # pure red
    assert Image.open(path).mode == "CMYK"
    assert np.abs(_pixels(path)[8, 8].astype(int) - [255, 0, 0]).max() <= 3


def test_one_bit_image(tmp_path: Path) -> None:
    image = Image.new("1", (8, 8), 0)
    image.paste(1, (0, 0, 4, 8))
    image.save(tmp_path / "bits.png")
    pixels = _pixels(tmp_path / "bits.png")
    assert pixels[:, :4].min() == 255 and pixels[:, 4:].max() == 0


@pytest.mark.parametrize(
    ("mode", "suffix"), [(m, s) for m in ("RGB", "L") for s in (".jpg", ".png")]
)
def test_ordinary_files_read_as_before(tmp_path: Path, mode: str, suffix: str) -> None:
    """The 8-bit JPEGs and PNGs of the real datasets read exactly as convert("RGB") read them."""
    rng = np.random.default_rng(0)
    shape = (24, 12, 3) if mode == "RGB" else (24, 12)
    path = tmp_path / f"ordinary{suffix}"
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(path)
    expected = np.asarray(Image.open(path).convert("RGB"))
    assert np.array_equal(_pixels(path), expected)


@pytest.mark.parametrize("content", [b"", b"\xff\xd8 tiny image stand-in", b"\x89PNG\r\n\x1a\n"])
def test_unreadable_file_is_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"cannot read image .*broken\.jpg \(") as err:
        load_rgb(str(path))
    assert "\n" not in str(err.value) and "re-extract the archive" in str(err.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot read image .*absent\.png \(FileNotFoundError"):
        load_rgb(str(tmp_path / "absent.png"))


def test_training_frames_use_this_decoder(tmp_path: Path) -> None:
    """FrameDataset (training and extraction) reads a 16-bit PNG as its ramp, not as white."""
    path = tmp_path / "ramp16.png"
    Image.fromarray(RAMP16).save(path)
    tensor = frames.FrameDataset([(str(path), 0, 0)])[0][0]
    expected = (RAMP16 >> 8).astype(np.float32) / 255.0
    assert np.allclose(tensor.numpy(), np.broadcast_to(expected, (3, *RAMP16.shape)))
