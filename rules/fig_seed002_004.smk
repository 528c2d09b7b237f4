# Seed 002 (PI-DDPM) table and eta ablation, seed 003 Figs. 3-4 and its claims-vs-measured,
# seed 004 figures (distributions with Mood's stars, DDPM-avg vs k, uncertainty maps) and
# its claims-vs-measured. Each rule reads only the cells / files it draws.
# Library: simart.reporting.seed002 / seed003_claims / seed004_claims,
# simart.figures.seed002 / seed003 / seed004; rows, inputs and captions:
# simart.workflow.figures_plan (cells_of, missing, scale, seed002_* ... seed004_*).


# ------------------------------------------------------------------------- seed 002
rule seed002_tables:
    """Seed 002: PSNR / MS-SSIM / NRMSE of PI-DDPM, DDPM, U-Net (RL: simart only) on lm,
    and the seed's prose orderings checked on the same images."""
    input:
        PLAN.cells_of("lm", S002_MODELS),
    output:
        **PLAN.seed002_outputs(),
    log:
        f"{R}/logs/seed002_tables.log",
    benchmark:
        f"{R}/benchmarks/seed002_tables.tsv"
    params:
        code=code("seed002_tables.py"),  # the library code it runs
        subsets=PLAN.dataset_subsets("lm"),
        missing=PLAN.missing("lm", S002_MODELS),
        context=PLAN.seed002_context(),
        scale=PLAN.seed002_scale(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed002_tables.py"


rule fig_seed002_eta_ablation:
    """Seed 002 Fig. 5: PI-DDPM rows (trained or sampling variants) against eta and R."""
    input:
        PLAN.cells_of("lm", list(PLAN.seed002_eta_rows())),
    output:
        report_figure("seed002_eta_ablation", "seed002_eta_ablation", "Seed 002",
                      "PI-DDPM eta ablation"),
    log:
        f"{R}/logs/fig_seed002_eta_ablation.log",
    benchmark:
        f"{R}/benchmarks/fig_seed002_eta_ablation.tsv"
    params:
        code=code("fig_seed002_eta_ablation.py"),  # the library code it runs
        rows=PLAN.seed002_eta_rows(),
        subsets=PLAN.dataset_subsets("lm"),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed002_eta_ablation.py"


# ------------------------------------------------------------------------- seed 003
rule fig_seed003_fig3:
    """Seed 003 Fig. 3: clean / blurry / each ablation row's output (simulated domain)."""
    input:
        [p for p in flat_paths(PLAN.seed003_paths("blurry")) if p],
    output:
        report_figure("seed003_fig3_simulated", "seed003_fig3_simulated", "Seed 003",
                      "Fig. 3 (simulated domain)"),
    log:
        f"{R}/logs/fig_seed003_fig3.log",
    benchmark:
        f"{R}/benchmarks/fig_seed003_fig3.tsv"
    params:
        code=code("fig_seed003_examples.py"),  # the library code it runs
        **PLAN.seed003_paths("blurry"),
        subset="blurry",
        missing=PLAN.missing("stm_cu111", S003_ABLATION),
        n_examples=4,
        dpi=CFG.figures.dpi,
        title=PLAN.seed003_fig_title(3, "blurry", "PSNR / SSIM vs the clean map; grey scale 0-1"),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed003_examples.py"


rule fig_seed003_fig4:
    """Seed 003 Fig. 4: experimental-like inputs and the ablation rows' outputs."""
    input:
        [p for p in flat_paths(PLAN.seed003_paths("experimental")) if p],
    output:
        report_figure("seed003_fig4_experimental", "seed003_fig4_experimental", "Seed 003",
                      "Fig. 4 (experimental-like domain)"),
    log:
        f"{R}/logs/fig_seed003_fig4.log",
    benchmark:
        f"{R}/benchmarks/fig_seed003_fig4.tsv"
    params:
        code=code("fig_seed003_examples.py"),  # the library code it runs
        **PLAN.seed003_paths("experimental"),
        subset="experimental",
        missing=PLAN.missing("stm_cu111", S003_ABLATION),
        n_examples=4,
        dpi=CFG.figures.dpi,
        title=PLAN.seed003_fig_title(4, "experimental",
                                     "BRISQUE / PIQE, no reference; grey scale 0-1"),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed003_examples.py"


rule seed003_claims:
    """Seed 003's claimed Table I/II numbers beside ours (claims_vs_measured_seed003.csv)."""
    input:
        tables=PLAN.seed003_outputs()["csv"],
    output:
        csv=PLAN.seed003_claims(),
    log:
        f"{R}/logs/seed003_claims.log",
    benchmark:
        f"{R}/benchmarks/seed003_claims.tsv"
    params:
        code=code("fig_seed003_claims.py"),  # the library code it runs
        scale=PLAN.scale("stm_cu111", ("noisy", *S003_ABLATION)),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed003_claims.py"


# ------------------------------------------------------------------------- seed 004
rule fig_seed004_distributions:
    """Seed 004 Figs. 1A-4A/S3: metric distributions per method on lm, Mood's-test stars
    against DDPM-avg and one DDPM sample (computed from the cells)."""
    input:
        cells=PLAN.cells_of("lm", S004_MODELS),
        curve=PLAN.seed004_curve(),
    output:
        figures=report_figure("seed004_distributions", "seed004_distributions", "Seed 004",
                              "metric distributions"),
        stats=PLAN.seed004_distribution_stats(),
    log:
        f"{R}/logs/fig_seed004_distributions.log",
    benchmark:
        f"{R}/benchmarks/fig_seed004_distributions.tsv"
    params:
        code=code("fig_seed004_distributions.py"),  # the library code it runs
        missing=PLAN.missing("lm", S004_MODELS),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_distributions.py"


rule fig_seed004_ddpm_avg:
    """Seed 004 Fig. S1: DDPM-avg of the first k samples against k."""
    input:
        PLAN.seed004_curve(),
    output:
        report_figure("seed004_ddpm_avg", "seed004_ddpm_avg", "Seed 004",
                      "DDPM-avg vs number of samples"),
    log:
        f"{R}/logs/fig_seed004_ddpm_avg.log",
    benchmark:
        f"{R}/benchmarks/fig_seed004_ddpm_avg.tsv"
    params:
        code=code("fig_seed004_ddpm_avg.py"),  # the library code it runs
        n_samples=PLAN.seed004_n_samples(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_ddpm_avg.py"


rule fig_seed004_uncertainty:
    """Seed 004 Fig. S2: input, DDPM-avg, clean, std, entropy and error maps."""
    input:
        [p for p in flat_paths(PLAN.seed004_uncertainty_paths()) if p],
    output:
        report_figure("seed004_uncertainty_maps", "seed004_uncertainty_maps", "Seed 004",
                      "uncertainty maps"),
    log:
        f"{R}/logs/fig_seed004_uncertainty.log",
    benchmark:
        f"{R}/benchmarks/fig_seed004_uncertainty.tsv"
    params:
        code=code("fig_seed004_uncertainty.py"),  # the library code it runs
        **PLAN.seed004_uncertainty_paths(),
        n_examples=2,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_uncertainty.py"


rule seed004_claims:
    """Seed 004's claimed medians beside ours (claims_vs_measured_seed004.csv)."""
    input:
        cells=PLAN.cells_of("lm", S004_MODELS),
        curve=PLAN.seed004_curve(),
    output:
        csv=PLAN.seed004_claims(),
    log:
        f"{R}/logs/seed004_claims.log",
    benchmark:
        f"{R}/benchmarks/seed004_claims.tsv"
    params:
        code=code("fig_seed004_claims.py"),  # the library code it runs
        data_range=CFG.evaluate.data_range,
        scale=PLAN.seed004_scale(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_claims.py"
