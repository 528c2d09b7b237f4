"""Rule pcsd_tables: the PCSD paper Tables 2, 3, 4, 6 and per-modality PSNR from the cells."""
from simart import runlog
from simart.reporting.pcsd import OUTPUTS, write_tables

log = runlog.setup(snakemake.log[0])  # noqa: F821
out, p = snakemake.output, snakemake.params  # noqa: F821
t = write_tables(p.paths, p.run, {k: getattr(out, k) for k in OUTPUTS}, context=p.context)
for r in t.table2[t.table2["modality"] == "all"].itertuples(index=False):
    log.info("Table 2 %s (%s): n %d, PSNR %.2f", r.row, r.model, r.n, r.psnr_mean)
log.info("Table 4 average off-diagonal drop: %s %%",
         t.table4[t.table4["row"] == "Single-modality training (average)"]["psnr_drop_pct"].iloc[0])
log.info("wrote %s", list(snakemake.output))  # noqa: F821
