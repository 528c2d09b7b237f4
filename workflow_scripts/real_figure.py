"""Rule real_figure: one real set, each image restored by each row."""
import simart.jobstart  # noqa: F401  (first: libraries load without garbage collection)
from simart import runlog
from simart.figures.real import real_set_figure

log = runlog.setup(snakemake.log[0])  # noqa: F821
real_set_figure(list(snakemake.input.tables), list(snakemake.output),  # noqa: F821
                n_images=snakemake.params.n_images, dpi=snakemake.params.dpi)  # noqa: F821
log.info("figure of set %s: %s", snakemake.wildcards.realset, list(snakemake.output))  # noqa: F821
