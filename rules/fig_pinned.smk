# The PINNED paper: metric-vs-CDN-noise-level curves per test material on stem_lattice
# (src/simart/reporting/pinned.py: the curves table and the paper's prose checked). The
# figure, drawn from that table only, is the figure spec pinned_noise_curves
# (simart.specs.figures; its rule in rules/figures.smk). Inputs: simart.workflow.figures_plan
# (pinned_*).


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
        code=code("pinned_tables.py"),  # the library code it runs
        context=PLAN.pinned_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/pinned_tables.py"
