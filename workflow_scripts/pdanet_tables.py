"""Rule pdanet_tables: the PDA-Net paper Tables I and II from the stm_cu111 cells."""
from simart import runlog
from simart.reporting.pdanet import write_tables

log = runlog.setup(snakemake.log[0])  # noqa: F821
out, p = snakemake.output, snakemake.params  # noqa: F821
res = write_tables(list(snakemake.input), p.data_range, out.md, out.csv,  # noqa: F821
                   out.ordering, context=p.context)
for table, order in res["ordering"].items():
    for r in order.itertuples(index=False):
        log.info("Table %s %s %s: %s", table, r.metric, r.step, r.verdict)
