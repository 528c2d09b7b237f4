"""Atomic file writes: an interrupted job never leaves a file Snakemake would take as done.

* :func:`atomic_path` -- write to a temporary name next to the target, rename on success;
  the file gets the mode the umask gives (``0666 & ~umask``), temporaries a killed earlier
  write of the same target left are removed, and a full disk raises :class:`DiskFullError`
  naming the target and the free space.
* :func:`h5_file_atomic` / :func:`write_h5_atomic` -- the same for HDF5 files, built in
  memory and written with plain Python I/O (HDF5 itself crashes on a full disk).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h5py

# errors that mean "the filesystem cannot take more bytes": no space, quota, file size limit
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_DISK_FULL_TEXT = {"No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT,
                   "File too large": errno.EFBIG}
_TMP_RANDOM = r"[a-z0-9_]{8}"  # tempfile.mkstemp's random part (8 of [a-z0-9_])


class DiskFullError(OSError):
    """A file could not be written: its filesystem is full (or a quota / size limit hit).

    ``errno`` is ENOSPC, EDQUOT or EFBIG, ``filename`` the target; the message names the
    target and the free space on its filesystem.
    """

    def __str__(self) -> str:
        return str(self.strerror)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


def _disk_full_errno(exc: BaseException) -> int | None:
    """The disk-full errno behind ``exc`` (itself, its cause or context chain), else None.

    Libraries wrap the OSError: torch raises a RuntimeError from a failed write (the OSError
    is its ``__context__``), HDF5 puts ``errno = 28`` in the text only.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS:
            return e.errno
        if isinstance(e, OSError | RuntimeError):  # what h5py, torch, pyarrow raise
            text = str(e)
            for phrase, code in _DISK_FULL_TEXT.items():
                if phrase in text:
                    return code
            m = re.search(r"errno = (\d+)", text)
            if m and int(m.group(1)) in DISK_FULL_ERRNOS:
                return int(m.group(1))
        todo += [e.__cause__, e.__context__]
    return None


def disk_full_error(path: str | os.PathLike, code: int = errno.ENOSPC,
                    written: int | None = None) -> DiskFullError:
    """:class:`DiskFullError` for ``path``, its message naming the free space there.

    ``written``: bytes the failed write had put in its temporary file, if known.
    """
    path = Path(path)
    where = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    try:
        usage = shutil.disk_usage(where)
        space = (f"{_human(usage.free)} free of {_human(usage.total)} on the filesystem of "
                 f"{where}")
    except OSError as exc:
        space = f"free space of {where} unknown ({exc})"
    after = f" after {_human(written)}" if written else ""
    msg = (f"cannot write {path}: {os.strerror(code)}{after} ({space}); the partial file "
           "was removed: free some space (or raise the quota) and run again")
    err = DiskFullError(code, msg)
    err.filename = str(path)
    return err


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (/proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, brief)
    os.umask(mask)
    return mask


def temp_name_pattern(path: str | os.PathLike, suffix: str | None = None) -> re.Pattern[str]:
    """The names :func:`atomic_path` gives the temporary files of ``path`` (same folder)."""
    path = Path(path)
    sfx = suffix if suffix is not None else "".join(path.suffixes)
    return re.compile(rf"^\.{re.escape(path.name)}\.{_TMP_RANDOM}\.tmp{re.escape(sfx)}$")


def remove_stale_temps(path: str | os.PathLike, suffix: str | None = None) -> list[Path]:
    """Delete the temporary files an interrupted write of ``path`` left; return them.

    Only names matching :func:`temp_name_pattern` of this target, in its folder; no other
    file is touched. One writer per target at a time is assumed (Snakemake runs one job
    per output); a concurrent writer whose temporary vanished fails at its rename.
    """
    path = Path(path)
    pattern = temp_name_pattern(path, suffix)
    removed = []
    with contextlib.suppress(FileNotFoundError), os.scandir(path.parent) as entries:
        for entry in entries:
            if pattern.match(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    The temporary file (``.NAME.XXXXXXXX.tmpSUFFIXES``) lives in the same directory (same
    filesystem), so the final ``os.replace`` is atomic. On any exception the temporary file
    is removed and ``path`` is left untouched. Temporary files of ``path`` left by a killed
    earlier write are removed first (:func:`remove_stale_temps`). The file gets mode
    ``0666 & ~umask`` (``mkstemp`` alone gives 0600). An error that means the disk is full
    (ENOSPC, EDQUOT, EFBIG, also wrapped by a library) becomes :class:`DiskFullError`
    naming ``path`` and the free space.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    path = Path(path)
    sfx = suffix if suffix is not None else "".join(path.suffixes)
    tmp_path: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path, sfx)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{sfx}",
                                   dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, path)
    except BaseException as exc:
        code = None if isinstance(exc, DiskFullError) else _disk_full_errno(exc)
        full = None
        if code is not None:  # free space measured before the temporary file is removed
            written = None
            if tmp_path is not None:
                with contextlib.suppress(OSError):
                    written = tmp_path.stat().st_size
            full = disk_full_error(path, code, written)
        if tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
        if full is not None:
            raise full from exc
        raise


@contextlib.contextmanager
def h5_file_atomic(path: str | os.PathLike, **kwargs: Any) -> Iterator[h5py.File]:
    """A new HDF5 file (``h5py.File(..., "w", **kwargs)``) written to ``path`` atomically.

    The file is built in memory (HDF5's core driver without backing store) and, when the
    block ends without an exception, its image is written with plain Python I/O through
    :func:`atomic_path`. Reason: HDF5 buffers chunk writes until the file is closed, and a
    close that meets a full disk crashed the interpreter (h5py 3.16 / HDF5 2.0: SIGSEGV in
    ``File.close`` after pages of "Driver write request failed ... errno = 28"; reproduced
    on a 2 MiB tmpfs and with RLIMIT_FSIZE); here HDF5 never writes to disk, and a plain
    write raises ``OSError(ENOSPC)``, which :func:`atomic_path` turns into
    :class:`DiskFullError`. The bytes equal those of ``h5py.File(path, "w", **kwargs)``
    (the core driver lays the file out as the default one does; tested). Cost, measured for
    a 16 x 512 x 512 float32 shard (32 MiB file): peak memory +62 MiB (the in-memory file
    and its image, about twice the file), time +0.1 s (~25 %). h5py's file-object driver
    (a ``BytesIO``) would need half that memory but writes other bytes when the file holds
    variable-length strings (the shards' parameter columns).
    """
    import h5py

    name = f"in-memory-{uuid.uuid4().hex}-{Path(path).name}"  # unique; never on disk
    with h5py.File(name, "w", driver="core", backing_store=False, **kwargs) as f:
        yield f
        f.flush()
        image = f.id.get_file_image()
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(image)


def write_h5_atomic(path: str | os.PathLike, fill: Callable[[h5py.File], None],
                    **kwargs: Any) -> None:
    """``fill`` a new HDF5 file and write it to ``path`` atomically (:func:`h5_file_atomic`)."""
    with h5_file_atomic(path, **kwargs) as f:
        fill(f)
