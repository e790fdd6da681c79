"""Trained models on disk: the weights plus what is needed to rebuild the network."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import torch

from mgat import __version__
from mgat.errors import DataError
from mgat.models.reid import ReidNet


def model_record(model: ReidNet, **meta: Any) -> dict[str, Any]:
    """A saveable record of ``model``: CPU weights, architecture and provenance."""
    settings = meta.get("settings")
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        meta["settings"] = dataclasses.asdict(settings)
    return {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "backbone": model.backbone_name,
        "num_classes": model.num_classes,
        "mgat_version": __version__,
        **meta,
    }


def load_saved_model(path: str | Path) -> tuple[ReidNet, dict[str, Any]]:
    """Rebuild a ReidNet saved by the training stages (on the CPU, random init skipped), and
    its record without the weights (stage, settings, diagnostics, ...)."""
    path = Path(path)
    try:
        record = torch.load(path, map_location="cpu", weights_only=False)
        model = ReidNet(record["backbone"], num_classes=record["num_classes"], weights="none")
        model.load_state_dict(record.pop("state_dict"))
    except FileNotFoundError:
        raise DataError(
            f"model {path} not found; train it first (mgat train, or rules train_*)"
        ) from None
    except (
        KeyError,
        RuntimeError,
        EOFError,
        TypeError,
        ValueError,
        AttributeError,
        ImportError,
        pickle.UnpicklingError,
    ) as err:
        raise DataError(
            f"{path} is not a model saved by mgat ({type(err).__name__}); delete it and "
            "retrain it (rules train_*)"
        ) from err
    return model, record


def load_reid_model(path: str | Path) -> ReidNet:
    """Rebuild a ReidNet saved by the training stages (on the CPU, random init skipped)."""
    return load_saved_model(path)[0]
