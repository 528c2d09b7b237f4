"""Rule calibration_figure: the calibration figure from the per-image table."""
import pandas as pd

from simart import runlog
from simart.figures.calibration import draw

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw(pd.read_csv(snakemake.input[0]), list(snakemake.output), dpi=p.dpi, title=p.title)  # noqa: F821
log.info("wrote %s", list(snakemake.output))  # noqa: F821
