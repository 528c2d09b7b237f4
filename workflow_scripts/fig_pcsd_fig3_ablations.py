"""Rule fig3_ablations: the PCSD paper Fig. 3 A from the cell tables of PCSD and its ablations."""
from simart import runlog
from simart.figures.pcsd import draw_ablations

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_ablations(p.cells, p.models, list(snakemake.output), dpi=p.dpi)  # noqa: F821
log.info("wrote %s", list(snakemake.output))  # noqa: F821
