"""Rule benchmark_summary: time and memory per rule from every job's benchmark record."""
import simart.jobstart  # noqa: F401  (first: libraries load without garbage collection)
from simart import runlog
from simart.benchmark_summary import find_benchmark_files, find_usage_files, write_summary

log = runlog.setup(snakemake.log[0])  # noqa: F821
p, out = snakemake.params, snakemake.output  # noqa: F821
files = find_benchmark_files(p.root)
table = write_summary(files, p.patterns, out.csv, out.md, usage=find_usage_files(p.logs))
log.info("benchmark summary: %d records of %d rules -> %s", int(table["jobs"].sum()),
         len(table), out.md)
log.info("\n%s", table.to_string(index=False))
