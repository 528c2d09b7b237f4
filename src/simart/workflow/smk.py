"""What the rule files need from Snakemake itself, kept out of them (rules/common.smk binds
them to the running workflow): the code version params, the report flags of the figure
files, the benchmark patterns of the parsed rules, the planning checks run once every
rule exists, and the source folder the conda environment installs.

The rule files (rules/*.smk) only declare: every function lives in a module, so that
``snakemake --lint`` finds no file mixing rules and functions and each helper is tested
like the rest of the library.

**Report flags.** ``snakemake --report`` shows an image (PNG, SVG) or a web page in the
page and a PDF in the browser's viewer; anything else only as a download. A figure written
in two formats is ONE entry of the report: both files carry the labels ``figure`` (the
paper's name for it) and ``format``, and the report draws a label with exactly two values,
each on half of a subcategory's entries, as a toggle of one row (Snakemake >= 8 report:
labels). The values are named so that the image sorts first (``image (PNG)`` before
``vector (PDF)``): the report opens on the PNG; the toggle shows the PDF, which the
browser's viewer saves. A figure of one format has the ``figure`` label alone; other
formats (a third one) are not in the report (they stay in results/figures/).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from simart.provenance import code_version, code_version_of
from simart.specs.figures import FigureSpec
from simart.workflow import checks

#: the environment variable envs/simart.yaml installs the package from (``-e ${SIMART_ROOT}``)
SOURCE_ROOT_VAR = "SIMART_ROOT"
#: formats shown in the report's page, by preference; then the one offered as its vector twin
SHOWN_FORMATS = ("png", "svg", "pdf")
VECTOR_FORMATS = ("pdf", "svg")


def export_source_root(basedir: str | os.PathLike) -> str:
    """Set ``$SIMART_ROOT`` to the workflow's source folder and return it.

    envs/simart.yaml installs this package with ``pip install -e ${SIMART_ROOT}``: Snakemake
    builds a rule's conda environment from a COPY of the file in ``.snakemake/conda/``
    (conda runs pip there), so a path relative to envs/ would point into that folder;
    pip expands ``${NAME}`` in requirement lines, and conda's pip inherits Snakemake's
    environment."""
    root = str(Path(basedir).resolve())
    os.environ[SOURCE_ROOT_VAR] = root
    return root


# ------------------------------------------------------------- --replace-workflow-config
#: set by the main Snakemake process that runs with --replace-workflow-config, inherited by
#: the jobs it spawns (local subprocesses; Slurm's sbatch exports the environment)
REPLACE_ENV = "SIMART_REPLACE_WORKFLOW_CONFIG"


def replace_workflow_config(workflow: Any) -> bool:
    """Whether this run replaces config.yaml by the given config files.

    Snakemake passes ``--configfiles`` but not ``--replace-workflow-config`` to the jobs it
    spawns (a cluster job re-reads the Snakefile), so a job would merge config.yaml under
    a standalone config the main process replaced it with -- e.g. the embedded default's
    ``evaluate.score_in_prediction_job`` under a config that leaves it out (a DAG without
    score_shard in the job), or the paper preset refused as merged. The main process says
    so in the environment its jobs inherit; :func:`replace_config` then rebuilds a job's
    config from the given files alone."""
    if workflow.config_settings.replace_workflow_config:
        os.environ[REPLACE_ENV] = "1"
        return True
    return os.environ.get(REPLACE_ENV) == "1"


def replace_config(workflow: Any, config: dict) -> None:
    """In a job of a run with --replace-workflow-config (:func:`replace_workflow_config`),
    make ``config`` what the main process has: the given config files and --config, no
    config.yaml under them."""
    from snakemake.utils import update_config

    if os.environ.get(REPLACE_ENV) == "1" and \
            not workflow.config_settings.replace_workflow_config:
        config.clear()
        update_config(config, workflow.config_settings.overwrite_config)


# ----------------------------------------------------------------------- code versions
def script_code(basedir: str | os.PathLike, script: str) -> str:
    """Version of the library code a script of workflow_scripts/ can import
    (simart.provenance): a param of every rule, so that editing that code reruns the rule
    (Snakemake's own code trigger sees only the script)."""
    return code_version(Path(basedir) / "workflow_scripts" / script)


def library_code(basedir: str | os.PathLike, module: str) -> str:
    """Version of the library code a ``run:`` block calls: the module and all it imports."""
    return code_version_of(Path(basedir) / "src" / f"{module.replace('.', '/')}.py",
                           (module,))


def figure_code(basedir: str | os.PathLike, spec: FigureSpec) -> str:
    """Version of the code the job of a figure spec runs: its function and readers, and the
    generic script workflow_scripts/figure.py (rules/figures.smk)."""
    return code_version_of(Path(basedir) / "workflow_scripts" / "figure.py", spec.modules())


# ----------------------------------------------------------------------- report flags
def report_formats(formats: Iterable[str]) -> dict[str, str]:
    """{file format: its ``format`` label} of the figure files marked for the report: the
    first of :data:`SHOWN_FORMATS` written, and the first of :data:`VECTOR_FORMATS`
    beside it (module docstring)."""
    given = list(formats)
    shown = next((f for f in SHOWN_FORMATS if f in given), None)
    if shown is None:
        return {}
    out = {shown: f"image ({shown.upper()})"}
    vector = next((f for f in VECTOR_FORMATS if f in given and f != shown), None)
    if vector is not None:
        out[vector] = f"vector ({vector.upper()})"
    return out


def flag_figure_files(paths: Sequence[str], *, caption: str | None, category: str,
                      subcategory: str, label: str) -> list[Any]:
    """``paths`` (one figure in several formats) with the report flag on the formats of
    :func:`report_formats`, labelled ``figure`` = ``label`` (and ``format`` when two are
    marked: one entry with a toggle). Wildcards in ``label`` are filled per job."""
    from snakemake.io import report

    formats = report_formats(Path(p).suffix.lstrip(".") for p in paths)
    out: list[Any] = []
    for p in paths:
        fmt = formats.get(Path(p).suffix.lstrip("."))
        if fmt is None:
            out.append(p)
            continue
        labels = {"figure": label, **({"format": fmt} if len(formats) > 1 else {})}
        out.append(report(p, caption=caption, category=category, subcategory=subcategory,
                          labels=labels))
    return out


def figure_caption_file(basedir: str | os.PathLike, spec: FigureSpec) -> str | None:
    """The caption of a figure spec's report entry, relative to rules/: report/figure.rst
    (which shows the spec's ``caption``, rendered into a param) or report/<rule name>.rst
    (rendered by Snakemake with the job's params and config); None without either."""
    if spec.caption:
        return "../report/figure.rst"
    if (Path(basedir) / "report" / f"{spec.name}.rst").is_file():
        return f"../report/{spec.name}.rst"
    return None


def figure_outputs(plan, basedir: str | os.PathLike, spec: FigureSpec) -> dict[str, Any]:
    """{keyword: output} of the rule of a figure/table spec (FigurePlan.figure_outputs) with
    its figure files flagged for the report (:func:`flag_figure_files`; the tables of a
    spec go to the report as web pages: rule report_table)."""
    outputs = plan.figure_outputs(spec)
    caption = figure_caption_file(basedir, spec)
    if spec.figure_name is not None and caption is not None:
        outputs["out_paths"] = flag_figure_files(
            outputs["out_paths"], caption=caption, category=spec.category,
            subcategory=spec.subcategory or spec.label, label=spec.label)
    return outputs


def table_caption(basedir: str | os.PathLike, plan, name: str) -> str:
    """The caption of the report page of table ``name`` (FigurePlan.report_tables): its
    caption file under report/, rendered as Snakemake renders one (Jinja2 with
    ``snakemake.config``; here the validated config, defaults included). A param of rule
    report_table, shown by report/table.rst (one rule renders every table)."""
    import jinja2

    text = (Path(basedir) / "report" / plan.report_tables()[name].caption).read_text(
        encoding="utf-8")
    return jinja2.Template(text, undefined=jinja2.StrictUndefined).render(
        snakemake={"config": plan.cfg.model_dump(mode="json")})


def existing(paths: Iterable[str]) -> list[str]:
    """The ``paths`` that exist now (an optional target that `all` keeps once built), as
    plain strings (an output's report flag does not travel into another rule's input)."""
    return [str(p) for p in paths if os.path.exists(p)]


# ----------------------------------------------------------------------- parsed rules
def benchmark_patterns(rules: Iterable[Any]) -> dict[str, str]:
    """{rule name: benchmark file pattern} of every parsed rule that records one."""
    return {r.name: str(r.benchmark) for r in rules if r.benchmark}


def check_plan(workflow: Any, plan, root: str) -> None:
    """Once every rule is defined (end of the Snakefile), before any job: a profile's rule
    names exist; missing shards / trained models that results were built from are named
    with the command that rebuilds them (simart.workflow.checks.check_plan)."""
    checks.check_plan(workflow.resource_settings, [r.name for r in workflow.rules],
                      plan.shard_targets(), plan.all_trained(), root)


# ------------------------------------------------------------------- warm job processes
_WARM_SERVERS: list[Any] = []


def start_warm_server(workflow: Any) -> None:
    """``onstart``: the servers that give a local run's script jobs their libraries loaded
    (:mod:`simart.warmstart`), one per thread count of the jobs to run; none for cluster
    executors, dry runs, ``--touch`` or ``SIMART_WARM_START=0``."""
    if not (workflow.local_exec and workflow.is_main_process) or workflow.dryrun \
            or workflow.touch:
        return
    from simart import warmstart

    threads = {job.threads for job in workflow.dag.needrun_jobs()} or {1}
    servers = warmstart.start(threads, workflow.workdir_init)
    if servers is not None:
        _WARM_SERVERS.append(servers)


def stop_warm_server() -> None:
    """``onsuccess`` / ``onerror``: the servers leave (they would when this process ends)."""
    while _WARM_SERVERS:
        _WARM_SERVERS.pop().stop()
