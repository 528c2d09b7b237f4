"""Rule pinned_noise_curves: the figure, drawn from the curves table only."""
from simart import runlog
from simart.figures.pinned import draw
from simart.reporting.pinned import read_curves

log = runlog.setup(snakemake.log[0])  # noqa: F821
draw(read_curves(snakemake.input[0]), list(snakemake.output),  # noqa: F821
     dpi=snakemake.params.dpi,  # noqa: F821
     title="stem_lattice test materials: metric vs CDN noise level (mean ± std over images)")
log.info("wrote %s", list(snakemake.output))  # noqa: F821
