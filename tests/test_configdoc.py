"""The configuration as users read it agrees with the schema the workflow validates against:
config/README.md is generated from it (``make config-doc``), and every key the README's
Configuration table names exists there with the default the README states."""

from __future__ import annotations

import fnmatch
import itertools
import re
from urllib.parse import urlparse

import pytest
import yaml

from mgat.configdoc import leaf_keys, render, resolve, yaml_value
from mgat.data import registry
from tests.helpers import REPO, md_tables

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
KEYS = dict(leaf_keys(SCHEMA))


def test_config_readme_is_generated_from_the_schema() -> None:
    text = (REPO / "config" / "README.md").read_text()
    assert text == render(SCHEMA), "config/README.md is stale: run make config-doc"


def test_config_readme_lists_every_key_with_its_type_default_and_description() -> None:
    """Read as a user reads it, the reference has one row per key, its default in YAML that
    reads back as the schema's value (``1.0e-6`` a number, not the text ``1e-6``)."""
    rows = {}
    for table in md_tables(render(SCHEMA)):
        assert table[0] == ["key", "type", "default", "description"]
        for key, kind, default, description in table[1:]:
            assert key not in rows, f"{key} listed twice"
            rows[key] = (kind, default, description)
    assert sorted(rows) == sorted(KEYS)
    for key, node in KEYS.items():
        kind, default, description = rows[key]
        if "default" in node:
            value = yaml.safe_load(default)
            assert value == node["default"] and type(value) is type(node["default"]), key
        else:
            assert default == "-", key
        assert description == " ".join(node.get("description", "").split()), key
        for name in node.get("enum", []):
            assert name in kind, key
    assert rows["train.graph.lr"][1] == "1.0e-6"
    assert rows["train.device"][0] == "string matching ^(auto|cpu|cuda(:[0-9]+)?)$"
    assert rows["splits_to_run.ilidsvid"][0] == "integer in [1, 10]"
    assert rows["train.baseline.momentum"][0] == "number in [0, 1)"
    assert rows["data.ilidsvid.sha256"][0] == "string matching ^[0-9a-fA-F]{64}$, or null"


@pytest.mark.parametrize("value", [1.0e-6, 2.5e-12, 1.0e20, 0.0005, 250, 0.1, True, None, "none"])
def test_defaults_are_written_as_yaml_reads_them(value: object) -> None:
    text = yaml_value(value)
    assert yaml.safe_load(text) == value and type(yaml.safe_load(text)) is type(value), text
    assert "e-0" not in text and "e+0" not in text


# --- the README's Configuration table -----------------------------------------------------------


def readme_rows() -> list[list[str]]:
    """The rows of the Configuration section's table, code spans kept in backticks."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("\n## Configuration\n") :]
    section = section[: section.index("\n## ", 1)]
    (table,) = md_tables(section, code="`")
    assert table[0] == ["key", "default", "meaning"]
    return table[1:]


def expand(cell: str) -> list[list[str]]:
    """The keys of a key cell, one list per code span: ``a.{b,c}`` is ``a.b`` and ``a.c``,
    ``a.*`` every key under ``a``; a span without a dot (``*_sha256``) is under the previous
    one's parent."""
    groups: list[list[str]] = []
    parent = ""
    for span in re.findall(r"`([^`]+)`", cell):
        pattern = span if "." in span else parent + span
        head = re.split(r"[{*]", pattern)[0]
        parent = head[: head.rfind(".") + 1]
        parts = re.split(r"(\{[^}]*\})", pattern)
        choices = [p[1:-1].split(",") if p.startswith("{") else [p] for p in parts]
        names = ["".join(chosen) for chosen in itertools.product(*choices)]
        for name in names:
            assert fnmatch.filter(KEYS, name), f"README names {name}, which the schema lacks"
        groups.append([key for name in names for key in fnmatch.filter(KEYS, name)])
    return groups


def split_top_level(cell: str) -> list[str]:
    """The comma-separated parts of a cell, commas inside (), [] and code spans left alone."""
    parts, depth, code, current = [], 0, False, ""
    for char in cell:
        code ^= char == "`"
        depth += (char in "([") - (char in ")]") if not code else 0
        if char == "," and depth == 0 and not code:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _paper_values(key: str) -> bool:
    """Every default whose description quotes the paper's value (``paper - 0.01``) is it."""
    for match in re.finditer(r"\(paper - ([0-9.e-]+)", KEYS[key].get("description", "")):
        assert float(match.group(1)) == KEYS[key]["default"], key
    return True


#: The README's words for a default, and what each says of the schema's.
WORDS = {
    "none": lambda key: KEYS[key]["default"] is None,
    "default place": lambda key: KEYS[key]["default"] is None,
    "default places": lambda key: KEYS[key]["default"] is None,
    "all four": lambda key: KEYS[key]["default"] == list(registry.DATASETS),
    "QMUL URL": lambda key: urlparse(KEYS[key]["default"]).hostname.endswith(".qmul.ac.uk"),
    "the paper's stage 1": _paper_values,
    "the paper's stage 2": _paper_values,
    # The sweep's grid has no default: a parameter left out is the train.graph value.
    "the `train.graph` value": lambda key: "default" not in KEYS[key],
}


def agrees(key: str, stated: str) -> bool:
    if stated.startswith("`") and stated.endswith("`"):
        return yaml.safe_load(stated.strip("`")) == KEYS[key].get("default", ...)
    if stated in WORDS:
        return WORDS[stated](key)
    value = yaml.safe_load(stated.split(":")[0])  # "null: 12" - null, which means 12
    assert isinstance(value, int | float | bool | None), f"{key}: unknown wording {stated!r}"
    return value == KEYS[key].get("default", ...)


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: row[0].replace("`", ""))
def test_readme_configuration_table_agrees_with_the_schema(row: list[str]) -> None:
    keys, stated, _ = row
    groups = expand(keys)
    values = split_top_level(stated)
    flat = [key for group in groups for key in group]
    if len(values) == len(flat):
        pairs = list(zip(flat, values, strict=True))
    elif len(values) == len(groups):
        pairs = [(key, v) for group, v in zip(groups, values, strict=True) for key in group]
    else:
        assert len(values) == 1, f"{keys}: {len(values)} defaults for {len(flat)} keys"
        pairs = [(key, values[0]) for key in flat]
    for key, value in pairs:
        default = KEYS[key].get("default", "no default")
        assert agrees(key, value), f"README: {key} = {value!r}; schema: {default!r}"


def test_readme_states_the_synthetic_defaults_of_the_registry() -> None:
    """The README spells out what null means for the synthetic sizes: each dataset's own."""
    (row,) = [r for r in readme_rows() if r[0].startswith("`data.synthetic.{")]
    stated = dict(
        (label, tuple(int(n) for n in numbers.split(", ")))
        for label, numbers in re.findall(r"([\w-]+) (\d+, \d+, \d+)", row[1])
    )
    labels = {info.label: info.synthetic for info in registry.DATASETS.values()}
    assert stated == {
        label: (spec.ids, *spec.frames) for label, spec in labels.items() if spec.frames
    }
    (market,) = [r for r in readme_rows() if r[0] == "`data.synthetic.market1501.ids`"]
    assert market[1] == f"null: {registry.DATASETS['market1501'].synthetic.ids}"


def test_ref_keys_take_their_own_description() -> None:
    """A key sharing a definition (a path, a checksum) keeps its own description beside it."""
    archive = SCHEMA["properties"]["data"]["properties"]["ilidsvid"]["properties"]["archive"]
    assert resolve(archive, SCHEMA)["type"] == ["string", "null"]
    assert resolve(archive, SCHEMA)["description"].startswith("iLIDS-VID.tar; null - ")
