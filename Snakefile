# mgat-repro: Masked Graph Attention Network for person re-identification (Bao et al., CVPRW 2019).
# Targets: all (default), all_splits, all_models. Settings: config/config.yaml (paper, real data), config/demo.yaml (CPU demo).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/splits.smk"
include: "workflow/rules/train.smk"


rule all:
    default_target: True
    input:
        rules.all_splits.input,
        rules.all_models.input,
