# Every paper figure -- one rule per entry of simart.specs.figures (FIGURES), each running
# workflow_scripts/figure.py, which calls the entry's drawing function -- and the PDA-Net
# paper's and the conditional-DDPM paper's tables, the reproduction report and the `figures`
# target. What each reads and every table/figure target of the config:
# simart.workflow.figures_plan (FigurePlan.figure_targets, the one list of them). A rule
# exists for every entry whatever the config; it is a target only where its `applies` says.
# Values below are computed at parse time, per entry (no lambda sees the loop variable).


for spec in PLAN.figure_specs():

    rule:
        name:
            spec.name
        input:
            PLAN.figure_inputs(spec),
        output:
            **figure_outputs(spec),
        log:
            f"{R}/logs/{spec.name}.log",
        benchmark:
            f"{R}/benchmarks/{spec.name}.tsv"
        params:
            code=figure_code(spec),  # the library code it runs (function, readers, script)
            kwargs=PLAN.figure_kwargs(spec),
            outputs=PLAN.figure_outputs(spec),
            # report/figure.rst shows it; a function, so that its braces are not wildcards
            caption=lambda wc, text=PLAN.figure_caption(spec): text,
        resources:
            **small_job(mem_mb=spec.mem_mb, runtime=spec.runtime),
        script:
            "../workflow_scripts/figure.py"

    workflow.get_rule(spec.name).docstring = spec.summary  # snakemake --list-rules


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
