# Everything in Python the rules need: config validation, wildcard constraints, input and params
# helpers. Rule files only reference these by name.
import re
import runpy
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

def _config_error_line(err):
    """The validator's finding as one line: the key's path and what is wrong with it."""
    cause = err.__context__  # the jsonschema ValidationError that Snakemake wrapped
    if hasattr(cause, "message") and hasattr(cause, "absolute_path"):
        where = ".".join(str(part) for part in cause.absolute_path) or "top level"
        return f"{where}: {cause.message}"
    return str(err).splitlines()[0]


try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError as err:
    sys.exit(f"invalid config: {_config_error_line(err)}; see workflow/schemas/config.schema.yaml")


RESULTS = config["results"]
DATASETS = config["datasets"]
DATA = config["data"]
SYNTHETIC = DATA["source"] == "synthetic"

# Splits per dataset: iLIDS-VID and PRID2011 are evaluated over 10, MARS and Market1501 over one.
NUM_SPLITS = {"ilidsvid": 10, "prid2011": 10, "mars": 1, "market1501": 1}


wildcard_constraints:
    dataset="ilidsvid|prid2011|mars|market1501",
    split=r"\d+",


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
    return {key: settings[key] for key in ("archive", "bbox_train", "bbox_test", "info") if key in settings}


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
STAGES = ("baseline", "mgat", "gat")
RESOURCES = config["resources"]
SRC = Path(workflow.basedir) / "src"


def _imagenet_weights_file():
    """Where the fetch_weights rule puts the backbone's ImageNet weights (torchvision's own file
    name, which carries its hash), or None when training starts from other weights. The URL table
    is read without importing mgat, so Snakemake needs neither torch nor mgat installed."""
    if TRAIN["weights"].lower() != "imagenet":
        return None
    urls = runpy.run_path(str(SRC / "mgat" / "models" / "pretrained.py"))["IMAGENET_URLS"]
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


def _package_version():
    """mgat's version, read without importing it: part of the training params, so a release
    that changes results reruns the training (edits without a version bump need --forcerun)."""
    init = SRC / "mgat" / "__init__.py"
    return re.search(r'__version__ = "([^"]+)"', init.read_text()).group(1)


MGAT_VERSION = _package_version()


def splits_of(dataset):
    """Split indices that run for ``dataset``: the first ``splits_to_run`` of its splits file."""
    return range(min(config["splits_to_run"][dataset], NUM_SPLITS[dataset]))


def per_split(pattern, **fixed):
    """``pattern`` expanded over every configured dataset and its splits to run."""
    return [
        pattern.format(dataset=dataset, split=split, **fixed)
        for dataset in DATASETS
        for split in splits_of(dataset)
    ]


def _common_settings():
    keys = ("backbone", "height", "width", "flip", "seed")
    return {key: TRAIN[key] for key in keys}


def baseline_settings(wildcards):
    """StageSettings of stage 1, as a plain dict (see mgat.engine.StageSettings). ImageNet
    weights come from the fetched file, so no training job ever downloads."""
    stage = dict(TRAIN["baseline"])
    weights = IMAGENET_WEIGHTS or TRAIN["weights"]
    return {**_common_settings(), "weights": weights, **stage}


def graph_settings(wildcards):
    """StageSettings of stage 2 (MGAT and the GAT ablation): one learning rate for all modules."""
    stage = dict(TRAIN["graph"])
    lr = stage.pop("lr")
    return {**_common_settings(), "weights": "none", "lr_backbone": lr, "lr_head": lr, **stage}


def stage_of(wildcards, output):
    """The training stage a job runs: the folder its model goes to (baseline, mgat or gat)."""
    return Path(output.model).parent.name


def scratch_checkpoint(wildcards, output):
    """Where a training job keeps its resumable checkpoint: beside, not among, its outputs."""
    model = Path(output.model)
    return str(Path(RESULTS) / "scratch" / model.relative_to(RESULTS).parent / "checkpoint.pt")


EVALUATION = config["evaluation"]
DATA_SOURCE = "synthetic" if SYNTHETIC else "real"
# Which dataset each of the paper's tables reports; Table 1 (CHI) covers the three video sets.
TABLE_DATASETS = {1: ("ilidsvid", "prid2011", "mars"), 2: ("ilidsvid",), 3: ("prid2011",)}
TABLE_DATASETS.update({4: ("mars",), 5: ("market1501",)})


wildcard_constraints:
    model="baseline|mgat|gat",
    number="[1-5]",


def gallery_protocol(wildcards):
    """MARS's gallery protocol from the config; the other datasets have only one."""
    return EVALUATION["mars_gallery"] if wildcards.dataset == "mars" else "torchreid"


def split_evaluations(wildcards):
    """Every evaluation a dataset's aggregate needs: each model on each split that runs."""
    return [
        f"{RESULTS}/{wildcards.dataset}/split{split}/{model}/eval.json"
        for split in splits_of(wildcards.dataset)
        for model in STAGES
    ]


def tables_to_render():
    """The tables whose datasets this configuration runs."""
    return [n for n, needs in TABLE_DATASETS.items() if set(needs) & set(DATASETS)]


def table_metrics(wildcards):
    """Aggregated metrics of the configured datasets that table ``number`` reports."""
    needs = TABLE_DATASETS[int(wildcards.number)]
    return [f"{RESULTS}/{dataset}/metrics.json" for dataset in needs if dataset in DATASETS]
