# The run's reports. `snakemake --report report.html` (after the run) shows report/workflow.rst
# (what ran, the cost summary when rule plan_cost has run), every figure once (PNG in the
# page, its PDF behind the entry's `format` toggle: src/simart/workflow/smk.py) and every
# Markdown table as a web page (report_table: the report shows HTML, not Markdown), each with
# its caption from report/.
#   benchmark_summary  a per-rule time/memory table from the benchmark record of every job
#                      (results/benchmarks/): `snakemake benchmark_summary` builds everything
#                      `all` builds, then summarises; on Slurm:
#                      `snakemake --profile profiles/slurm all benchmark_summary`
#   report_table       one table of the report as a web page (a target of `all`)
#   plan_cost          optional: the cost of this config (python -m simart.plan_cost);
#                      `snakemake plan_cost` once, and `all` keeps it up to date


rule benchmark_summary:
    """Per-rule table of wall time, peak memory and CPU time of all benchmarked jobs."""
    input:
        lambda wc: rules.all.input,
    output:
        csv=f"{R}/benchmarks/summary.csv",
        md=f"{R}/benchmarks/summary.md",
    log:
        f"{R}/logs/benchmark_summary.log",
    benchmark:
        f"{R}/benchmarks/benchmark_summary.tsv"
    params:
        code=code("benchmark_summary.py"),  # the library code it runs
        root=lambda wc, output: str(Path(output.csv).parent),  # the benchmark records
        logs=f"{R}/logs",  # warm jobs' own memory and CPU time (simart.warmstart)
        patterns=lambda wc: smk.benchmark_patterns(workflow.rules),
    localrule: True
    resources:
        **small_job(mem_mb=2000, runtime=15),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/benchmark_summary.py"


rule report_table:
    """One Markdown table of the run as a web page of the report (FigurePlan.report_tables)."""
    input:
        lambda wc: PLAN.report_tables()[wc.table].source,
    output:
        report(f"{R}/report/tables/{{table}}.html", caption="../report/table.rst",
               category=lambda wc: PLAN.report_tables()[wc.table].category,
               subcategory=lambda wc: PLAN.report_tables()[wc.table].subcategory,
               labels=lambda wc: {"table": PLAN.report_tables()[wc.table].label}),
    wildcard_constraints:
        table="|".join(PLAN.report_tables()) or "-",
    log:
        f"{R}/logs/report_table/{{table}}.log",
    benchmark:
        f"{R}/benchmarks/report_table/{{table}}.tsv"
    params:
        code=library_code("simart.workflow.report_pages"),  # the library code it runs
        title=lambda wc: PLAN.report_tables()[wc.table].label,
        # report/table.rst shows it: the table's caption file, rendered (smk.table_caption)
        caption=lambda wc: smk.table_caption(workflow.basedir, PLAN, wc.table),
    resources:
        **small_job(mem_mb=1000, runtime=5),
    # in Snakemake's own process (no interpreter to start for a page of text), on a cluster
    # too (localrule): it only reads and writes small text files
    localrule: True
    run:
        from simart.workflow.report_pages import write_table_page

        write_table_page(input[0], output[0], log[0], params.title)


rule plan_cost:
    """Optional: what this config costs on an H100 (python -m simart.plan_cost with the
    stated CPU rates): summary text, JSON and the report's page of it."""
    output:
        txt=f"{R}/plan_cost.txt",
        json=f"{R}/plan_cost.json",
        html=report(f"{R}/report/plan_cost.html", caption="../report/plan_cost.rst",
                    category="SIMART", subcategory="Cost of the plan",
                    labels={"summary": "GPU-hours, CPU core-hours, storage"}),
    log:
        f"{R}/logs/plan_cost.log",
    benchmark:
        f"{R}/benchmarks/plan_cost.tsv"
    params:
        code=code("plan_cost.py"),  # the library code it runs
        cfg=CFG.model_dump(mode="json"),  # the whole config: its cost
        gpu="H100",
        efficiency=0.35,
        # FLOP counts kept between runs (seeded from the package's; not an output, so a
        # rerun keeps it)
        flop_cache=f"{R}/plan_cost_flop_counts.json",
    resources:
        **small_job(mem_mb=4000, runtime=60),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/plan_cost.py"
