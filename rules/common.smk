# Common to every file of rules/ -- the validated config (CFG; a config or input-file error stops
# the run before any job) and the plan of the run (PLAN, src/simart/workflow/plan.py and
# figures_plan.py): every target, every input of a rule and every config-dependent choice.
# The rule files only declare: what needs Snakemake itself (code version params, report
# flags, the parsed rules) is src/simart/workflow/smk.py, bound here to this workflow.
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from simart.config import LEARNED_MODELS  # noqa: E402
from simart.workflow import checks, smk  # noqa: E402
from simart.workflow.checks import shard_outputs  # noqa: E402
from simart.workflow.figures_plan import PIDDPM_MODELS, REAL_CATEGORY, FigurePlan  # noqa: E402
from simart.workflow.plan import flat_paths  # noqa: E402

# pydantic, after the JSON schema (Snakefile): its message names the key, the value and
# what is allowed; a config only the schema refuses is warned about (checks.validated_config)
CFG = checks.validated_config(config, schema_error=CONFIG_SCHEMA_ERROR)
checks.check_sources(CFG)  # empty user folders, unreadable CIF files: named, before any job
R = "results"
PLAN = FigurePlan(CFG, R)
checks.check_real_data(PLAN)  # real image sets: paths, subsets, models, operator parameters
METRICS = PLAN.metrics
# envs/simart.yaml (`conda:` of every rule that runs a script; a `run:` block runs in
# Snakemake's own process) installs this source folder, named by $SIMART_ROOT
smk.export_source_root(workflow.basedir)

# Version of the library code a script (code), a `run:` block's module (library_code) or
# a figure spec's job (figure_code) can run: a param of every rule, so that editing that
# code reruns the rule (simart.provenance)
code = partial(smk.script_code, workflow.basedir)
library_code = partial(smk.library_code, workflow.basedir)
figure_code = partial(smk.figure_code, workflow.basedir)
# {keyword: output} of a figure/table rule, its figure files flagged for the report
figure_outputs = partial(smk.figure_outputs, PLAN, workflow.basedir)


wildcard_constraints:
    **PLAN.wildcard_constraints(),
