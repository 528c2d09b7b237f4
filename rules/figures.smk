# Every paper figure and table and the reproduction report -- one rule per entry of
# simart.specs.figures (FIGURES), each running workflow_scripts/figure.py, which calls the
# entry's function -- and the `figures` target. What each reads and every table/figure target
# of the config: simart.workflow.figures_plan (FigurePlan.figure_targets, the one list of
# them). A rule exists for every entry whatever the config; it is a target only where its
# `applies` says. Values below are computed at parse time, per entry (no lambda sees the
# loop variable).


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
        conda:
            "../envs/simart.yaml"
        script:
            "../workflow_scripts/figure.py"

    workflow.get_rule(spec.name).docstring = spec.summary  # snakemake --list-rules


rule figures:
    """Regenerate tables and figures from the results (nothing upstream if up to date)."""
    input:
        PLAN.figure_targets(),
