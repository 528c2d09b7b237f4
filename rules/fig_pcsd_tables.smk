# PCSD paper Tables 2, 3, 4, 6 and the per-modality PSNR table beside the paper's claims
# (src/simart/reporting/pcsd.py). Reads the simart cells of the rows it shows (models,
# cross-modal rows, sampling variants that change the cost: not the guidance sweep), the
# summary.json of the trained simart models and pcsd's log.csv
# (simart.workflow.figures_plan: pcsd_tables_paths, pcsd_run).


rule pcsd_tables:
    """PCSD paper Tables 2, 3, 4, 6 and per-modality PSNR from the simart cells, the trainings'
    summaries and pcsd's log, beside the paper's claims; claims_vs_measured_pcsd.csv."""
    input:
        lambda wc: flat_paths(PLAN.pcsd_tables_paths()),
    output:
        table2_md=pcsd_table("table2", "table2_md"),
        table2_csv=PLAN.pcsd_tables_outputs()["table2_csv"],
        psnr_md=pcsd_table("psnr_by_modality", "psnr_md"),
        psnr_csv=PLAN.pcsd_tables_outputs()["psnr_csv"],
        table3_md=pcsd_table("table3", "table3_md"),
        table3_csv=PLAN.pcsd_tables_outputs()["table3_csv"],
        table4_md=pcsd_table("table4", "table4_md"),
        table4_csv=PLAN.pcsd_tables_outputs()["table4_csv"],
        table6_md=pcsd_table("table6", "table6_md"),
        table6_csv=PLAN.pcsd_tables_outputs()["table6_csv"],
        claims=PLAN.pcsd_tables_outputs()["claims"],
    log:
        f"{R}/logs/pcsd_tables.log",
    benchmark:
        f"{R}/benchmarks/pcsd_tables.tsv"
    params:
        code=code("pcsd_tables.py"),  # the library code it runs
        paths=PLAN.pcsd_tables_paths(),
        run=PLAN.pcsd_run(),
        context=PLAN.pcsd_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/pcsd_tables.py"
