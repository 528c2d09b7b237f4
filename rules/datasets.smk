# Physics datasets (docs/dataset.md): stem_lattice (CIF -> STEM + CDN levels), stm_cu111 (Cu(111)
# LDOS: clean / blurry / experimental-like domains), lm (widefield / confocal fluorescence).
# One job per shard, as for SIMART; targets: `snakemake stem_lattice`, `stm_cu111`, `lm`.
# CIF problems and an empty lm.user_dir stop the run before any job, naming the file
# (rules/common.smk: simart.workflow.checks.check_sources); shard lists: simart.workflow.plan.
SL, STM, LMC = CFG.stem_lattice, CFG.stm_cu111, CFG.lm


rule stem_lattice_shard:
    """One stem_lattice (split, shard): CIF crystals -> HAADF images, rendered once, written
    at every CDN level (HDF5 + Parquet per level)."""
    output:
        h5=expand(f"{R}/stem_lattice/shards/L{{level}}/{{{{split}}}}/{{{{shard}}}}.h5",
                  level=SL.levels),
        table=expand(f"{R}/stem_lattice/shards/L{{level}}/{{{{split}}}}/{{{{shard}}}}.parquet",
                     level=SL.levels),
    log:
        f"{R}/logs/stem_lattice/{{split}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/stem_lattice/{{split}}_{{shard}}.tsv"
    params:
        code=code("stem_lattice_shard.py"),  # the library code it runs
        cfg=PLAN.cfg_part("seed", "image_size", "stem_lattice"),
        levels=SL.levels,
    threads: 1
    resources:
        **shard_job(SL.shard_size * PLAN.pixels("stem_lattice"), bytes_per_px=20,
                    px_per_min=2**22),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/stem_lattice_shard.py"


rule stm_cu111_shard:
    """One stm_cu111 shard of a domain (clean / blurry / experimental): LDOS + degradation."""
    output:
        h5=f"{R}/stm_cu111/shards/{{domain}}/{{split}}/{{shard}}.h5",
        table=f"{R}/stm_cu111/shards/{{domain}}/{{split}}/{{shard}}.parquet",
    wildcard_constraints:
        domain="clean|blurry|experimental",
    log:
        f"{R}/logs/stm_cu111/{{domain}}_{{split}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/stm_cu111/{{domain}}_{{split}}_{{shard}}.tsv"
    params:
        code=code("stm_cu111_shard.py"),  # the library code it runs
        cfg=PLAN.cfg_part("seed", "image_size", "stm_cu111"),
    threads: 1
    resources:
        **shard_job(STM.shard_size * PLAN.pixels("stm_cu111"), bytes_per_px=20, px_per_min=2**17,
                    base_mb=3000),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/stm_cu111_shard.py"


rule lm_catalog:
    """Clean-source catalog of the lm dataset (filaments / blobs / scikit-image / user)."""
    output:
        f"{R}/lm/sources.parquet",
    log:
        f"{R}/logs/lm_catalog.log",
    benchmark:
        f"{R}/benchmarks/lm_catalog.tsv"
    params:
        code=code("lm_catalog.py"),  # the library code it runs
        cfg=PLAN.cfg_part("seed", "image_size", "lm"),
    resources:
        **small_job(mem_mb=2000, runtime=30),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/lm_catalog.py"


rule lm_shard:
    """One lm shard of a mode (widefield / confocal): PSF + Poisson noise with background."""
    input:
        catalog=f"{R}/lm/sources.parquet",
    output:
        h5=f"{R}/lm/shards/{{mode}}/{{split}}/{{shard}}.h5",
        table=f"{R}/lm/shards/{{mode}}/{{split}}/{{shard}}.parquet",
    wildcard_constraints:
        mode="widefield|confocal",
    log:
        f"{R}/logs/lm/{{mode}}_{{split}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/lm/{{mode}}_{{split}}_{{shard}}.tsv"
    params:
        code=code("lm_shard.py"),  # the library code it runs
        cfg=PLAN.cfg_part("seed", "image_size", "lm"),
    threads: 1
    resources:
        **shard_job(LMC.shard_size * PLAN.pixels("lm"), bytes_per_px=40, px_per_min=2**21),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/lm_shard.py"


rule stem_lattice:
    """Target: every stem_lattice shard."""
    input:
        PLAN.stem_lattice_shards(),


rule stm_cu111:
    """Target: every stm_cu111 shard."""
    input:
        PLAN.stm_cu111_shards(),


rule lm:
    """Target: every lm shard."""
    input:
        PLAN.lm_shards(),
