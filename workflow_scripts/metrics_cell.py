"""Rule metrics_cell: gather one subset's rows of the metric tables into the cell's file,
refusing rows not made from the current test shards and weights."""
from simart import runlog
from simart.evaluation.cells import gather_cell

log = runlog.setup(snakemake.log[0])  # noqa: F821
out, made_from = snakemake.output[0], snakemake.params.made_from  # noqa: F821
table = gather_cell(list(snakemake.input), out, subset=snakemake.wildcards.subset,  # noqa: F821
                    shards=made_from["shards"], weights=made_from["weights"])
log.info("cell %s: %d images", out, len(table))
