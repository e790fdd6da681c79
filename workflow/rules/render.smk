# Stage 7: the paper's Tables 1-5 and Figures 4-5, and each dataset's CMC curves, all wrapped
# for Snakemake's HTML report (snakemake --report report.html).


rule render_table:
    input:
        metrics=table_metrics,
        provenance=table_provenance,
    output:
        md=report(
            f"{RESULTS}/tables/table{{number}}.md",
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "{number}", "format": "markdown"},
        ),
        csv=f"{RESULTS}/tables/table{{number}}.csv",
        tex=f"{RESULTS}/tables/table{{number}}.tex",
        provenance=f"{RESULTS}/tables/table{{number}}.provenance.json",
    log:
        f"{RESULTS}/logs/render_table/table{{number}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["score"]["mem_mb"],
        runtime=RESOURCES["score"]["runtime"],
    params:
        prefix=f"{RESULTS}/tables/table{{number}}",
    script:
        "../scripts/render_table.py"


rule figure4_frames:
    # Figure 4's M x K frames, chosen from the splits alone: a sample larger than the data allow
    # fails here, right after the splits (its priority puts it before any training), not after
    # the models, and a rerun that fails here keeps the previous figure.
    input:
        splits=rules.make_splits.output.splits,
    output:
        frames=f"{RESULTS}/{{dataset}}/fig4_frames.json",
    log:
        f"{RESULTS}/logs/figure4_frames/{{dataset}}.log",
    priority: 100
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    params:
        root=dataset_root,
        protocol=gallery_protocol,
        sampling=EVALUATION["sampling"],
        seq_len=EVALUATION["seq_len"],
        persons=EVALUATION["fig4_persons"],
        frames=EVALUATION["fig4_samples"],
        mgat_version=MGAT_VERSION,
    script:
        "../scripts/figure4_frames.py"


rule render_fig4:
    # Runs the two split-0 models on Figure 4's M x K frames only (seconds on a CPU), so that
    # its settings rerun this figure and no extraction.
    input:
        baseline=f"{RESULTS}/{{dataset}}/split0/baseline/model.pt",
        mgat=f"{RESULTS}/{{dataset}}/split0/mgat/model.pt",
        frames=rules.figure4_frames.output.frames,
    output:
        png=report(
            f"{RESULTS}/figures/fig4_{{dataset}}.png",
            caption="../report/fig4.rst",
            category="Figure 4",
            labels={"dataset": "{dataset}"},
        ),
    log:
        f"{RESULTS}/logs/render_fig4/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["extract"]["mem_mb"],
        runtime=RESOURCES["extract"]["runtime"],
    params:
        height=TRAIN["height"],
        width=TRAIN["width"],
        feature=EVALUATION["feature"],
        data_source=DATA_SOURCE,
        mgat_version=MGAT_VERSION,
    script:
        "../scripts/render_fig4.py"


rule render_fig5:
    input:
        metrics=rules.aggregate.output.json,
    output:
        png=report(
            f"{RESULTS}/figures/fig5_{{dataset}}.png",
            caption="../report/fig5.rst",
            category="Figure 5",
            labels={"dataset": "{dataset}"},
        ),
    log:
        f"{RESULTS}/logs/render_fig5/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["score"]["mem_mb"],
        runtime=RESOURCES["score"]["runtime"],
    params:
        models=[VOCABULARY.GAT, VOCABULARY.MGAT, VOCABULARY.CONTROL, VOCABULARY.BASELINE],
        title="Figure 5: original GAT vs MGAT, with the control and the baseline, {dataset}",
    script:
        "../scripts/render_cmc.py"


use rule render_fig5 as render_cmc with:
    output:
        png=report(
            f"{RESULTS}/{{dataset}}/cmc.png",
            caption="../report/cmc.rst",
            category="CMC curves",
            labels={"dataset": "{dataset}"},
        ),
    log:
        f"{RESULTS}/logs/render_cmc/{{dataset}}.log",
    localrule: True
    params:
        models=[
            *VOCABULARY.STAGES,
            *(VOCABULARY.reranked(m) for m in (VOCABULARY.BASELINE, VOCABULARY.MGAT)),
        ],
        title="CMC curves, {dataset}",


rule all_tables:
    input:
        expand(
            f"{RESULTS}/tables/table{{number}}.{{ext}}",
            number=tables_to_render(),
            ext=["md", "csv", "tex"],
        ),


rule all_figures:
    input:
        expand(f"{RESULTS}/figures/fig{{n}}_{{dataset}}.png", n=[4, 5], dataset=DATASETS),
        expand(f"{RESULTS}/{{dataset}}/cmc.png", dataset=DATASETS),
        expand(
            f"{RESULTS}/figures/{{picture}}_{{dataset}}.png",
            picture=["ranklist", "curves"],
            dataset=DATASETS,
        ),
