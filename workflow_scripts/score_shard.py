"""Rule score_shard: every configured metric for one job's predictions (one row per image)."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import time

import torch

from simart import runlog
from simart.evaluation.cells import metric_notes, score_shards

log = runlog.setup(snakemake.log[0])  # noqa: F821
torch.set_num_threads(max(1, snakemake.threads))  # noqa: F821
inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
t0 = time.perf_counter()
table = score_shards({s: inp[s] for s in p.subsets}, inp.pred, inp.run, p.metrics,
                     snakemake.output[0],  # noqa: F821
                     data_range=p.data_range, lpips_backbone=p.lpips_backbone)
log.info("%s %s shard %s: %d images, %d metrics in %.2f s", wc.dataset, wc.model, wc.shard,
         len(table), len(p.metrics), time.perf_counter() - t0)
for metric, reasons in metric_notes(table, p.metrics).items():
    log.warning("metric %s not computed for some images: %s", metric, "; ".join(reasons))
