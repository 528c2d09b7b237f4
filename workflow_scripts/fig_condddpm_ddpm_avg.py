"""Rule fig_condddpm_ddpm_avg: DDPM-avg vs the number of averaged samples (curve table)."""
import pandas as pd

from simart import runlog
from simart.figures.condddpm import draw_ddpm_avg

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_ddpm_avg(pd.read_csv(snakemake.input[0]), list(snakemake.output),  # noqa: F821
              n_ours=p.n_samples, dpi=p.dpi)
log.info("wrote %s", list(snakemake.output))  # noqa: F821
