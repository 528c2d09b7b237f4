"""Rule real_table: the no-reference measures of every real set, per image and summarised."""
import simart.jobstart  # noqa: F401  (first: libraries load without garbage collection)
from simart import runlog
from simart.realdata import write_tables

log = runlog.setup(snakemake.log[0])  # noqa: F821
rows = write_tables(list(snakemake.input), dict(snakemake.output))  # noqa: F821
log.info("%d rows (%d missing) from %d sets", len(rows), int((rows["status"] != "ok").sum()),
         rows["set"].nunique())
