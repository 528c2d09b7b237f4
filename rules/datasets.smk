# Physics datasets of SPEC §4-6: stem_lattice (CIF -> STEM + CDN levels), stm_cu111 (Cu(111)
# LDOS: clean / blurry / experimental-like domains), lm (widefield / confocal fluorescence).
# One job per shard, as for SIMART; targets: `snakemake stem_lattice`, `stm_cu111`, `lm`.
from simart.simulate.dataset_common import n_shards_for  # noqa: E402

SL, STM, LMC = CFG.stem_lattice, CFG.stm_cu111, CFG.lm

if SL.enabled:
    # CIF problems stop the run before any job, naming the file (or warn + skip if
    # stem_lattice.on_bad_cif = skip).
    from simart.simulate.crystals import CIFError
    from simart.simulate.stem_lattice import resolve_materials

    try:
        resolve_materials(SL, image_size=SL.image_size or CFG.image_size)
    except (CIFError, ValueError) as _err:
        sys.stderr.write(f"\nSIMART config error: stem_lattice: {_err}\n\n")
        raise SystemExit(1)

if LMC.enabled and LMC.user_dir:
    from simart.simulate.sources import SourceError, list_user_images

    try:
        list_user_images(LMC.user_dir)
    except SourceError as _err:
        sys.stderr.write(f"\nSIMART config error: lm.user_dir: {_err}\n\n")
        raise SystemExit(1)


def _ids(counts, split, shard_size):
    return [f"{i:04d}" for i in range(n_shards_for(getattr(counts, split), shard_size))]


def stem_lattice_shards():
    if not SL.enabled:
        return []
    return [f"{R}/stem_lattice/shards/L{lv}/{s}/{i}.h5" for lv in SL.levels for s in SPLITS
            for i in _ids(SL.images_per_level, s, SL.shard_size)]


def stm_cu111_shards():
    if not STM.enabled:
        return []
    return [f"{R}/stm_cu111/shards/{d}/{s}/{i}.h5" for d in STM.domains for s in SPLITS
            for i in _ids(STM.images_per_domain, s, STM.shard_size)]


def lm_shards():
    if not LMC.enabled:
        return []
    return [f"{R}/lm/shards/{m}/{s}/{i}.h5" for m in LMC.modes for s in SPLITS
            for i in _ids(LMC.images_per_mode, s, LMC.shard_size)]


def physics_dataset_targets():
    """Every shard of the three physics datasets (empty for a disabled dataset)."""
    return stem_lattice_shards() + stm_cu111_shards() + lm_shards()


def _px(section):
    return (section.image_size or CFG.image_size) ** 2


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
        cfg=cfg_part("seed", "image_size", "stem_lattice"),
        levels=SL.levels,
    threads: 1
    resources:
        **shard_job(SL.shard_size * _px(SL), bytes_per_px=20, px_per_min=2**22),
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
        cfg=cfg_part("seed", "image_size", "stm_cu111"),
    threads: 1
    resources:
        **shard_job(STM.shard_size * _px(STM), bytes_per_px=20, px_per_min=2**17, base_mb=3000),
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
        cfg=cfg_part("seed", "image_size", "lm"),
    resources:
        **small_job(mem_mb=2000, runtime=30),
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
        cfg=cfg_part("seed", "image_size", "lm"),
    threads: 1
    resources:
        **shard_job(LMC.shard_size * _px(LMC), bytes_per_px=40, px_per_min=2**21),
    script:
        "../workflow_scripts/lm_shard.py"


rule stem_lattice:
    """Target: every stem_lattice shard."""
    input:
        stem_lattice_shards(),


rule stm_cu111:
    """Target: every stm_cu111 shard."""
    input:
        stm_cu111_shards(),


rule lm:
    """Target: every lm shard."""
    input:
        lm_shards(),
