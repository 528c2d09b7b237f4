"""Rule fig2_quality_speed: the PCSD paper Fig. 2 C from the SIMART cell tables."""
from simart import runlog
from simart.figures.pcsd import draw_quality_speed

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_quality_speed(p.cells, p.models, list(snakemake.output), dpi=p.dpi)  # noqa: F821
log.info("wrote %s", list(snakemake.output))  # noqa: F821
