# Seed 000 Tables 2, 3, 4, 6 and the per-modality PSNR table beside the seed's claims
# (src/simart/reporting/seed000.py). Reads the simart cells of the rows it shows (models,
# cross-modal rows, sampling variants that change the cost: not the guidance sweep), the
# summary.json of the trained simart models and pcsd's log.csv
# (simart.workflow.figures_plan: seed000_tables_paths, seed000_run).


rule seed000_tables:
    """Seed 000 Tables 2, 3, 4, 6 and per-modality PSNR from the simart cells, the trainings'
    summaries and pcsd's log, beside the seed's claims; claims_vs_measured_seed000.csv."""
    input:
        lambda wc: flat_paths(PLAN.seed000_tables_paths()),
    output:
        table2_md=seed000_table("table2", "table2_md"),
        table2_csv=PLAN.seed000_tables_outputs()["table2_csv"],
        psnr_md=seed000_table("psnr_by_modality", "psnr_md"),
        psnr_csv=PLAN.seed000_tables_outputs()["psnr_csv"],
        table3_md=seed000_table("table3", "table3_md"),
        table3_csv=PLAN.seed000_tables_outputs()["table3_csv"],
        table4_md=seed000_table("table4", "table4_md"),
        table4_csv=PLAN.seed000_tables_outputs()["table4_csv"],
        table6_md=seed000_table("table6", "table6_md"),
        table6_csv=PLAN.seed000_tables_outputs()["table6_csv"],
        claims=PLAN.seed000_tables_outputs()["claims"],
    log:
        f"{R}/logs/seed000_tables.log",
    benchmark:
        f"{R}/benchmarks/seed000_tables.tsv"
    params:
        code=code("seed000_tables.py"),  # the library code it runs
        paths=PLAN.seed000_tables_paths(),
        run=PLAN.seed000_run(),
        context=PLAN.seed000_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed000_tables.py"
