"""Metrics of one split (CMC, mAP, valid queries, CHI) and their aggregation over splits, with a
paired bootstrap confidence interval on every difference the tables print."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np
import pandas as pd

from mgat.data.leakage import check_features
from mgat.data.registry import dataset_info
from mgat.digest import sha256_file
from mgat.errors import DataError
from mgat.featurefile import load_features
from mgat.io import (
    check_outputs,
    ensure_writable,
    read_json,
    write_json_atomic,
    write_text_atomic,
)
from mgat.metrics.bootstrap import paired_difference_ci
from mgat.metrics.rank import (
    APForm,
    Average,
    RankResult,
    TieRule,
    rank_metrics,
    squared_euclidean,
)
from mgat.provenance import device_name, file_digest, write_provenance
from mgat.vocabulary import (
    DEFAULT_AP,
    DEFAULT_FEATURE,
    DEFAULT_MAX_RANK,
    DEFAULT_RERANK_K1,
    DEFAULT_RERANK_K2,
    DEFAULT_RERANK_LAMBDA,
    DIFFERENCES,
    MODELS,
    MOVEMENT_COLUMNS,
    STAGES,
    TEST_FEATURES,
    reranked,
)

if TYPE_CHECKING:
    import torch

#: The CMC ranks the paper's tables report.
REPORTED_RANKS = (1, 5, 10, 20)
#: Stage 2's attention at its start, as each run's training recorded it (mgat.engine.
#: diagnostics; ``attention_identity`` is 1 where it was numerically the identity, X' = X; the
#: mean row sum of the attention applied), None for the baseline and the control.
ATTENTION_START = ("alpha_self_start", "rel_change_start", "row_sum_start", "attention_identity")
#: What each run's training recorded, averaged like the metrics: the attention at the start of
#: stage 2 and how far the stage moved the network by its end.
TRAINING_SCALARS = (*ATTENTION_START, *MOVEMENT_COLUMNS)
#: The metrics each protocol reports (MARS and Market1501 report two, the kit's and torchreid's).
PROTOCOL_SCALARS = ("top1", "top5", "top10", "top20", "mAP")
#: The metrics recorded for each test feature.
FEATURE_SCALARS = (*PROTOCOL_SCALARS, "chi_probe", "chi_gallery")
#: Metrics averaged over splits (fractions, except the CHI scores).
SCALARS = (*FEATURE_SCALARS, "valid_queries")
#: The metrics whose differences between models carry a confidence interval.
DIFFERENCE_METRICS = ("top1", "mAP")
#: Seed and size of the bootstrap behind every interval, so a rerun gives the same interval.
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 10_000


class View(NamedTuple):
    """One way of ranking a features file: its gallery and rules.

    ``kit_gallery``: the gallery the dataset's kit uses (MARS: the queries too); ``ap``: the AP
    form; ``ties``: torchreid's argsort order or the kits' stable sort (the lower gallery index
    first); ``average``: over the queries with a true match (torchreid) or over all of them, a
    query without one counting 0 (the kits).
    """

    kit_gallery: bool
    ap: APForm
    ties: TieRule
    average: Average


#: The protocols of the datasets that have a kit of their own (MARS, Market1501), reported
#: beside each other from one extraction (Tables 4 and 5).
KIT_VIEWS = {
    "kit": View(kit_gallery=True, ap="trapezoid", ties="stable", average="all"),
    "torchreid": View(kit_gallery=False, ap="noninterpolated", ties="torchreid", average="valid"),
}
#: The name of the configured protocol's view where a dataset has no kit protocol.
REPORTED = "reported"


def _queries_digest(data: dict[str, Any]) -> str:
    """What pairs two evaluations query by query: the queries' paths and ids, in order."""
    digest = hashlib.sha256()
    for path, pid in zip(data["query_paths"].tolist(), data["query_pids"].tolist(), strict=True):
        digest.update(f"{path}\t{pid}\n".encode())
    return digest.hexdigest()


class Rerank(NamedTuple):
    """k-reciprocal re-ranking's parameters (``mgat.metrics.rerank``)."""

    k1: int = DEFAULT_RERANK_K1
    k2: int = DEFAULT_RERANK_K2
    lambda_value: float = DEFAULT_RERANK_LAMBDA

    @classmethod
    def from_config(cls, values: dict[str, Any]) -> Rerank | None:
        """The workflow's ``evaluation.rerank`` (validated by its schema); None if disabled."""
        if not values.get("enabled", True):
            return None
        return cls(int(values["k1"]), int(values["k2"]), float(values["lambda"]))


def evaluate_split(
    features: str | Path,
    out: str | Path,
    *,
    model: str,
    max_rank: int = DEFAULT_MAX_RANK,
    ap: str = DEFAULT_AP,
    feature: str = DEFAULT_FEATURE,
    rerank: Rerank | None = None,
    device: str = "auto",
    allow_other_split: bool = False,
) -> dict[str, Any]:
    """Rank the gallery for every query of one features file and write the metrics JSON.

    Distances are squared Euclidean in float32; same-person same-camera gallery items are
    removed per query; queries without a true match are skipped (torchreid's conventions), except
    under the kit protocol of MARS and Market1501, which follows the kits. Both test features
    are scored (``features``); the record's metrics are those of ``feature``. ``per_query``
    keeps each query's AP and first-hit rank for the paired bootstrap of the aggregation.
    With ``rerank``, the record's ``reranked`` holds the same metrics of ``feature`` after
    k-reciprocal re-ranking (computed on ``device``) of each view's gallery: the aggregation
    reports them as the model ``<model>+rerank``.
    Features of a model trained on another split are refused unless ``allow_other_split``
    (``mgat.data.leakage``); the record's ``trained_on`` says how model and split relate.
    """
    if feature not in TEST_FEATURES:
        raise ValueError(f"unknown test feature {feature!r}; use one of {TEST_FEATURES}")
    check_outputs({"metrics output": out}, {"features file": features})
    if rerank is not None:
        from mgat.engine.device import resolve_device  # torch: only where re-ranking runs

        target = resolve_device(device)  # an absent device is refused before any work
    ensure_writable(out)
    data = load_features(features)
    meta = data["meta"]
    check_features(meta, str(features), allow_other_split)
    configured = View(
        kit_gallery=meta["protocol"] != "torchreid",
        ap=cast(APForm, ap),  # rank_metrics refuses an unknown form
        ties="torchreid",
        average="valid",
    )
    views = KIT_VIEWS if dataset_info(meta["dataset"]).kit_protocol else {REPORTED: configured}
    rankings = _Rankings(data, max_rank)
    for kind in TEST_FEATURES:
        rankings.add_distances(kind, kind, squared_euclidean)
    chi = meta["chi"]
    by_feature = {
        kind: {
            **_reported(rankings.rank(kind, configured)),
            "chi_probe": chi[kind]["query"],
            "chi_gallery": chi[kind]["gallery"],
        }
        for kind in TEST_FEATURES
    }
    record = {
        "dataset": meta["dataset"],
        "split": meta.get("run", meta["split"]),  # the run: a split, or a repeat of one
        "data_split": meta["split"],
        "model": model,
        "protocol": meta["protocol"],
        "ap": ap,
        "feature": feature,
        "sampling": meta["sampling"],
        "trained_on": meta.get("trained_on"),
        **_ranked_metrics(rankings, feature, configured, views),
        "num_gallery": int(meta["num_gallery"]),
        "chi_probe": chi[feature]["query"],
        "chi_gallery": chi[feature]["gallery"],
        **training_record(meta.get("diagnostics")),
        "features": by_feature,
        "queries_sha256": _queries_digest(data),
    }
    if rerank is not None:
        reranked = RERANKED_FEATURE.format(feature)
        rankings.add_distances(reranked, feature, _reranker(rerank, target))
        record["reranked"] = {
            **_ranked_metrics(rankings, reranked, configured, views),
            "rerank": {"k1": rerank.k1, "k2": rerank.k2, "lambda": rerank.lambda_value},
            "device": device_name(target),  # float rounding differs between devices
        }
    record["provenance"] = {
        "features": str(features),
        "features_sha256": sha256_file(features),
        "extraction": meta.get("provenance"),
        "evaluation": {
            "max_rank": max_rank,
            "ap": ap,
            "feature": feature,
            "rerank": None if rerank is None else rerank._asdict(),
        },
    }
    write_json_atomic(out, record)
    return record


#: The distances of a re-ranked test feature, beside the feature's own.
RERANKED_FEATURE = "{}+rerank"
Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _reranker(params: Rerank, device: torch.device) -> Distance:
    from mgat.metrics.rerank import rerank_distance

    def distance(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        return rerank_distance(
            query,
            gallery,
            k1=params.k1,
            k2=params.k2,
            lambda_value=params.lambda_value,
            device=device,
        )

    return distance


class _Rankings:
    """The rankings of one features file, each computed once per (distances, view): a view's
    gallery is the kit's (all items) or torchreid's (without the queries, MARS), and re-ranking
    depends on the gallery it ranks, so its distances are computed per gallery."""

    def __init__(self, data: dict[str, Any], max_rank: int) -> None:
        self.data = data
        self.max_rank = max_rank
        self.in_query = data["gallery_in_query"]
        self.distance: dict[str, Distance] = {}
        self.features: dict[str, str] = {}
        self._matrices: dict[tuple[str, bool], np.ndarray] = {}
        self._ranked: dict[tuple[str, View], RankResult] = {}

    def add_distances(self, name: str, kind: str, distance: Distance) -> None:
        """Name a distance between the query and gallery features of test feature ``kind``."""
        self.distance[name] = distance
        self.features[name] = kind

    def keep(self, view: View) -> np.ndarray:
        """The gallery items the view ranks."""
        return np.ones_like(self.in_query) if view.kit_gallery else ~self.in_query

    def _matrix(self, name: str, view: View) -> np.ndarray:
        """[Q, G'] distances over the view's gallery: a plain distance once over the whole
        gallery, then sliced; a re-ranked one per gallery, since it depends on the gallery."""
        keep = self.keep(view)
        whole = name in TEST_FEATURES
        key = (name, True if whole else bool(keep.all()))
        if key not in self._matrices:
            kind = self.features[name]
            gallery = self.data[f"gallery_features_{kind}"]
            query = self.data[f"query_features_{kind}"]
            self._matrices[key] = self.distance[name](query, gallery if whole else gallery[keep])
        return self._matrices[key][:, keep] if whole else self._matrices[key]

    def rank(self, name: str, view: View) -> RankResult:
        if (name, view) not in self._ranked:
            keep = self.keep(view)
            self._ranked[name, view] = rank_metrics(
                self._matrix(name, view),
                self.data["query_pids"],
                self.data["gallery_pids"][keep],
                self.data["query_camids"],
                self.data["gallery_camids"][keep],
                max_rank=self.max_rank,
                ap=view.ap,
                ties=view.ties,
                average=view.average,
            )
        return self._ranked[name, view]


def _ranked_metrics(
    rankings: _Rankings, name: str, configured: View, views: dict[str, View]
) -> dict[str, Any]:
    """One set of distances' metrics as a record holds them: the configured protocol's figures
    and CMC, each view's per-query AP and first-hit rank, and (MARS, Market1501) the kit's and
    torchreid's protocols beside each other."""
    result = rankings.rank(name, configured)
    out: dict[str, Any] = {
        **_reported(result),
        "valid_queries": int(result.num_valid),
        "num_queries": int(result.num_queries),
        "cmc": [float(v) for v in result.cmc],
        "per_query": {},
    }
    protocols = {}
    for view_name, view in views.items():
        ranked = rankings.rank(name, view)
        out["per_query"][view_name] = {
            "average": view.average,
            "first_rank": ranked.first_rank.tolist(),
            "ap": np.nan_to_num(ranked.ap, nan=0.0).tolist(),
        }
        if view_name == REPORTED:
            continue
        # "strictly adopt the original evaluation protocol provided by the dataset": the kit's
        # gallery, AP, tie order and average, beside torchreid's, from the same features.
        protocols[view_name] = {
            **_reported(ranked),
            "valid_queries": int(ranked.num_valid),
            "num_queries": int(ranked.num_queries),
            "num_gallery": int(rankings.keep(view).sum()),
            **view._asdict(),
        }
    if protocols:
        out["protocols"] = protocols
    return out


def _reported(result: Any) -> dict[str, float]:
    """The CMC ranks the tables report, and mAP, of one ranking."""
    cmc = result.cmc
    return {
        **{f"top{r}": float(cmc[min(r, len(cmc)) - 1]) for r in REPORTED_RANKS},
        "mAP": float(result.mAP),
    }


def training_record(diagnostics: dict[str, Any] | None) -> dict[str, Any]:
    """A model's training diagnostics as the evaluation records them: stage 2's attention at
    its start (None for the baseline and the control) and the movement at the end of training
    (None for models saved without a history)."""
    diagnostics = diagnostics or {}
    history = diagnostics.get("history") or [{}]
    values: dict[str, Any] = {
        "alpha_self_start": diagnostics.get("alpha_self_start"),
        "rel_change_start": diagnostics.get("rel_change_start"),
        "row_sum_start": history[0].get("row_sum"),
        "attention_identity": diagnostics.get("attention_identity"),
    }
    if values["attention_identity"] is not None:
        values["attention_identity"] = float(values["attention_identity"])
    for key in MOVEMENT_COLUMNS:
        values[key] = history[-1].get(key)
    return values


def mean_std(values: Sequence[float | None]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for a single split) of unrounded values, and how
    many there were (None values left out)."""
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
    """Mean and standard deviation over splits, per model, of every reported metric, and the
    differences between models with their paired bootstrap 95% confidence intervals.

    With ``out_provenance``, also write the provenance record of the metrics: for every run
    its evaluation, features, model and splits digests, training settings and environments,
    and the dataset ``manifest``'s digest.
    """
    check_outputs(
        {"metrics JSON": out_json, "metrics CSV": out_csv, "provenance": out_provenance},
        {**{f"evaluation {path}": path for path in evaluations}, "manifest": manifest},
    )
    records = [
        read_json(path, "evaluation", "delete it and rerun (rule evaluate remakes it)")
        for path in evaluations
    ]
    if not records:
        raise DataError("nothing to aggregate: no evaluation files were given")
    first = records[0]
    for record in records:
        for key in ("dataset", "protocol", "ap", "feature"):
            if record.get(key) != first.get(key):
                raise DataError(
                    f"evaluations disagree on {key} ({record.get(key)!r} vs {first.get(key)!r});"
                    " rerun them with one configuration"
                )
    unknown = sorted({r["model"] for r in records} - set(STAGES))
    if unknown:
        raise DataError(f"evaluations of unknown models {unknown}; known: {', '.join(STAGES)}")
    runs = records
    records = [*records, *(_reranked_run(r) for r in records if r.get("reranked"))]
    summary: dict[str, Any] = {
        "dataset": first["dataset"],
        "data_source": data_source,
        "protocol": first["protocol"],
        "ap": first["ap"],
        "feature": first.get("feature"),
        "splits": sorted({r["split"] for r in records}),
        # Runs of one split with different seeds (MARS, Market1501 with repeats > 1).
        "repeated_split": len({r.get("data_split", r["split"]) for r in records}) == 1
        and len({r["split"] for r in records}) > 1,
        "models": {},
        "features": {},
        "cmc": {},
    }
    by_model = {
        model: sorted((r for r in records if r["model"] == model), key=lambda r: r["split"])
        for model in sorted({r["model"] for r in records}, key=MODELS.index)
    }
    entries = []  # (model, CSV prefix, {metric: mean/std/n})
    for model, mine in by_model.items():
        entries += _summarise_model(summary, model, mine)
    summary["differences"] = differences(by_model)
    rows = [
        {"dataset": first["dataset"], "model": model, "metric": f"{prefix}{key}", **stats}
        for model, prefix, entry in entries
        for key, stats in entry.items()
    ]
    rows += _difference_rows(first["dataset"], summary["differences"])
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
                for r, path in zip(runs, evaluations, strict=True)
            ],
        )
    return summary


def _summarise_model(
    summary: dict[str, Any], model: str, mine: list[dict[str, Any]]
) -> list[tuple[str, str, dict[str, Any]]]:
    """Add one model's means and stds over its runs to ``summary``: the reported metrics, the
    CMC curve, each test feature's and each protocol's figures. Returns what the CSV lists, as
    (model, metric prefix, entry)."""
    summary["models"][model] = {
        key: mean_std([r.get(key) for r in mine]) for key in SCALARS + TRAINING_SCALARS
    }
    listed = [(model, "", summary["models"][model])]
    curves = np.asarray([r["cmc"] for r in mine], dtype=np.float64)
    spread = curves.std(axis=0, ddof=1) if len(mine) > 1 else np.zeros(curves.shape[1])
    summary["cmc"][model] = {"mean": curves.mean(axis=0).tolist(), "std": spread.tolist()}
    kinds = sorted({k for r in mine for k in r.get("features", {})}, key=TEST_FEATURES.index)
    for kind in kinds:
        given = [r["features"][kind] for r in mine if kind in r.get("features", {})]
        entry = {key: mean_std([g.get(key) for g in given]) for key in FEATURE_SCALARS}
        summary["features"].setdefault(kind, {})[model] = entry
        listed.append((model, f"feature:{kind}:", entry))
    for name in sorted({p for r in mine for p in r.get("protocols", {})}):
        given = [r["protocols"][name] for r in mine if name in r.get("protocols", {})]
        keys = (*PROTOCOL_SCALARS, "valid_queries", "num_queries")
        entry = {key: mean_std([g.get(key) for g in given]) for key in keys}
        summary.setdefault("protocols", {}).setdefault(name, {})[model] = entry
        listed.append((model, f"{name}:", {k: entry[k] for k in PROTOCOL_SCALARS}))
    return listed


def _difference_rows(dataset: str, found: dict[str, Any]) -> list[dict[str, Any]]:
    """The CSV rows of the differences: estimate, runs and interval per view, pair and metric."""
    return [
        {
            "dataset": dataset,
            "model": pair,
            "metric": f"difference:{view}:{metric}",
            "mean": ci["estimate"],
            "std": math.nan,
            "n": ci["runs"],
            "low": ci["low"],
            "high": ci["high"],
        }
        for view, pairs in found.items()
        for pair, metrics in pairs.items()
        for metric, ci in metrics.items()
    ]


def _reranked_run(record: dict[str, Any]) -> dict[str, Any]:
    """A run's re-ranked evaluation as a run of the model ``<model>+rerank``: its rankings,
    the model's own training record; no CHI or per-feature scores (re-ranking changes the
    distances, not the features)."""
    run = {**record, **record["reranked"], "model": reranked(record["model"])}
    for key in ("reranked", "features", "chi_probe", "chi_gallery"):
        run.pop(key, None)
    return run


def _per_query(record: dict[str, Any], view: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """A run's per-query values of ``metric`` (top-1 hit or AP) under ``view``, and the mask of
    the queries that view averages over (those with a true match, or all of them)."""
    entry = record["per_query"][view]
    first_rank = np.asarray(entry["first_rank"], dtype=np.int64)
    if metric == "top1":
        values = (first_rank == 1).astype(np.float64)
    else:
        values = np.asarray(entry["ap"], dtype=np.float64)
    counted = first_rank > 0 if entry["average"] == "valid" else np.ones(len(values), bool)
    return values, counted


def differences(by_model: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Paired differences (``mgat.vocabulary.DIFFERENCES``) in top-1 and mAP, per view, with
    their 95% bootstrap intervals (:func:`paired_differences`); pairs whose models are not both
    present are left out.

    Returns ``{view: {"mgat-finetune": {"top1": {estimate, low, high, ...}, ...}}}`` in
    fractions.
    """
    out: dict[str, Any] = {}
    for model, reference in DIFFERENCES:
        if model in by_model and reference in by_model:
            pair = paired_differences(by_model[model], by_model[reference], model, reference)
            for view, metrics in pair.items():
                out.setdefault(view, {})[f"{model}-{reference}"] = metrics
    return out


def paired_differences(
    mine: list[dict[str, Any]], theirs: list[dict[str, Any]], model: str, reference: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """``model`` minus ``reference`` in top-1 and mAP, per view, from their evaluations of the
    same runs (sorted by run), with a 95% bootstrap interval: queries are resampled (and, over
    several splits or seeded runs, the runs first), the same queries for both models.

    Returns ``{view: {"top1": {estimate, low, high, ...}, "mAP": {...}}}`` in fractions.
    """
    if [r["split"] for r in mine] != [r["split"] for r in theirs]:
        raise DataError(
            f"{model} and {reference} were evaluated on different runs "
            f"({[r['split'] for r in mine]} vs {[r['split'] for r in theirs]}); "
            "rerun the missing evaluations"
        )
    for a, b in zip(mine, theirs, strict=True):
        if a.get("queries_sha256") != b.get("queries_sha256") or "per_query" not in a:
            raise DataError(
                f"{model} and {reference} of run {a['split']} were not evaluated on the same "
                "queries (or by an older mgat); rerun their evaluations (rule evaluate)"
            )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for view in mine[0]["per_query"]:
        for metric in DIFFERENCE_METRICS:
            values_a, values_b = [], []
            for a, b in zip(mine, theirs, strict=True):
                va, counted = _per_query(a, view, metric)
                vb, counted_b = _per_query(b, view, metric)
                if not np.array_equal(counted, counted_b):
                    raise DataError(
                        f"{model} and {reference} of run {a['split']} count different "
                        "queries; rerun their evaluations (rule evaluate)"
                    )
                values_a.append(va[counted])
                values_b.append(vb[counted])
            ci = paired_difference_ci(
                values_a, values_b, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED
            )
            out.setdefault(view, {})[metric] = {
                "estimate": ci.estimate,
                "low": ci.low,
                "high": ci.high,
                "confidence": ci.confidence,
                "runs": ci.runs,
                "queries": ci.queries,
                "resamples": ci.resamples,
                "seed": BOOTSTRAP_SEED,
                "method": ci.method,
            }
    return out
