"""Rule fig_seed002_eta_ablation: seed 002 Fig. 5 (η and the regulariser) from the lm cells."""
from simart import runlog
from simart.figures.seed002 import draw
from simart.reporting.seed002 import load_cells

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
pts = draw(load_cells(list(snakemake.input)), p.rows, list(snakemake.output),  # noqa: F821
           subsets=p.subsets, dpi=p.dpi)
log.info("rows %s; %d points with values", sorted(p.rows), int((pts["n"] > 0).sum()))
