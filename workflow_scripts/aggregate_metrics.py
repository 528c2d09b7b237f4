"""Rule aggregate_metrics: summary table across all cells (CSV, Markdown, Parquet)."""
import simart.jobstart  # noqa: F401  (first: libraries load without garbage collection)
from simart import runlog
from simart.evaluation.aggregate import write_summary

log = runlog.setup(snakemake.log[0])  # noqa: F821
p, out = snakemake.params, snakemake.output  # noqa: F821
summary = write_summary(list(snakemake.input), p.metrics, p.data_range,  # noqa: F821
                        out.csv, out.md, out.parquet)
log.info("summary: %d rows", len(summary))
