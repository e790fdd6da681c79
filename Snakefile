# mgat-repro: Masked Graph Attention Network for person re-identification (Bao et al., CVPRW 2019).
# Targets: all (default: every table and figure, and the sweeps if configured), all_tables,
# all_figures, all_sweeps, all_models, all_splits.
# Settings: config/config.yaml (paper, real data), config/demo.yaml (CPU demo).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/splits.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/render.smk"
include: "workflow/rules/pictures.smk"
include: "workflow/rules/sweep.smk"


onstart:
    hold_results_folder()


rule all:
    default_target: True
    input:
        rules.all_tables.input,
        rules.all_figures.input,
        rules.all_sweeps.input,
