"""Time and memory of ``mgat.metrics.rank_metrics`` against a per-query loop and torchreid's.

At Market-1501's evaluation size by default (3368 queries from 750 identities, 15913 gallery
images: 751 identities plus distractors, 6 cameras), with features drawn around identity centres
so that the ranking has realistic structure, it measures on the machine at hand:

* our evaluator (wall time, best of ``--repeats``; peak extra memory by tracemalloc and by
  peak RSS (``VmHWM``) in a fresh subprocess);
* a straightforward per-query loop written from the definitions (on ``--ref-queries`` queries,
  extrapolated), checked against ours on those queries;
* torchreid's Cython evaluator, if ``--torchreid-cy DIR`` names a folder holding a compiled
  ``rank_cy`` module (torchreid's own ``rank_cy.pyx``, built outside this project), and
  torchreid's Python evaluator if ``--torchreid-py FILE`` names its ``rank.py``; CMC and mAP are
  compared with ours;
* the same on a heavily tied copy of the distances (quantised to about 1000 levels), where our
  evaluator falls back to argsort.

Writes a JSON record; see benchmarks/README.md for the recorded figures.

    python benchmarks/evaluate_rank.py --torchreid-cy /tmp/rankcy \\
        --out benchmarks/results/evaluate_rank.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from mgat.metrics import rank_metrics, squared_euclidean

Evaluator = Callable[..., tuple[np.ndarray, float]]


def evaluate_rank(*args: Any, **kwargs: Any) -> tuple[np.ndarray, float]:
    """Ours in the shape of torchreid's ``evaluate_rank``: ``(cmc, mAP)``."""
    result = rank_metrics(*args, **kwargs)
    return result.cmc, result.mAP


def market_like(
    num_q: int, num_g: int, ids: int, distractors: int, dim: int, noise: float, seed: int
) -> tuple[np.ndarray, ...]:
    """Query/gallery features around identity centres (distractors: identity 0, no centre)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ids + 1, dim)).astype(np.float32)
    g_pids = np.r_[np.zeros(distractors, np.int64), rng.integers(1, ids + 1, num_g - distractors)]
    g_pids[distractors : distractors + ids] = np.arange(1, ids + 1)  # every identity present
    q_pids = rng.integers(1, ids, num_q)  # one identity without queries, as in Market-1501
    g_camids = rng.integers(0, 6, num_g)
    q_camids = rng.integers(0, 6, num_q)

    def features(pids: np.ndarray) -> np.ndarray:
        spread = rng.standard_normal((len(pids), dim), dtype=np.float32)
        return np.where((pids > 0)[:, None], centres[pids], 0.0) + noise * spread

    qf, gf = features(q_pids), features(g_pids)
    return qf, gf, q_pids, g_pids, q_camids, g_camids


def reference_loop(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 50,
) -> tuple[np.ndarray, float]:
    """The market1501 protocol one query at a time, from the definitions (non-interpolated AP)."""
    max_rank = min(max_rank, distmat.shape[1])
    cmcs, aps = [], []
    for q in range(distmat.shape[0]):
        order = np.argsort(distmat[q])
        same_pid = g_pids[order] == q_pids[q]
        hits = same_pid[~(same_pid & (g_camids[order] == q_camids[q]))]
        if not hits.any():
            continue
        ranks = np.flatnonzero(hits) + 1
        cmc = np.zeros(max_rank)
        cmc[min(ranks[0], max_rank + 1) - 1 :] = 1.0
        cmcs.append(cmc)
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
    return np.mean(cmcs, axis=0).astype(np.float32), float(np.mean(aps))


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torchreid_cy(folder: Path | None) -> Evaluator | None:
    if folder is None:
        return None
    sys.path.insert(0, str(folder))
    try:
        import rank_cy  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run(distmat: np.ndarray, *ids: np.ndarray) -> tuple[np.ndarray, float]:
        return rank_cy.evaluate_cy(distmat, *ids, 50, False)

    return run


def torchreid_py(file: Path | None) -> Evaluator | None:
    if file is None or not file.is_file():
        return None
    module = load_module("torchreid_rank_py", file)

    def run(distmat: np.ndarray, *ids: np.ndarray) -> tuple[np.ndarray, float]:
        return module.eval_market1501(distmat, *ids, 50)

    return run


def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def tracemalloc_peak(fn: Callable[[], object]) -> int:
    """Peak bytes allocated during ``fn`` beyond what was held before (numpy reports to it)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - before


def maxrss_bytes() -> int:
    """Peak resident memory of this process image.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``execve``, so a child
    started from this (large) process would report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def child(method: str, data: Path, torchreid_dir: Path | None) -> None:
    """Run one evaluator in this fresh process and print its peak RSS above the loaded inputs."""
    arrays = np.load(data)
    inputs = [arrays[k] for k in ("distmat", "q_pids", "g_pids", "q_camids", "g_camids")]
    fns: dict[str, Evaluator | None] = {"ours": evaluate_rank, "torchreid_cy": None}
    if method == "torchreid_cy":
        fns["torchreid_cy"] = torchreid_cy(torchreid_dir)
    fn = fns[method]
    assert fn is not None
    baseline = maxrss_bytes()
    fn(*inputs)
    print(json.dumps({"baseline_maxrss": baseline, "extra_maxrss": maxrss_bytes() - baseline}))


def subprocess_rss(method: str, data: Path, torchreid_dir: Path | None) -> dict[str, int]:
    command = [sys.executable, __file__, "--child", method, "--data", str(data)]
    if torchreid_dir is not None:
        command += ["--torchreid-cy", str(torchreid_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def agreement(ours: tuple[np.ndarray, float], other: tuple[np.ndarray, float]) -> dict[str, Any]:
    cmc_diff = float(np.max(np.abs(np.asarray(ours[0], np.float64) - other[0])))
    map_diff = abs(float(ours[1]) - float(other[1]))
    return {
        "max_abs_cmc_diff": cmc_diff,
        "abs_map_diff": map_diff,
        "equal_to_1e-6": bool(cmc_diff <= 1e-6 and map_diff <= 1e-6),
    }


def mib(n: float) -> float:
    return round(n / 2**20, 1)


def scenario(
    distmat: np.ndarray,
    ids: tuple[np.ndarray, ...],
    args: argparse.Namespace,
    cy: Evaluator | None,
    py: Evaluator | None,
    tmp: Path,
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    t_ours, ours = best_time(lambda: evaluate_rank(distmat, *ids), args.repeats)
    ours = tuple(ours)  # type: ignore[arg-type]
    record["ours"] = {
        "seconds": round(t_ours, 3),
        "cmc_rank1_5_10_20": [round(float(ours[0][k - 1]), 6) for k in (1, 5, 10, 20)],
        "mAP": float(ours[1]),
        "tracemalloc_peak_mib": mib(tracemalloc_peak(lambda: evaluate_rank(distmat, *ids))),
    }

    n = min(args.ref_queries, distmat.shape[0])
    sub = (distmat[:n], ids[0][:n], ids[1], ids[2][:n], ids[3])
    t_ref, ref = best_time(lambda: reference_loop(*sub), 1)
    record["reference_loop"] = {
        "queries_timed": n,
        "seconds_extrapolated": round(t_ref * distmat.shape[0] / n, 2),
        "agreement_on_those_queries": agreement(evaluate_rank(*sub), ref),  # type: ignore[arg-type]
    }
    record["speedup_vs_reference_loop"] = round(t_ref * distmat.shape[0] / n / t_ours, 1)

    data = tmp / "inputs.npz"
    np.savez(data, distmat=distmat, q_pids=ids[0], g_pids=ids[1], q_camids=ids[2], g_camids=ids[3])
    record["ours"]["subprocess_extra_peak_rss_mib"] = mib(
        subprocess_rss("ours", data, args.torchreid_cy)["extra_maxrss"]
    )
    if cy is None:
        record["torchreid_cy"] = "skipped: no compiled rank_cy (pass --torchreid-cy DIR)"
    else:
        t_cy, theirs = best_time(lambda: cy(distmat, *ids), args.repeats)
        record["torchreid_cy"] = {
            "seconds": round(t_cy, 3),
            "tracemalloc_peak_mib": mib(tracemalloc_peak(lambda: cy(distmat, *ids))),
            "subprocess_extra_peak_rss_mib": mib(
                subprocess_rss("torchreid_cy", data, args.torchreid_cy)["extra_maxrss"]
            ),
            "agreement": agreement(ours, theirs),  # type: ignore[arg-type]
        }
        record["speedup_vs_torchreid_cy"] = round(t_cy / t_ours, 2)
    if py is None:
        record["torchreid_py"] = "skipped: pass --torchreid-py PATH/TO/torchreid/.../rank.py"
    else:
        t_py, theirs = best_time(lambda: py(distmat, *ids), 1)
        record["torchreid_py"] = {
            "seconds": round(t_py, 2),
            "agreement": agreement(ours, theirs),  # type: ignore[arg-type]
        }
        record["speedup_vs_torchreid_py"] = round(t_py / t_ours, 1)
    data.unlink()
    return record


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=3368)
    parser.add_argument("--gallery", type=int, default=15913)
    parser.add_argument("--ids", type=int, default=751)
    parser.add_argument("--distractors", type=int, default=2798)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument(
        "--noise", type=float, default=2.5, help="feature spread around identity centres"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ref-queries", type=int, default=500, help="queries the loop times")
    parser.add_argument("--torchreid-cy", type=Path, help="folder with a compiled rank_cy")
    parser.add_argument("--torchreid-py", type=Path, help="torchreid's metrics/rank.py")
    parser.add_argument("--no-ties", action="store_true", help="skip the tied-distances run")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.torchreid_cy)
        return

    qf, gf, *ids_list = market_like(
        args.queries, args.gallery, args.ids, args.distractors, args.dim, args.noise, args.seed
    )
    ids = tuple(ids_list)
    start = time.perf_counter()
    distmat = squared_euclidean(qf, gf)
    distance_seconds = time.perf_counter() - start
    del qf, gf
    cy, py = torchreid_cy(args.torchreid_cy), torchreid_py(args.torchreid_py)

    record: dict[str, Any] = {
        "machine": machine(),
        "sizes": {
            "queries": args.queries,
            "gallery": args.gallery,
            "identities": args.ids,
            "distractors": args.distractors,
            "cameras": 6,
            "feature_dim": args.dim,
            "feature_noise": args.noise,
            "distmat_mib": mib(distmat.nbytes),
        },
        "squared_euclidean_seconds": round(distance_seconds, 2),
    }
    with tempfile.TemporaryDirectory() as tmp:
        record["features"] = scenario(distmat, ids, args, cy, py, Path(tmp))
        if not args.no_ties:
            levels = np.float32(1000.0 / distmat.max())
            quantised = np.round(distmat * levels).astype(np.float32)
            record["tied_distances"] = {
                "note": "the same distances quantised to about 1000 integer levels",
                **scenario(quantised, ids, args, cy, py, Path(tmp)),
            }
    text = json.dumps(record, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
