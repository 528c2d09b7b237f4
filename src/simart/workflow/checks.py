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
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

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
