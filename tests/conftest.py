"""The tests' fixtures; the helpers they are built on live in tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import HttpServer, build_ilidsvid, build_market, build_mars, build_prid


@pytest.fixture
def market_root(tmp_path: Path) -> Path:
    return build_market(tmp_path)


@pytest.fixture
def mars_root(tmp_path: Path) -> Path:
    return build_mars(tmp_path)


@pytest.fixture
def ilidsvid_root(tmp_path: Path) -> Path:
    return build_ilidsvid(tmp_path)


@pytest.fixture
def prid_root(tmp_path: Path) -> Path:
    return build_prid(tmp_path)


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "served"
    root.mkdir()
    srv = HttpServer(root)
    try:
        yield srv
    finally:
        srv.close()
