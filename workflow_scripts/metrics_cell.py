"""Rule metrics_cell: gather one subset's rows of the metric tables into the cell's file."""
from simart import runlog
from simart.evaluation.cells import gather_cell

log = runlog.setup(snakemake.log[0])  # noqa: F821
table = gather_cell(list(snakemake.input), snakemake.output[0],  # noqa: F821
                    subset=snakemake.wildcards.subset)  # noqa: F821
log.info("cell %s: %d images", snakemake.output[0], len(table))  # noqa: F821
