"""What a result was made from: content fingerprints of shards and files, and code versions.

Three facts make a number trustworthy (a result is a pure function of them):

* **data** -- every shard carries a content fingerprint (:func:`shard_content_fingerprint`,
  SHA-256 of its images and parameter table), written as the HDF5 attribute ``fingerprint``
  when the shard is written and cheap to read back (:func:`shard_fingerprint`);
  :func:`verify_shard` recomputes it (a truncated or altered shard is refused, naming the
  file and the command that rebuilds it);
* **weights** -- a trained model is named by the SHA-256 of its ``best.pt``
  (:func:`file_sha256`; checkpoints are byte-reproducible);
* **code** -- :func:`code_version` hashes the library modules a workflow script can import
  (the closure of its ``simart`` imports, function bodies included), as their syntax trees
  without docstrings: editing a comment or docstring changes nothing, editing code reruns
  the rules whose scripts can reach it (a ``code`` param of every rule). The installed
  versions of the libraries that compute results (:data:`COMPUTING_LIBRARIES`: torch,
  numpy, …) are part of it: upgrading one reruns what it could have changed.

Torch-free and h5py-free at import (the workflow imports it while planning).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

FINGERPRINT_ATTR = "fingerprint"
_SHARD_TAG = b"simart-shard-fingerprint-v1"
_PACKAGE = Path(__file__).resolve().parent  # src/simart


#: Distributions whose installed versions enter every code version (read from their
#: metadata, nothing imported): a result made with torch 2.13 is not kept under torch 2.14
COMPUTING_LIBRARIES = ("torch", "torchvision", "numpy", "scipy", "scikit-image", "pandas",
                       "pyarrow", "h5py", "bm3d", "lpips", "brisque", "pymatgen", "ase",
                       "tifffile", "rosettasciio", "numba")


@functools.cache
def library_versions() -> str:
    """``name==version`` of each of :data:`COMPUTING_LIBRARIES` (``name==absent`` where not
    installed), one per line."""
    from importlib import metadata

    out = []
    for name in COMPUTING_LIBRARIES:
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}==absent")
    return "\n".join(out)


class ShardCorrupt(ValueError):
    """A shard cannot be read, or its content does not match its recorded fingerprint."""


def rebuild_hint(path: str | os.PathLike) -> str:
    """The command that rebuilds one output of the workflow (forced, whatever its age; what
    was made from it is rebuilt when next asked for, as it is then older)."""
    return f"snakemake --cores all --forcerun {path} -- {path}"


def _update_array(h: hashlib._Hash, name: str, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr)
    h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
    if arr.dtype.kind in "OUS":
        h.update("\0".join(map(str, arr.ravel().tolist())).encode())
    else:
        h.update(arr.tobytes())


def shard_content_fingerprint(clean: np.ndarray, degraded: np.ndarray,
                              columns: Iterable[tuple[str, np.ndarray]]) -> str:
    """SHA-256 (hex) of a shard's content: images as stored (dtype, shape, bytes) and every
    parameter column (name, dtype, values) in table order."""
    h = hashlib.sha256(_SHARD_TAG)
    _update_array(h, "clean", clean)
    _update_array(h, "degraded", degraded)
    for name, values in columns:
        _update_array(h, f"params/{name}", np.asarray(values))
    return h.hexdigest()


def text_decoded(columns: Iterable[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """Parameter columns as the fingerprint sees them: HDF5 byte strings decoded to str."""
    return [(n, np.array([v.decode() if isinstance(v, bytes) else v for v in a]))
            if a.dtype.kind in "OS" else (n, a) for n, a in columns]


def _open_h5(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise ShardCorrupt(f"shard {path} is unreadable ({exc}); rebuild it: "
                           f"{rebuild_hint(path)}") from None


def shard_fingerprint(path: str | os.PathLike) -> str:
    """The fingerprint recorded in a shard (its ``fingerprint`` attribute; not recomputed).

    Raises :class:`ShardCorrupt` naming the file when it cannot be read or has none."""
    path = Path(path)
    with _open_h5(path) as f:
        fp = f.attrs.get(FINGERPRINT_ATTR)
    if fp is None:
        raise ShardCorrupt(f"shard {path} has no content fingerprint (written by an older "
                           f"version); rebuild it: {rebuild_hint(path)}")
    return str(fp)


def h5_content_fingerprint(f) -> str:
    """Recompute the fingerprint of an open shard file (h5py.File)."""
    grp = f["params"]
    cols = text_decoded((name, grp[name][()]) for name in grp)
    return shard_content_fingerprint(f["clean"][()], f["degraded"][()], cols)


def verify_shard(path: str | os.PathLike) -> str:
    """Recompute a shard's fingerprint and compare it with the recorded one; return it.

    Raises :class:`ShardCorrupt` (file named, rebuild command given) when the file is
    unreadable (truncated, not HDF5), has no fingerprint, or its content differs."""
    path = Path(path)
    with _open_h5(path) as f:
        try:
            recorded = f.attrs.get(FINGERPRINT_ATTR)
            actual = h5_content_fingerprint(f)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise ShardCorrupt(f"shard {path} is damaged ({type(exc).__name__}: {exc}); "
                               f"rebuild it: {rebuild_hint(path)}") from None
    if recorded is None:
        raise ShardCorrupt(f"shard {path} has no content fingerprint (written by an older "
                           f"version); rebuild it: {rebuild_hint(path)}")
    if str(recorded) != actual:
        raise ShardCorrupt(f"shard {path}: its content does not match its fingerprint "
                           f"(recorded {str(recorded)[:12]}, now {actual[:12]}): the file was "
                           f"altered or damaged; rebuild it: {rebuild_hint(path)}")
    return actual


def file_sha256(path: str | os.PathLike, chunk: int = 2**22) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------- code

@functools.cache
def _module_files() -> dict[str, Path]:
    out = {}
    for p in _PACKAGE.rglob("*.py"):
        parts = p.relative_to(_PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _imports(tree: ast.AST, package: str) -> set[str]:
    """``simart`` modules a syntax tree imports (anywhere, function bodies included)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in found if m == "simart" or m.startswith("simart.")}


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.cache
def _parsed(path: Path) -> tuple[set[str], str]:
    """(simart imports, digest of the docstring-free syntax tree) of one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    files = _module_files()
    name = next((n for n, p in files.items() if p == path), "")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imports = _imports(tree, package or "simart")
    digest = hashlib.sha256(ast.dump(_strip_docstrings(tree)).encode()).hexdigest()
    return imports, digest


def code_closure(entry: str | os.PathLike) -> list[str]:
    """The ``simart`` modules a script (or module file) can import, transitively, sorted
    (parent packages included: importing ``a.b.c`` runs ``a`` and ``a.b``)."""
    files = _module_files()
    todo, seen = list(_parsed(Path(entry).resolve())[0]), set()
    while todo:
        mod = todo.pop()
        parts = mod.split(".")
        for i in range(1, len(parts) + 1):
            m = ".".join(parts[:i])
            if m in files and m not in seen:
                seen.add(m)
                todo.extend(_parsed(files[m])[0])
    return sorted(seen)


@functools.cache
def code_version(entry: str | os.PathLike) -> str:
    """Version (16 hex digits) of the library code a script can run: the digests of the
    modules of :func:`code_closure`, docstrings and comments left out, and the installed
    versions of :data:`COMPUTING_LIBRARIES`."""
    files = _module_files()
    h = hashlib.sha256(b"simart-code-v1")
    h.update(library_versions().encode())
    for mod in code_closure(entry):
        h.update(f"{mod}:{_parsed(files[mod])[1]}\n".encode())
    return h.hexdigest()[:16]


@functools.cache
def code_version_of(script: str | os.PathLike, modules: tuple[str, ...] = ()) -> str:
    """:func:`code_version` of a generic script that runs ``modules`` (dotted names: a
    figure spec's drawing function and readers, simart.specs.figures): the digests of
    those ``simart`` modules, their parent packages and everything they can import, with
    the script's own closure. Modules outside ``simart`` (pandas) count for nothing."""
    files = _module_files()
    seen = set(code_closure(script))
    for mod in modules:
        parts = mod.split(".")
        seen.update(".".join(parts[:i]) for i in range(1, len(parts) + 1)
                    if ".".join(parts[:i]) in files)
        if mod in files:
            seen.update(code_closure(files[mod]))
    h = hashlib.sha256(b"simart-code-v1")
    h.update(library_versions().encode())
    for mod in sorted(seen):
        h.update(f"{mod}:{_parsed(files[mod])[1]}\n".encode())
    return h.hexdigest()[:16]


class TableCorrupt(ValueError):
    """A results table (Parquet) cannot be read."""


def read_table(path: str | os.PathLike, **kwargs):
    """``pandas.read_parquet`` of a results table; an unreadable (truncated, not Parquet)
    file raises :class:`TableCorrupt` naming it and the command that rebuilds it."""
    import pandas as pd

    try:
        return pd.read_parquet(path, **kwargs)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 -- pyarrow raises ArrowInvalid, OSError ... unnamed
        first = (str(exc).strip().splitlines() or [""])[0]
        raise TableCorrupt(f"table {path} is unreadable ({type(exc).__name__}: {first}); "
                           f"rebuild it: {rebuild_hint(path)}") from None


def read_tables(tree):
    """:func:`read_table` of every path of a tree of dicts of paths (same shape)."""
    if isinstance(tree, dict):
        return {k: read_tables(v) for k, v in tree.items()}
    return read_table(tree)
