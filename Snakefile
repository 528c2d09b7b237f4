# SIMART microscopy-restoration benchmark.
#   snakemake --cores all                          embedded default (config.yaml)
#   snakemake --profile profiles/slurm all         paper scale on Slurm (configs/paper.yaml)
#   snakemake results/metrics/simart/TEM/wiener.parquet   one benchmark cell
#   snakemake figures                              tables and figures only
# The rule files (rules/) only declare; what runs for a config is src/simart/workflow/
# (plan.py, figures_plan.py, resources.py, checks.py), read through rules/common.smk.
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from simart.workflow.checks import check_config_yaml, check_presets  # noqa: E402

# A YAML error in config.yaml stops the run naming the file and line (Snakemake's loader
# names neither). Files given with --configfile are read by Snakemake before this runs.
check_config_yaml("config.yaml")
# configs/paper.yaml is complete: it replaces config.yaml, never merges over it
check_presets(workflow.overwrite_configfiles, workflow.config_settings.replace_workflow_config,
              workflow.basedir)


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/resources.smk"
include: "rules/sources.smk"
include: "rules/simulate.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/stats.smk"
include: "rules/figures.smk"
include: "rules/datasets.smk"
include: "rules/realdata.smk"
include: "rules/report.smk"


rule all:
    input:
        PLAN.all_targets(),
    default_target: True


# before any job: a profile's rule names exist; warn about missing shards / trained models
# that results were built from (with the command that rebuilds them)
check_plan()
