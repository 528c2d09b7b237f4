"""Rule fig_condddpm_distributions: per-method metric distributions on lm, Mood's-test stars."""
from simart import runlog
from simart.figures.condddpm import draw_distributions
from simart.reporting.condddpm_claims import load_cells

log = runlog.setup(snakemake.log[0])  # noqa: F821
inp, out, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
cells = load_cells(list(inp.cells), inp.curve[0] if inp.curve else None)
stats = draw_distributions(cells, list(out.figures), stats_csv=out.stats, missing=p.missing,
                           dpi=p.dpi)
log.info("%d Mood comparisons", len(stats))
