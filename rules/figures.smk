# PCSD paper Fig. 1, the PDA-Net paper's and the conditional-DDPM paper's tables, the reproduction report and the
# `figures` target. What each reads and every table/figure target of the config:
# simart.workflow.figures_plan (FigurePlan.figure_targets, the one list of them).


rule fig1_artifacts:
    """PCSD paper Fig. 1: clean / degraded / restored per modality (first test shard)."""
    input:
        flat_paths(PLAN.fig1_inputs()),
    output:
        PLAN.figure_files("fig1_artifacts"),
    log:
        f"{R}/logs/fig1_artifacts.log",
    benchmark:
        f"{R}/benchmarks/fig1_artifacts.tsv"
    params:
        code=code("fig1_artifacts.py"),  # the library code it runs
        figures=PLAN.cfg_part("figures")["figures"],
        paths=PLAN.fig1_inputs(),
        models=PLAN.fig1_models(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig1_artifacts.py"


rule pdanet_tables:
    """PDA-Net paper Tables I and II (stm_cu111 blurry / experimental) beside the paper's claims,
    with a step-by-step check of the paper's ablation ordering."""
    input:
        PLAN.pdanet_cells(),
    output:
        **PLAN.pdanet_outputs(),
    log:
        f"{R}/logs/pdanet_tables.log",
    benchmark:
        f"{R}/benchmarks/pdanet_tables.tsv"
    params:
        code=code("pdanet_tables.py"),  # the library code it runs
        data_range=CFG.evaluate.data_range,
        context=PLAN.pdanet_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/pdanet_tables.py"


rule condddpm_tables:
    """The conditional-DDPM paper: DDPM-avg vs a single sample and vs N, uncertainty on edges vs flat."""
    input:
        lambda wc: flat_paths(PLAN.condddpm_inputs()),
    output:
        **PLAN.condddpm_outputs(),
    log:
        f"{R}/logs/condddpm_tables.log",
    benchmark:
        f"{R}/benchmarks/condddpm_tables.tsv"
    params:
        code=code("condddpm_tables.py"),  # the library code it runs
        paths=PLAN.condddpm_inputs(),
        data_range=CFG.evaluate.data_range,
        context=PLAN.condddpm_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/condddpm_tables.py"


rule reproduction_report:
    """Every claimed number of the papers beside our measurement (Markdown + CSV)."""
    input:
        parts=lambda wc: PLAN.claims_parts(),
        summaries=lambda wc: PLAN.training_summaries(),
    output:
        **PLAN.reproduction_outputs(),
    log:
        f"{R}/logs/reproduction_report.log",
    benchmark:
        f"{R}/benchmarks/reproduction_report.tsv"
    params:
        code=code("reproduction_report.py"),  # the library code it runs
        context=PLAN.reproduction_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/reproduction_report.py"


rule figures:
    """Regenerate tables and figures from the results (nothing upstream if up to date)."""
    input:
        PLAN.figure_targets(),
