"""The ``mgat`` command line: the same functions the workflow's scripts call."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from mgat import __version__
from mgat.errors import ConfigError, MgatError
from mgat.io import check_outputs
from mgat.jobs import configure_logging
from mgat.runtime import add_runtime_options
from mgat.vocabulary import (
    AP_FORMS,
    BASELINE,
    DEFAULT_AP,
    DEFAULT_BATCH_SIZE,
    DEFAULT_FEATURE,
    DEFAULT_MAX_RANK,
    DEFAULT_PROTOCOL,
    DEFAULT_RERANK_K1,
    DEFAULT_RERANK_K2,
    DEFAULT_RERANK_LAMBDA,
    DEFAULT_SAMPLING,
    DEFAULT_SEQ_LEN,
    PROTOCOLS,
    SAMPLINGS,
    STAGES,
    TEST_FEATURES,
)


def _synth(args: argparse.Namespace) -> None:
    from mgat.data.synthetic import synthesize

    path = synthesize(
        args.dataset,
        args.out,
        ids=args.ids,
        seed=args.seed,
        min_frames=args.min_frames,
        max_frames=args.max_frames,
        split_file=args.split_file,
    )
    print(path)


def _summary(args: argparse.Namespace) -> None:
    from mgat.data.summary import summarize

    result = summarize(
        args.dataset,
        args.root,
        split=args.split,
        protocol=args.protocol,
        splits_file=args.splits,
        seed=args.seed,
    )
    print(json.dumps(result))


def _splits(args: argparse.Namespace) -> None:
    from mgat.data.splits import write_splits

    record = write_splits(args.dataset, args.root, args.out, seed=args.seed)
    print(f"{args.out}: {record['num_splits']} split(s) from {record['source']}")


def _count(minimum: int):
    """An argparse type: an integer of at least ``minimum`` (0 for indices, 1 for sizes)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {value}")
    return value


def _key_values(flag: str, items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments (checked by :func:`_key_value`) as a mapping; a key given twice
    is refused rather than letting the last one win unseen."""
    pairs: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key in pairs:
            raise ConfigError(f"{flag}: {key} given twice")
        pairs[key] = value
    return pairs


def _prepare(args: argparse.Namespace) -> None:
    from mgat.data.prepare import prepare_dataset, write_manifest

    files = _key_values("--file", args.file)
    checksums = _key_values("--sha256", args.sha256)
    folder = prepare_dataset(
        args.dataset,
        args.root,
        files=files,
        sha256=checksums,
        url=args.url,
        allow_download=not args.no_download,
    )
    if args.manifest:
        write_manifest(args.dataset, args.root, args.manifest, source="real")
    print(folder)


def _train(args: argparse.Namespace) -> None:
    import yaml

    from mgat.engine import StageSettings, train_stage

    checkpoint = args.checkpoint or f"{args.out}.checkpoint"
    outputs = {"--out": args.out, "--metrics": args.metrics, "--checkpoint": checkpoint}
    check_outputs(outputs, {"--settings file": args.settings, "--init model": args.init})
    try:
        with open(args.settings) as handle:
            values = yaml.safe_load(handle)
            values = {} if values is None else values
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read settings file {args.settings} ({err})") from err
    train_stage(
        args.stage,
        dataset=args.dataset,
        root=args.root,
        splits_file=args.splits,
        split=args.split,
        settings=StageSettings.from_dict(values),
        model_out=args.out,
        metrics_out=args.metrics,
        checkpoint=checkpoint,
        init_model=args.init,
        device=args.device,
        threads=args.threads,
        memory_format=args.memory_format,
        compile_mode=args.compile,
    )
    print(args.out)


def _extract(args: argparse.Namespace) -> None:
    from mgat.extraction import extract_features

    extract_features(
        args.model,
        dataset=args.dataset,
        root=args.root,
        splits_file=args.splits,
        split=args.split,
        out=args.out,
        protocol=args.protocol,
        height=args.height,
        width=args.width,
        sampling=args.sampling,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        device=args.device,
        threads=args.threads,
        allow_other_split=args.allow_other_split,
    )
    print(args.out)


def _evaluate(args: argparse.Namespace) -> None:
    from mgat.metrics.evaluation import Rerank, evaluate_split

    record = evaluate_split(
        args.features,
        args.out,
        model=args.model,
        max_rank=args.max_rank,
        ap=args.ap,
        feature=args.feature,
        rerank=Rerank(args.k1, args.k2, args.lambda_value) if args.rerank else None,
        device=args.device,
        allow_other_split=args.allow_other_split,
    )
    shown = {k: v for k, v in record.items() if k not in ("cmc", "per_query", "reranked")}
    if "reranked" in record:
        reranked = record["reranked"]
        shown["reranked"] = {k: v for k, v in reranked.items() if k not in ("cmc", "per_query")}
    print(json.dumps(shown))


#: The flag that lets a model be tested on a split whose test persons it trained on.
LEAK_HELP = (
    "test a model trained on another split of the same dataset (its test persons are training "
    "persons of that model); refused without this flag"
)


def _key_value(text: str) -> str:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return text


#: The subcommands of the parser (argparse's own type for them).
_Commands = argparse._SubParsersAction


def _add_synth(commands: _Commands, datasets: list[str]) -> None:
    """``mgat synth``: a synthetic dataset."""
    synth = commands.add_parser(
        "synth", help="write a synthetic dataset in the real dataset's on-disk layout"
    )
    synth.add_argument("dataset", choices=datasets)
    synth.add_argument("--out", required=True, help="root folder that will hold the dataset")
    synth.add_argument("--ids", type=int, help="number of identities (dataset default if unset)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--min-frames", type=int, help="shortest tracklet (video datasets)")
    synth.add_argument("--max-frames", type=int, help="longest tracklet (video datasets)")
    from mgat.data.registry import DATASETS

    split_files = sorted({f for info in DATASETS.values() for f in info.synthetic.split_files})
    synth.add_argument(
        "--split-file", choices=split_files, help="also write this split file (prid2011)"
    )
    synth.set_defaults(func=_synth)


def _add_data(commands: _Commands, datasets: list[str]) -> None:
    """``mgat data summary|splits|prepare``: the dataset utilities."""
    data = commands.add_parser("data", help="dataset utilities").add_subparsers(
        dest="data_command", required=True
    )

    summary = data.add_parser("summary", help="print the counts of one split as JSON")
    summary.add_argument("dataset", choices=datasets)
    summary.add_argument("--root", required=True, help="folder that holds the dataset's folder")
    summary.add_argument("--split", type=_count(0), default=0)
    summary.add_argument("--protocol", choices=PROTOCOLS, default=DEFAULT_PROTOCOL)
    summary.add_argument("--splits", help="splits file (default: derive from the official files)")
    summary.add_argument("--seed", type=int, default=0, help="seed of derived PRID2011 splits")
    summary.set_defaults(func=_summary)

    splits = data.add_parser("splits", help="derive the splits and write the splits file")
    splits.add_argument("dataset", choices=datasets)
    splits.add_argument("--root", required=True)
    splits.add_argument("--out", required=True)
    splits.add_argument("--seed", type=int, default=0, help="seed of derived PRID2011 splits")
    splits.set_defaults(func=_splits)

    prepare = data.add_parser("prepare", help="check, download and extract a real dataset")
    prepare.add_argument("dataset", choices=datasets)
    prepare.add_argument("--root", required=True)
    prepare.add_argument(
        "--file",
        type=_key_value,
        action="append",
        default=[],
        help="KEY=PATH of a placed file (archive, or for mars bbox_train, bbox_test, info)",
    )
    prepare.add_argument(
        "--sha256",
        type=_key_value,
        action="append",
        default=[],
        help="KEY=HEX known SHA-256 of a placed file",
    )
    prepare.add_argument("--url", help="download the archive from here if it is missing")
    prepare.add_argument("--no-download", action="store_true")
    prepare.add_argument("--manifest", help="also write the manifest here")
    prepare.set_defaults(func=_prepare)


def _add_train(commands: _Commands, datasets: list[str]) -> None:
    """``mgat train``: one stage on one split."""
    train = commands.add_parser("train", help="train one stage on one dataset split")
    train.add_argument(
        "stage", choices=STAGES, help="baseline (stage 1); finetune (the control), mgat, gat"
    )
    train.add_argument("dataset", choices=datasets)
    train.add_argument("--root", required=True, help="folder that holds the dataset's folder")
    train.add_argument("--splits", required=True, help="the dataset's splits file")
    train.add_argument("--split", type=_count(0), default=0)
    train.add_argument(
        "--settings", required=True, help="YAML of StageSettings keys (see mgat.engine.settings)"
    )
    train.add_argument("--init", help="stage-1 model (finetune, mgat, gat)")
    train.add_argument("--out", required=True, help="model file to write")
    train.add_argument("--metrics", required=True, help="per-epoch metrics CSV to write")
    train.add_argument("--checkpoint", help="resumable checkpoint (default: OUT.checkpoint)")
    train.add_argument("--device", default="auto")
    train.add_argument("--threads", type=_count(1), default=1)
    add_runtime_options(train)
    train.set_defaults(func=_train)


def _add_extract(commands: _Commands, datasets: list[str]) -> None:
    """``mgat extract``: the test features of one split."""
    extract = commands.add_parser("extract", help="query and gallery features of one split")
    extract.add_argument("model", help="a model.pt written by mgat train")
    extract.add_argument("dataset", choices=datasets)
    extract.add_argument("--root", required=True, help="folder that holds the dataset's folder")
    extract.add_argument("--splits", required=True, help="the dataset's splits file")
    extract.add_argument("--split", type=_count(0), default=0)
    extract.add_argument("--out", required=True, help="features file (.npz) to write")
    extract.add_argument("--protocol", choices=PROTOCOLS, default=DEFAULT_PROTOCOL)
    size_help = "input size in pixels; default: the size the model was trained at"
    extract.add_argument("--height", type=_count(16), help=size_help)
    extract.add_argument("--width", type=_count(16), help=size_help)
    extract.add_argument("--sampling", choices=SAMPLINGS, default=DEFAULT_SAMPLING)
    extract.add_argument("--seq-len", type=_count(1), default=DEFAULT_SEQ_LEN)
    extract.add_argument("--batch-size", type=_count(1), default=DEFAULT_BATCH_SIZE)
    extract.add_argument("--device", default="auto")
    extract.add_argument("--threads", type=_count(1), default=1)
    extract.add_argument("--allow-other-split", action="store_true", help=LEAK_HELP)
    extract.set_defaults(func=_extract)


def _add_evaluate(commands: _Commands) -> None:
    """``mgat evaluate``: the metrics of one features file, re-ranked too."""
    evaluate = commands.add_parser("evaluate", help="CMC, mAP and CHI of one features file")
    evaluate.add_argument("features", help="a features file written by mgat extract")
    evaluate.add_argument("--out", required=True, help="metrics JSON to write")
    evaluate.add_argument(
        "--model", choices=STAGES, default=BASELINE, help="name recorded in the metrics"
    )
    evaluate.add_argument("--ap", choices=AP_FORMS, default=DEFAULT_AP)
    evaluate.add_argument("--max-rank", type=_count(1), default=DEFAULT_MAX_RANK)
    evaluate.add_argument(
        "--feature", choices=TEST_FEATURES, default=DEFAULT_FEATURE, help="the reported feature"
    )
    evaluate.add_argument(
        "--rerank", action="store_true", help="also score k-reciprocal re-ranked distances"
    )
    evaluate.add_argument("--k1", type=_count(1), default=DEFAULT_RERANK_K1)
    evaluate.add_argument("--k2", type=_count(1), default=DEFAULT_RERANK_K2)
    evaluate.add_argument(
        "--lambda",
        dest="lambda_value",
        type=_fraction,
        default=DEFAULT_RERANK_LAMBDA,
        help="weight of the original distance in the re-ranked one, 0 to 1",
    )
    evaluate.add_argument("--device", default="auto", help="for re-ranking: auto, cpu, cuda[:N]")
    evaluate.add_argument("--allow-other-split", action="store_true", help=LEAK_HELP)
    evaluate.set_defaults(func=_evaluate)


def build_parser() -> argparse.ArgumentParser:
    from mgat.data.registry import DATASETS

    datasets = sorted(DATASETS)
    parser = argparse.ArgumentParser(prog="mgat", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mgat {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_synth, _add_data, _add_train, _add_extract):
        add(commands, datasets)
    _add_evaluate(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        configure_logging(None, logging.INFO)
    try:
        args.func(args)
    except MgatError as err:
        print(f"mgat: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
