"""Decode one image file into the 8-bit RGB picture the networks are trained on.

``Image.open(path).convert("RGB")`` is right for the 8-bit modes but silently wrong for the wide
ones: Pillow clips a 16-bit grey PNG (mode ``I;16``) to 0..255, so it comes out white, and
truncates a float image (mode ``F``) in [0, 1] to black. Here the 16-bit modes are scaled to
8 bits (the high byte, as Pillow itself does for 16-bit colour PNGs), and a mode whose value
range the file does not state is refused in one line instead of being misread.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mgat.errors import DataError

__all__ = ["load_rgb"]

#: Modes that Pillow's own conversion turns into the picture they hold: alpha is dropped (as
#: torchreid reads the crops), palettes are looked up, CMYK and YCbCr are converted.
_DIRECT = frozenset({"RGB", "RGBX", "RGBA", "L", "LA", "1", "P", "PA", "CMYK", "YCbCr"})
#: 16-bit unsigned grey, whatever the byte order: the full range is 0..65535.
_WIDE = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
#: Formats whose 32-bit integer mode ``I`` holds 16-bit samples scaled to 0..65535 (a 16-bit
#: grey PNG read by older Pillow, a PGM with a maxval above 255).
_WIDE_AS_I = frozenset({"PNG", "PPM"})


def _refuse(path: str, mode: str, why: str) -> DataError:
    return DataError(
        f"cannot read image {path}: mode {mode} {why}; convert it to 8-bit RGB or grey "
        "(JPEG or PNG) or regenerate the data"
    )


def _to_rgb(image: Image.Image, path: str) -> Image.Image:
    """The 8-bit RGB picture of an opened image, or a DataError naming its mode."""
    mode = image.mode
    if mode in ("P", "PA"):
        # Through RGBA: Pillow warns when a palette with transparency goes straight to RGB.
        return image.convert("RGBA").convert("RGB")
    if mode in _DIRECT:
        return image.convert("RGB")
    if mode in _WIDE or (mode == "I" and image.format in _WIDE_AS_I):
        values = np.asarray(image).astype(np.int64)
        if values.size and (values.min() < 0 or values.max() > 0xFFFF):
            raise _refuse(path, mode, "holds values outside the 16-bit range 0..65535")
        grey = Image.fromarray((values >> 8).astype(np.uint8), mode="L")
        return grey.convert("RGB")
    if mode == "I":
        raise _refuse(path, mode, "(32-bit integer) has no fixed range to scale to 8 bits")
    if mode == "F":
        raise _refuse(path, mode, "(32-bit float) has no fixed range to scale to 8 bits")
    raise _refuse(path, mode, "is not a colour or grey picture mgat can read")


def load_rgb(path: str) -> Image.Image:
    """Open an image as 8-bit RGB, turning any read failure into a one-line DataError."""
    try:
        with Image.open(path) as image:
            return _to_rgb(image, str(path))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise DataError(
            f"cannot read image {path} ({reason}); the dataset is corrupt or incomplete, "
            "re-extract the archive or regenerate the synthetic data"
        ) from exc
