"""Metrics of one split (CMC, mAP, valid queries, CHI) and their aggregation over splits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mgat.data.fetch import sha256_file
from mgat.data.registry import dataset_info
from mgat.errors import DataError
from mgat.featurefile import load_features
from mgat.io import ensure_writable, read_json, write_json_atomic, write_text_atomic
from mgat.metrics.rank import rank_metrics, squared_euclidean
from mgat.provenance import file_digest, write_provenance

#: The CMC ranks the paper's tables report.
REPORTED_RANKS = (1, 5, 10, 20)
#: Metrics averaged over splits (fractions, except the CHI scores).
SCALARS = ("top1", "top5", "top10", "top20", "mAP", "chi_probe", "chi_gallery", "valid_queries")
#: Stage 2's attention at its start (mgat.engine.diagnostics), averaged like the metrics.
#: ``attention_identity`` is 1 where the attention was numerically the identity (X' = X).
ATTENTION_SCALARS = ("alpha_self_start", "rel_change_start", "attention_identity")
MODELS = ("baseline", "mgat", "gat")
#: The metrics each of those protocols reports.
PROTOCOL_SCALARS = ("top1", "top5", "top10", "top20", "mAP")


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
    ensure_writable(out)
    data = load_features(features)
    meta = data["meta"]
    distmat = squared_euclidean(data["query_features"], data["gallery_features"])
    in_query = data.get("gallery_in_query")
    if in_query is None:  # a features file of one gallery
        in_query = np.zeros(distmat.shape[1], dtype=bool)

    rankings: dict[tuple[bool, str], Any] = {}

    def rank(torchreid_gallery: bool, ap_form: str):
        """Rank once per (gallery, AP form); the configured protocol is usually one of the
        two that MARS and Market1501 also report."""
        key = (torchreid_gallery, ap_form)
        if key not in rankings:
            keep = ~in_query if torchreid_gallery else np.ones_like(in_query)
            rankings[key] = rank_metrics(
                distmat[:, keep],
                data["query_pids"],
                data["gallery_pids"][keep],
                data["query_camids"],
                data["gallery_camids"][keep],
                max_rank=max_rank,
                ap=ap_form,
            )
        return rankings[key]

    result = rank(meta["protocol"] == "torchreid", ap)
    protocols = {}
    if dataset_info(meta["dataset"]).kit_protocol:  # MARS and Market1501 (Tables 4 and 5)
        # "strictly adopt the original evaluation protocol provided by the dataset": the kit's
        # gallery and AP, beside torchreid's, from the same features.
        for name, torchreid_gallery, ap_form in (
            ("kit", False, "trapezoid"),
            ("torchreid", True, "noninterpolated"),
        ):
            protocols[name] = {
                **_reported(rank(torchreid_gallery, ap_form)),
                "num_gallery": int((~in_query).sum() if torchreid_gallery else in_query.size),
                "ap": ap_form,
            }
    cmc = [float(v) for v in result.cmc]
    record = {
        "dataset": meta["dataset"],
        "split": meta.get("run", meta["split"]),  # the run: a split, or a repeat of one
        "data_split": meta["split"],
        "model": model,
        "protocol": meta["protocol"],
        "ap": ap,
        "sampling": meta["sampling"],
        **_reported(result),
        "valid_queries": int(result.num_valid),
        "num_queries": int(result.num_queries),
        "num_gallery": int(meta["num_gallery"]),
        "chi_probe": meta["chi_query"],
        "chi_gallery": meta["chi_gallery"],
        **_attention_start(meta.get("attention")),
        "cmc": cmc,
    }
    if protocols:
        record["protocols"] = protocols
    record["provenance"] = {
        "features": str(features),
        "features_sha256": sha256_file(features),
        "extraction": meta.get("provenance"),
        "evaluation": {"max_rank": max_rank, "ap": ap},
    }
    write_json_atomic(out, record)
    return record


def _reported(result: Any) -> dict[str, float]:
    """The CMC ranks the tables report, and mAP, of one ranking."""
    cmc = result.cmc
    return {
        **{f"top{r}": float(cmc[min(r, len(cmc)) - 1]) for r in REPORTED_RANKS},
        "mAP": float(result.mAP),
    }


def _attention_start(diagnostics: dict[str, Any] | None) -> dict[str, Any]:
    """The stage-2 attention record of a model, None-valued for the baseline."""
    diagnostics = diagnostics or {}
    values = {key: diagnostics.get(key) for key in ATTENTION_SCALARS}
    if values["attention_identity"] is not None:
        values["attention_identity"] = float(values["attention_identity"])
    return values


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
    out_provenance: str | Path | None = None,
    manifest: str | Path | None = None,
) -> dict[str, Any]:
    """Mean and standard deviation over splits, per model, of every reported metric.

    With ``out_provenance``, also write the provenance record of the metrics: for every run
    its evaluation, features, model and splits digests, training settings and environments,
    and the dataset ``manifest``'s digest.
    """
    records = [
        read_json(path, "evaluation", "delete it and rerun (rule evaluate remakes it)")
        for path in evaluations
    ]
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
        # Runs of one split with different seeds (MARS, Market1501 with repeats > 1).
        "repeated_split": len({r.get("data_split", r["split"]) for r in records}) == 1
        and len({r["split"] for r in records}) > 1,
        "models": {},
        "cmc": {},
    }
    rows = []
    for model in models:
        mine = sorted((r for r in records if r["model"] == model), key=lambda r: r["split"])
        summary["models"][model] = {
            key: _mean_std([r.get(key) for r in mine]) for key in SCALARS + ATTENTION_SCALARS
        }
        curves = np.asarray([r["cmc"] for r in mine], dtype=np.float64)
        spread = curves.std(axis=0, ddof=1) if len(mine) > 1 else np.zeros(curves.shape[1])
        summary["cmc"][model] = {"mean": curves.mean(axis=0).tolist(), "std": spread.tolist()}
        for key, stats in summary["models"][model].items():
            rows.append({"dataset": first["dataset"], "model": model, "metric": key, **stats})
        for name in sorted({p for r in mine for p in r.get("protocols", {})}):
            given = [r["protocols"][name] for r in mine if name in r.get("protocols", {})]
            entry = {key: _mean_std([g[key] for g in given]) for key in PROTOCOL_SCALARS}
            summary.setdefault("protocols", {}).setdefault(name, {})[model] = entry
            for key, stats in entry.items():
                rows.append(
                    {"dataset": first["dataset"], "model": model, "metric": f"{name}:{key}",
                     **stats}
                )  # fmt: skip
    write_json_atomic(out_json, summary)
    write_text_atomic(out_csv, pd.DataFrame(rows).to_csv(index=False))
    if out_provenance is not None:
        write_provenance(
            out_provenance,
            outputs={"json": out_json, "csv": out_csv},
            inputs={"manifest": manifest} if manifest else {},
            runs=[
                {
                    "split": r["split"],
                    "model": r["model"],
                    **file_digest(path),
                    "made_from": r.get("provenance"),
                }
                for r, path in zip(records, evaluations, strict=True)
            ],
        )
    return summary
