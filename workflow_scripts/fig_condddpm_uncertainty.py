"""Rule fig_condddpm_uncertainty: cond_ddpm's std / entropy maps for a few lm test images."""
from simart import runlog
from simart.figures.condddpm import draw_uncertainty

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw_uncertainty(p.pred, p.shards, list(snakemake.output), n_examples=p.n_examples,  # noqa: F821
                 dpi=p.dpi)
log.info("wrote %s", list(snakemake.output))  # noqa: F821
