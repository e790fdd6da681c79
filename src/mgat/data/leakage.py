"""Whether a model has seen the persons it is tested on.

The splits of one dataset share persons across them: split 3's training persons are test
persons of split 0. Testing a model on a split other than the one it was trained on therefore
scores persons it has learnt, and must never happen unseen. Testing on another dataset is a
cross-dataset experiment, allowed and labelled as such.
"""

from __future__ import annotations

from typing import Any

from mgat.errors import ConfigError

#: How a model relates to the split it is tested on (``trained_on.relation`` in the records).
SAME_SPLIT = "same split"
OTHER_SPLIT = "other split"
CROSS_DATASET = "cross-dataset"
UNKNOWN = "unknown"

ALLOW_FLAG = "--allow-other-split (Python: allow_other_split=True)"


def trained_on(
    saved: dict[str, Any],
    *,
    dataset: str,
    split: int,
    splits_sha256: str,
    what: str,
    allow_other_split: bool = False,
) -> dict[str, Any]:
    """The ``trained_on`` record of a model (``saved``: its record without the weights) tested
    on ``split`` of ``dataset``; a model trained on another split of the same dataset (or with
    another splits file of it) is refused unless ``allow_other_split``. ``what`` names the model
    in the message."""
    training = saved.get("provenance") or {}
    record: dict[str, Any] = {
        "dataset": saved.get("dataset"),
        "split": saved.get("split"),
        "splits_sha256": training.get("splits_sha256"),
    }
    if record["dataset"] is None or record["split"] is None:
        return {**record, "relation": UNKNOWN}
    if record["dataset"] != dataset:
        return {**record, "relation": CROSS_DATASET}
    other_file = record["splits_sha256"] not in (None, splits_sha256)
    if record["split"] == split and not other_file:
        return {**record, "relation": SAME_SPLIT}
    if not allow_other_split:
        trained = (
            f"with another splits file of {dataset} (SHA-256 {record['splits_sha256'][:12]}, "
            f"not {splits_sha256[:12]})"
            if other_file
            else f"on split {record['split']} of {dataset}"
        )
        raise ConfigError(
            f"{what} was trained {trained}, whose training persons are test persons of split "
            f"{split}: its scores would be leaked; use the model of split {split}, or pass "
            f"{ALLOW_FLAG} if you mean it"
        )
    return {**record, "relation": OTHER_SPLIT}


def check_features(meta: dict[str, Any], path: str, allow_other_split: bool = False) -> None:
    """Refuse to evaluate a features file extracted with a model of another split (allowed
    then, explicitly), unless allowed again here."""
    relation = (meta.get("trained_on") or {}).get("relation")
    if relation == OTHER_SPLIT and not allow_other_split:
        trained = meta["trained_on"]
        raise ConfigError(
            f"features file {path} was extracted with a model trained on split "
            f"{trained['split']} of {trained['dataset']}, tested on split {meta['split']}: "
            f"its scores would be leaked; pass {ALLOW_FLAG} if you mean it"
        )
