"""Rule fig3_training_curves: the PCSD paper Fig. 3 C/D from the trainings' log.csv."""
from simart import runlog
from simart.figures.pcsd import draw_training_curves

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_training_curves(p.logs, list(snakemake.output), dpi=p.dpi)  # noqa: F821
log.info("wrote %s", list(snakemake.output))  # noqa: F821
