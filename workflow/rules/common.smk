# Everything in Python the rules need: config validation, wildcard constraints, input and params
# helpers. Rule files only reference these by name.
import itertools
import sys
from pathlib import Path

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import Paramspace, validate


def _config_error_line(err):
    """The validator's finding as one line: the key's path and what is wrong with it."""
    cause = err.__context__  # the jsonschema ValidationError that Snakemake wrapped
    if hasattr(cause, "message") and hasattr(cause, "absolute_path"):
        where = ".".join(str(part) for part in cause.absolute_path) or "top level"
        hint = ""
        if isinstance(cause.instance, str) and "is not of type 'number'" in cause.message:
            try:
                float(cause.instance)
                hint = f" (YAML reads {cause.instance} as text: write it with a dot and a signed exponent, e.g. 1.0e-6)"
            except ValueError:
                pass
        return f"{where}: {cause.message}{hint}"
    return str(err).splitlines()[0]


try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError as err:
    sys.exit(f"invalid config: {_config_error_line(err)}; see workflow/schemas/config.schema.yaml")


RESULTS = config["results"]
DATASETS = config["datasets"]
DATA = config["data"]
SYNTHETIC = DATA["source"] == "synthetic"

SRC = Path(workflow.basedir) / "src"


def _package_facts():
    """The package facts the workflow needs, read the one way, by importing this checkout's
    torch-free modules: the dataset registry, the vocabulary, the version and the ImageNet URL
    table. Snakemake needs neither torch nor mgat installed."""
    sys.path.insert(0, str(SRC))
    try:
        import mgat
        from mgat import vocabulary
        from mgat.data import registry
        from mgat.models import pretrained
    finally:
        sys.path.remove(str(SRC))
    return registry, vocabulary, mgat.__version__, pretrained.IMAGENET_URLS


# mgat's version is part of the training params, so a release that changes results reruns the
# training (edits without a version bump need --forcerun).
DATASET_REGISTRY, VOCABULARY, MGAT_VERSION, IMAGENET_URLS = _package_facts()
REGISTRY = DATASET_REGISTRY.DATASETS
# Splits per dataset (iLIDS-VID and PRID2011: 10; MARS and Market1501: one).
NUM_SPLITS = {name: info.num_splits for name, info in REGISTRY.items()}


wildcard_constraints:
    dataset="|".join(REGISTRY),
    run=r"\d+",  # a split of the splits file, or a seeded repeat of a one-split dataset


def dataset_root(wildcards):
    """The folder that holds the dataset's own folder: synthetic under results, real under data.root."""
    if SYNTHETIC:
        return f"{RESULTS}/data/{wildcards.dataset}"
    return DATA["root"]


def synthetic_options(wildcards):
    """Keyword arguments of mgat.data.synthetic.synthesize for this dataset; a size left out
    (null) takes that dataset's own default from the generator."""
    return {k: v for k, v in DATA["synthetic"][wildcards.dataset].items() if v is not None}


def placed_files(wildcards):
    """Placed file key -> the path the user configured (None: the default place)."""
    settings = DATA[wildcards.dataset]
    keys = REGISTRY[wildcards.dataset].placed_files
    return {key: settings[key] for key in keys if key in settings}


def known_checksums(wildcards):
    """Placed file key -> known SHA-256 (None: not checked)."""
    settings = DATA[wildcards.dataset]
    return {
        key.removesuffix("_sha256") if key != "sha256" else "archive": value
        for key, value in settings.items()
        if key.endswith("sha256")
    }


def download_url(wildcards):
    """Public URL of the dataset's archive, or None where the user must place it."""
    if not DATA["download"]:
        return None
    return DATA[wildcards.dataset].get("url")


def split_seed(wildcards):
    """Seed of derived splits (PRID2011 without a split file); 0 elsewhere."""
    if wildcards.dataset == "prid2011" and not SYNTHETIC:
        return DATA["prid2011"]["split_seed"]
    if wildcards.dataset == "prid2011":
        return DATA["synthetic"]["seed"]
    return 0


TRAIN = config["train"]
# Stage 1, the control (stage 2 without the graph, unless train.graph.control is false), MGAT
# and the GAT ablation.
STAGES = tuple(
    stage for stage in VOCABULARY.STAGES if stage != VOCABULARY.CONTROL or TRAIN["graph"]["control"]
)
RESOURCES = config["resources"]


def _imagenet_weights_file():
    """Where the fetch_weights rule puts the backbone's ImageNet weights (torchvision's own file
    name, which carries its hash), or None when training starts from other weights."""
    if TRAIN["weights"].lower() != "imagenet":
        return None
    urls = IMAGENET_URLS
    if TRAIN["backbone"] not in urls:
        sys.exit(
            f"invalid config: train.backbone: no ImageNet weights are known for "
            f"{TRAIN['backbone']!r}; known: {', '.join(sorted(urls))}"
        )
    return f"{DATA['root']}/weights/{urls[TRAIN['backbone']].rsplit('/', 1)[1]}"


IMAGENET_WEIGHTS = _imagenet_weights_file()


def pretrained_weights(wildcards):
    """Stage 1's initial weights as an input: the fetched ImageNet file (ancient: its name pins
    its content, so a re-download must not retrain), or nothing."""
    return {"weights": ancient(IMAGENET_WEIGHTS)} if IMAGENET_WEIGHTS else {}


def runs_of(dataset):
    """Run indices of ``dataset``: the first ``splits_to_run`` of its splits file, or, for a
    dataset with one split, its ``repeats`` (run k: that split with seed train.seed + k)."""
    if NUM_SPLITS[dataset] == 1:
        return range(config["repeats"][dataset])
    return range(min(config["splits_to_run"][dataset], NUM_SPLITS[dataset]))


def data_split(wildcards):
    """The split of the splits file a run reads: the run itself, or 0 for a repeated run."""
    return 0 if NUM_SPLITS[wildcards.dataset] == 1 else int(wildcards.run)


def run_seed(wildcards):
    """train.seed, plus the run index for a repeated run of a one-split dataset."""
    offset = int(wildcards.run) if NUM_SPLITS[wildcards.dataset] == 1 else 0
    return TRAIN["seed"] + offset


def per_run(pattern, **fixed):
    """``pattern`` expanded over every configured dataset and its runs."""
    return [
        pattern.format(dataset=dataset, run=run, **fixed)
        for dataset in DATASETS
        for run in runs_of(dataset)
    ]


# How a job runs (device, layout, compilation, batch size for extraction) is read by the scripts
# from the config, not passed as params: changing it must not rerun jobs whose results it does
# not change.


def _common_settings():
    keys = ("backbone", "height", "width", "flip", "cross_camera", "seed")
    return {key: TRAIN[key] for key in keys}


def _sorted(settings):
    """Settings in key order: Snakemake compares params as text, so the order in which config
    files mention keys must not look like a change."""
    return dict(sorted(settings.items()))


def baseline_settings(wildcards):
    """StageSettings of stage 1, as a plain dict (see mgat.engine.StageSettings). ImageNet
    weights come from the fetched file, so no training job ever downloads."""
    stage = dict(TRAIN["baseline"])
    weights = IMAGENET_WEIGHTS or TRAIN["weights"]
    return _sorted({**_common_settings(), "weights": weights, **stage, "seed": run_seed(wildcards)})


def graph_settings(wildcards):
    """StageSettings of stage 2 (the control, MGAT and the GAT ablation): one learning rate for
    all modules."""
    stage = dict(TRAIN["graph"])
    lr = stage.pop("lr")
    del stage["control"]  # which stages run, not how one trains
    return _sorted(
        {
            **_common_settings(),
            "weights": "none",
            "lr_backbone": lr,
            "lr_head": lr,
            **stage,
            "seed": run_seed(wildcards),
        }
    )


# Settings the control does not read (it has no graph and no OF loss): left out of its params,
# so changing them reruns MGAT and GAT but not the control they are read against.
CONTROL_IGNORES = ("gamma", "features", "of_loss", "of_weight", "of_detach_target")


def _for_control(settings):
    """Stage-2 settings without what only the graph reads."""
    return {k: v for k, v in settings.items() if k not in CONTROL_IGNORES}


def control_settings(wildcards):
    """StageSettings of the control: stage 2's, without what only the graph reads."""
    return _for_control(graph_settings(wildcards))


def stage_of(wildcards, output):
    """The training stage a job runs: the folder its model goes to (baseline, mgat or gat)."""
    return Path(output.model).parent.name


def scratch_checkpoint(wildcards, output):
    """Where a training job keeps its resumable checkpoint: beside, not among, its outputs."""
    model = Path(output.model)
    return str(Path(RESULTS) / "scratch" / model.relative_to(RESULTS).parent / "checkpoint.pt")


EVALUATION = config["evaluation"]
DATA_SOURCE = "synthetic" if SYNTHETIC else "real"
# Which datasets each of the paper's tables reports; Table 1 (CHI) covers the three video sets.
TABLE_DATASETS = DATASET_REGISTRY.paper_table_datasets()


wildcard_constraints:
    model="|".join(VOCABULARY.STAGES),
    number="[1-5]",


def gallery_protocol(wildcards):
    """MARS's gallery protocol from the config; the other datasets have only one."""
    return EVALUATION["mars_gallery"] if wildcards.dataset == "mars" else "torchreid"


def run_evaluations(wildcards):
    """Every evaluation a dataset's aggregate needs: each model in each run."""
    return [
        f"{RESULTS}/{wildcards.dataset}/split{run}/{model}/eval.json"
        for run in runs_of(wildcards.dataset)
        for model in STAGES
    ]


def tables_to_render():
    """The tables whose datasets this configuration runs."""
    return [n for n, needs in TABLE_DATASETS.items() if set(needs) & set(DATASETS)]


def table_metrics(wildcards):
    """Aggregated metrics of the configured datasets that table ``number`` reports."""
    needs = TABLE_DATASETS[int(wildcards.number)]
    return [f"{RESULTS}/{dataset}/metrics.json" for dataset in needs if dataset in DATASETS]


def table_provenance(wildcards):
    """The provenance records of those metrics, gathered into the table's own."""
    return [
        path.replace("metrics.json", "metrics.provenance.json") for path in table_metrics(wildcards)
    ]


# --- Ablation sweeps (workflow/rules/sweep.smk): stage 2 over a Snakemake parameter space ---
SWEEP = config["sweep"]
# Swept keys -> the StageSettings fields they set (M and K are the paper's names).
SWEEP_FIELDS = {
    key: {"M": "persons_per_batch", "K": "images_per_person"}.get(key, key)
    for key in VOCABULARY.SWEEP_PARAMETERS
}
# The numeric parameters' types, so a path's value reads back as the value that made it.
SWEEP_TYPES = {"gamma": float, "of_weight": float, "M": int, "K": int}


def _graph_defaults():
    """The train.graph value of every swept parameter."""
    return {key: TRAIN["graph"][field] for key, field in SWEEP_FIELDS.items()}


def _sweep_settings():
    """The sweep's settings as a table: the explicit list, or the product of the grid; a
    parameter left out takes its train.graph value."""
    defaults = _graph_defaults()
    if SWEEP["settings"] is not None:
        rows = [{**defaults, **row} for row in SWEEP["settings"]]
    else:
        grid = {key: SWEEP["grid"].get(key, [value]) for key, value in defaults.items()}
        rows = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    return pd.DataFrame(rows, columns=list(SWEEP_FIELDS)).drop_duplicates().astype(SWEEP_TYPES)


SWEEP_SPACE = Paramspace(_sweep_settings(), single_wildcard="setting")
SWEEP_DIR = f"{RESULTS}/sweeps/{{dataset}}/split{{run}}/{{stage}}/{{setting}}"


def _bad_sweep_datasets():
    missing = [d for d in SWEEP["datasets"] if d not in DATASETS]
    if missing:
        sys.exit(f"invalid config: sweep.datasets: {missing} are not among datasets {DATASETS}")


_bad_sweep_datasets()


wildcard_constraints:
    stage="|".join(VOCABULARY.GRAPH_STAGES),


def sweep_splits(dataset):
    """The sweep's splits of ``dataset``: the first sweep.splits of those that run."""
    return list(runs_of(dataset))[: SWEEP["splits"]]


def sweep_setting(wildcards):
    """The StageSettings overrides of one setting, as plain Python values."""
    instance = SWEEP_SPACE.instance(wildcards)
    return {
        SWEEP_FIELDS[key]: getattr(value, "item", lambda: value)()
        for key, value in instance.items()
    }


def sweep_train_settings(wildcards):
    settings = _sorted({**graph_settings(wildcards), **sweep_setting(wildcards)})
    return _for_control(settings) if wildcards.stage == VOCABULARY.CONTROL else settings


def _sweep_rows():
    return list(zip(SWEEP_SPACE.instance_patterns, SWEEP_SPACE.dataframe.to_dict("records")))


def sweep_control_path(dataset, run, row):
    """The control's evaluation for a setting (with train.graph.control): the main run's where
    the setting trains the control as train.graph does (same M, K, BN mode and reduction), else
    the sweep's own, stored under the train.graph values of the parameters the control does not
    read."""
    defaults = _graph_defaults()
    read = VOCABULARY.CONTROL_PARAMETERS
    if all(row[key] == defaults[key] for key in read):
        return f"{RESULTS}/{dataset}/split{run}/{VOCABULARY.CONTROL}/eval.json"
    canonical = {**row, **{k: v for k, v in defaults.items() if k not in read}}
    typed = {k: SWEEP_TYPES.get(k, str)(v) for k, v in canonical.items()}
    setting = Path(*(f"{key}~{typed[key]}" for key in SWEEP_SPACE.dataframe.columns))
    return f"{RESULTS}/sweeps/{dataset}/split{run}/{VOCABULARY.CONTROL}/{setting}/eval.json"


def sweep_runs(wildcards):
    """Every evaluation of a dataset's sweep, with its stage and setting, and the control of
    each setting (which the sweep trains where the main runs do not hold it)."""
    runs = []
    for stage in SWEEP["stages"]:
        for pattern, row in _sweep_rows():
            for run in sweep_splits(wildcards.dataset):
                path = (
                    f"{RESULTS}/sweeps/{wildcards.dataset}/split{run}/{stage}/{pattern}/eval.json"
                )
                control = None
                if TRAIN["graph"]["control"]:
                    control = sweep_control_path(wildcards.dataset, run, row)
                runs.append(
                    {"stage": stage, "setting": row, "evaluation": path, "control": control}
                )
    return runs


def sweep_evaluations(wildcards):
    """The sweep's evaluations, and each control once."""
    runs = sweep_runs(wildcards)
    controls = [run["control"] for run in runs if run["control"]]
    return [run["evaluation"] for run in runs] + list(dict.fromkeys(controls))


def sweep_baseline(wildcards):
    """The baseline's evaluations of the sweep's splits: the line every setting is read against."""
    return [
        f"{RESULTS}/{wildcards.dataset}/split{run}/baseline/eval.json"
        for run in sweep_splits(wildcards.dataset)
    ]


def hold_results_folder():
    """Take {results} for this run (mgat.runlock): a second run writing the same folder at the
    same time, from another checkout or config, stops before any job with one line."""
    sys.path.insert(0, str(SRC))
    try:
        from mgat.runlock import ResultsInUse, hold_results_folder as hold
    finally:
        sys.path.remove(str(SRC))
    try:
        hold(RESULTS, checkout=workflow.basedir)
    except ResultsInUse as err:
        sys.exit(f"mgat: error: {err}")
