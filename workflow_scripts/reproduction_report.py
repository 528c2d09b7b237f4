"""Rule reproduction_report: the papers' claims beside our measurements."""
import json
from collections import Counter

from simart import runlog
from simart.reporting.reproduction import write_report

log = runlog.setup(snakemake.log[0])  # noqa: F821
inp, out = snakemake.input, snakemake.output  # noqa: F821
devices = Counter()
for path in inp.summaries:
    with open(path) as f:
        devices[json.load(f)["device"]] += 1
hardware = ("Hardware of the trainings (from their summary.json): "
            + (", ".join(f"{d} ({n} models)" for d, n in devices.most_common()) or "none"))
table = write_report(list(inp.parts), out.md, out.csv,
                     context=snakemake.params.context + " " + hardware + ".")  # noqa: F821
log.info("%d claims, %d paired", len(table), int(table["measured"].notna().sum()))
