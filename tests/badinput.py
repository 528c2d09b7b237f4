"""Assertions shared by the ``bad_input`` tests (see ``tests/conftest.py``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

# what a killed or refused writer may leave: simart.io's temporary names
_TMP = re.compile(r"^\..+\.tmp")


def assert_names(message: str, *names: str) -> None:
    """``message`` names every one of ``names`` (a key, a value, a file ...)."""
    for name in names:
        assert str(name) in message, f"message does not name {name!r}:\n{message}"


def complete_files(folder: str | os.PathLike) -> list[Path]:
    """Files under ``folder`` that Snakemake would take as outputs (not temporary names)."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not _TMP.match(p.name))


def assert_nothing_left(paths: Iterable[str | os.PathLike]) -> None:
    """None of ``paths`` exists (an output a refused job must not leave)."""
    left = [str(p) for p in paths if Path(p).exists()]
    assert not left, f"a refused input left outputs: {left}"
