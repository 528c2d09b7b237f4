"""Rule fig_piddpm_eta_ablation: the PI-DDPM paper Fig. 5 (η and the regulariser) from the lm cells."""
from simart import runlog
from simart.figures.piddpm import draw
from simart.reporting.piddpm import load_cells

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
pts = draw(load_cells(list(snakemake.input)), p.rows, list(snakemake.output),  # noqa: F821
           subsets=p.subsets, dpi=p.dpi)
log.info("rows %s; %d points with values", sorted(p.rows), int((pts["n"] > 0).sum()))
