"""Rule pinned_tables: the PINNED paper noise-level curves table, trend checks, claims (none)."""
from simart import runlog
from simart.reporting.pinned import write_tables

log = runlog.setup(snakemake.log[0])  # noqa: F821
out = snakemake.output  # noqa: F821
res = write_tables(list(snakemake.input), out.curves, out.md, out.trends, out.claims,  # noqa: F821
                   context=snakemake.params.context)  # noqa: F821
for r in res["trends"].itertuples(index=False):
    log.info("the PINNED paper '%s' (%s): %s", r.claim, r.model, r.verdict)
