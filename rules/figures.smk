rule fig1_artifacts:
    """Seed 000 Fig. 1: clean / degraded / restored per modality (first test shard)."""
    input:
        flat_paths(fig1_inputs()),
    output:
        expand(f"{R}/figures/fig1_artifacts.{{ext}}", ext=CFG.figures.formats),
    log:
        f"{R}/logs/fig1_artifacts.log",
    benchmark:
        f"{R}/benchmarks/fig1_artifacts.tsv"
    params:
        figures=cfg_part("figures")["figures"],
        paths=fig1_inputs(),
        models=fig1_models(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig1_artifacts.py"


rule figures:
    """Regenerate tables and figures from the results (nothing upstream if up to date)."""
    input:
        figure_targets(),
