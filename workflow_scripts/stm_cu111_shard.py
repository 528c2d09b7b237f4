"""Rule stm_cu111_shard: simulate one (domain, split, shard) of stm_cu111."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import time

import torch

from simart import runlog
from simart.config import validate_config
from simart.simulate.stm_cu111 import build_stm_shard

log = runlog.setup(snakemake.log[0])  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821
wc, cfg = snakemake.wildcards, validate_config(snakemake.params.cfg)  # noqa: F821
t0 = time.perf_counter()
table = build_stm_shard(cfg, wc.domain, wc.split, int(wc.shard), snakemake.output.h5)  # noqa: F821
dt = time.perf_counter() - t0
log.info("stm_cu111 %s/%s/%s: %d images (layouts %s) in %.2f s (%.1f images/s)", wc.domain,
         wc.split, wc.shard, len(table), table["layout"].value_counts().to_dict(), dt,
         len(table) / dt)
