"""The hyperparameters of one training stage, checked where they enter (the command line's
``--settings`` file, the workflow's validated config, the Python API).

Every field is checked for its type and range here, so a bad value is one line naming the key
rather than a traceback from the dataclass, YAML or torch's optimiser later. The ranges are those
of the workflow's schema (workflow/schemas/config.schema.yaml, ``train``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mgat.errors import ConfigError
from mgat.models.backbone import BACKBONES
from mgat.vocabulary import BN_MODES, GRAPH_FEATURES, LOSS_REDUCTIONS, OF_LOSS_FORMS

#: Integer fields and their smallest value.
_INTEGERS = {
    "epochs": 1,
    "lr_step": 1,
    "persons_per_batch": 2,
    "images_per_person": 1,
    "height": 16,
    "width": 16,
    "seed": 0,
}
#: torch.manual_seed takes seeds below 2**64.
_SEED_LIMIT = 2**64
#: Number fields: the range in words and the test (finite values only).
_NUMBERS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "lr_backbone": ("a positive number", lambda x: x > 0),
    "lr_head": ("a positive number", lambda x: x > 0),
    "lr_decay": ("a number in (0, 1]", lambda x: 0 < x <= 1),
    "momentum": ("a number in [0, 1)", lambda x: 0 <= x < 1),
    "weight_decay": ("a number >= 0", lambda x: x >= 0),
    "gamma": ("a positive number", lambda x: x > 0),
    "of_weight": ("a number >= 0", lambda x: x >= 0),
}
_BOOLEANS = ("flip", "of_detach_target", "cross_camera")
_CHOICES = {
    "backbone": tuple(BACKBONES),
    "features": GRAPH_FEATURES,
    "of_loss": OF_LOSS_FORMS,
    "bn": BN_MODES,
    "loss_reduction": LOSS_REDUCTIONS,
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_hint(value: object) -> str:
    """Why a number arrived as text: YAML 1.1 reads ``1e-6`` (no dot) as a string."""
    if not isinstance(value, str):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    mantissa, e, exponent = value.strip().lower().partition("e")
    if e and "." not in mantissa:
        return f" (text: YAML reads {value} as text, write {mantissa}.0e{exponent})"
    return " (text: write the number without quotes)"


def _refuse(name: str, rule: str, value: object) -> ConfigError:
    return ConfigError(
        f"{name} must be {rule}, got {value!r}{_text_hint(value)}; fix {name} in the training "
        "settings"
    )


@dataclass(frozen=True)
class StageSettings:
    """Hyperparameters of one stage; the workflow fills them from the validated config."""

    epochs: int
    lr_backbone: float
    lr_head: float
    lr_step: int
    lr_decay: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    persons_per_batch: int = 8
    images_per_person: int = 1
    batches_per_epoch: int | None = None
    backbone: str = "resnet50"
    weights: str = "imagenet"
    height: int = 256
    width: int = 128
    flip: bool = True
    gamma: float = 250.0
    features: str = "pooled"
    of_loss: str = "mse"
    of_weight: float = 1.0
    of_detach_target: bool = True
    bn: str = "train"
    loss_reduction: str = "mean"
    cross_camera: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse values no training can run with (the workflow's schema catches them first;
        this guards the command line and the Python API)."""
        for name, minimum in _INTEGERS.items():
            value = getattr(self, name)
            if not _is_int(value) or value < minimum:
                raise _refuse(name, f"an integer >= {minimum}", value)
        if self.seed >= _SEED_LIMIT:
            raise _refuse("seed", "an integer from 0 to 2**64 - 1", self.seed)
        value = self.batches_per_epoch
        if value is not None and (not _is_int(value) or value < 1):
            raise _refuse("batches_per_epoch", "null or >= 1 (an integer)", value)
        for name, (rule, test) in _NUMBERS.items():
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or not test(value):
                raise _refuse(name, rule, value)
        for name in _BOOLEANS:
            if not isinstance(getattr(self, name), bool):
                raise _refuse(name, "true or false", getattr(self, name))
        for name, valid in _CHOICES.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value not in valid:
                raise _refuse(name, f"one of {', '.join(valid)}", value)
        if not isinstance(self.weights, str) or not self.weights:  # a missing file: build_backbone
            raise _refuse("weights", "imagenet, none or a state-dict file's path", self.weights)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> StageSettings:
        """Settings from a mapping (the ``--settings`` YAML, the workflow's params): unknown and
        missing keys are refused by name, not left to the dataclass's TypeError."""
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"training settings must be a mapping of keys to values, got a "
                f"{type(values).__name__}; write one `key: value` line per setting"
            )
        fields = dataclasses.fields(cls)
        known = {f.name for f in fields}
        unknown = sorted((key for key in values if key not in known), key=str)
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}; valid: {sorted(known)}")
        required = [f.name for f in fields if f.default is dataclasses.MISSING]
        missing = [name for name in required if name not in values]
        if missing:
            raise ConfigError(
                f"training settings lack required key(s) {missing}; add them (required: "
                f"{', '.join(required)})"
            )
        return cls(**values)
