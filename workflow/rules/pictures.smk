# Pictures of what the numbers summarise: each dataset's ranked lists (split 0, the baseline
# beside MGAT for the same seeded queries) and its training curves (every stage, every run).


rule render_ranklist:
    # Reads the test items' frames from the dataset (a features file keeps a tracklet's first
    # frame only), so the splits file is an input.
    input:
        baseline=f"{RESULTS}/{{dataset}}/split0/{VOCABULARY.BASELINE}/features.npz",
        mgat=f"{RESULTS}/{{dataset}}/split0/{VOCABULARY.MGAT}/features.npz",
        splits=rules.make_splits.output.splits,
    output:
        png=report(
            f"{RESULTS}/figures/ranklist_{{dataset}}.png",
            caption="../report/ranklist.rst",
            category="Ranked lists",
            labels={"dataset": "{dataset}"},
        ),
    log:
        f"{RESULTS}/logs/render_ranklist/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["score"]["mem_mb"],
        runtime=RESOURCES["score"]["runtime"],
    params:
        root=dataset_root,
        queries=EVALUATION["ranklist_queries"],
        seed=EVALUATION["ranklist_seed"],
        feature=EVALUATION["feature"],
        data_source=DATA_SOURCE,
    script:
        "../scripts/render_ranklist.py"


rule render_curves:
    input:
        # Every run's log of each stage; the script groups them by their stage's folder.
        logs=lambda wildcards: expand(
            f"{RESULTS}/{wildcards.dataset}/split{{run}}/{{stage}}/train_log.csv",
            run=runs_of(wildcards.dataset),
            stage=STAGES,
        ),
    output:
        png=report(
            f"{RESULTS}/figures/curves_{{dataset}}.png",
            caption="../report/curves.rst",
            category="Training curves",
            labels={"dataset": "{dataset}"},
        ),
    log:
        f"{RESULTS}/logs/render_curves/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["score"]["mem_mb"],
        runtime=RESOURCES["score"]["runtime"],
    params:
        stages=list(STAGES),
        data_source=DATA_SOURCE,
    script:
        "../scripts/render_curves.py"
