# Scoring and statistics (issue 3): every metric of simart.metrics.METRICS per test shard
# (score_shard, separate from predict_shard so a new metric never re-runs a restoration),
# and the statistics across the cells (stats). Inputs: simart.workflow.plan.


rule score_shard:
    """Every configured metric for one test shard's predictions: one row per image."""
    input:
        unpack(lambda wc: PLAN.score_inputs(wc.dataset, wc.model, wc.shard)),
    output:
        f"{R}/metrics_shards/{{dataset}}/{{model}}/{{shard}}.parquet",
    log:
        f"{R}/logs/score/{{dataset}}_{{model}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/score/{{dataset}}_{{model}}_{{shard}}.tsv"
    params:
        code=code("score_shard.py"),  # the library code it runs
        metrics=METRICS,
        data_range=CFG.evaluate.data_range,
        lpips_backbone=PLAN.lpips_backbone_path() if "lpips" in METRICS else None,
        subsets=lambda wc: PLAN.eval_subsets(wc.dataset),
    threads: 1
    resources:
        **score_job(PLAN),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/score_shard.py"


rule stats:
    """Statistics (docs/metrics.md): Mood / paired t / Wilcoxon + Holm, bootstrap CIs, per modality x metric."""
    input:
        PLAN.all_cells(),
    output:
        **PLAN.stats_outputs(),
    log:
        f"{R}/logs/stats.log",
    benchmark:
        f"{R}/benchmarks/stats.tsv"
    params:
        code=code("stats.py"),  # the library code it runs
        metrics=CFG.stats_metrics(),
        reference=CFG.stats.reference_model,
        all_pairs=CFG.stats.pairs == "all",
        n_bootstrap=CFG.stats.n_bootstrap,
        ci_level=CFG.stats.ci_level,
        seed=CFG.seed,
    resources:
        **stats_job(cell_rows(PLAN), len(CFG.stats_metrics()), CFG.stats.n_bootstrap),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/stats.py"
