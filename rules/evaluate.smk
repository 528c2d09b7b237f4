rule predict_shard:
    """Restore one test shard with one model: predictions + run table (scored by score_shard)."""
    input:
        shard=f"{R}/simart/shards/{{modality}}/test/{{shard}}.h5",
    output:
        pred=f"{R}/predictions/simart/{{modality}}/{{model}}/{{shard}}.h5",
        table=f"{R}/runs/simart/{{modality}}/{{model}}/{{shard}}.parquet",
    log:
        f"{R}/logs/predict/{{modality}}_{{model}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/predict/{{modality}}_{{model}}_{{shard}}.tsv"
    params:
        model_kwargs=lambda wc: (
            {"num_iter": CFG.evaluate.rl_iterations} if wc.model == "richardson_lucy" else {}
        ),
    threads: 1
    resources:
        **shard_job(CFG.simart.shard_size * CFG.image_size**2, bytes_per_px=12, px_per_min=2**18),
    script:
        "../workflow_scripts/predict_shard.py"


rule metrics_cell:
    """One benchmark cell (dataset, modality, model): one row per test image."""
    input:
        lambda wc: expand(
            f"{R}/metrics_shards/simart/{wc.modality}/{wc.model}/{{shard}}.parquet",
            shard=shard_ids("test"),
        ),
    output:
        f"{R}/metrics/simart/{{modality}}/{{model}}.parquet",
    log:
        f"{R}/logs/metrics_cell/{{modality}}_{{model}}.log",
    benchmark:
        f"{R}/benchmarks/metrics_cell/{{modality}}_{{model}}.tsv"
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/metrics_cell.py"


rule aggregate_metrics:
    """Aggregated table across cells: mean ± std and median per metric (CSV, Markdown)."""
    input:
        all_cells(),
    output:
        csv=f"{R}/tables/simart_metrics.csv",
        md=f"{R}/tables/simart_metrics.md",
        parquet=f"{R}/tables/simart_metrics.parquet",
    log:
        f"{R}/logs/aggregate_metrics.log",
    benchmark:
        f"{R}/benchmarks/aggregate_metrics.tsv"
    params:
        metrics=METRICS,
        data_range=CFG.evaluate.data_range,
    resources:
        **small_job(mem_mb=4000, runtime=15),
    script:
        "../workflow_scripts/aggregate_metrics.py"
