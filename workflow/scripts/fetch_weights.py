"""Fetch the backbone's ImageNet weights once, into the folder training jobs read them from."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.jobs import job
from mgat.models.pretrained import fetch_imagenet_weights

with job(snakemake.log[0]):
    fetch_imagenet_weights(snakemake.params.backbone, Path(snakemake.output.weights).parent)
