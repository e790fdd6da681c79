# Everything in Python the rules need: config validation, wildcard constraints, input and params
# helpers. Rule files only reference these by name.
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
    """Keyword arguments of mgat.data.synthetic.synthesize for this dataset."""
    return dict(DATA["synthetic"][wildcards.dataset])


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
