"""Rule fig3_training_curves: seed 000 Fig. 3 C/D from the trainings' log.csv."""
from simart import runlog
from simart.figures.seed000 import draw_training_curves

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_training_curves(p.logs, list(snakemake.output), dpi=p.dpi)  # noqa: F821
log.info("wrote %s", list(snakemake.output))  # noqa: F821
