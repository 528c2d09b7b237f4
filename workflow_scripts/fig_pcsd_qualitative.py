"""Rule fig5_qualitative: the PCSD paper Figs. 5/7 from the test shards, predictions and cells."""
from simart import runlog
from simart.figures.pcsd_qualitative import draw

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw(**p.paths, models=p.models, out_paths=list(snakemake.output),  # noqa: F821
     example_index=p.example_index, dpi=p.dpi)
log.info("wrote %s (methods: %s)", list(snakemake.output), p.models)  # noqa: F821
