"""Rules fig_seed003_fig3 / fig_seed003_fig4: seed 003's qualitative rows on stm_cu111."""
from simart import runlog
from simart.figures.seed003 import draw

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw(p.shard, p.subset, p.predictions, p.cells, list(snakemake.output),  # noqa: F821
     missing=p.missing, n_examples=p.n_examples, dpi=p.dpi, title=p.title)
log.info("wrote %s", list(snakemake.output))  # noqa: F821
