"""Training settings are checked where they enter: every field's type and range, missing and
unknown keys, a settings file that is not a mapping - each one line naming the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from mgat.cli import main
from mgat.engine.settings import StageSettings
from mgat.errors import ConfigError
from tests.helpers import REPO

BASE = {"epochs": 1, "lr_backbone": 0.1, "lr_head": 0.1, "lr_step": 1}
FIELDS = [f.name for f in dataclasses.fields(StageSettings)]


def refused(values: dict) -> str:
    with pytest.raises(ConfigError) as info:
        StageSettings.from_dict({**BASE, **values})
    return str(info.value)


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("value", [[1], {"a": 1}, object()], ids=["list", "mapping", "object"])
def test_every_field_refuses_a_wrong_type(name: str, value: object) -> None:
    """No field is left to a later traceback: each names itself, its rule and the fix."""
    message = refused({name: value})
    assert re.fullmatch(rf"{name} must be .*, got .*; fix {name} in the training settings", message)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"momentum": -0.5}, "momentum must be a number in [0, 1), got -0.5"),
        ({"momentum": 1}, "momentum must be a number in [0, 1), got 1"),
        ({"weight_decay": -1e-4}, "weight_decay must be a number >= 0, got -0.0001"),
        ({"of_weight": -1.0}, "of_weight must be a number >= 0, got -1.0"),
        ({"lr_decay": 0}, "lr_decay must be a number in (0, 1], got 0"),
        ({"lr_decay": 1.5}, "lr_decay must be a number in (0, 1], got 1.5"),
        ({"gamma": 0.0}, "gamma must be a positive number, got 0.0"),
        ({"lr_backbone": float("inf")}, "lr_backbone must be a positive number, got inf"),
        ({"momentum": float("nan")}, "momentum must be a number in [0, 1), got nan"),
        ({"epochs": 1.0}, "epochs must be an integer >= 1, got 1.0"),
        ({"epochs": True}, "epochs must be an integer >= 1, got True"),
        ({"epochs": None}, "epochs must be an integer >= 1, got None"),
        ({"lr_head": True}, "lr_head must be a positive number, got True"),
        ({"lr_head": None}, "lr_head must be a positive number, got None"),
        ({"batches_per_epoch": 2.5}, "batches_per_epoch must be null or >= 1 (an integer)"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"seed": 2**64}, "seed must be an integer from 0 to 2**64 - 1"),
        ({"flip": "false"}, "flip must be true or false, got 'false'"),
        ({"of_detach_target": 1}, "of_detach_target must be true or false, got 1"),
        ({"backbone": "resnet9"}, "backbone must be one of resnet18, "),
        ({"weights": None}, "weights must be imagenet, none or a state-dict file's path"),
        ({"bn": "eval"}, "bn must be one of train, frozen, got 'eval'"),
        (
            {"lr_head": "1e-6"},
            "lr_head must be a positive number, got '1e-6' (text: YAML reads 1e-6 as text, "
            "write 1.0e-6); fix lr_head in the training settings",
        ),
        ({"weight_decay": "0.0005"}, "got '0.0005' (text: write the number without quotes)"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(values: dict, message: str) -> None:
    assert message in refused(values)


def test_edges_of_the_ranges_are_accepted() -> None:
    settings = StageSettings.from_dict(
        {**BASE, "momentum": 0, "weight_decay": 0, "of_weight": 0, "lr_decay": 1, "lr_head": 1}
    )
    assert settings.lr_decay == 1 and settings.momentum == 0


def test_missing_keys_are_named() -> None:
    with pytest.raises(ConfigError) as info:
        StageSettings.from_dict({"epochs": 1, "lr_head": 0.1})
    assert str(info.value) == (
        "training settings lack required key(s) ['lr_backbone', 'lr_step']; add them "
        "(required: epochs, lr_backbone, lr_head, lr_step)"
    )


@pytest.mark.parametrize("values", [[1, 2], "epochs", 3, None])
def test_settings_that_are_not_a_mapping_are_refused(values: object) -> None:
    with pytest.raises(ConfigError, match="training settings must be a mapping of keys to values"):
        StageSettings.from_dict(values)  # type: ignore[arg-type]


def test_unknown_keys_of_any_type_are_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown training settings \[1, 'epoch'\]; valid: "):
        StageSettings.from_dict({**BASE, 1: 2, "epoch": 3})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]\n", "training settings must be a mapping of keys to values, got a list"),
        ("epochs: 1\nlr_head: 0.1\n", "lack required key(s) ['lr_backbone', 'lr_step']"),
        ("{epochs: 1, lr_backbone: 1e-3, lr_head: 0.1, lr_step: 1}", "YAML reads 1e-3 as text"),
    ],
)
def test_settings_file_faults_are_one_line(text: str, message: str, tmp_path: Path, capsys) -> None:
    """Through ``mgat train``: the settings are read before any data, so none is needed."""
    settings = tmp_path / "settings.yaml"
    settings.write_text(text)
    argv = ["train", "baseline", "market1501", "--root", str(tmp_path / "data")]
    argv += ["--splits", str(tmp_path / "splits.json"), "--settings", str(settings)]
    argv += ["--out", str(tmp_path / "m.pt"), "--metrics", str(tmp_path / "log.csv")]
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mgat: error: ") and message in lines[0]
    assert not (tmp_path / "m.pt").exists()


def _schema_fields() -> list[tuple[str, dict]]:
    """(field, schema) of every StageSettings field the workflow's schema bounds from below."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    train = schema["properties"]["train"]["properties"]
    sections = [train, train["baseline"]["properties"], train["graph"]["properties"]]
    named = [
        ({"lr": "lr_head"}.get(key, key), spec)  # stage 2's one rate is lr_head and lr_backbone
        for properties in sections
        for key, spec in properties.items()
    ]
    return [
        (f, spec)
        for f, spec in named
        if f in FIELDS and {"minimum", "exclusiveMinimum"} & set(spec)
    ]


def test_lower_bounds_agree_with_the_workflow_schema() -> None:
    """The schema refuses first in the workflow; the command line must draw the same line."""
    fields = _schema_fields()
    assert {field for field, _ in fields} >= {"epochs", "momentum", "weight_decay", "of_weight"}
    for field, spec in fields:
        step = 1 if "integer" in spec["type"] else 1e-3
        if "minimum" in spec:
            inside, outside = spec["minimum"], spec["minimum"] - step
        else:
            inside, outside = spec["exclusiveMinimum"] + step, spec["exclusiveMinimum"]
        StageSettings.from_dict({**BASE, field: inside})
        with pytest.raises(ConfigError, match=f"^{field} must be"):
            StageSettings.from_dict({**BASE, field: outside})
