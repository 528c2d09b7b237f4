# SIMART microscopy-restoration benchmark.
#   snakemake --cores all                          embedded default (config.yaml)
#   snakemake --profile profiles/slurm all         paper scale on Slurm (configs/paper.yaml)
#   snakemake results/metrics/simart/TEM/wiener.parquet   one benchmark cell
#   snakemake figures                              tables and figures only
from snakemake.utils import min_version

min_version("9.0")


# A YAML error in config.yaml stops the run naming the file and line (Snakemake's loader
# names neither). Files given with --configfile are read by Snakemake before this runs.
def _check_config_yaml(path="config.yaml"):
    import os
    import sys

    sys.path.insert(0, os.path.join(workflow.basedir, "src"))
    from simart.config import ConfigError, load_yaml

    if os.path.exists(path):
        try:
            load_yaml(os.path.abspath(path))
        except ConfigError as err:
            sys.stderr.write(f"\nSIMART config error: {err}\n\n")
            raise SystemExit(1)


_check_config_yaml()


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/resources.smk"
include: "rules/sources.smk"
include: "rules/simulate.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/stats.smk"
include: "rules/figures.smk"
include: "rules/calibration.smk"
include: "rules/fig_seed000_tables.smk"
include: "rules/fig_seed000.smk"
include: "rules/fig_seed000_stats.smk"
include: "rules/fig_seed001.smk"
include: "rules/fig_seed002_004.smk"
include: "rules/datasets.smk"
include: "rules/report.smk"


rule all:
    input:
        shard_outputs(all_shards() + physics_dataset_targets()),
        training_outputs(all_trained()),
        all_cells(),
        figure_targets(),
    default_target: True


# before any job: a profile's rule names exist; warn about missing shards / trained models
# that results were built from (with the command that rebuilds them)
check_plan(all_shards() + physics_dataset_targets(), all_trained())
