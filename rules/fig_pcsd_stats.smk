# PCSD paper Figs. 5/7 (qualitative comparison + error maps) and Fig. 6 (statistics), from the
# SIMART cells, test shards, predictions and the statistics table (src/simart/figures/
# pcsd_qualitative.py, pcsd_stats.py). Each rule reads only the simart cells it draws
# (simart.workflow.figures_plan: fig5_inputs, fig6_inputs).


rule fig5_qualitative:
    """PCSD paper Figs. 5/7: restorations of one test image per modality with error maps."""
    input:
        lambda wc: list(dict.fromkeys(flat_paths(PLAN.fig5_inputs()))),
    output:
        report_figure("fig5_qualitative", "fig5_qualitative", "The PCSD paper",
                      "Qualitative comparison"),
    log:
        f"{R}/logs/fig5_qualitative.log",
    benchmark:
        f"{R}/benchmarks/fig5_qualitative.tsv"
    params:
        code=code("fig_pcsd_qualitative.py"),  # the library code it runs
        paths=PLAN.fig5_inputs(),
        models=PLAN.fig5_models(),
        example_index=CFG.figures.example_index,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_qualitative.py"


rule fig6_statistics:
    """PCSD paper Fig. 6: p-values vs the input, per-image ΔPSNR, ΔPSNR vs severity."""
    input:
        stats=PLAN.fig6_inputs()["stats"],
        cells=flat_paths(PLAN.fig6_inputs()["cells"]),
    output:
        figures=report_figure("fig6_statistics", "fig6_statistics", "The PCSD paper", "Statistics"),
        improvements=PLAN.fig6_improvements(),
    log:
        f"{R}/logs/fig6_statistics.log",
    benchmark:
        f"{R}/benchmarks/fig6_statistics.tsv"
    params:
        code=code("fig_pcsd_stats.py"),  # the library code it runs
        cells=PLAN.fig6_inputs()["cells"],
        models=PLAN.fig6_models(),
        reference=CFG.stats.reference_model,
        metrics=PCSD_FIG6_METRICS,
        highlight=PCSD_FIG6_HIGHLIGHT,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_stats.py"
