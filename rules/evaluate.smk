# Restoration of the test split. One predict_shard job per (dataset, model, test shard
# index) restores that shard of every scored subset (SIMART modalities, CDN levels, ...),
# so a learned model is loaded once per job; score_shard (rules/stats.smk) scores it --
# or, with evaluate.score_in_prediction_job (the embedded default), the same job scores it
# and there is no score_shard rule; metrics_cell writes one benchmark cell (dataset,
# subset, model). Learned models read their trained weights (rules/train.smk).
# Inputs: simart.workflow.plan.
# Two rules, one output pattern: predict_shard for the learned rows (a GPU in the Slurm
# profile) and predict_shard_cpu, the same rule for the rows without a network (noisy
# input, classical baselines: the CPU partition), told apart by the model wildcard.


rule predict_shard:
    """Restore test shard {shard} of every scored subset with one model: predictions
    (prediction/{subset}) + run table (scored by score_shard, or here: scores)."""
    wildcard_constraints:
        model=model_pattern(gpu_models(PLAN.eval_names)),
    input:
        unpack(lambda wc: PLAN.predict_inputs(wc.dataset, wc.model, wc.shard)),
    output:
        **PLAN.predict_outputs(),
    log:
        f"{R}/logs/predict/{{dataset}}_{{model}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/predict/{{dataset}}_{{model}}_{{shard}}.tsv"
    params:
        code=code("predict_shard.py"),  # the library code it runs
        model_kwargs=lambda wc: PLAN.predict_kwargs(wc.model),
        subsets=lambda wc: PLAN.eval_subsets(wc.dataset),
        seed=CFG.seed,
        # scoring here too: score_shard's params (only then, so that the presets' jobs
        # keep their params)
        **({"score_code": code("score_shard.py"), "score": PLAN.score_settings()}
           if PLAN.score_in_predict else {}),
    threads: 1
    resources:
        **predict_job(PLAN),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/predict_shard.py"


use rule predict_shard as predict_shard_cpu with:
    wildcard_constraints:
        model=model_pattern(cpu_only_models(PLAN.eval_names)),


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
        code=library_code("simart.evaluation.cells"),  # the library code it runs
        made_from=lambda wc: PLAN.made_from(wc.dataset, wc.subset, wc.model),
    # in Snakemake's own process (no interpreter to start for a table concatenation: ~1 s
    # saved per cell); on a cluster too (localrule), as it only reads and writes small tables
    localrule: True
    run:
        from simart.evaluation.cells import write_cell

        write_cell(input, output[0], log[0], wildcards.subset, params.made_from)


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
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/aggregate_metrics.py"
