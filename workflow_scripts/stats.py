"""Rule stats: Mood / paired t / Wilcoxon + Holm, bootstrap CIs, per dataset x modality x metric."""
import simart.jobstart  # noqa: F401  (first: libraries load without garbage collection)
from simart import runlog
from simart.stats import write_stats

log = runlog.setup(snakemake.log[0])  # noqa: F821
p = snakemake.params  # noqa: F821
desc, comp = write_stats(list(snakemake.input), p.metrics, dict(snakemake.output.items()),  # noqa: F821
                         reference=p.reference, all_pairs=p.all_pairs,
                         n_bootstrap=p.n_bootstrap, level=p.ci_level, seed=p.seed)
log.info("statistics: %d model summaries, %d comparisons", len(desc), len(comp))
