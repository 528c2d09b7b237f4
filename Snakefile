# SIMART microscopy-restoration benchmark.
#   snakemake --cores all                          embedded default (config.yaml)
#   snakemake --profile profiles/slurm all         paper scale on Slurm (configs/paper.yaml)
#   snakemake results/metrics/simart/TEM/wiener.parquet   one benchmark cell
#   snakemake figures                              tables and figures only
#   snakemake --report report.html                 the report of a finished run
#   snakemake plan_cost                            optional: what the config costs
# The rule files (rules/) only declare; what runs for a config is src/simart/workflow/
# (plan.py, figures_plan.py, resources.py, checks.py; smk.py: what needs Snakemake
# itself), read through rules/common.smk. Software of every rule: envs/simart.yaml.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from simart.workflow.checks import check_config_yaml, check_presets  # noqa: E402
from simart.workflow.smk import replace_config, replace_workflow_config  # noqa: E402

# A YAML error in config.yaml stops the run naming the file and line (Snakemake's loader
# names neither). Files given with --configfile are read by Snakemake before this runs.
check_config_yaml("config.yaml")
# configs/paper.yaml is complete: it replaces config.yaml, never merges over it (in the
# jobs a run spawns too: Snakemake does not pass them --replace-workflow-config)
check_presets(workflow.overwrite_configfiles, replace_workflow_config(workflow),
              workflow.basedir)


configfile: "config.yaml"


replace_config(workflow, config)  # a job of a --replace-workflow-config run: no config.yaml

# The config against its JSON schema (schemas/config.schema.json: the pydantic model
# simart.config.Config exported, tests/test_config_schema.py), for the tools that read a
# schema. pydantic then validates it again (rules/common.smk) and is the stronger check:
# its message names the key, the value and what is allowed, the schema's names a JSON path
# and a schema rule. So the schema's error is held, not raised, until pydantic has spoken:
# pydantic's error stops the run; a config pydantic accepts but the schema refuses (a
# number YAML reads as text, `lr: 1e-4`) is warned about. No defaults are filled in here:
# the model's are the defaults.
try:
    validate(config, "schemas/config.schema.json", set_default=False)
    CONFIG_SCHEMA_ERROR = None
except WorkflowError as err:
    CONFIG_SCHEMA_ERROR = err

report: "report/workflow.rst"


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
        # the optional cost summary (rule plan_cost): kept up to date once built
        smk.existing(rules.plan_cost.output),
    default_target: True


# before any job: a profile's rule names exist; warn about missing shards / trained models
# that results were built from (with the command that rebuilds them)
smk.check_plan(workflow, PLAN, R)


# a local run's script jobs start with their libraries loaded: warm servers fork them
# (simart.warmstart; SIMART_WARM_START=0 turns it off; cluster jobs run cold)
onstart:
    smk.start_warm_server(workflow)


onsuccess:
    smk.stop_warm_server()


onerror:
    smk.stop_warm_server()
