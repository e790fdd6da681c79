"""torchvision's ImageNet weights: the URL table, fetching once, the hash check, offline use."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision.models as tvm

from mgat.errors import ConfigError, DataError, MgatError
from mgat.models import BACKBONES, build_backbone, pretrained
from mgat.models.pretrained import (
    IMAGENET_URLS,
    check_weights_file,
    fetch_imagenet_weights,
    weights_file_name,
)
from tests.helpers import HttpServer, closed_port_url, serve_as_torchvision_file


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and isinstance(exc.value, MgatError)
    return text


@pytest.fixture(scope="module")
def resnet18_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A randomly initialised torchvision resnet18 state dict, as a file's bytes."""
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("w") / "state.pth"
    torch.save(tvm.resnet18(weights=None).state_dict(), path)
    return path.read_bytes()


def serve_as_resnet18_weights(
    monkeypatch: pytest.MonkeyPatch, server: HttpServer, content: bytes, prefix: str | None = None
) -> str:
    """Serve ``content`` as torchvision's file and make it resnet18's ImageNet URL."""
    name = serve_as_torchvision_file(server, "resnet18", content, prefix)
    monkeypatch.setitem(IMAGENET_URLS, "resnet18", server.url(name))
    return name


def test_table_matches_torchvision() -> None:
    assert set(IMAGENET_URLS) == set(BACKBONES)
    for name in BACKBONES:
        assert IMAGENET_URLS[name] == tvm.get_model_weights(name).IMAGENET1K_V1.url, name
    assert weights_file_name("resnet50") == "resnet50-0676ba61.pth"


def test_table_reads_without_torch_or_mgat() -> None:
    """The workflow reads the table with runpy in Snakemake's process, which may lack torch and
    mgat: run so in a fresh interpreter, the module imports neither, and yields the table."""
    code = (
        "import json, runpy, sys; table = runpy.run_path(sys.argv[1])['IMAGENET_URLS']; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'torchvision', 'numpy', 'mgat'}); print(json.dumps([heavy, table]))"
    )
    command = [sys.executable, "-c", code, pretrained.__file__]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    heavy, table = json.loads(result.stdout)
    assert heavy == [] and table == IMAGENET_URLS


def test_unknown_backbone_is_one_line() -> None:
    with pytest.raises(ConfigError) as exc:
        weights_file_name("vgg16")
    assert "vgg16" in one_line(exc) and "resnet50" in one_line(exc)


def test_fetch_downloads_once_and_checks(
    monkeypatch: pytest.MonkeyPatch, server: HttpServer, tmp_path: Path, resnet18_bytes: bytes
) -> None:
    name = serve_as_resnet18_weights(monkeypatch, server, resnet18_bytes)
    dest = fetch_imagenet_weights("resnet18", tmp_path / "weights")
    assert dest == tmp_path / "weights" / name and dest.read_bytes() == resnet18_bytes
    assert fetch_imagenet_weights("resnet18", tmp_path / "weights") == dest
    assert len(server.requests) == 1  # the second call found the file


def test_download_failing_its_hash_is_not_kept(
    monkeypatch: pytest.MonkeyPatch, server: HttpServer, tmp_path: Path, resnet18_bytes: bytes
) -> None:
    serve_as_resnet18_weights(monkeypatch, server, resnet18_bytes, prefix="00000000")
    with pytest.raises(DataError) as exc:
        fetch_imagenet_weights("resnet18", tmp_path / "weights")
    text = one_line(exc)
    assert "resnet18-00000000.pth" in text and "corrupt or incomplete" in text
    assert list((tmp_path / "weights").iterdir()) == []


def test_offline_names_the_url_and_where_to_put_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = closed_port_url("resnet50-0676ba61.pth")
    monkeypatch.setitem(IMAGENET_URLS, "resnet50", url)
    with pytest.raises(DataError) as exc:
        fetch_imagenet_weights("resnet50", tmp_path / "weights")
    text = one_line(exc)
    assert url in text
    assert f"place it at {tmp_path / 'weights' / 'resnet50-0676ba61.pth'}" in text
    assert "state-dict file" in text and "'none'" in text
    assert not (tmp_path / "weights" / "resnet50-0676ba61.pth").exists()
    assert not list((tmp_path / "weights").glob("*.part"))


def test_file_placed_by_hand_is_used_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, resnet18_bytes: bytes
) -> None:
    prefix = hashlib.sha256(resnet18_bytes).hexdigest()[:8]
    name = f"resnet18-{prefix}.pth"
    monkeypatch.setitem(IMAGENET_URLS, "resnet18", closed_port_url(name))
    (tmp_path / name).write_bytes(resnet18_bytes)
    assert fetch_imagenet_weights("resnet18", tmp_path) == tmp_path / name


def test_corrupt_file_placed_by_hand_is_refused_and_kept(tmp_path: Path) -> None:
    placed = tmp_path / "resnet50-0676ba61.pth"
    placed.write_bytes(b"half a download")
    with pytest.raises(DataError) as exc:
        check_weights_file(placed)
    assert "delete it" in one_line(exc) and IMAGENET_URLS["resnet50"] in one_line(exc)
    assert placed.exists()  # the user's file: we say what to do, we do not delete it
    with pytest.raises(DataError):
        build_backbone("resnet50", placed)  # the training job checks it too


def test_users_own_state_dict_is_not_hash_checked(tmp_path: Path) -> None:
    own = tmp_path / "resnet50-finetuned.pth"
    own.write_bytes(b"anything")
    check_weights_file(own)  # no torchvision name, no hash to check


def test_backbone_imagenet_uses_torch_hub_cache(
    monkeypatch: pytest.MonkeyPatch, server: HttpServer, tmp_path: Path, resnet18_bytes: bytes
) -> None:
    """``mgat train`` with ``weights: imagenet`` fetches into torch hub's cache, then loads."""
    name = serve_as_resnet18_weights(monkeypatch, server, resnet18_bytes)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    trunk, _ = build_backbone("resnet18", "imagenet")
    assert (tmp_path / "hub" / "checkpoints" / name).is_file()
    state = torch.load(tmp_path / "hub" / "checkpoints" / name, weights_only=True)
    assert torch.equal(trunk.state_dict()["conv1.weight"], state["conv1.weight"])


def test_backbone_imagenet_offline_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "urlopen", refuse)  # what download_url_to_file calls
    with pytest.raises(DataError) as exc:
        build_backbone("resnet18", "imagenet")
    text = one_line(exc)
    assert "ImageNet weights of resnet18" in text and "name resolution" in text
    assert str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in text
