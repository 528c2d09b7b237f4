"""Rule predict_shard: restore test shard {shard} of every scored subset with one model."""
import time

from simart import runlog
from simart.evaluation.cells import predict_shards

log = runlog.setup(snakemake.log[0])  # noqa: F821
wc, p, inp = snakemake.wildcards, snakemake.params, snakemake.input  # noqa: F821
t0 = time.perf_counter()
table = predict_shards({s: inp[s] for s in p.subsets}, wc.model,
                       snakemake.output.pred, snakemake.output.table,  # noqa: F821
                       dataset=wc.dataset,
                       weights={s: inp.get(f"weights_{s}") for s in p.subsets},
                       model_kwargs=p.model_kwargs, seed=p.seed)
missing = table.loc[table["status"] != "ok", "missing_reason"].unique()
log.info("%s %s shard %s (%s): %d images in %.2f s; missing: %s; inference: %s",
         wc.dataset, wc.model, wc.shard, ", ".join(p.subsets), len(table),
         time.perf_counter() - t0, list(missing) or "none",
         p.model_kwargs.get("inference", "default (float32, eager)"))
