"""Rules fig_pdanet_fig3 / fig_pdanet_fig4: the PDA-Net paper's qualitative rows on stm_cu111."""
from simart import runlog
from simart.figures.pdanet import draw

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw(p.shard, p.subset, p.predictions, p.cells, list(snakemake.output),  # noqa: F821
     missing=p.missing, n_examples=p.n_examples, dpi=p.dpi, title=p.title)
log.info("wrote %s", list(snakemake.output))  # noqa: F821
