"""Rule plan_cost (optional): what this run's config costs -- the summary of
``python -m simart.plan_cost`` (simart.workflow.cost) for the validated config of the run,
with the stated CPU rates (no measurement: the rule stays cheap) and FLOP counts kept
between runs, as text, JSON and the report's page of it (report/workflow.rst shows it)."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import os
import shutil
import time

from simart import runlog
from simart.config import validate_config
from simart.specs.hardware import gpu
from simart.workflow import cost
from simart.workflow.report_pages import cost_markdown, table_page, write_text

log = runlog.setup(snakemake.log[0])  # noqa: F821
p, out = snakemake.params, snakemake.output  # noqa: F821
cfg = validate_config(p.cfg)
if not os.path.exists(p.flop_cache) and os.path.exists(cost.FLOP_CACHE):
    shutil.copyfile(cost.FLOP_CACHE, p.flop_cache)  # seeded with the package's counts
t0 = time.perf_counter()
rates = cost.stated_rates()
counter = cost.FlopCounter(cfg, cache_path=p.flop_cache)
lines = cost.project(cfg, counter, rates)
counter.save()
summary = cost.summarise(lines, gpu(p.gpu), p.efficiency, rates.source)
text = cost.format_summary(summary, "this run's config")
write_text(text + "\n", out.txt)  # atomically, as every output
cost.write_json(summary, out.json)
write_text(table_page(cost_markdown(summary, "Cost of this plan (python -m simart.plan_cost)"),
                      "Cost of this plan"), out.html)
log.info("projected in %.1f s (%d new FLOP counts)\n%s", time.perf_counter() - t0,
         counter.new_counts, text)
