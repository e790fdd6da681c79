"""Feature extraction, per-split evaluation and aggregation over splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mgat.data.splits import write_splits
from mgat.data.synthetic import synthesize
from mgat.digest import sha256_file
from mgat.engine import StageSettings, train_stage
from mgat.errors import ConfigError, DataError
from mgat.extraction import extract_features, select_frames
from mgat.featurefile import load_features
from mgat.figure4 import figure4_distances, figure4_frames, figure4_sample
from mgat.metrics.evaluation import aggregate_splits, evaluate_split
from mgat.models.saved import load_reid_model


def test_evenly_sampling_follows_torchreid() -> None:
    assert select_frames(30, "evenly", 15).tolist() == list(range(0, 30, 2))
    # 37 frames: the stride runs over the first 30 (a multiple of 15).
    assert select_frames(37, "evenly", 15).tolist() == list(range(0, 30, 2))
    # Short tracklets are padded with their last frame.
    assert select_frames(4, "evenly", 6).tolist() == [0, 1, 2, 3, 3, 3]
    assert select_frames(5, "all").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="evenly"):
        select_frames(5, "random")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A tiny baseline on synthetic MARS (video: pooling and the two protocols apply)."""
    root = tmp_path_factory.mktemp("mars")
    synthesize("mars", root, ids=4, seed=2, min_frames=2, max_frames=6)
    splits = root / "splits.json"
    write_splits("mars", root, splits)
    settings = StageSettings(
        epochs=1,
        lr_backbone=0.01,
        lr_head=0.01,
        lr_step=1,
        backbone="resnet18",
        weights="none",
        height=32,
        width=16,
        persons_per_batch=4,
        batches_per_epoch=2,
    )
    model = root / "model.pt"
    train_stage(
        "baseline",
        dataset="mars",
        root=root,
        splits_file=splits,
        split=0,
        settings=settings,
        model_out=model,
        metrics_out=root / "log.csv",
        checkpoint=root / "ckpt",
        device="cpu",
    )
    return {"root": root, "splits": splits, "model": model}


def extract(trained, out: Path, **options) -> dict:
    options = {"seq_len": 4, **options}
    return extract_features(
        trained["model"],
        dataset="mars",
        root=trained["root"],
        splits_file=trained["splits"],
        split=0,
        out=out,
        height=32,
        width=16,
        batch_size=7,
        device="cpu",
        **options,
    )


def test_tracklet_feature_is_the_mean_of_its_frames(trained, tmp_path: Path) -> None:
    meta = extract(trained, tmp_path / "f.npz", sampling="all")
    data = load_features(tmp_path / "f.npz")
    for kind in ("pooled", "bn"):
        assert data[f"query_features_{kind}"].shape == (meta["num_query"], 512)
    assert not [key for key in data if key.startswith("sample")]  # Figure 4 runs its own
    # Recompute the first query tracklet by hand from its frames.
    from PIL import Image

    from mgat.data.registry import open_dataset
    from mgat.data.splits import read_splits
    from mgat.data.transforms import model_input, test_transform

    split = read_splits(trained["splits"], "mars")["splits"][0]
    first = open_dataset("mars", trained["root"]).load(split).query[0]
    model = load_reid_model(trained["model"]).eval()
    transform = test_transform(32, 16)
    frames = torch.stack([transform(Image.open(p).convert("RGB")) for p in first.paths])
    frames = model_input(frames, torch.device("cpu"))
    with torch.no_grad():
        expected = {"bn": model(frames), "pooled": model.embed(frames)}
    for kind, values in expected.items():
        np.testing.assert_allclose(
            data[f"query_features_{kind}"][0], values.mean(dim=0).numpy(), rtol=1e-4, atol=1e-4
        )
    assert data["query_pids"][0] == first.pid and data["query_camids"][0] == first.camid
    for kind in ("pooled", "bn"):
        assert np.isfinite(meta["chi"][kind]["query"]) and np.isfinite(meta["chi"][kind]["gallery"])


def test_chi_and_figure4_count_each_distinct_frame_once(trained, tmp_path: Path) -> None:
    """Padding a short tracklet repeats its last frame; with seq_len above every tracklet's
    length, evenly sampling picks every frame (some many times), so the distinct frames, their
    CHI and the Figure-4 sample must equal those of sampling all frames once."""
    padded = extract(trained, tmp_path / "p.npz", sampling="evenly", seq_len=12)
    once = extract(trained, tmp_path / "a.npz", sampling="all")
    for kind in ("pooled", "bn"):
        for part in ("query", "gallery"):
            assert padded["chi"][kind][part] == pytest.approx(once["chi"][kind][part], rel=1e-5)
    _, pids, paths = figure4(trained, sampling="evenly", seq_len=12)
    assert len(paths) == 6 and len(set(paths)) == 6 and len(set(pids.tolist())) == 2
    assert paths == figure4(trained, sampling="all")[2]


def test_official_protocol_gallery_includes_queries(trained, tmp_path: Path) -> None:
    torchreid = extract(trained, tmp_path / "t.npz")
    official = extract(trained, tmp_path / "o.npz", protocol="official")
    assert official["num_gallery"] == torchreid["num_gallery"] + torchreid["num_query"]


def test_kit_and_torchreid_protocols_from_one_extraction(trained, tmp_path: Path) -> None:
    """MARS: the kit's gallery (queries included) with its AP, stable tie order and average
    over all queries, and torchreid's (queries left out) with its AP, both from one features
    file, for the configured test feature; both test features are scored."""
    from mgat.metrics import rank_metrics, squared_euclidean

    torchreid = extract(trained, tmp_path / "t.npz")
    official = extract(trained, tmp_path / "o.npz", protocol="official")
    assert torchreid["stage"] == "baseline" and "alpha_self_start" not in torchreid["diagnostics"]
    kit_run = evaluate_split(
        tmp_path / "o.npz", tmp_path / "o.json", model="baseline", ap="trapezoid", feature="bn"
    )
    reid_run = evaluate_split(
        tmp_path / "t.npz", tmp_path / "t.json", model="baseline", feature="bn"
    )
    for run in (kit_run, reid_run):
        assert run["protocols"]["kit"]["num_gallery"] == official["num_gallery"]
        assert run["protocols"]["torchreid"]["num_gallery"] == torchreid["num_gallery"]
        assert run["protocols"]["kit"]["ap"] == "trapezoid"
        assert run["protocols"]["kit"]["ties"] == "stable"
        assert run["protocols"]["kit"]["average"] == "all"
        assert set(run["per_query"]) == {"kit", "torchreid"}
        assert set(run["features"]) == {"pooled", "bn"} and run["feature"] == "bn"
    for metric in ("top1", "top5", "mAP"):
        assert reid_run[metric] == reid_run["protocols"]["torchreid"][metric]
        assert kit_run["protocols"] == reid_run["protocols"]
        assert reid_run["features"]["bn"][metric] == reid_run[metric]
    # The kit's view ranks exactly as the kits do.
    data = load_features(tmp_path / "o.npz")
    expected = rank_metrics(
        squared_euclidean(data["query_features_bn"], data["gallery_features_bn"]),
        data["query_pids"],
        data["gallery_pids"],
        data["query_camids"],
        data["gallery_camids"],
        ap="trapezoid",
        ties="stable",
        average="all",
    )
    assert kit_run["protocols"]["kit"]["mAP"] == expected.mAP
    assert kit_run["per_query"]["kit"]["first_rank"] == expected.first_rank.tolist()
    assert reid_run["num_gallery"] == torchreid["num_gallery"]
    # The torchreid gallery's CHI leaves the query tracklets out.
    assert torchreid["chi"]["bn"]["gallery"] != pytest.approx(
        official["chi"]["bn"]["gallery"], rel=1e-6
    )
    pooled = evaluate_split(tmp_path / "t.npz", tmp_path / "p.json", model="baseline")
    assert pooled["feature"] == "pooled" and pooled["features"] == reid_run["features"]
    assert pooled["chi_probe"] == torchreid["chi"]["pooled"]["query"]


def test_evaluate_and_aggregate(trained, tmp_path: Path) -> None:
    extract(trained, tmp_path / "f.npz")
    records = []
    for split, model in ((0, "baseline"), (0, "mgat"), (1, "baseline"), (1, "mgat")):
        out = tmp_path / f"e{split}{model}.json"
        record = evaluate_split(tmp_path / "f.npz", out, model=model, max_rank=20)
        record["split"] = record["data_split"] = split  # pretend a second split
        out.write_text(json.dumps(record))
        records.append(out)
    first = json.loads(records[0].read_text())
    assert 0 <= first["top1"] <= first["top5"] <= first["top20"] <= 1
    assert len(first["cmc"]) == 20 and first["valid_queries"] <= first["num_queries"]
    summary = aggregate_splits(
        records,
        tmp_path / "m.json",
        tmp_path / "m.csv",
        data_source="synthetic",
        out_provenance=tmp_path / "m.provenance.json",
        manifest=trained["splits"],
    )
    assert summary["splits"] == [0, 1] and list(summary["models"]) == ["baseline", "mgat"]
    # Every number traces to its code, software, device, settings, data and weights.
    provenance = json.loads((tmp_path / "m.provenance.json").read_text())
    assert provenance["outputs"]["json"]["sha256"] == sha256_file(tmp_path / "m.json")
    assert provenance["inputs"]["manifest"]["sha256"] == sha256_file(trained["splits"])
    assert {"python", "torch", "torchvision", "mgat", "snakemake"} <= set(provenance["software"])
    assert set(provenance["code"]) == {"revision", "dirty"}
    run = provenance["runs"][0]
    assert run["sha256"] == sha256_file(records[0])
    extraction = run["made_from"]["extraction"]
    assert extraction["model_sha256"] == sha256_file(trained["model"])
    assert extraction["splits_sha256"] == sha256_file(trained["splits"])
    assert extraction["device"] == "cpu" and extraction["settings"]["backbone"] == "resnet18"
    assert torch.__version__.startswith(extraction["training"]["software"]["torch"])
    top1 = summary["models"]["baseline"]["top1"]
    assert top1 == {"mean": first["top1"], "std": 0.0, "n": 2}
    table = pd.read_csv(tmp_path / "m.csv")
    assert set(table["metric"]) >= {"top1", "mAP", "chi_probe", "chi_gallery"}
    assert summary["repeated_split"] is False  # split 1 pretended to be another split
    assert set(summary["protocols"]) == {"kit", "torchreid"}  # MARS: both protocols
    # The same features under two names: every difference is exactly 0, interval [0, 0].
    assert set(summary["differences"]) == {"kit", "torchreid"}
    for view in ("kit", "torchreid"):
        for metric in ("top1", "mAP"):
            ci = summary["differences"][view]["mgat-baseline"][metric]
            assert (ci["estimate"], ci["low"], ci["high"]) == (0.0, 0.0, 0.0)
            assert ci["runs"] == 2 and ci["confidence"] == 0.95
    assert {"difference:kit:top1", "feature:pooled:top1", "feature:bn:mAP"} <= set(table["metric"])
    # Runs whose queries differ cannot be paired.
    broken = json.loads(records[1].read_text())
    broken["queries_sha256"] = "0" * 64
    records[1].write_text(json.dumps(broken))
    with pytest.raises(DataError, match="not evaluated on the same queries"):
        aggregate_splits(records, tmp_path / "x.json", tmp_path / "x.csv", data_source="real")


def test_reranked_evaluation_ranks_each_gallery_and_aggregates_as_a_model(
    trained, tmp_path: Path, capsys
) -> None:
    """Re-ranking is scored from the same features, over each view's own gallery (MARS: the
    kit's holds the queries, torchreid's does not, and k-reciprocal sets depend on the gallery),
    and is aggregated as the model ``<model>+rerank`` with its differences to MGAT."""
    from mgat.cli import main
    from mgat.metrics import rank_metrics
    from mgat.metrics.evaluation import Rerank
    from mgat.metrics.rerank import rerank_distance

    extract(trained, tmp_path / "f.npz")
    params = Rerank(k1=5, k2=2, lambda_value=0.3)
    records = []
    for model in ("baseline", "mgat"):
        out = tmp_path / f"{model}.json"
        records.append(out)
        run = evaluate_split(tmp_path / "f.npz", out, model=model, rerank=params, device="cpu")
    data = load_features(tmp_path / "f.npz")
    query, gallery = data["query_features_pooled"], data["gallery_features_pooled"]
    in_query = data["gallery_in_query"]
    assert in_query.any() and not in_query.all()
    for view, keep in (("kit", np.ones_like(in_query)), ("torchreid", ~in_query)):
        expected = rank_metrics(
            rerank_distance(query, gallery[keep], k1=5, k2=2, lambda_value=0.3),
            data["query_pids"],
            data["gallery_pids"][keep],
            data["query_camids"],
            data["gallery_camids"][keep],
            ap=run["protocols"][view]["ap"],
            ties=run["protocols"][view]["ties"],
            average=run["protocols"][view]["average"],
        )
        reranked = run["reranked"]
        assert reranked["protocols"][view]["mAP"] == expected.mAP
        assert reranked["per_query"][view]["first_rank"] == expected.first_rank.tolist()
        assert reranked["protocols"][view]["num_gallery"] == int(keep.sum())
    assert run["reranked"]["rerank"] == {"k1": 5, "k2": 2, "lambda": 0.3}
    assert run["provenance"]["evaluation"]["rerank"] == params._asdict()
    assert run["reranked"]["top1"] == run["reranked"]["protocols"]["torchreid"]["top1"]
    assert run["top1"] == run["protocols"]["torchreid"]["top1"]  # the plain figures stay
    summary = aggregate_splits(
        records, tmp_path / "m.json", tmp_path / "m.csv", data_source="synthetic"
    )
    assert list(summary["models"]) == ["baseline", "mgat", "baseline+rerank", "mgat+rerank"]
    assert summary["models"]["mgat+rerank"]["mAP"]["mean"] == run["reranked"]["mAP"]
    assert summary["models"]["mgat+rerank"]["chi_probe"]["n"] == 0  # no CHI: same features
    assert set(summary["cmc"]) == set(summary["models"])
    pairs = summary["differences"]["torchreid"]
    assert {"mgat-baseline", "mgat-baseline+rerank", "mgat+rerank-baseline+rerank"} <= set(pairs)
    plain, reranked_mgat = run["mAP"], run["reranked"]["mAP"]
    assert pairs["mgat-baseline+rerank"]["mAP"]["estimate"] == pytest.approx(
        plain - reranked_mgat  # the same features under both names
    )
    # The command line offers the same, its parameters checked where they enter.
    out = tmp_path / "cli.json"
    args = ["evaluate", str(tmp_path / "f.npz"), "--out", str(out), "--rerank", "--k1", "5"]
    assert main([*args, "--k2", "2", "--device", "cpu"]) == 0
    shown = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert shown["reranked"]["mAP"] == run["reranked"]["mAP"]
    with pytest.raises(SystemExit):
        main([*args, "--lambda", "1.5"])
    assert "must be from 0 to 1" in capsys.readouterr().err


def test_runs_of_one_split_aggregate_as_seeds(trained, tmp_path: Path) -> None:
    """A one-split dataset trained with several seeds: runs 0 and 1 both read split 0."""
    paths = []
    for run in (0, 1):
        extract(trained, tmp_path / f"f{run}.npz", run=run)
        out = tmp_path / f"e{run}.json"
        record = evaluate_split(tmp_path / f"f{run}.npz", out, model="baseline")
        assert record["split"] == run and record["data_split"] == 0
        paths.append(out)
    summary = aggregate_splits(
        paths, tmp_path / "m.json", tmp_path / "m.csv", data_source="synthetic"
    )
    assert summary["splits"] == [0, 1] and summary["repeated_split"] is True


def test_command_line_extract_and_evaluate(trained, tmp_path: Path, capsys) -> None:
    from mgat.cli import main

    features = tmp_path / "f.npz"
    args = ["extract", str(trained["model"]), "mars", "--root", str(trained["root"])]
    args += ["--splits", str(trained["splits"]), "--out", str(features)]
    assert main([*args, "--height", "32", "--width", "16", "--device", "cpu"]) == 0
    assert main(["evaluate", str(features), "--out", str(tmp_path / "e.json")]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["dataset"] == "mars" and 0 <= summary["mAP"] <= 1
    assert main(["evaluate", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "x")]) == 1
    assert "extract it first" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_input_size_defaults_to_the_trained_one(trained, tmp_path: Path) -> None:
    explicit = extract(trained, tmp_path / "e.npz")  # 32 x 16, as trained
    extract_features(
        trained["model"],
        dataset="mars",
        root=trained["root"],
        splits_file=trained["splits"],
        split=0,
        out=tmp_path / "d.npz",
        seq_len=4,
        batch_size=7,
        device="cpu",
    )
    assert explicit["num_query"] > 0
    np.testing.assert_array_equal(
        load_features(tmp_path / "d.npz")["query_features_bn"],
        load_features(tmp_path / "e.npz")["query_features_bn"],
    )


@pytest.mark.parametrize("content", ["", '{"dataset": "mars", ', "\x00\xff"])
def test_damaged_evaluation_is_one_line_naming_its_rule(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "eval.json"
    bad.write_bytes(content.encode("latin-1"))
    with pytest.raises(
        DataError, match=r"evaluation .*eval.json is damaged .*rule evaluate"
    ) as err:
        aggregate_splits([bad], tmp_path / "m.json", tmp_path / "m.csv", data_source="synthetic")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "m.csv").exists()


def figure4(trained, **options):
    """Figure 4's sample of the trained model: 2 persons x 3 frames unless told otherwise."""
    options = {"seq_len": 4, "persons": 2, "frames": 3, **options}
    return figure4_sample(
        trained["model"],
        dataset="mars",
        root=trained["root"],
        splits_file=trained["splits"],
        split=0,
        height=32,
        width=16,
        device="cpu",
        **options,
    )


def test_figure4_runs_the_model_on_its_sample_frames_only(trained) -> None:
    from PIL import Image
    from scipy.spatial.distance import cdist

    from mgat.data.transforms import model_input, test_transform

    features, pids, paths = figure4(trained)
    model = load_reid_model(trained["model"]).eval()
    transform = test_transform(32, 16)
    images = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        expected = model.embed(model_input(images, torch.device("cpu"))).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)  # pooled: the default
    assert pids.tolist() == sorted(pids.tolist()) and len(set(pids.tolist())) == 2
    # Both models of a split are shown on the same frames; with one model twice, the same
    # matrix, that of the sample's features.
    frames = figure4_frames(
        dataset="mars",
        root=trained["root"],
        splits_file=trained["splits"],
        split=0,
        seq_len=4,
        persons=2,
        frames=3,
    )
    base, refined, matrix_pids = figure4_distances(
        trained["model"], trained["model"], frames, height=32, width=16, device="cpu"
    )
    np.testing.assert_allclose(base, cdist(features, features), atol=1e-4)
    np.testing.assert_array_equal(base, refined)
    np.testing.assert_array_equal(matrix_pids, pids)
    with pytest.raises(ValueError, match="persons must be a positive integer"):
        figure4(trained, persons=0)


def test_a_figure4_sample_larger_than_the_data_is_refused(trained) -> None:
    """Fewer persons with K distinct frames than Figure 4 asks for: one line that says how many
    there are (once, the figure silently showed fewer persons)."""
    with pytest.raises(
        ConfigError,
        match=r"asks for 500 persons x 3 frames, but split 0 of mars "
        r"has only \d+ persons with 3 distinct test frames .*fig4_persons",
    ):
        figure4(trained, persons=500)


def test_a_model_of_another_split_is_refused_unless_allowed_and_labelled(
    trained, tmp_path: Path
) -> None:
    """A model tested on a split it did not train on has seen that split's test persons:
    extraction and evaluation refuse it in one line naming both splits; the explicit option
    allows it and the records say so. Another dataset is allowed, labelled cross-dataset."""
    from mgat.metrics.evaluation import evaluate_split

    record = torch.load(trained["model"], weights_only=False)
    relabelled = {}
    for name, changes in (("other", {"split": 1}), ("cross", {"dataset": "market1501"})):
        relabelled[name] = tmp_path / f"{name}.pt"
        torch.save({**record, **changes}, relabelled[name])
    own = extract(trained, tmp_path / "own.npz")
    assert own["trained_on"]["relation"] == "same split"

    leaking = {**trained, "model": relabelled["other"]}
    with pytest.raises(
        ConfigError,
        match=r"trained on split 1 of mars, whose training persons "
        r"are test persons of split 0: .*--allow-other-split",
    ) as err:
        extract(leaking, tmp_path / "leak.npz")
    assert "\n" not in str(err.value) and not (tmp_path / "leak.npz").exists()
    meta = extract(leaking, tmp_path / "leak.npz", allow_other_split=True)
    assert meta["trained_on"] == {
        "dataset": "mars",
        "split": 1,
        "splits_sha256": meta["provenance"]["splits_sha256"],
        "relation": "other split",
    }
    with pytest.raises(ConfigError, match=r"trained on split 1 of mars, tested on split 0"):
        evaluate_split(tmp_path / "leak.npz", tmp_path / "leak.json", model="baseline")
    assert not (tmp_path / "leak.json").exists()
    allowed = evaluate_split(
        tmp_path / "leak.npz", tmp_path / "leak.json", model="baseline", allow_other_split=True
    )
    assert allowed["trained_on"]["relation"] == "other split"

    crossed = extract({**trained, "model": relabelled["cross"]}, tmp_path / "cross.npz")
    assert crossed["trained_on"]["relation"] == "cross-dataset"
    scored = evaluate_split(tmp_path / "cross.npz", tmp_path / "cross.json", model="baseline")
    assert scored["trained_on"]["dataset"] == "market1501"


def test_an_output_never_replaces_an_input(trained, tmp_path: Path) -> None:
    """Features written over their model, or into the dataset's folder: refused before any
    work, the model untouched."""
    from mgat.errors import OutputError

    before = trained["model"].read_bytes()
    with pytest.raises(OutputError, match=r"features output .*model\.pt is also the model"):
        extract(trained, trained["model"])
    assert trained["model"].read_bytes() == before
    inside = trained["root"] / "mars" / "features.npz"
    with pytest.raises(OutputError, match=r"lies inside the dataset folder"):
        extract(trained, inside)
    assert not inside.exists()
