rule simulate_shard:
    """One SIMART shard: clean sources x the modality's operator + noise (HDF5 + Parquet)."""
    input:
        catalog=f"{R}/simart/sources.parquet",
    output:
        h5=f"{R}/simart/shards/{{modality}}/{{split}}/{{shard}}.h5",
        table=f"{R}/simart/shards/{{modality}}/{{split}}/{{shard}}.parquet",
    log:
        f"{R}/logs/simulate/{{modality}}_{{split}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/simulate/{{modality}}_{{split}}_{{shard}}.tsv"
    params:
        code=code("simulate_shard.py"),  # the library code it runs
        cfg=PLAN.cfg_part("seed", "image_size", "simart"),
    threads: 1
    resources:
        **shard_job(CFG.simart.shard_size * CFG.image_size**2, bytes_per_px=20, px_per_min=2**22),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/simulate_shard.py"
