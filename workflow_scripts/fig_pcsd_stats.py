"""Rule fig6_statistics: the PCSD paper Fig. 6 from the statistics table and the simart cells."""
import pandas as pd

from simart import runlog
from simart.figures.pcsd_stats import draw
from simart.provenance import read_table

log = runlog.setup(snakemake.log[0])  # noqa: F821
p, out = snakemake.params, snakemake.output  # noqa: F821
stats = pd.read_csv(snakemake.input.stats)  # noqa: F821
cells = {mod: {m: read_table(path) for m, path in by_model.items()}
         for mod, by_model in p.cells.items()}
imp = draw(stats, cells, p.models, list(out.figures), metrics=p.metrics,
           highlight=p.highlight, reference=p.reference, dpi=p.dpi,
           improvements_csv=out.improvements)
log.info("wrote %s; %d per-image differences", list(out.figures), int(imp["delta"].notna().sum()))
