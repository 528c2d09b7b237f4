"""Rule fig4_cross_modal: the PCSD paper Fig. 4 from the cross-modal rows' cell tables."""
from simart import runlog
from simart.figures.pcsd import draw_cross_modal

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_cross_modal(p.cells, p.rows, list(snakemake.output), dpi=p.dpi)  # noqa: F821
log.info("wrote %s", list(snakemake.output))  # noqa: F821
