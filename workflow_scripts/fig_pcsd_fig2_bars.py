"""Rule fig2_modality_bars: the PCSD paper Fig. 2 A/B from the SIMART cell tables."""
from simart import runlog
from simart.figures.pcsd import draw_modality_bars

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_modality_bars(p.cells, p.models, list(snakemake.output), dpi=p.dpi)  # noqa: F821
log.info("wrote %s", list(snakemake.output))  # noqa: F821
