"""Rule predict_shard: restore one test shard with one model (predictions + run table)."""
import time

from simart import runlog
from simart.evaluation.cells import predict_shard

log = runlog.setup(snakemake.log[0])  # noqa: F821
wc, p = snakemake.wildcards, snakemake.params  # noqa: F821
t0 = time.perf_counter()
table = predict_shard(snakemake.input.shard, wc.model,  # noqa: F821
                      snakemake.output.pred, snakemake.output.table,  # noqa: F821
                      model_kwargs=p.model_kwargs)
missing = table.loc[table["status"] != "ok", "missing_reason"].unique()
log.info("%s %s shard %s: %d images in %.2f s; missing: %s", wc.modality, wc.model, wc.shard,
         len(table), time.perf_counter() - t0, list(missing) or "none")
