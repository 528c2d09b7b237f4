"""Rule source_catalog: write the clean-source catalog (one row per source, with its split)."""
import simart.jobstart  # noqa: F401  (first: libraries load without garbage collection)
from simart import runlog
from simart.config import validate_config
from simart.io import atomic_path
from simart.simulate.sources import build_catalog, verify_user_sources

log = runlog.setup(snakemake.log[0])  # noqa: F821
cfg = validate_config(snakemake.params.cfg)  # noqa: F821
src = cfg.sources
catalog = build_catalog(
    src.n_sources, cfg.seed, procedural_kinds=src.procedural_kinds, use_skimage=src.use_skimage,
    user_dir=src.user_dir, split_fractions=tuple(src.split_fractions))
n_user = verify_user_sources(catalog, cfg.image_size)
with atomic_path(snakemake.output[0]) as tmp:  # noqa: F821
    catalog.to_parquet(tmp, index=False)
log.info("user files verified: %d", n_user)
log.info("catalog: %d sources, splits %s, origins %s", len(catalog),
         catalog["split"].value_counts().to_dict(), catalog["origin"].value_counts().to_dict())
