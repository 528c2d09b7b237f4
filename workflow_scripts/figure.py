"""Every figure and table rule (rules/figures.smk, one per simart.specs.figures entry): draw
the figure or write the tables of the rule's spec with the plan's keyword arguments into its
outputs."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)

from simart import runlog
from simart.specs.figures import FIGURES, draw_figure

log = runlog.setup(snakemake.log[0])  # noqa: F821
name, p = snakemake.rule, snakemake.params  # noqa: F821
spec = FIGURES[name]
log.info("%s (%s %s): %s", name, spec.paper, spec.label, spec.function)
result = draw_figure(name, p.kwargs, p.outputs)
if hasattr(result, "__len__"):
    log.info("%s returned %s of %d rows/items", spec.function, type(result).__name__, len(result))
log.info("wrote %s", list(snakemake.output))  # noqa: F821
