# Restoration of the test split. One predict_shard job per (dataset, model, test shard
# index) restores that shard of every scored subset (SIMART modalities, CDN levels, ...),
# so a learned model is loaded once per job; score_shard (rules/stats.smk) scores it;
# metrics_cell writes one benchmark cell (dataset, subset, model). Learned models read
# their trained weights (rules/train.smk). Inputs: simart.workflow.plan.


rule predict_shard:
    """Restore test shard {shard} of every scored subset with one model: predictions
    (prediction/{subset}) + run table (scored by score_shard)."""
    input:
        unpack(lambda wc: PLAN.predict_inputs(wc.dataset, wc.model, wc.shard)),
    output:
        pred=f"{R}/predictions/{{dataset}}/{{model}}/{{shard}}.h5",
        table=f"{R}/runs/{{dataset}}/{{model}}/{{shard}}.parquet",
    log:
        f"{R}/logs/predict/{{dataset}}_{{model}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/predict/{{dataset}}_{{model}}_{{shard}}.tsv"
    params:
        code=code("predict_shard.py"),  # the library code it runs
        model_kwargs=lambda wc: PLAN.predict_kwargs(wc.model),
        subsets=lambda wc: PLAN.eval_subsets(wc.dataset),
        seed=CFG.seed,
    threads: 1
    resources:
        **shard_job(lambda wc: PLAN.eval_pixels(wc.dataset), bytes_per_px=20, px_per_min=2**18),
    script:
        "../workflow_scripts/predict_shard.py"


rule metrics_cell:
    """One benchmark cell (dataset, subset, model): one row per test image."""
    input:
        lambda wc: PLAN.metrics_cell_inputs(wc.dataset, wc.model),
    output:
        f"{R}/metrics/{{dataset}}/{{subset}}/{{model}}.parquet",
    log:
        f"{R}/logs/metrics_cell/{{dataset}}_{{subset}}_{{model}}.log",
    benchmark:
        f"{R}/benchmarks/metrics_cell/{{dataset}}_{{subset}}_{{model}}.tsv"
    resources:
        **small_job(mem_mb=2000, runtime=15),
    params:
        code=code("metrics_cell.py"),  # the library code it runs
        made_from=lambda wc: PLAN.made_from(wc.dataset, wc.subset, wc.model),
    script:
        "../workflow_scripts/metrics_cell.py"


rule aggregate_metrics:
    """Aggregated table across cells: mean ± std and median per metric (CSV, Markdown)."""
    input:
        PLAN.all_cells(),
    output:
        **PLAN.aggregate_outputs(),
    log:
        f"{R}/logs/aggregate_metrics.log",
    benchmark:
        f"{R}/benchmarks/aggregate_metrics.tsv"
    params:
        code=code("aggregate_metrics.py"),  # the library code it runs
        metrics=METRICS,
        data_range=CFG.evaluate.data_range,
    resources:
        **small_job(mem_mb=4000, runtime=15),
    script:
        "../workflow_scripts/aggregate_metrics.py"
