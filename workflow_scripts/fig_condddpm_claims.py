"""Rule condddpm_claims: the conditional-DDPM paper's claimed medians beside ours (lm cells + curve table)."""
from simart import runlog
from simart.reporting.condddpm_claims import write_claims

log = runlog.setup(snakemake.log[0])  # noqa: F821
inp, p = snakemake.input, snakemake.params  # noqa: F821
frame = write_claims(list(inp.cells), inp.curve[0] if inp.curve else None, p.data_range,
                     snakemake.output.csv, scale=p.scale)  # noqa: F821
log.info("%d claims paired, %d measured", len(frame), int(frame["measured"].notna().sum()))
