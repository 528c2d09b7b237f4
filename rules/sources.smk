rule source_catalog:
    """Catalog of clean sources (procedural, scikit-image, user folder) and their split."""
    output:
        f"{R}/simart/sources.parquet",
    log:
        f"{R}/logs/source_catalog.log",
    benchmark:
        f"{R}/benchmarks/source_catalog.tsv"
    params:
        code=code("source_catalog.py"),  # the library code it runs
        cfg=PLAN.cfg_part("seed", "image_size", "sources"),
    resources:
        **small_job(mem_mb=2000, runtime=30),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/source_catalog.py"
