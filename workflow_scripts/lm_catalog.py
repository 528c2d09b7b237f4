"""Rule lm_catalog: the clean-source catalog of the lm dataset (one row per source)."""
import simart.jobstart  # noqa: F401  (first: libraries load without garbage collection)
from simart import runlog
from simart.config import validate_config
from simart.io import atomic_path
from simart.simulate.lm_dataset import lm_catalog
from simart.simulate.sources import verify_user_sources

log = runlog.setup(snakemake.log[0])  # noqa: F821
cfg = validate_config(snakemake.params.cfg)  # noqa: F821
catalog = lm_catalog(cfg)
n_user = verify_user_sources(catalog, cfg.lm.image_size or cfg.image_size)
with atomic_path(snakemake.output[0]) as tmp:  # noqa: F821
    catalog.to_parquet(tmp, index=False)
log.info("lm catalog: %d sources (%d user files verified), splits %s, origins %s", len(catalog),
         n_user, catalog["split"].value_counts().to_dict(),
         catalog["origin"].value_counts().to_dict())
