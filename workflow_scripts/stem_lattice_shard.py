"""Rule stem_lattice_shard: simulate one (split, shard) of stem_lattice at every CDN level."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import time

import torch

from simart import runlog
from simart.config import validate_config
from simart.simulate.stem_lattice import build_stem_lattice_shards

log = runlog.setup(snakemake.log[0])  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821
wc, cfg = snakemake.wildcards, validate_config(snakemake.params.cfg)  # noqa: F821
outs = dict(zip(snakemake.params.levels, snakemake.output.h5, strict=True))  # noqa: F821
t0 = time.perf_counter()
tables = build_stem_lattice_shards(cfg, wc.split, int(wc.shard), outs)
dt = time.perf_counter() - t0
n = len(next(iter(tables.values())))
log.info("stem_lattice %s/%s: %d images x levels %s (%s) in %.2f s (%.1f images/s)", wc.split,
         wc.shard, n, sorted(tables), ", ".join(sorted(set(next(iter(tables.values()))["material"]))),
         dt, n * len(tables) / dt)
