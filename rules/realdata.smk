# Real micrographs (config real_data.sets; docs/real_data.md): each image of a set restored
# by each row that applies (the models trained on the set's dataset/subset, the classical
# baselines when the set gives the operator's parameters, the input itself), written as a
# float32 TIFF with its pixel size, with one row of no-reference measures; a table over all
# sets and a figure per set. `snakemake real` builds only this stage (and what it needs);
# asking for one image of one row (results/real/{set}/{model}/{image}.tif) builds that
# alone. Plan: simart.workflow.real_plan; code: simart.realdata. Two rules, one output
# pattern: real_restore for the learned rows (a GPU in the Slurm profile), real_restore_cpu
# for the others.


rule real_restore:
    """Restore one real image with one row: TIFF + one row of no-reference measures."""
    wildcard_constraints:
        model=model_pattern(gpu_models(PLAN.models)),
    input:
        unpack(lambda wc: PLAN.real_restore_inputs(wc.realset, wc.model, wc.image)),
    output:
        tif=f"{R}/real/{{realset}}/{{model}}/{{image}}.tif",
        table=f"{R}/real/{{realset}}/{{model}}/{{image}}.parquet",
    log:
        f"{R}/logs/real/{{realset}}_{{model}}_{{image}}.log",
    benchmark:
        f"{R}/benchmarks/real/{{realset}}_{{model}}_{{image}}.tsv"
    params:
        code=code("real_restore.py"),  # the library code it runs
        settings=lambda wc: PLAN.real_settings(wc.realset, wc.model),
    threads: 1
    resources:
        **real_job(PLAN),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/real_restore.py"


use rule real_restore as real_restore_cpu with:
    wildcard_constraints:
        model=model_pattern(cpu_only_models(PLAN.models)),


rule real_table:
    """The no-reference measures of every real set: per image, and per set and row (mean ±
    std; the shapes of seed 000 Table 5 and seed 003 Table II)."""
    input:
        PLAN.real_tables(),
    output:
        **PLAN.real_table_outputs(),
    log:
        f"{R}/logs/real_table.log",
    benchmark:
        f"{R}/benchmarks/real_table.tsv"
    params:
        code=code("real_table.py"),  # the library code it runs
    resources:
        **small_job(mem_mb=2000, runtime=15),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/real_table.py"


rule real_figure:
    """One real set: input beside each row, a zoom and the difference to the input."""
    input:
        tables=lambda wc: PLAN.real_tables(wc.realset),
        tifs=lambda wc: PLAN.real_tiffs(wc.realset),
    output:
        smk.flag_figure_files([f"{R}/figures/real_{{realset}}.{ext}"
                               for ext in CFG.figures.formats],
                              caption="../report/real_figure.rst", category=REAL_CATEGORY,
                              subcategory="Figures", label="{realset}"),
    log:
        f"{R}/logs/real_figure_{{realset}}.log",
    benchmark:
        f"{R}/benchmarks/real_figure_{{realset}}.tsv"
    params:
        code=code("real_figure.py"),  # the library code it runs
        n_images=CFG.real_data.figure_images,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/real_figure.py"


rule real:
    """The real-data stage alone: every set's restorations, the table and the figures."""
    input:
        PLAN.real_targets(),
