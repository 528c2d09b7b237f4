"""Rule simulate_shard: simulate one (modality, split, shard) of SIMART."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import time

import torch

from simart import runlog
from simart.config import validate_config
from simart.provenance import read_table
from simart.simulate.simart_dataset import build_shard

log = runlog.setup(snakemake.log[0])  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821
wc, cfg = snakemake.wildcards, validate_config(snakemake.params.cfg)  # noqa: F821
t0 = time.perf_counter()
table = build_shard(cfg, read_table(snakemake.input.catalog), wc.modality, wc.split,  # noqa: F821
                    int(wc.shard), snakemake.output.h5)  # noqa: F821
dt = time.perf_counter() - t0
log.info("%s/%s/%s: %d images in %.2f s (%.1f images/s)", wc.modality, wc.split, wc.shard,
         len(table), dt, len(table) / dt)
