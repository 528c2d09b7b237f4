# Common to every file of rules/ -- the validated config (CFG; a config or input-file error stops
# the run before any job) and the plan of the run (PLAN, src/simart/workflow/plan.py and
# figures_plan.py): every target, every input of a rule and every config-dependent choice.
# The rule files only declare; the few functions here are one-line wrappers of what needs
# Snakemake itself (report flags, the code version of a script, the parsed rules).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from simart.config import LEARNED_MODELS  # noqa: E402
from simart.provenance import code_version, code_version_of  # noqa: E402
from simart.workflow import checks  # noqa: E402
from simart.workflow.checks import shard_outputs  # noqa: E402
from simart.workflow.figures_plan import PIDDPM_MODELS, FigurePlan  # noqa: E402
from simart.workflow.plan import flat_paths  # noqa: E402

CFG = checks.validated_config(config)
checks.check_sources(CFG)  # empty user folders, unreadable CIF files: named, before any job
R = "results"
PLAN = FigurePlan(CFG, R)
checks.check_real_data(PLAN)  # real image sets: paths, subsets, models, operator parameters
METRICS = PLAN.metrics


wildcard_constraints:
    **PLAN.wildcard_constraints(),


# Version of the library code a script can import (simart.provenance): a param of every
# rule, so that editing that code reruns the rule (Snakemake's own code trigger sees only
# the script).
def code(script):
    return code_version(Path(workflow.basedir) / "workflow_scripts" / script)


# Version of the library code a `run:` block calls: the module and everything it imports
def library_code(module):
    return code_version_of(Path(workflow.basedir) / "src" / f"{module.replace('.', '/')}.py",
                           (module,))


# Version of the library code the job of a figure spec runs (its function and readers) and
# the generic script (simart.specs.figures, rules/figures.smk)
def figure_code(spec):
    return code_version_of(Path(workflow.basedir) / "workflow_scripts" / "figure.py",
                           spec.modules())


# {keyword: output} of a figure/table rule (FigurePlan.figure_outputs), marked for
# `snakemake --report`: its figure files when the spec has a caption (report/figure.rst shows
# params.caption), each output of its caption_files with that caption file
def figure_outputs(spec):
    return {k: ([report(p, caption="../report/figure.rst", category=spec.category,
                        subcategory=spec.subcategory) for p in v]
                if k == "out_paths" and spec.caption else v if k not in spec.caption_files
                else report(v, caption=f"../report/{spec.caption_files[k]}",
                            category=spec.category, subcategory=spec.subcategory))
            for k, v in PLAN.figure_outputs(spec).items()}


# {name: benchmark file pattern} of every parsed workflow step that records one
def benchmark_patterns():
    return {r.name: str(r.benchmark) for r in workflow.rules if r.benchmark}


# Called at the end of the Snakefile, before any job (simart.workflow.checks.check_plan)
def check_plan():
    return checks.check_plan(workflow.resource_settings, [r.name for r in workflow.rules],
                             PLAN.shard_targets(), PLAN.all_trained(), R)
