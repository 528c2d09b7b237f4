# PCSD paper Figs. 2-4 from the results tables only (simart.figures.pcsd).
# Each rule reads the narrowest inputs it draws: the SIMART cell tables of its rows, or
# the trainings' log.csv; rerunning one benchmark cell reruns only the figures showing it.
# Rows and inputs: simart.workflow.figures_plan (s000_*); the outputs are targets only when
# the config evaluates what they need (FigurePlan.pcsd_figure_targets).


rule fig2_modality_bars:
    """PCSD paper Fig. 2 A/B: per-modality PSNR and SSIM of every method (mean ± std)."""
    input:
        flat_paths(PLAN.simart_cells(PLAN.s000_methods())),
    output:
        report_figure("fig2_modality_bars", "fig2_modality_bars", "The PCSD paper", "Fig. 2"),
    log:
        f"{R}/logs/fig2_modality_bars.log",
    benchmark:
        f"{R}/benchmarks/fig2_modality_bars.tsv"
    params:
        code=code("fig_pcsd_fig2_bars.py"),  # the library code it runs
        cells=PLAN.simart_cells(PLAN.s000_methods()),
        models=PLAN.s000_methods(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_fig2_bars.py"


rule fig2_quality_speed:
    """PCSD paper Fig. 2 C: PSNR vs inference seconds per image (log x), per modality."""
    input:
        flat_paths(PLAN.simart_cells(PLAN.s000_methods())),
    output:
        report_figure("fig2_quality_speed", "fig2_quality_speed", "The PCSD paper", "Fig. 2"),
    log:
        f"{R}/logs/fig2_quality_speed.log",
    benchmark:
        f"{R}/benchmarks/fig2_quality_speed.tsv"
    params:
        code=code("fig_pcsd_fig2_speed.py"),  # the library code it runs
        cells=PLAN.simart_cells(PLAN.s000_methods()),
        models=PLAN.s000_methods(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_fig2_speed.py"


rule fig3_ablations:
    """PCSD paper Fig. 3 A: PCSD and its training ablations, PSNR / SSIM per modality."""
    input:
        flat_paths(PLAN.simart_cells(PLAN.s000_ablation_rows())),
    output:
        report_figure("fig3_ablations", "fig3_ablations", "The PCSD paper", "Fig. 3"),
    log:
        f"{R}/logs/fig3_ablations.log",
    benchmark:
        f"{R}/benchmarks/fig3_ablations.tsv"
    params:
        code=code("fig_pcsd_fig3_ablations.py"),  # the library code it runs
        cells=PLAN.simart_cells(PLAN.s000_ablation_rows()),
        models=PLAN.s000_ablation_rows(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_fig3_ablations.py"


rule fig3_eta_sweep:
    """PCSD paper Fig. 3 B: PSNR / SSIM vs PCSD's physics-guidance strength eta."""
    input:
        flat_paths(PLAN.simart_cells(list(PLAN.s000_etas()))),
    output:
        report_figure("fig3_eta_sweep", "fig3_eta_sweep", "The PCSD paper", "Fig. 3"),
    log:
        f"{R}/logs/fig3_eta_sweep.log",
    benchmark:
        f"{R}/benchmarks/fig3_eta_sweep.tsv"
    params:
        code=code("fig_pcsd_fig3_eta.py"),  # the library code it runs
        cells=PLAN.simart_cells(list(PLAN.s000_etas())),
        etas=PLAN.s000_etas(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_fig3_eta.py"


rule fig3_training_curves:
    """PCSD paper Fig. 3 C/D: training loss and validation PSNR vs step (log.csv)."""
    input:
        flat_paths(PLAN.s000_logs()),
    output:
        report_figure("fig3_training_curves", "fig3_training_curves", "The PCSD paper", "Fig. 3"),
    log:
        f"{R}/logs/fig3_training_curves.log",
    benchmark:
        f"{R}/benchmarks/fig3_training_curves.tsv"
    params:
        code=code("fig_pcsd_fig3_curves.py"),  # the library code it runs
        logs=PLAN.s000_logs(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_fig3_curves.py"


rule fig4_cross_modal:
    """PCSD paper Fig. 4: PCSD trained on one modality (or all), PSNR on each modality."""
    input:
        flat_paths(PLAN.s000_cross_cells()),
    output:
        report_figure("fig4_cross_modal", "fig4_cross_modal", "The PCSD paper", "Fig. 4"),
    log:
        f"{R}/logs/fig4_cross_modal.log",
    benchmark:
        f"{R}/benchmarks/fig4_cross_modal.tsv"
    params:
        code=code("fig_pcsd_fig4_cross_modal.py"),  # the library code it runs
        cells=PLAN.s000_cross_cells(),
        rows=PLAN.s000_cross_rows(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pcsd_fig4_cross_modal.py"

