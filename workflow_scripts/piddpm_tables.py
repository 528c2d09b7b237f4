"""Rule piddpm_tables: the PI-DDPM paper's PSNR / MS-SSIM / NRMSE table from the lm cells."""
from simart import runlog
from simart.reporting.piddpm import write_tables

log = runlog.setup(snakemake.log[0])  # noqa: F821
out, p = snakemake.output, snakemake.params  # noqa: F821
res = write_tables(list(snakemake.input), out.md, out.csv, out.claims,  # noqa: F821
                   subsets=p.subsets, missing=p.missing, context=p.context, scale=p.scale)
for r in res["ordering"].itertuples(index=False):
    log.info("%s %s > %s, %s: %s", r.subset, r.better, r.worse, r.metric, r.verdict)
log.info("%d claims paired", len(res["claims_vs_measured"]))
