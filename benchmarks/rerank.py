"""Time and peak memory of ``mgat.metrics.rerank.rerank_distance`` against a dense numpy version.

Both implement k-reciprocal re-ranking (Zhong et al., CVPR 2017) with the same conventions
(see ``mgat.metrics.rerank``). The dense one, kept in this script, is the usual formulation:
N x N float32 distances, a full stable argsort of every row, N x N matrices V and V after
query expansion, and per-item Python loops for R* and for the Jaccard sums. The one departure
from that formulation: its inverted index comes from one ``np.nonzero`` pass over V instead of
one column scan per item, which only makes the baseline faster.

At Market-1501's evaluation size by default (3368 queries, 15913 gallery items: 751 identities
plus 2798 distractors, 6 cameras; N = 19281), with 2048-d features drawn around identity
centres (not L2-normalised; the evaluate_rank benchmark's generator), each implementation runs
once in a fresh subprocess (2 threads), so its wall time and peak RSS (``VmHWM``) are its own.
The two results are compared (max abs difference, queries whose ranking differs in full, in
the top 10 and top 100) and scored with ``rank_metrics``. Writes a JSON record.

    python benchmarks/rerank.py --queries 300 --gallery 1500 --dim 256   # smoke size
    python benchmarks/rerank.py --out benchmarks/results/rerank.json     # Market size
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mgat.metrics import rank_metrics, squared_euclidean
from mgat.vocabulary import DEFAULT_RERANK_K1, DEFAULT_RERANK_K2, DEFAULT_RERANK_LAMBDA

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "float": "float32 features: the two implementations' matmuls round distances differently, "
    "which can move an item across a neighbour-list boundary where two distances lie within "
    "a few float32 steps",
    "integer": "the same features rounded to integers: every distance is an exact integer in "
    "float32 whatever the summation order (many exact ties), so both implementations see the "
    "same distances and neighbour lists; only exp and the order of sums round differently",
}


def market_like(
    num_q: int, num_g: int, ids: int, distractors: int, dim: int, noise: float, seed: int
) -> dict[str, np.ndarray]:
    """Query/gallery features around identity centres (distractors: identity 0, no centre)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ids + 1, dim)).astype(np.float32)
    distractors = min(distractors, max(num_g - ids, 0))
    g_pids = np.r_[np.zeros(distractors, np.int64), rng.integers(1, ids + 1, num_g - distractors)]
    g_pids[distractors : distractors + ids] = np.arange(1, min(ids, num_g - distractors) + 1)
    q_pids = rng.integers(1, ids, num_q)

    def features(pids: np.ndarray) -> np.ndarray:
        spread = rng.standard_normal((len(pids), dim), dtype=np.float32)
        return np.where((pids > 0)[:, None], centres[pids], 0.0) + noise * spread

    return {
        "qf": features(q_pids).astype(np.float32),
        "gf": features(g_pids).astype(np.float32),
        "q_pids": q_pids,
        "g_pids": g_pids,
        "q_camids": rng.integers(0, 6, num_q),
        "g_camids": rng.integers(0, 6, num_g),
    }


def reciprocal(rank: np.ndarray, p: int, k: int) -> np.ndarray:
    """R(p, k) (eq. 3) from the full ranking."""
    forward = rank[p, : k + 1]
    backward = rank[forward, : k + 1]
    return forward[(backward == p).any(axis=1)]


def rerank_numpy(qf: np.ndarray, gf: np.ndarray, k1: int, k2: int, lam: float) -> np.ndarray:
    """The same equations with dense N x N float32 matrices, one item at a time."""
    x = np.concatenate([qf, gf]).astype(np.float32)
    n, nq = len(x), len(qf)
    dist = squared_euclidean(x, x)
    rank = np.argsort(dist, axis=1, kind="stable")  # N(p, k): the raw rows, ties by index
    dist /= dist.max(axis=0)  # each column over its maximum, then transposed
    dist = dist.T

    half = int(np.around(k1 / 2))
    v = np.zeros((n, n), dtype=np.float32)
    for p in range(n):
        r = reciprocal(rank, p, k1)
        expansion = [r]
        for q in r:
            rq = reciprocal(rank, int(q), half)
            if len(np.intersect1d(rq, r)) > 2.0 / 3.0 * len(rq):
                expansion.append(rq)
        members = np.unique(np.concatenate(expansion))
        weight = np.exp(-dist[p, members])
        v[p, members] = weight / weight.sum()
    if k2 > 1:
        v_qe = np.zeros_like(v)
        for p in range(n):
            v_qe[p] = v[rank[p, :k2]].mean(axis=0)
        v = v_qe
        del v_qe
    del rank
    rows, cols = np.nonzero(v)
    by_col = np.argsort(cols, kind="stable")
    inverted = np.split(rows[by_col], np.cumsum(np.bincount(cols, minlength=n))[:-1])
    del rows, cols, by_col
    jaccard = np.empty((nq, n), dtype=np.float32)
    for i in range(nq):
        shared = np.zeros(n, dtype=np.float32)
        for j in np.flatnonzero(v[i]):
            others = inverted[j]
            shared[others] += np.minimum(v[i, j], v[others, j])
        jaccard[i] = 1.0 - shared / (2.0 - shared)
    return jaccard[:, nq:] * (1.0 - lam) + dist[:nq, nq:] * lam


def peak_rss() -> int:
    """Peak resident bytes of this process image (``VmHWM``: ``ru_maxrss`` survives exec)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(args: argparse.Namespace) -> None:
    """One implementation in this fresh process: its time, peak RSS and result."""
    import torch

    torch.set_num_threads(args.threads)
    data = np.load(args.data)
    qf, gf = data["qf"], data["gf"]
    baseline = peak_rss()
    cpu = time.process_time()
    start = time.perf_counter()
    if args.child == "numpy":
        result = rerank_numpy(qf, gf, args.k1, args.k2, args.lambda_value)
    else:
        from mgat.metrics.rerank import rerank_distance

        result = rerank_distance(qf, gf, k1=args.k1, k2=args.k2, lambda_value=args.lambda_value)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    peak = peak_rss()
    np.save(args.result, result.astype(np.float32, copy=False))
    figures = {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss": peak}
    print(json.dumps({**figures, "rss_before": baseline}))


def run_child(method: str, data: Path, result: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        method,
        "--data",
        str(data),
        "--result",
        str(result),
        "--k1",
        str(args.k1),
        "--k2",
        str(args.k2),
        "--lambda-value",
        str(args.lambda_value),
        "--threads",
        str(args.threads),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ours: np.ndarray, dense: np.ndarray, tol: float = 1e-6) -> dict[str, Any]:
    """How far the two results and their per-query rankings are apart; a swap of two items
    whose dense distances lie within ``tol`` is a near-tie that float rounding may flip."""
    order_ours = np.argsort(ours, axis=1, kind="stable")
    order_dense = np.argsort(dense, axis=1, kind="stable")
    differ = order_ours != order_dense
    first = np.where(differ.any(axis=1), differ.argmax(axis=1), ours.shape[1])
    along = np.take_along_axis(dense, order_ours, axis=1)
    beyond_ties = (np.diff(along, axis=1) < -tol).any(axis=1)
    return {
        "max_abs_difference": float(np.max(np.abs(ours.astype(np.float64) - dense))),
        "queries": int(ours.shape[0]),
        "queries_whose_full_ranking_differs": int(differ.any(axis=1).sum()),
        "queries_whose_top10_differs": int((first < 10).sum()),
        "queries_whose_top100_differs": int((first < 100).sum()),
        "earliest_differing_rank": int(first.min()) + 1 if (first < ours.shape[1]).any() else None,
        "rankings_identical": bool(not differ.any()),
        "near_tie_tolerance": tol,
        "queries_whose_ranking_differs_beyond_near_ties": int(beyond_ties.sum()),
    }


def scores(distmat: np.ndarray, data: Any) -> dict[str, float]:
    ids = (data["q_pids"], data["g_pids"], data["q_camids"], data["g_camids"])
    result = rank_metrics(distmat, *ids)
    return {"rank1": round(float(result.cmc[0]), 4), "mAP": round(result.mAP, 4)}


def measure(data: dict[str, np.ndarray], args: argparse.Namespace) -> dict[str, Any]:
    """Both implementations on one set of features, each in its own process, then compared."""
    runs, results = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs.npz"
        np.savez(inputs, **data)
        for method in ("numpy", "torch"):  # one after the other: neither slows the other
            path = Path(tmp) / f"{method}.npy"
            figures = run_child(method, inputs, path, args)
            runs[method] = {
                "seconds": round(figures["seconds"], 2),
                "cpu_seconds": round(figures["cpu_seconds"], 2),
                "peak_rss_mib": round(figures["peak_rss"] / 2**20, 1),
                "peak_rss_above_inputs_mib": round(
                    (figures["peak_rss"] - figures["rss_before"]) / 2**20, 1
                ),
            }
            results[method] = np.load(path)
            print(method, runs[method], file=sys.stderr)
    return {
        "dense_numpy": runs["numpy"],
        "torch": runs["torch"],
        "speedup": round(runs["numpy"]["seconds"] / runs["torch"]["seconds"], 1),
        "peak_memory_ratio": round(
            runs["numpy"]["peak_rss_mib"] / runs["torch"]["peak_rss_mib"], 1
        ),
        "agreement": compare(results["torch"], results["numpy"]),
        "rank_metrics": {
            "original_distance": scores(squared_euclidean(data["qf"], data["gf"]), data),
            "dense_numpy": scores(results["numpy"], data),
            "torch": scores(results["torch"], data),
        },
    }


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=3368)
    parser.add_argument("--gallery", type=int, default=15913)
    parser.add_argument("--ids", type=int, default=751)
    parser.add_argument("--distractors", type=int, default=2798)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--noise", type=float, default=2.5, help="spread around identity centres")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k1", type=int, default=DEFAULT_RERANK_K1)
    parser.add_argument("--k2", type=int, default=DEFAULT_RERANK_K2)
    parser.add_argument("--lambda-value", type=float, default=DEFAULT_RERANK_LAMBDA)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--scenarios", type=lambda v: v.split(","), default=list(SCENARIOS), help="float,integer"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/rerank.json")
    parser.add_argument("--child", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    data = market_like(
        args.queries, args.gallery, args.ids, args.distractors, args.dim, args.noise, args.seed
    )
    n = args.queries + args.gallery
    record: dict[str, Any] = {
        "machine": machine(),
        "threads": args.threads,
        "sizes": {
            "queries": args.queries,
            "gallery": args.gallery,
            "items": n,
            "identities": args.ids,
            "distractors": int((data["g_pids"] == 0).sum()),
            "feature_dim": args.dim,
            "feature_noise": args.noise,
            "l2_normalised": False,
            "seed": args.seed,
            "dense_matrix_mib": round(n * n * 4 / 2**20, 1),
        },
        "parameters": {"k1": args.k1, "k2": args.k2, "lambda": args.lambda_value},
    }
    record["scenarios"] = {}
    for scenario in args.scenarios:
        features = data
        if scenario == "integer":  # every distance exact in float32, whatever the sum order
            features = {**data, "qf": np.round(data["qf"]), "gf": np.round(data["gf"])}
        record["scenarios"][scenario] = {"note": SCENARIOS[scenario], **measure(features, args)}
    text = json.dumps(record, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
