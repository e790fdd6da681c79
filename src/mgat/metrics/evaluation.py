"""Metrics of one split (CMC, mAP, valid queries, CHI) and their aggregation over splits."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mgat.errors import DataError
from mgat.features import load_features
from mgat.io import write_json_atomic, write_text_atomic
from mgat.metrics.rank import rank_metrics, squared_euclidean

#: The CMC ranks the paper's tables report.
REPORTED_RANKS = (1, 5, 10, 20)
#: Metrics averaged over splits (fractions, except the CHI scores).
SCALARS = ("top1", "top5", "top10", "top20", "mAP", "chi_probe", "chi_gallery", "valid_queries")
MODELS = ("baseline", "mgat", "gat")


def evaluate_split(
    features: str | Path,
    out: str | Path,
    *,
    model: str,
    max_rank: int = 50,
    ap: str = "noninterpolated",
) -> dict[str, Any]:
    """Rank the gallery for every query of one features file and write the metrics JSON.

    Distances are squared Euclidean in float32; same-person same-camera gallery items are
    removed per query; queries without a true match are skipped (torchreid's conventions).
    """
    data = load_features(features)
    meta = data["meta"]
    distmat = squared_euclidean(data["query_features"], data["gallery_features"])
    result = rank_metrics(
        distmat,
        data["query_pids"],
        data["gallery_pids"],
        data["query_camids"],
        data["gallery_camids"],
        max_rank=max_rank,
        ap=ap,
    )
    cmc = [float(v) for v in result.cmc]
    record = {
        "dataset": meta["dataset"],
        "split": meta["split"],
        "model": model,
        "protocol": meta["protocol"],
        "ap": ap,
        "sampling": meta["sampling"],
        **{f"top{r}": cmc[min(r, len(cmc)) - 1] for r in REPORTED_RANKS},
        "mAP": float(result.mAP),
        "valid_queries": int(result.num_valid),
        "num_queries": int(result.num_queries),
        "num_gallery": int(meta["num_gallery"]),
        "chi_probe": meta["chi_query"],
        "chi_gallery": meta["chi_gallery"],
        "cmc": cmc,
    }
    write_json_atomic(out, record)
    return record


def _mean_std(values: Sequence[float | None]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for a single split) of unrounded values."""
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if array.size == 0:
        return {"mean": math.nan, "std": math.nan, "n": 0}
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "n": int(array.size)}


def aggregate_splits(
    evaluations: Sequence[str | Path],
    out_json: str | Path,
    out_csv: str | Path,
    *,
    data_source: str,
) -> dict[str, Any]:
    """Mean and standard deviation over splits, per model, of every reported metric."""
    records = [json.loads(Path(path).read_text()) for path in evaluations]
    if not records:
        raise DataError("nothing to aggregate: no evaluation files were given")
    first = records[0]
    for record in records:
        for key in ("dataset", "protocol", "ap"):
            if record[key] != first[key]:
                raise DataError(
                    f"evaluations disagree on {key} ({record[key]!r} vs {first[key]!r}); "
                    "rerun them with one configuration"
                )
    models = sorted({r["model"] for r in records}, key=MODELS.index)
    summary: dict[str, Any] = {
        "dataset": first["dataset"],
        "data_source": data_source,
        "protocol": first["protocol"],
        "ap": first["ap"],
        "splits": sorted({r["split"] for r in records}),
        "models": {},
        "cmc": {},
    }
    rows = []
    for model in models:
        mine = sorted((r for r in records if r["model"] == model), key=lambda r: r["split"])
        summary["models"][model] = {key: _mean_std([r[key] for r in mine]) for key in SCALARS}
        curves = np.asarray([r["cmc"] for r in mine], dtype=np.float64)
        spread = curves.std(axis=0, ddof=1) if len(mine) > 1 else np.zeros(curves.shape[1])
        summary["cmc"][model] = {"mean": curves.mean(axis=0).tolist(), "std": spread.tolist()}
        for key, stats in summary["models"][model].items():
            rows.append({"dataset": first["dataset"], "model": model, "metric": key, **stats})
    write_json_atomic(out_json, summary)
    write_text_atomic(out_csv, pd.DataFrame(rows).to_csv(index=False))
    return summary
