"""simart.io: atomic writes honour the umask, clean up after kills, fail cleanly on a full disk."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from badinput import assert_names, complete_files

from simart.data.shards import write_images_h5
from simart.io import (
    DiskFullError,
    atomic_path,
    h5_file_atomic,
    remove_stale_temps,
    temp_name_pattern,
    write_h5_atomic,
)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize(("umask", "want"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, want):
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "t.csv") as tmp:
            tmp.write_text("a\n")
        write_images_h5(tmp_path / "p.h5", {"pred": np.zeros((1, 4, 4))})
    finally:
        os.umask(old)
    assert _mode(tmp_path / "t.csv") == want
    assert _mode(tmp_path / "p.h5") == want


def test_h5_file_atomic_gives_the_bytes_of_a_direct_h5py_write(tmp_path):
    rng = np.random.default_rng(0)

    def fill(f: h5py.File) -> None:
        f.create_dataset("clean", data=rng.random((3, 32, 32), dtype=np.float32),
                         chunks=(1, 32, 32), compression="lzf", track_times=False)
        grp = f.create_group("params", track_order=True)
        grp.create_dataset("name", data=np.array(["a", "bb", "c"], dtype=h5py.string_dtype()),
                           track_times=False)
        f.attrs["modality"] = "TEM"

    with h5py.File(tmp_path / "direct.h5", "w", track_order=True) as f:
        rng = np.random.default_rng(0)
        fill(f)
    rng = np.random.default_rng(0)
    write_h5_atomic(tmp_path / "atomic.h5", fill, track_order=True)
    assert (tmp_path / "atomic.h5").read_bytes() == (tmp_path / "direct.h5").read_bytes()
    with h5py.File(tmp_path / "atomic.h5", "r") as f:
        assert f["clean"].shape == (3, 32, 32) and f.attrs["modality"] == "TEM"


def test_h5_file_atomic_writes_nothing_when_the_block_fails(tmp_path):
    with pytest.raises(ZeroDivisionError), h5_file_atomic(tmp_path / "x.h5") as f:
        f["a"] = np.zeros(3)
        1 / 0  # noqa: B018
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------- temporaries a kill left behind


@pytest.mark.bad_input
def test_stale_temporaries_of_the_target_are_removed_on_the_next_write(tmp_path):
    stale = [tmp_path / ".a.h5.k3j9x_q2.tmp.h5", tmp_path / ".a.h5.00000000.tmp.h5"]
    others = [tmp_path / ".b.h5.k3j9x_q2.tmp.h5",      # another target's temporary
              tmp_path / ".a.h5.k3j9x_q2.tmp.h5.keep",  # not the pattern
              tmp_path / ".a.h5.short.tmp.h5",          # not mkstemp's 8 characters
              tmp_path / "a.h5.k3j9x_q2.tmp.h5",        # no leading dot
              tmp_path / ".xa.h5.k3j9x_q2.tmp.h5",
              tmp_path / "b.h5"]
    for p in stale + others:
        p.write_bytes(b"partial")
    assert all(temp_name_pattern(tmp_path / "a.h5").match(p.name) for p in stale)
    write_images_h5(tmp_path / "a.h5", {"pred": np.zeros((1, 4, 4))})
    assert not any(p.exists() for p in stale), "stale temporaries of a.h5 left"
    assert all(p.read_bytes() == b"partial" for p in others), "another file was touched"
    assert remove_stale_temps(tmp_path / "a.h5") == []


@pytest.mark.bad_input
def test_the_temporary_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out" / "table.csv"
    code = textwrap.dedent(f"""
        import os, signal
        from simart.io import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_text("half a table")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == -signal.SIGKILL
    left = [p for p in target.parent.iterdir() if p.name != target.name]
    assert len(left) == 1 and temp_name_pattern(target).match(left[0].name)
    assert complete_files(target.parent) == []  # nothing Snakemake would take as done
    with atomic_path(target) as tmp:
        tmp.write_text("x\n")
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]


# ------------------------------------------------------------------------------ disk full


def test_a_disk_full_error_inside_atomic_path_names_the_file_and_free_space(tmp_path):
    target = tmp_path / "m.parquet"
    with pytest.raises(DiskFullError) as info, atomic_path(target) as tmp:
        tmp.write_bytes(b"123")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    err = info.value
    assert isinstance(err, OSError) and err.errno == errno.ENOSPC
    assert err.filename == str(target)
    assert_names(str(err), str(target), "No space left on device", "free of")
    assert list(tmp_path.iterdir()) == []


def test_a_wrapped_disk_full_error_is_recognised_and_others_pass_unchanged(tmp_path):
    with pytest.raises(DiskFullError, match="Disk quota exceeded"), \
            atomic_path(tmp_path / "best.pt"):
        try:  # torch: a RuntimeError raised while handling the failed write
            raise OSError(errno.EDQUOT, "quota")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos") from None
    with pytest.raises(DiskFullError, match="x.h5"), atomic_path(tmp_path / "x.h5"):
        raise RuntimeError("Can't decrement id ref count (file write failed: errno = 28, "
                           "error message = 'No space left on device')")
    with pytest.raises(OSError) as info, atomic_path(tmp_path / "y.txt"):
        raise OSError(errno.EACCES, "permission denied")
    assert type(info.value) is PermissionError
    with pytest.raises(ValueError, match="File too large"), atomic_path(tmp_path / "z.txt"):
        raise ValueError("File too large for this test")  # a ValueError is never disk-full
    assert list(tmp_path.iterdir()) == []


_FULL_DISK_WRITERS = {
    "shard": """
        import pandas as pd
        from simart.data.shards import write_shard
        write_shard(TARGET, X, X, pd.DataFrame({"a": range(len(X))}))""",
    "predictions": """
        from simart.data.shards import write_images_h5
        write_images_h5(TARGET, {"pred": X})""",
    "checkpoint": """
        import torch
        from simart.train.checkpoint import save_checkpoint
        save_checkpoint(TARGET, {"model": {"w": torch.from_numpy(X)}})""",
    "table": """
        import pandas as pd
        from simart.io import atomic_path
        with atomic_path(TARGET) as tmp:
            pd.DataFrame({"v": X.ravel()}).to_parquet(tmp)""",
}
_SUFFIX = {"shard": ".h5", "predictions": ".h5", "checkpoint": ".pt", "table": ".parquet"}


@pytest.mark.bad_input
@pytest.mark.parametrize("what", list(_FULL_DISK_WRITERS))
def test_a_full_disk_is_one_clean_error_naming_the_file(tmp_path, what):
    """A file-size limit of 1 MiB (RLIMIT_FSIZE: writes fail with EFBIG) for 4 MiB of
    random data; before, HDF5 crashed the interpreter (SIGSEGV) with pages of traceback."""
    target = tmp_path / "out" / f"0000{_SUFFIX[what]}"
    code = textwrap.dedent("""
        import resource, signal, sys
        import numpy as np
        from simart.io import DiskFullError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
        TARGET = sys.argv[1]
        X = np.random.default_rng(0).random((16, 256, 256), dtype=np.float32)
        try:
    """) + textwrap.indent(textwrap.dedent(_FULL_DISK_WRITERS[what]).strip(), "    ") + \
        textwrap.dedent("""
        except DiskFullError as exc:
            print("DiskFullError:", exc, file=sys.stderr)
            sys.exit(3)
        print("no error", file=sys.stderr)
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 3, f"exit {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert_names(proc.stderr, f"cannot write {target}", "File too large", "free of")
    assert list(target.parent.iterdir()) == [], "a partial file was left"
