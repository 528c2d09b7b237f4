# Scoring and statistics: every metric of simart.metrics.METRICS per test shard
# (score_shard, separate from predict_shard so a new metric never re-runs a restoration;
# with evaluate.score_in_prediction_job, the embedded default, predict_shard scores its
# own shard and this rule is left out), and the statistics across the cells (stats).
# Inputs: simart.workflow.plan.

if not PLAN.score_in_predict:

    rule score_shard:
        """Every configured metric for one test shard's predictions: one row per image."""
        input:
            unpack(lambda wc: PLAN.score_inputs(wc.dataset, wc.model, wc.shard)),
        output:
            PLAN.score_output(),
        log:
            f"{R}/logs/score/{{dataset}}_{{model}}_{{shard}}.log",
        benchmark:
            f"{R}/benchmarks/score/{{dataset}}_{{model}}_{{shard}}.tsv"
        params:
            code=code("score_shard.py"),  # the library code it runs
            **PLAN.score_settings(),  # metrics, data_range, lpips_backbone
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
