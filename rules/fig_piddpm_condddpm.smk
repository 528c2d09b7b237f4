# The PI-DDPM paper table and eta ablation, the PDA-Net paper Figs. 3-4 and its claims-vs-measured,
# the conditional-DDPM paper figures (distributions with Mood's stars, DDPM-avg vs k, uncertainty maps) and
# its claims-vs-measured. Each rule reads only the cells / files it draws.
# Library: simart.reporting.piddpm / pdanet_claims / condddpm_claims,
# simart.figures.piddpm / pdanet / condddpm; rows, inputs and captions:
# simart.workflow.figures_plan (cells_of, missing, scale, piddpm_* ... condddpm_*).


# ------------------------------------------------------------------------- the PI-DDPM paper
rule piddpm_tables:
    """The PI-DDPM paper: PSNR / MS-SSIM / NRMSE of PI-DDPM, DDPM, U-Net (RL: simart only) on lm,
    and the paper's prose orderings checked on the same images."""
    input:
        PLAN.cells_of("lm", S002_MODELS),
    output:
        **PLAN.piddpm_outputs(),
    log:
        f"{R}/logs/piddpm_tables.log",
    benchmark:
        f"{R}/benchmarks/piddpm_tables.tsv"
    params:
        code=code("piddpm_tables.py"),  # the library code it runs
        subsets=PLAN.dataset_subsets("lm"),
        missing=PLAN.missing("lm", S002_MODELS),
        context=PLAN.piddpm_context(),
        scale=PLAN.piddpm_scale(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/piddpm_tables.py"


rule fig_piddpm_eta_ablation:
    """PI-DDPM paper Fig. 5: PI-DDPM rows (trained or sampling variants) against eta and R."""
    input:
        PLAN.cells_of("lm", list(PLAN.piddpm_eta_rows())),
    output:
        report_figure("piddpm_eta_ablation", "piddpm_eta_ablation", "The PI-DDPM paper",
                      "PI-DDPM eta ablation"),
    log:
        f"{R}/logs/fig_piddpm_eta_ablation.log",
    benchmark:
        f"{R}/benchmarks/fig_piddpm_eta_ablation.tsv"
    params:
        code=code("fig_piddpm_eta_ablation.py"),  # the library code it runs
        rows=PLAN.piddpm_eta_rows(),
        subsets=PLAN.dataset_subsets("lm"),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_piddpm_eta_ablation.py"


# ------------------------------------------------------------------------- the PDA-Net paper
rule fig_pdanet_fig3:
    """PDA-Net paper Fig. 3: clean / blurry / each ablation row's output (simulated domain)."""
    input:
        [p for p in flat_paths(PLAN.pdanet_paths("blurry")) if p],
    output:
        report_figure("pdanet_fig3_simulated", "pdanet_fig3_simulated", "The PDA-Net paper",
                      "Fig. 3 (simulated domain)"),
    log:
        f"{R}/logs/fig_pdanet_fig3.log",
    benchmark:
        f"{R}/benchmarks/fig_pdanet_fig3.tsv"
    params:
        code=code("fig_pdanet_examples.py"),  # the library code it runs
        **PLAN.pdanet_paths("blurry"),
        subset="blurry",
        missing=PLAN.missing("stm_cu111", S003_ABLATION),
        n_examples=4,
        dpi=CFG.figures.dpi,
        title=PLAN.pdanet_fig_title(3, "blurry", "PSNR / SSIM vs the clean map; grey scale 0-1"),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pdanet_examples.py"


rule fig_pdanet_fig4:
    """PDA-Net paper Fig. 4: experimental-like inputs and the ablation rows' outputs."""
    input:
        [p for p in flat_paths(PLAN.pdanet_paths("experimental")) if p],
    output:
        report_figure("pdanet_fig4_experimental", "pdanet_fig4_experimental", "The PDA-Net paper",
                      "Fig. 4 (experimental-like domain)"),
    log:
        f"{R}/logs/fig_pdanet_fig4.log",
    benchmark:
        f"{R}/benchmarks/fig_pdanet_fig4.tsv"
    params:
        code=code("fig_pdanet_examples.py"),  # the library code it runs
        **PLAN.pdanet_paths("experimental"),
        subset="experimental",
        missing=PLAN.missing("stm_cu111", S003_ABLATION),
        n_examples=4,
        dpi=CFG.figures.dpi,
        title=PLAN.pdanet_fig_title(4, "experimental",
                                     "BRISQUE / PIQE, no reference; grey scale 0-1"),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pdanet_examples.py"


rule pdanet_claims:
    """The PDA-Net paper's claimed Table I/II numbers beside ours (claims_vs_measured_pdanet.csv)."""
    input:
        tables=PLAN.pdanet_outputs()["csv"],
    output:
        csv=PLAN.pdanet_claims(),
    log:
        f"{R}/logs/pdanet_claims.log",
    benchmark:
        f"{R}/benchmarks/pdanet_claims.tsv"
    params:
        code=code("fig_pdanet_claims.py"),  # the library code it runs
        scale=PLAN.scale("stm_cu111", ("noisy", *S003_ABLATION)),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_pdanet_claims.py"


# ------------------------------------------------------------------------- the conditional-DDPM paper
rule fig_condddpm_distributions:
    """Conditional-DDPM paper Figs. 1A-4A/S3: metric distributions per method on lm, Mood's-test stars
    against DDPM-avg and one DDPM sample (computed from the cells)."""
    input:
        cells=PLAN.cells_of("lm", S004_MODELS),
        curve=PLAN.condddpm_curve(),
    output:
        figures=report_figure("condddpm_distributions", "condddpm_distributions", "The conditional-DDPM paper",
                              "metric distributions"),
        stats=PLAN.condddpm_distribution_stats(),
    log:
        f"{R}/logs/fig_condddpm_distributions.log",
    benchmark:
        f"{R}/benchmarks/fig_condddpm_distributions.tsv"
    params:
        code=code("fig_condddpm_distributions.py"),  # the library code it runs
        missing=PLAN.missing("lm", S004_MODELS),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_condddpm_distributions.py"


rule fig_condddpm_ddpm_avg:
    """Conditional-DDPM paper Fig. S1: DDPM-avg of the first k samples against k."""
    input:
        PLAN.condddpm_curve(),
    output:
        report_figure("condddpm_ddpm_avg", "condddpm_ddpm_avg", "The conditional-DDPM paper",
                      "DDPM-avg vs number of samples"),
    log:
        f"{R}/logs/fig_condddpm_ddpm_avg.log",
    benchmark:
        f"{R}/benchmarks/fig_condddpm_ddpm_avg.tsv"
    params:
        code=code("fig_condddpm_ddpm_avg.py"),  # the library code it runs
        n_samples=PLAN.condddpm_n_samples(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_condddpm_ddpm_avg.py"


rule fig_condddpm_uncertainty:
    """Conditional-DDPM paper Fig. S2: input, DDPM-avg, clean, std, entropy and error maps."""
    input:
        [p for p in flat_paths(PLAN.condddpm_uncertainty_paths()) if p],
    output:
        report_figure("condddpm_uncertainty_maps", "condddpm_uncertainty_maps", "The conditional-DDPM paper",
                      "uncertainty maps"),
    log:
        f"{R}/logs/fig_condddpm_uncertainty.log",
    benchmark:
        f"{R}/benchmarks/fig_condddpm_uncertainty.tsv"
    params:
        code=code("fig_condddpm_uncertainty.py"),  # the library code it runs
        **PLAN.condddpm_uncertainty_paths(),
        n_examples=2,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_condddpm_uncertainty.py"


rule condddpm_claims:
    """The conditional-DDPM paper's claimed medians beside ours (claims_vs_measured_condddpm.csv)."""
    input:
        cells=PLAN.cells_of("lm", S004_MODELS),
        curve=PLAN.condddpm_curve(),
    output:
        csv=PLAN.condddpm_claims(),
    log:
        f"{R}/logs/condddpm_claims.log",
    benchmark:
        f"{R}/benchmarks/condddpm_claims.tsv"
    params:
        code=code("fig_condddpm_claims.py"),  # the library code it runs
        data_range=CFG.evaluate.data_range,
        scale=PLAN.condddpm_scale(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_condddpm_claims.py"
