"""torchvision's ImageNet weights: where each backbone's file comes from, fetched once, checked.

torchvision names each weights file after the first hex digits of its SHA-256
(``resnet50-0676ba61.pth``). torch hub checks a fresh download against it, and
:func:`check_weights_file` a file placed by hand, so a truncated or foreign file is refused in
one line before a training job spends hours on it.

Only the standard library is imported at module level: the workflow reads :data:`IMAGENET_URLS`
to name the file it fetches, without torch and without ``mgat`` installed.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

log = logging.getLogger(__name__)

#: torchvision's ``IMAGENET1K_V1`` weights of each supported backbone (a test keeps this equal
#: to ``torchvision.models.get_model_weights(name).IMAGENET1K_V1.url``).
IMAGENET_URLS: dict[str, str] = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "resnet34": "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "resnet101": "https://download.pytorch.org/models/resnet101-63fe2227.pth",
    "resnet152": "https://download.pytorch.org/models/resnet152-394f9c45.pth",
    "resnext50_32x4d": "https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth",
    "resnext101_32x8d": "https://download.pytorch.org/models/resnext101_32x8d-8ba56ff5.pth",
    "resnext101_64x4d": "https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth",
    "wide_resnet50_2": "https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth",
    "wide_resnet101_2": "https://download.pytorch.org/models/wide_resnet101_2-32ee1156.pth",
}

#: Seconds a stalled weights download may wait for data before it fails.
DOWNLOAD_TIMEOUT_S = 60

_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.pth$")


def imagenet_url(backbone: str) -> str:
    """The URL of ``backbone``'s ImageNet weights; a backbone without any fails in one line."""
    from mgat.errors import ConfigError

    url = IMAGENET_URLS.get(backbone)
    if url is None:
        raise ConfigError(
            f"no ImageNet weights are known for backbone {backbone!r}; "
            f"known: {', '.join(sorted(IMAGENET_URLS))}"
        )
    return url


def weights_file_name(backbone: str) -> str:
    """torchvision's own file name for ``backbone``'s weights, e.g. ``resnet50-0676ba61.pth``."""
    return imagenet_url(backbone).rsplit("/", 1)[1]


def _hash_prefix(name: str) -> str:
    """The leading hex digits of the SHA-256 in a torchvision file name (``0676ba61``)."""
    match = _HASH_IN_NAME.search(name)
    if match is None:
        raise ValueError(f"{name!r} is not named like a torchvision weights file")
    return match.group(1)


def check_weights_file(path: str | Path) -> None:
    """Check a file named like one of :data:`IMAGENET_URLS` against the hash in its name.

    Files with other names (a user's own state dict) are not checked: their names carry no hash.
    """
    from mgat.digest import sha256_file
    from mgat.errors import DataError

    path = Path(path)
    url = next((url for url in IMAGENET_URLS.values() if url.endswith("/" + path.name)), None)
    if url is None:
        return
    prefix = _hash_prefix(path.name)
    digest = sha256_file(path)
    if not digest.startswith(prefix):
        raise DataError(
            f"{path}: SHA-256 begins {digest[: len(prefix)]}, but torchvision's file name says "
            f"{prefix}: the file is corrupt or incomplete; delete it and run again, or download "
            f"{url} by hand and put it there"
        )


def fetch_imagenet_weights(backbone: str, folder: str | Path) -> Path:
    """Download ``backbone``'s ImageNet weights into ``folder`` once and return the file.

    A file already there (downloaded before, or placed by hand on a machine without internet) is
    used as it is once it passes :func:`check_weights_file`.
    """
    import torch.hub

    from mgat.data.download import DOWNLOAD_ERRORS, download_error
    from mgat.errors import DataError

    source = imagenet_url(backbone)
    dest = Path(folder) / weights_file_name(backbone)
    if dest.is_file():
        check_weights_file(dest)
    else:
        prefix = _hash_prefix(dest.name)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            # A partial file or one failing the hash is removed, not left at dest. torch hub's
            # downloader sets no timeout: a stalled server must end the job, not hang it.
            timeout = socket.getdefaulttimeout()
            socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
            try:
                torch.hub.download_url_to_file(
                    source, str(dest), hash_prefix=prefix, progress=False
                )
            finally:
                socket.setdefaulttimeout(timeout)
        except RuntimeError as exc:  # torch hub's hash check
            raise DataError(
                f"ImageNet weights of {backbone}: {source}: the download is corrupt or "
                f"incomplete ({exc}); try again, or download it by hand and place it at {dest}"
            ) from None
        except DOWNLOAD_ERRORS as exc:
            raise DataError(
                f"ImageNet weights of {backbone}: {download_error(source, dest, exc)}; or set "
                f"weights to a state-dict file of a torchvision {backbone}, or to 'none' for "
                "random initialisation"
            ) from None
    log.info("ImageNet weights of %s: %s", backbone, dest)
    return dest
