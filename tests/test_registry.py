"""The dataset registry: one package per dataset, registered in one place.

The walk-through in docs/adding-a-dataset.md is run as written: its code blocks become a package
in a scratch folder, registered from here, on which ``mgat synth``, ``mgat data splits`` and
``mgat data summary`` run with no change to any module of mgat.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mgat.cli import main
from mgat.data import registry
from mgat.data.info import DatasetInfo
from mgat.errors import ConfigError
from tests.helpers import REPO

DOC = REPO / "docs" / "adding-a-dataset.md"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
BLOCK = re.compile(r"```python\n# file: src/mgat/data/(toyreid/\w+\.py)\n(.*?)```", re.DOTALL)


@pytest.fixture
def toyreid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The doc's ToyReID package, importable from a scratch folder and registered."""
    blocks = BLOCK.findall(DOC.read_text())
    assert sorted(name for name, _ in blocks) == [
        "toyreid/__init__.py",
        "toyreid/reader.py",
        "toyreid/synthetic.py",
    ]
    for name, code in blocks:
        (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / name).write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    import toyreid

    registry.register(toyreid.INFO)
    yield toyreid.INFO
    del registry.DATASETS["toyreid"]
    for module in [m for m in sys.modules if m.split(".")[0] == "toyreid"]:
        del sys.modules[module]


def test_a_dataset_added_as_the_doc_says_runs_synth_splits_and_summary(
    toyreid: DatasetInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, splits = tmp_path / "data", tmp_path / "toyreid.json"
    assert main(["synth", "toyreid", "--out", str(root), "--ids", "4"]) == 0
    images = sorted(p.name for p in (root / "toyreid" / "images").iterdir())
    assert len(images) == 8 * 2 * 2 and images[0] == "0001_c1_001.png"
    assert main(["data", "splits", "toyreid", "--root", str(root), "--out", str(splits)]) == 0
    record = json.loads(splits.read_text())
    assert record["splits"] == [{"train": [1, 3, 5, 7], "test": [2, 4, 6, 8]}]
    capsys.readouterr()
    command = ["data", "summary", "toyreid", "--root", str(root), "--splits", str(splits)]
    assert main(command) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train"] == {"ids": 4, "tracklets": 16, "images": 16}
    assert summary["query"] == summary["gallery"] == {"ids": 4, "tracklets": 8, "images": 8}
    # The shared machinery applies: limits from the spec, one-line errors, nothing left behind.
    assert main(["synth", "toyreid", "--out", str(tmp_path / "x"), "--ids", "1"]) == 1
    assert "ids=1 is invalid; need from 2 to 500" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_registry_names_errors_and_reregistration(toyreid: DatasetInfo) -> None:
    assert list(registry.DATASETS)[:4] == ["ilidsvid", "prid2011", "mars", "market1501"]
    with pytest.raises(ConfigError, match="unknown dataset 'cuhk03'; valid names: ilidsvid, "):
        registry.dataset_info("cuhk03")
    assert registry.register(toyreid) is toyreid  # the same facts again: a no-op
    clash = DatasetInfo(**{**vars(toyreid), "num_splits": 2})
    with pytest.raises(ConfigError, match="'toyreid' is already registered"):
        registry.register(clash)
    with pytest.raises(ValueError, match="lower-case"):
        DatasetInfo(**{**vars(toyreid), "name": "Toy-ReID"})


def test_facts_import_without_the_heavy_dependencies() -> None:
    """The workflow reads the registry in Snakemake's process, which may lack torch and numpy."""
    code = (
        "import sys; sys.path.insert(0, 'src'); from mgat.data.registry import DATASETS; "
        "heavy = {'numpy', 'torch', 'scipy', 'PIL', 'pandas', 'tqdm'} & set(sys.modules); "
        "print(sorted(heavy), list(DATASETS))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] ['ilidsvid', 'prid2011', 'mars', 'market1501']"


def test_the_schema_names_exactly_the_registered_datasets() -> None:
    """A dataset registered without its config entries (or the reverse) fails here, not in a
    user's run."""
    names = list(registry.DATASETS)
    props = yaml.safe_load(SCHEMA.read_text())["properties"]
    assert props["datasets"]["items"]["enum"] == names
    assert props["datasets"]["default"] == names
    assert props["sweep"]["properties"]["datasets"]["items"]["enum"] == names
    general = {"source", "root", "download", "synthetic"}
    assert sorted(set(props["data"]["properties"]) - general) == sorted(names)
    synthetic = props["data"]["properties"]["synthetic"]["properties"]
    assert sorted(set(synthetic) - {"seed"}) == sorted(names)
    assert sorted(props["splits_to_run"]["properties"]) == sorted(names)
    one_split = sorted(n for n, info in registry.DATASETS.items() if info.num_splits == 1)
    assert sorted(props["repeats"]["properties"]) == one_split
    for name, info in registry.DATASETS.items():
        assert props["splits_to_run"]["properties"][name]["maximum"] == info.num_splits
        placed = set(props["data"]["properties"][name]["properties"])
        assert set(info.placed_files) <= placed, name
