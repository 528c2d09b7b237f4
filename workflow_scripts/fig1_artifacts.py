"""Rule fig1_artifacts: the PCSD paper Fig. 1 from the test shards, predictions and cell tables."""
from simart import runlog
from simart.figures.fig1_artifacts import draw

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
draw(**p.paths, models=p.models, out_paths=list(snakemake.output),  # noqa: F821
     example_index=p.figures["example_index"], dpi=p.figures["dpi"])
log.info("wrote %s", list(snakemake.output))  # noqa: F821
