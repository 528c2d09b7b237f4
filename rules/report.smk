# Run report: a per-rule time/memory table from the benchmark record of every job
# (results/benchmarks/). `snakemake benchmark_summary` builds everything `all` builds,
# then summarises; on Slurm: `snakemake --profile profiles/slurm all benchmark_summary`.



rule benchmark_summary:
    """Per-rule table of wall time, peak memory and CPU time of all benchmarked jobs."""
    input:
        lambda wc: rules.all.input,
    output:
        csv=f"{R}/benchmarks/summary.csv",
        md=f"{R}/benchmarks/summary.md",
    log:
        f"{R}/logs/benchmark_summary.log",
    benchmark:
        f"{R}/benchmarks/benchmark_summary.tsv"
    params:
        code=code("benchmark_summary.py"),  # the library code it runs
        root=f"{R}/benchmarks",
        patterns=lambda wc: benchmark_patterns(),
    localrule: True
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/benchmark_summary.py"
