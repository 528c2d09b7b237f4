"""Checks run while the workflow plans, before any job: missing sources, profile rule names.

**Missing sources.** Snakemake rebuilds a missing file only when a job it must run needs it:
delete a shard or a trained model whose dependants are up to date and asking for a cell
says "Nothing to be done" (the dependants stay valid -- shards and trainings are
deterministic and every result records the content it was made from -- but the deleted
file is not back). :func:`missing_sources` finds the shards and trained models that are
missing while a sibling output of the same job, or a result built from them, exists;
:func:`missing_sources_message` says which and gives the command that rebuilds them
(they are targets of ``all``, so ``snakemake --cores all`` alone rebuilds them too).

**Profile rule names.** :func:`unknown_profile_rules` names the rules of a profile's
``set-resources`` / ``set-threads`` that the workflow does not have (a typo there silently
sends a job to the wrong partition).

**Config and input files.** :func:`check_config_yaml` (the Snakefile, before Snakemake
reads ``config.yaml``: a YAML error names file and line), :func:`validated_config` and
:func:`first_source_error` (empty user folders, unreadable CIF files) stop the run before
any job, naming the file or the config key (:func:`stop`).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

SHARD_SIBLINGS = (".h5", ".parquet")
TRAINING_OUTPUTS = ("best.pt", "summary.json", "log.csv")


def shard_outputs(h5_paths: Iterable[str]) -> list[str]:
    """Every output of the shard jobs: each ``.h5`` with its ``.parquet`` table."""
    return [str(Path(p).with_suffix(s)) for p in h5_paths for s in SHARD_SIBLINGS]


def training_outputs(best_paths: Iterable[str]) -> list[str]:
    """Every output of the training jobs: ``best.pt``, ``summary.json``, ``log.csv``."""
    return [str(Path(p).parent / n) for p in best_paths for n in TRAINING_OUTPUTS]


def _dataset_of(path: str, root: str) -> str:
    return Path(path).relative_to(root).parts[0]


def _any_file(folder: Path, pattern: str) -> str | None:
    if not folder.is_dir():
        return None
    return next((str(p) for p in folder.glob(pattern)), None)


def missing_sources(shard_h5: Sequence[str], best_paths: Sequence[str],
                    root: str = "results") -> dict[str, str]:
    """``{missing file: an existing result built with it or beside it}`` for the shards
    (``.h5`` / ``.parquet``) and trainings (:data:`TRAINING_OUTPUTS`) of the plan.

    A shard is reported when its sibling exists, or when it is a test shard of a dataset
    with predictions of that shard, or a train/val shard of a dataset with trained models;
    a training output when another output of the training, or predictions of its model,
    exist. Only existence is checked (cheap: run at every plan)."""
    out: dict[str, str] = {}
    models_of: dict[str, str | None] = {}
    for h5 in shard_h5:
        files = [str(Path(h5).with_suffix(s)) for s in SHARD_SIBLINGS]
        exist = [os.path.exists(f) for f in files]
        if all(exist):
            continue
        witness = next((f for f, e in zip(files, exist, strict=True) if e), None)
        if witness is None:
            dataset, split = _dataset_of(h5, root), Path(h5).parts[-2]
            if split == "test":
                witness = _any_file(Path(root) / "predictions" / dataset, f"*/{Path(h5).name}")
            else:
                if dataset not in models_of:
                    models_of[dataset] = _any_file(Path(root) / "models" / dataset,
                                                   "*/*/best.pt")
                witness = models_of[dataset]
        if witness is not None:
            out.update({f: witness for f, e in zip(files, exist, strict=True) if not e})
    for best in best_paths:
        files = [str(Path(best).parent / n) for n in TRAINING_OUTPUTS]
        exist = [os.path.exists(f) for f in files]
        if all(exist):
            continue
        witness = next((f for f, e in zip(files, exist, strict=True) if e), None)
        if witness is None:
            _, dataset, _, model = Path(best).parent.relative_to(root).parts
            witness = _any_file(Path(root) / "predictions" / dataset / model, "*.h5")
        if witness is not None:
            out.update({f: witness for f, e in zip(files, exist, strict=True) if not e})
    return out


def missing_sources_message(missing: Mapping[str, str], limit: int = 12) -> str:
    """A warning naming the missing files, what exists, and the command that rebuilds."""
    head = (f"SIMART: {len(missing)} file(s) that results were built from are missing; "
            "Snakemake rebuilds a missing file only when a job it runs needs it:")
    lines = [head]
    for path, witness in list(missing.items())[:limit]:
        lines.append(f"  {path}  (but {witness} exists)")
    if len(missing) > limit:
        lines.append(f"  ... and {len(missing) - limit} more")
    shown = " ".join(list(missing)[:limit])
    lines.append("Rebuild them (what was built from them is then rebuilt when you ask for it):")
    lines.append(f"  snakemake --cores all {shown}{' ...' if len(missing) > limit else ''}")
    lines.append("or run the whole pipeline (`snakemake --cores all`): they are targets of "
                 "`all`.")
    return "\n".join(lines)


def unknown_profile_rules(resource_rules: Iterable[str], workflow_rules: Iterable[str]
                          ) -> list[str]:
    """Rule names of a profile's ``set-resources`` / ``set-threads`` the workflow lacks."""
    known = set(workflow_rules)
    return sorted(set(resource_rules) - known)


def stop(message: str, kind: str = "config") -> NoReturn:
    """End the planning run with ``SIMART {kind} error: message`` (exit status 1)."""
    sys.stderr.write(f"\nSIMART {kind} error: {message}\n\n")
    raise SystemExit(1)


def check_config_yaml(path: str | os.PathLike = "config.yaml") -> None:
    """Stop naming file and line when ``path`` exists and is not valid YAML (Snakemake's
    own loader names neither; files given with --configfile are read by Snakemake before
    the Snakefile runs)."""
    from simart.config import ConfigError, load_yaml

    if os.path.exists(path):
        try:
            load_yaml(os.path.abspath(path))
        except ConfigError as err:
            stop(str(err))


#: complete presets shipped with the workflow: given with --configfile they replace
#: config.yaml (profiles/slurm does it); merged over it, the embedded run's settings leak in
PRESET_FILES = ("configs/paper.yaml", "configs/workstation.yaml")


def check_presets(configfiles: Sequence[str | os.PathLike], replace: bool, basedir: str) -> None:
    """Stop when a complete preset (:data:`PRESET_FILES`) is given with ``--configfile``
    without ``--replace-workflow-config``: Snakemake would merge it over config.yaml."""
    presets = {os.path.realpath(os.path.join(basedir, f)) for f in PRESET_FILES}
    given = [str(f) for f in configfiles if os.path.realpath(f) in presets]
    if given and not replace:
        stop(f"{given[0]} is a complete preset: run it with --replace-workflow-config "
             "(profiles/slurm sets it), else Snakemake merges it over config.yaml and the "
             "embedded run's settings leak into it; for your own overrides on top of "
             "config.yaml, use a file of your own")


def validated_config(raw: Mapping[str, Any], schema_error: BaseException | None = None):
    """``simart.config.validate_config(raw)``; a config error stops the run.

    ``schema_error``: what ``snakemake.utils.validate`` raised against
    schemas/config.schema.json (the Snakefile runs it first), held until pydantic has
    spoken: pydantic's message (key, value, what is allowed) is the one a config error is
    reported with; a config pydantic accepts but the schema refuses gets a warning naming
    the JSON path (:func:`schema_warning`) and runs."""
    from simart.config import ConfigError, validate_config

    try:
        cfg = validate_config(raw)
    except ConfigError as err:
        stop(str(err))
    if schema_error is not None:
        sys.stderr.write(f"\n{schema_warning(schema_error)}\n\n")
    return cfg


def schema_warning(schema_error: BaseException) -> str:
    """The warning about a config the schema refuses and pydantic accepts: the JSON path,
    the schema's message, and the likely cause (pydantic reads some text as numbers)."""
    cause = schema_error.__context__ or schema_error.__cause__  # jsonschema's error
    path = getattr(cause, "json_path", None)
    what = f"{path}: {cause.message}" if path and hasattr(cause, "message") else \
        str(schema_error).splitlines()[0]
    return (f"SIMART config warning: schemas/config.schema.json refuses {what}; the config "
            "model accepts it (pydantic converts text to a number where a key wants one, and "
            "YAML reads 1e-4 as text, 1.0e-4 as a number). Write the value as the schema "
            "says.")


def first_source_error(cfg) -> str | None:
    """The first problem with the configured input files, naming its config key (None
    when there is none): an empty or missing ``sources.user_dir``, an unreadable CIF of
    ``stem_lattice`` (``on_bad_cif = skip`` warns and skips instead), an empty or missing
    ``lm.user_dir``."""
    from simart.simulate.sources import SourceError, list_user_images

    if cfg.sources.user_dir:
        try:
            list_user_images(cfg.sources.user_dir)
        except SourceError as err:
            return f"sources.user_dir: {err}"
    sl = cfg.stem_lattice
    if sl.enabled:
        from simart.simulate.crystals import CIFError
        from simart.simulate.materials import resolve_materials

        try:
            resolve_materials(sl, image_size=sl.image_size or cfg.image_size)
        except (CIFError, ValueError) as err:
            return f"stem_lattice: {err}"
    if cfg.lm.enabled and cfg.lm.user_dir:
        try:
            list_user_images(cfg.lm.user_dir)
        except SourceError as err:
            return f"lm.user_dir: {err}"
    return None


def check_sources(cfg) -> None:
    """Stop before any job on :func:`first_source_error`."""
    error = first_source_error(cfg)
    if error:
        stop(error)


def check_real_data(plan) -> None:
    """Stop before any job on a problem with config ``real_data``
    (:meth:`simart.workflow.real_plan.RealPlan.real_data_error`)."""
    error = plan.real_data_error()
    if error:
        stop(error)


def check_plan(resource_settings: Any, rule_names: Sequence[str], shards: Sequence[str],
               trained: Sequence[str], root: str = "results") -> None:
    """Run once the rules are defined (end of the Snakefile), before any job: stop when a
    profile's set-resources / set-threads name rules the workflow does not have
    (``resource_settings``: Snakemake's, read for ``overwrite_resources`` /
    ``overwrite_threads``); warn about missing shards and trained models that results
    were built from (:func:`missing_sources`)."""
    named = [*(getattr(resource_settings, "overwrite_resources", None) or {}),
             *(getattr(resource_settings, "overwrite_threads", None) or {})]
    rules_now = list(rule_names)
    unknown = unknown_profile_rules(named, rules_now)
    if unknown:
        hints = "; ".join(f"{u!r}: did you mean {difflib.get_close_matches(u, rules_now, 1)}?"
                          for u in unknown)
        stop(f"set-resources / set-threads name rules this workflow does not have: "
             f"{unknown} ({hints}). Rules: {sorted(rules_now)}", kind="profile")
    missing = missing_sources(shards, trained, root)
    if missing:
        sys.stderr.write("\n" + missing_sources_message(missing) + "\n\n")
