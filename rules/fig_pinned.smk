# The PINNED paper: metric-vs-CDN-noise-level curves per test material on stem_lattice
# (src/simart/reporting/pinned.py: the curves table and the paper's prose checked;
# src/simart/figures/pinned.py: the figure, drawn from that table only).
# Inputs and captions: simart.workflow.figures_plan (pinned_*).


rule pinned_tables:
    """The PINNED paper: mean ± std of PSNR/SSIM/FSC/EPI per material x CDN level x model, the
    paper's prose statements checked, and its (empty) claims table."""
    input:
        lambda wc: PLAN.dataset_cells("stem_lattice"),
    output:
        **PLAN.pinned_outputs(),
    log:
        f"{R}/logs/pinned_tables.log",
    benchmark:
        f"{R}/benchmarks/pinned_tables.tsv"
    params:
        code=code("fig_pinned_tables.py"),  # the library code it runs
        context=PLAN.pinned_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pinned_tables.py"


rule pinned_noise_curves:
    """PINNED paper Figs. 3/5 analogue: metric vs CDN level, one panel per metric x material."""
    input:
        PLAN.pinned_outputs()["curves"],
    output:
        report_figure("pinned_noise_curves", "fig_pinned_noise_curves", "The PINNED paper",
                      "Noise-level curves"),
    log:
        f"{R}/logs/pinned_noise_curves.log",
    benchmark:
        f"{R}/benchmarks/pinned_noise_curves.tsv"
    params:
        code=code("fig_pinned_noise_curves.py"),  # the library code it runs
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pinned_noise_curves.py"
