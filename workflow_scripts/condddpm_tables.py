"""Rule condddpm_tables: DDPM-avg and uncertainty maps of cond_ddpm, measured."""
from simart import runlog
from simart.reporting.condddpm import write_tables

log = runlog.setup(snakemake.log[0])  # noqa: F821
out, p = snakemake.output, snakemake.params  # noqa: F821
s = write_tables(p.paths["preds"], p.paths["shards"], p.data_range, out.md, out.curve,
                 out.uncertainty, context=p.context)
for r in s["avg_vs_single"].itertuples(index=False):
    log.info("%s %s: DDPM-avg %.4f vs single %.4f", r.subset, r.metric, r.ddpm_avg,
             r.single_sample)
for r in s["uncertainty"].itertuples(index=False):
    log.info("%s %s: median edge/flat %.3f", r.subset, r.map, r.ratio_median)
