# The PI-DDPM paper's table (src/simart/reporting/piddpm.py): PSNR / MS-SSIM / NRMSE on lm and
# the paper's prose orderings checked. Its figures (and those of the PDA-Net and the
# conditional-DDPM papers, with their claims-vs-measured) are figure specs:
# simart.specs.figures, one rule each in rules/figures.smk. Rows and inputs:
# simart.workflow.figures_plan (cells_of, missing, scale, piddpm_*).


# ------------------------------------------------------------------------- the PI-DDPM paper
rule piddpm_tables:
    """The PI-DDPM paper: PSNR / MS-SSIM / NRMSE of PI-DDPM, DDPM, U-Net (RL: simart only) on lm,
    and the paper's prose orderings checked on the same images."""
    input:
        PLAN.cells_of("lm", PIDDPM_MODELS),
    output:
        **PLAN.piddpm_outputs(),
    log:
        f"{R}/logs/piddpm_tables.log",
    benchmark:
        f"{R}/benchmarks/piddpm_tables.tsv"
    params:
        code=code("piddpm_tables.py"),  # the library code it runs
        subsets=PLAN.dataset_subsets("lm"),
        missing=PLAN.missing("lm", PIDDPM_MODELS),
        context=PLAN.piddpm_context(),
        scale=PLAN.piddpm_scale(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/piddpm_tables.py"
