# Seed 000 Fig. 1, seed 003's and seed 004's tables, the reproduction report and the
# `figures` target. What each reads and every table/figure target of the config:
# simart.workflow.figures_plan (FigurePlan.figure_targets, the one list of them).


rule fig1_artifacts:
    """Seed 000 Fig. 1: clean / degraded / restored per modality (first test shard)."""
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


rule seed003_tables:
    """Seed 003 Tables I and II (stm_cu111 blurry / experimental) beside the seed's claims,
    with a step-by-step check of the seed's ablation ordering."""
    input:
        PLAN.seed003_cells(),
    output:
        **PLAN.seed003_outputs(),
    log:
        f"{R}/logs/seed003_tables.log",
    benchmark:
        f"{R}/benchmarks/seed003_tables.tsv"
    params:
        code=code("seed003_tables.py"),  # the library code it runs
        data_range=CFG.evaluate.data_range,
        context=PLAN.seed003_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed003_tables.py"


rule seed004_tables:
    """Seed 004: DDPM-avg vs a single sample and vs N, uncertainty on edges vs flat."""
    input:
        lambda wc: flat_paths(PLAN.seed004_inputs()),
    output:
        **PLAN.seed004_outputs(),
    log:
        f"{R}/logs/seed004_tables.log",
    benchmark:
        f"{R}/benchmarks/seed004_tables.tsv"
    params:
        code=code("seed004_tables.py"),  # the library code it runs
        paths=PLAN.seed004_inputs(),
        data_range=CFG.evaluate.data_range,
        context=PLAN.seed004_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed004_tables.py"


rule reproduction_report:
    """Every claimed number of the seeds beside our measurement (Markdown + CSV)."""
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
