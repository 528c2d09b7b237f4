"""Rule pdanet_claims: the PDA-Net paper's claimed numbers beside ours (from pdanet_tables.csv)."""
from simart import runlog
from simart.reporting.pdanet_claims import write_claims

log = runlog.setup(snakemake.log[0])  # noqa: F821
frame = write_claims(snakemake.input.tables, snakemake.output.csv,  # noqa: F821
                     scale=snakemake.params.scale)  # noqa: F821
log.info("%d claims paired, %d measured", len(frame), int(frame["measured"].notna().sum()))
