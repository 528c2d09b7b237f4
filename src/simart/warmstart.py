"""Warm job processes for local runs: a script job starts with its libraries loaded.

Every Snakemake script job is a new Python process, and most of a small job is loading
libraries: torch (2.5-4 s on the 2-core machine), ``torch._dynamo`` (2-3 s more, which
torch's optimizers and torchvision load), pandas, matplotlib, scipy, lpips, the simart
modules. A ``make run`` starts ~170 such processes: a third of its CPU time.

So a local run (``snakemake --cores N`` without a cluster executor) starts one **server**
when its jobs begin (the Snakefile's ``onstart``): a process that loads all of that once
and then waits. A job's script, at its first line (``import simart.jobstart``), connects
to it; the server forks a **child** that becomes the job -- the client's working
directory, environment, ``sys.argv``, ``sys.path``, umask and its stdin/stdout/stderr
(passed over the socket) -- and runs the job's script file from the top, as a fresh
process would, with the libraries already loaded. The client waits, forwards the signals
it gets (SIGINT, SIGTERM, SIGUSR1, SIGHUP; Snakemake's and the user's) to the child's
process group, and exits with the child's exit status. A client killed outright (SIGKILL)
closes its connection and the server kills the child's group. The server leaves when the
Snakemake process that started it ends.

Nothing of the job's work changes: the child starts with the state a fresh process has
after the same imports (no torch operation ran in the server, so torch's thread pools are
untouched; Python's, numpy's and torch's global generators are seeded from the OS, as a
new process's are). ``tests/test_warmstart.py`` runs a job both ways and
compares the files bit for bit.

A job runs cold (in its own process, as before) whenever the server cannot stand for a
fresh process: no server (cluster jobs, dry runs, a machine with a GPU driver,
``SIMART_WARM_START=0``), another Python
executable or simart (a conda environment), a different ``PYTHONPATH`` or thread variable
(``OMP_NUM_THREADS``, ... are read when the libraries load), a spawned process (a
data-parallel rank imports the script again), or a server that is not listening.

Measurement: Snakemake's ``benchmark:`` record of a warm job measures the client (its
wall time is the job's; its memory and CPU time are not), so the client writes the
child's own peak memory and CPU time (from ``wait4``) to ``{log}.usage.json`` and
:mod:`simart.benchmark_summary` reports those.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import pickle
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

#: the server's socket path, set by the process that started the server and inherited by
#: the jobs it spawns
SOCKET_ENV = "SIMART_WARM_SOCKET"
#: "0" turns warm job processes off (the Snakefile starts no server)
SWITCH_ENV = "SIMART_WARM_START"
#: environment variables a library reads when it loads: a job whose values differ from the
#: server's runs cold
LOAD_TIME_PREFIXES = ("OMP_", "MKL_", "OPENBLAS_", "GOTO", "KMP_", "GOMP_", "NUMEXPR_",
                      "CUDA_", "PYTORCH_", "TORCH", "MPL", "MALLOC_", "PYTHON", "LD_",
                      "VECLIB_", "BLIS_", "HDF5_", "ARROW_", "JEMALLOC")
#: signals the client passes on to the child's process group
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP)
#: what the server loads before it serves (importing every simart module loads the rest)
PRELOAD_THIRD_PARTY = ("torch", "torch._dynamo", "torch.optim", "torchvision", "lpips",
                       "numpy", "scipy.ndimage", "scipy.signal", "scipy.stats", "pandas",
                       "pyarrow.parquet", "h5py", "matplotlib", "matplotlib.pyplot",
                       "snakemake.script", "snakemake.iocontainers", "snakemake.logging")
_HEADER = struct.Struct("!I")


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1") != "0"


# ------------------------------------------------------------------------------ identity
def _load_time_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(LOAD_TIME_PREFIXES)}


def _identity() -> dict[str, Any]:
    """What the client and the server must share for a fork of the server to stand for a
    fresh process of the client."""
    import simart

    return {"executable": os.path.realpath(sys.executable), "version": sys.version,
            "simart": os.path.realpath(simart.__file__),
            "env": _load_time_env(dict(os.environ))}


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def _send_msg(sock: socket.socket, obj: Any, fds: list[int] | None = None) -> None:
    data = pickle.dumps(obj)
    header = _HEADER.pack(len(data))
    if fds:
        sock.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(header)
    sock.sendall(data)


def _recv_msg(sock: socket.socket, nfds: int = 0) -> tuple[Any, list[int]]:
    fds: list[int] = []
    if nfds:
        header, ancdata, _flags, _addr = sock.recvmsg(
            _HEADER.size, socket.CMSG_SPACE(nfds * array.array("i").itemsize))
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(data[:len(data) - len(data) % a.itemsize])
                fds.extend(a)
        if len(header) < _HEADER.size:
            header += _recv_exact(sock, _HEADER.size - len(header))
    else:
        header = _recv_exact(sock, _HEADER.size)
    (n,) = _HEADER.unpack(header)
    return pickle.loads(_recv_exact(sock, n)), fds


# -------------------------------------------------------------------------------- client
def _script_of_main() -> str | None:
    """The file Snakemake runs for this script job (its preamble sets ``__real_file__``),
    or None where this process is not one (a spawned rank, ``python -c``, a test)."""
    import multiprocessing

    main = sys.modules.get("__main__")
    script = getattr(main, "__real_file__", None)
    if script is None or multiprocessing.parent_process() is not None:
        return None
    return script if os.path.isfile(script) else None


def delegate() -> None:
    """Run this script job in a child of the warm server and exit with its status; return
    (the job then runs here, cold) where no server can stand for a fresh process."""
    folder = os.environ.get(SOCKET_ENV)
    script = _script_of_main() if folder else None
    if script is None:
        return
    path = os.path.join(folder, socket_name(os.environ.get("OMP_NUM_THREADS")))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    request = {"script": script, "argv": list(sys.argv), "path": list(sys.path),
               "cwd": os.getcwd(), "env": dict(os.environ), "umask": _umask(),
               "identity": _identity()}
    try:
        _send_msg(sock, request, fds=[0, 1, 2])
        reply, _ = _recv_msg(sock)
    except (OSError, ConnectionError, EOFError, pickle.UnpicklingError):
        sock.close()
        return
    if "refused" in reply:
        sock.close()
        return
    child = reply["pid"]

    def forward(signum, _frame):
        try:
            os.killpg(child, signum)
        except OSError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    while True:
        try:
            result, _ = _recv_msg(sock)
            break
        except InterruptedError:
            continue
        except (OSError, ConnectionError, EOFError):  # the server died
            result = {"status": 1, "error": "the warm-start server went away"}
            break
    sock.close()
    if "error" in result:
        print(f"simart.warmstart: {result['error']}", file=sys.stderr, flush=True)
    _write_usage(result)
    _exit_like(int(result["status"]))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_usage(result: dict[str, Any]) -> None:
    """The child's peak memory and CPU time beside the job's log (Snakemake's benchmark
    record measured this client)."""
    smk = getattr(sys.modules.get("__main__"), "snakemake", None)
    log = list(getattr(smk, "log", []) or [])
    if not log or "maxrss_kb" not in result:
        return
    wildcards = getattr(smk, "wildcards", None)
    try:
        wildcards = {str(k): str(v) for k, v in wildcards.items()} if wildcards else {}
    except (AttributeError, TypeError):
        wildcards = {}
    usage = {"rule": getattr(smk, "rule", None), "wildcards": wildcards, "max_rss": result["maxrss_kb"] / 1024.0,
             "cpu_time": result["cpu_s"], "s": result["wall_s"], "status": result["status"]}
    target = Path(f"{log[0]}.usage.json")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(usage))
        os.replace(tmp, target)
    except OSError:
        pass


def _exit_like(status: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    if status < 0:  # the child died of a signal: so does this process
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        time.sleep(1)
        status = 128 - status
    os._exit(status)


# -------------------------------------------------------------------------------- server
def preload() -> list[str]:
    """Load the libraries and every simart module; the names that failed to load."""
    import importlib
    import pkgutil

    failed = []
    for name in PRELOAD_THIRD_PARTY:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (an optional library: the job loads it itself)
            failed.append(name)
    import simart

    for mod in pkgutil.walk_packages(simart.__path__, "simart."):
        if mod.name.endswith("__main__") or mod.name == "simart.warmstart":
            continue
        try:
            importlib.import_module(mod.name)
        except Exception:  # noqa: BLE001
            failed.append(mod.name)
    return failed


class Server:
    """Accepts clients on a listening socket, forks one child per job."""

    def __init__(self, listener: socket.socket, parent: int, log=None, name: str = ""):
        self.listener = listener
        self.name = name
        self.parent = parent
        self.log = log or sys.stderr
        self.identity: dict[str, Any] = {}
        self.jobs: dict[int, tuple[socket.socket, float]] = {}  # child pid -> (conn, start)
        self.stopping = False

    def say(self, msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {self.name} {msg}", file=self.log, flush=True)

    def serve(self) -> None:
        import gc
        import selectors

        gc.disable()
        t0 = time.perf_counter()
        self.identity = _identity()  # before loading: torch sets TORCHINDUCTOR_CACHE_DIR
        failed = preload()
        gc.freeze()  # the children inherit the loaded objects frozen, collection off
        self.say(f"loaded in {time.perf_counter() - t0:.1f} s"
                 + (f"; not loaded: {failed}" if failed else ""))
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the clients forward it
        signal.signal(signal.SIGTERM, self._stop)
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ)
        while not self.stopping:
            for key, _ in sel.select(timeout=0.05):  # a finished job is seen within 50 ms
                if key.fileobj is self.listener:
                    self._accept(sel)
                else:  # a client closed its connection before its child ended
                    self._client_gone(sel, key.fileobj)
            self._reap(sel)
            if os.getppid() != self.parent:
                self.say("the Snakemake process ended")
                break
        for pid in list(self.jobs):
            self._kill(pid, signal.SIGKILL)

    def _stop(self, _signum, _frame) -> None:
        self.stopping = True

    def _kill(self, pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except OSError:
            pass

    def _accept(self, sel) -> None:
        import selectors

        conn, _ = self.listener.accept()
        fds: list[int] = []
        try:
            conn.settimeout(10)
            request, fds = _recv_msg(conn, nfds=3)
            conn.settimeout(None)
        except Exception as exc:  # noqa: BLE001
            self.say(f"bad request: {exc!r}")
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        reason = self._refusal(request, fds)
        if reason:
            self.say(f"refused {request.get('script')}: {reason}")
            _send_msg(conn, {"refused": reason})
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        for stream in (sys.stdout, sys.stderr, self.log):
            stream.flush()
        pid = os.fork()
        if pid == 0:  # the job
            try:
                status = self._child(conn, request, fds)
            except BaseException:  # noqa: BLE001
                status = 1
            os._exit(status)
        for fd in fds:
            os.close(fd)
        self.jobs[pid] = (conn, time.perf_counter())
        _send_msg(conn, {"pid": pid})
        sel.register(conn, selectors.EVENT_READ)

    def _refusal(self, request: dict[str, Any], fds: list[int]) -> str | None:
        if len(fds) != 3:
            return f"expected 3 file descriptors, got {len(fds)}"
        theirs = request.get("identity", {})
        for key in ("executable", "version", "simart"):
            if theirs.get(key) != self.identity.get(key):
                return f"another {key}: {theirs.get(key)!r} (server: {self.identity.get(key)!r})"
        if theirs.get("env") != self.identity.get("env"):
            mine, other = self.identity.get("env", {}), theirs.get("env", {})
            diff = sorted(k for k in set(mine) | set(other) if mine.get(k) != other.get(k))
            return f"environment variables read at load time differ: {diff}"
        return None

    def _child(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
        import random
        import runpy
        import tempfile

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)
        self.listener.close()
        for other, _ in self.jobs.values():
            other.close()
        conn.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", buffering=1 if os.isatty(1) else -1,  # noqa: SIM115
                          closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv[:] = request["argv"]
        sys.path[:] = request["path"]
        tempfile.tempdir = None  # from the job's TMPDIR (Snakemake's tmpdir resource)
        # the global generators from the OS, as a new process's (torch seeds its own so at
        # import): jobs seed what they use
        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        if "torch" in sys.modules:
            sys.modules["torch"].seed()
        status = 0
        try:
            runpy.run_path(request["script"], run_name="__main__")
        except SystemExit as exc:
            status = _exit_status(exc.code)
        except KeyboardInterrupt:
            status = 130
        except BaseException:  # noqa: BLE001  (as Python does for an uncaught exception)
            sys.excepthook(*sys.exc_info())
            status = 1
        try:
            import atexit

            atexit._run_exitfuncs()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):  # a closed stream: nothing to flush
                    stream.flush()
        return status

    def _reap(self, sel) -> None:
        while self.jobs:
            try:
                pid, wstatus, rusage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn, start = self.jobs.pop(pid, (None, 0.0))
            if conn is None:
                continue
            result = {"status": os.waitstatus_to_exitcode(wstatus),
                      "maxrss_kb": rusage.ru_maxrss,
                      "cpu_s": rusage.ru_utime + rusage.ru_stime,
                      "wall_s": time.perf_counter() - start}
            try:
                sel.unregister(conn)
                _send_msg(conn, result)
            except (OSError, KeyError, ValueError):
                pass
            conn.close()

    def _client_gone(self, sel, conn: socket.socket) -> None:
        try:
            data = conn.recv(1)
        except OSError:
            data = b""
        if data:
            return
        for pid, (c, _) in list(self.jobs.items()):
            if c is conn:
                self.say(f"client of job {pid} went away: killing it")
                self._kill(pid, signal.SIGKILL)
        sel.unregister(conn)


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


# ------------------------------------------------------------ the Snakemake main process
#: the variables Snakemake sets to a job's thread count (snakemake/shell.py): libraries read
#: them when they load, so there is one server per thread count
THREAD_VARS = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


#: device nodes of GPU drivers (NVIDIA, AMD)
GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/kfd")


def gpu_machine() -> bool:
    """A machine with a GPU driver: its jobs run cold. A process forked from one that has
    initialised the CUDA driver cannot use CUDA, and what the server loads might ask the
    driver how many devices there are; the jobs there are long, and their start-up small
    beside them."""
    return any(os.path.exists(p) for p in GPU_DEVICE_NODES)


def socket_name(threads: str | int | None) -> str:
    return f"threads-{threads if threads is not None else 'unset'}"


def start(thread_counts, workdir: str | os.PathLike = ".") -> Any:
    """Start the servers for the jobs of this process (a local run's ``onstart``), one per
    thread count its jobs have (Snakemake gives a job ``OMP_NUM_THREADS`` ... = its
    threads): bind each socket here (so no job can come before it), hand it to its server
    process, and tell the jobs where they are. Returns the servers (:class:`Servers`, also
    stopped when this process exits), or None where warm start is off."""
    import subprocess
    import tempfile

    if not enabled() or os.environ.get(SOCKET_ENV) or gpu_machine():
        return None
    folder = tempfile.mkdtemp(prefix="simart-warm-")
    log_path = Path(workdir) / ".snakemake" / "warmstart.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    procs = []
    with open(log_path, "w") as log:
        for n in sorted({int(t) for t in thread_counts}):
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(os.path.join(folder, socket_name(n)))
            listener.listen(128)
            env = dict(os.environ, **{var: str(n) for var in THREAD_VARS})
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "simart.warmstart", "--fd", str(listener.fileno()),
                 "--parent", str(os.getpid()), "--name", socket_name(n)],
                pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, env=env))
            listener.close()
    os.environ[SOCKET_ENV] = folder
    return Servers(procs, folder)


class Servers:
    """The server processes of :func:`start` and their socket folder."""

    def __init__(self, procs, folder):
        import atexit

        self.procs, self.folder = procs, folder
        atexit.register(self.stop)

    def stop(self) -> None:
        import shutil
        import subprocess

        if os.environ.get(SOCKET_ENV) == self.folder:
            del os.environ[SOCKET_ENV]
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fd", type=int, required=True, help="the listening socket")
    ap.add_argument("--parent", type=int, required=True, help="leave when this pid ends")
    ap.add_argument("--name", default="", help="for the log")
    args = ap.parse_args(argv)
    listener = socket.socket(fileno=args.fd)
    Server(listener, args.parent, name=args.name).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
