"""What a training run keeps in its ``out_dir``: checkpoints and the CSV log.

* ``last.pt`` (:func:`save_checkpoint`): everything needed to continue bit-exactly -- model,
  optimiser, LR scheduler, GradScaler and torch RNG states, the step, best/last validation,
  summed training time, the run's identity and settings, format and torch versions.
* ``best.pt``: the weights of the best validation step with the identity, step and metrics.
* ``log.csv`` (:class:`CsvLog`): rows appended and fsync'ed one at a time; on resume the rows
  after the checkpoint's step (and a line cut by a kill) are dropped first.

A checkpoint is refused (:class:`CheckpointMismatch`) when it was written for another
identity (model, hparams, dataset ...) or with other result-affecting settings; an
unreadable one raises :class:`CheckpointCorrupt`. Both name the file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from simart.io import atomic_path

FORMAT = "simart-train-checkpoint"
FORMAT_VERSION = 1
ABSENT = "<absent>"


class CheckpointMismatch(ValueError):
    """A checkpoint was written for another run (identity or settings differ)."""


class CheckpointCorrupt(ValueError):
    """A checkpoint file cannot be read (truncated, not a checkpoint, other format)."""


def normalize(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples -> lists); TypeError if not JSON-able."""
    try:
        return json.loads(json.dumps(obj, allow_nan=True))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not JSON-able: {exc}") from None


def diff(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` of every leaf where two JSON values differ."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            key = f"{prefix}.{k}" if prefix else str(k)
            out += diff(old.get(k, ABSENT), new.get(k, ABSENT), key)
        return out
    return [] if _same(old, new) else [(prefix or "<value>", old, new)]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def describe_diff(diffs: Sequence[tuple[str, Any, Any]]) -> str:
    return "; ".join(f"{k}: {o!r} (checkpoint) vs {n!r} (now)" for k, o, n in diffs)


def check_identity(path: str | os.PathLike, stored: Mapping, expected: Mapping) -> None:
    """Raise :class:`CheckpointMismatch` naming the differing keys of two identities."""
    stored, expected = normalize(stored), normalize(expected)
    diffs = diff(stored, expected)
    if not diffs:
        return
    old, new = stored.get("model", ABSENT), expected.get("model", ABSENT)
    head = (f"checkpoint {path} was written for model {old!r}, not {new!r}" if old != new
            else f"checkpoint {path} was written for another {new!r} run")
    raise CheckpointMismatch(f"{head} ({describe_diff(diffs)}): delete it or change out_dir")


def check_settings(path: str | os.PathLike, stored: Mapping, current: Mapping,
                   free: Sequence[str]) -> None:
    """Raise :class:`CheckpointMismatch` when settings other than ``free`` differ."""
    def strip(d: Mapping) -> dict:
        return {k: v for k, v in normalize(d).items() if k not in free}

    diffs = diff(strip(stored), strip(current))
    if diffs:
        raise CheckpointMismatch(
            f"checkpoint {path} was written with other training settings "
            f"({describe_diff(diffs)}): delete it or change out_dir")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``torch.save`` of ``state`` plus format/torch versions, atomically and byte-reproducibly.

    Saved through an open file object, not a path: given a path, ``torch.save`` names the
    zip's top folder after the file's stem (here the random temporary name of
    :func:`simart.io.atomic_path`, e.g. ``.best.pt.k3j9x.tmp/data.pkl``), so two identical
    runs gave different bytes; given a file object the folder is always ``archive/``. The
    rest of the archive is already fixed (zip dates 1980-01-01, ``.data/serialization_id``
    derived from the records' CRCs, storages numbered in pickling order), so the same
    ``state`` gives the same bytes (sha256) whatever the path. A full disk raises
    :class:`simart.io.DiskFullError` naming ``path``.
    """
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION,
               "torch_version": str(torch.__version__), **state}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(payload, fh)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU).

    Raises :class:`CheckpointCorrupt` naming the file when it cannot be read or is not a
    checkpoint of this format version; FileNotFoundError when absent.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError ...
        first = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointCorrupt(f"checkpoint {path} is unreadable ({type(exc).__name__}: "
                                f"{first}): {_rebuild(path)}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointCorrupt(f"{path} is not a simart training checkpoint: {_rebuild(path)}")
    if ckpt.get("format_version") != FORMAT_VERSION:
        raise CheckpointCorrupt(f"checkpoint {path} has format version "
                                f"{ckpt.get('format_version')!r}, this code reads "
                                f"{FORMAT_VERSION}: delete it to start over")
    return ckpt


def _rebuild(path: Path) -> str:
    """How to recover from a bad checkpoint: a training output is rebuilt by Snakemake (the
    training starts over when its working folder cannot be resumed); others are deleted."""
    if path.name == "best.pt" and path.parent.name != "work":
        return f"rebuild it: snakemake --cores all --forcerun {path} -- {path}"
    return "delete it to start over"


def _fmt(v: Any) -> str:
    """CSV text of a value: empty for None and NaN, shortest round-trip repr for floats."""
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


class CsvLog:
    """``log.csv``: one row per logging step, appended and fsync'ed.

    ``CsvLog(path, keep_through=s)`` drops the rows after step ``s`` (and a last line cut
    by a kill) before anything is appended; ``keep_through=0`` starts a new file. The
    header is fixed by the first row written (or read from the kept file).
    """

    def __init__(self, path: str | os.PathLike, keep_through: int):
        self.path = Path(path)
        self.columns: list[str] | None = None
        self._truncate(keep_through)

    def _truncate(self, keep_through: int) -> None:
        if keep_through <= 0 or not self.path.exists():
            self.path.unlink(missing_ok=True)
            return
        text = self.path.read_text()
        lines = text.split("\n")
        lines = lines[:-1]  # after the last "\n": "" or a line cut by a kill
        if not lines:
            self.path.unlink()
            return
        self.columns = next(csv.reader([lines[0]]))
        kept = [lines[0]] + [ln for ln in lines[1:] if _row_step(ln) <= keep_through]
        if len(kept) != len(lines) or not text.endswith("\n"):
            with atomic_path(self.path) as tmp:
                tmp.write_text("\n".join(kept) + "\n")

    def write(self, row: Mapping[str, Any]) -> None:
        """Append ``row`` (missing columns empty; keys not in the header ignored)."""
        new = self.columns is None
        if new:
            self.columns = list(row)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if new:
            writer.writerow(self.columns)
        writer.writerow([_fmt(row.get(c)) for c in self.columns])
        with open(self.path, "a") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())


def _row_step(line: str) -> float:
    """The step of a CSV line; inf (dropped) when it does not parse."""
    try:
        return int(line.split(",", 1)[0])
    except ValueError:
        return math.inf
