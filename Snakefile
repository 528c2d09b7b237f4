# SIMART microscopy-restoration benchmark.
#   snakemake --cores all                          embedded default (config.yaml)
#   snakemake --profile profiles/slurm all         paper scale on Slurm (configs/paper.yaml)
#   snakemake results/metrics/simart/TEM/wiener.parquet   one benchmark cell
#   snakemake figures                              tables and figures only
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/resources.smk"
include: "rules/sources.smk"
include: "rules/simulate.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/stats.smk"
include: "rules/figures.smk"
include: "rules/fig_seed000_tables.smk"
include: "rules/fig_seed000.smk"
include: "rules/fig_seed000_stats.smk"
include: "rules/fig_seed001.smk"
include: "rules/fig_seed002_004.smk"
include: "rules/datasets.smk"
include: "rules/report.smk"


rule all:
    input:
        all_shards(),
        all_cells(),
        figure_targets(),
        physics_dataset_targets(),
    default_target: True
