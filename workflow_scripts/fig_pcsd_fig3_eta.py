"""Rule fig3_eta_sweep: the PCSD paper Fig. 3 B from the cell tables of PCSD's eta variants."""
from simart import runlog
from simart.figures.pcsd import draw_eta_sweep

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_eta_sweep(p.cells, p.etas, list(snakemake.output), dpi=p.dpi)  # noqa: F821
log.info("eta per row: %s; wrote %s", p.etas, list(snakemake.output))  # noqa: F821
