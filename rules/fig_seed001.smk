# Seed 001: metric-vs-CDN-noise-level curves per test material on stem_lattice
# (src/simart/reporting/seed001.py: the curves table and the seed's prose checked;
# src/simart/figures/seed001.py: the figure, drawn from that table only).
# Inputs and captions: simart.workflow.figures_plan (seed001_*).


rule seed001_tables:
    """Seed 001: mean ± std of PSNR/SSIM/FSC/EPI per material x CDN level x model, the
    seed's prose statements checked, and its (empty) claims table."""
    input:
        lambda wc: PLAN.dataset_cells("stem_lattice"),
    output:
        **PLAN.seed001_outputs(),
    log:
        f"{R}/logs/seed001_tables.log",
    benchmark:
        f"{R}/benchmarks/seed001_tables.tsv"
    params:
        code=code("fig_seed001_tables.py"),  # the library code it runs
        context=PLAN.seed001_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed001_tables.py"


rule seed001_noise_curves:
    """Seed 001 Figs. 3/5 analogue: metric vs CDN level, one panel per metric x material."""
    input:
        PLAN.seed001_outputs()["curves"],
    output:
        report_figure("seed001_noise_curves", "fig_seed001_noise_curves", "Seed 001",
                      "Noise-level curves"),
    log:
        f"{R}/logs/seed001_noise_curves.log",
    benchmark:
        f"{R}/benchmarks/seed001_noise_curves.tsv"
    params:
        code=code("fig_seed001_noise_curves.py"),  # the library code it runs
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed001_noise_curves.py"
