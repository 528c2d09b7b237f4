"""Warm job processes (simart.warmstart): a job forked from the warm server behaves as the
same job in a fresh process -- same output, exit status, streams, signals -- and runs cold
wherever the server cannot stand for a fresh process."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from simart import warmstart

# A Snakemake script job as Snakemake writes it: the preamble (the job object, __real_file__)
# then the script, whose first import is simart.jobstart.
JOB = '''\
import sys; __real_file__ = __file__; __file__ = "/somewhere/job.py"
class _Wildcards(dict):
    pass
class _Job:
    rule = "demo"
    log = [{log!r}]
    wildcards = _Wildcards(shard="0003")
snakemake = _Job()
import simart.jobstart
import json, os, random, signal, tempfile, time
import numpy as np
import torch
mode = sys.argv[1]
if mode == "state":
    print(json.dumps({{
        "pid": os.getpid(), "cwd": os.getcwd(), "argv": sys.argv, "file": __file__,
        "env": os.environ.get("DEMO_VALUE"), "threads": torch.get_num_threads(),
        "torch_seed": torch.initial_seed(), "torch_rand": torch.rand(1).item(),
        "seeded_rand": torch.manual_seed(0) and torch.rand(4).tolist(),
        "conv": float(torch.nn.functional.conv2d(
            torch.linspace(0, 1, 4096).reshape(1, 1, 64, 64),
            torch.ones(1, 1, 5, 5) / 25.0).sum()),
        "tmpdir": tempfile.gettempdir(), "main": __name__,
        "gc": __import__("gc").isenabled(),
    }}))
    print("to stderr", file=sys.stderr)
elif mode == "exit":
    sys.exit(int(sys.argv[2]))
elif mode == "raise":
    raise ValueError("boom")
elif mode == "wait":
    def on_term(signum, frame):
        open("terminated", "w").write(str(signum))
        sys.exit(7)
    signal.signal(signal.SIGTERM, on_term)
    open("pid", "w").write(str(os.getpid()))
    time.sleep(60)
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One warm server for OMP_NUM_THREADS=1 (as Snakemake sets it for a 1-thread job)."""
    work = tmp_path_factory.mktemp("warm")
    saved = os.environ.pop(warmstart.SOCKET_ENV, None)
    handle = warmstart.start([1], work)
    assert handle is not None
    yield handle
    handle.stop()
    assert not any(p.poll() is None for p in handle.procs)
    if saved is not None:
        os.environ[warmstart.SOCKET_ENV] = saved


def _job(tmp_path, name="job"):
    script = tmp_path / f"{name}.py"
    script.write_text(JOB.format(log=str(tmp_path / "logs" / f"{name}.log")))
    return script


def _env(warm, **extra):
    env = dict(os.environ, DEMO_VALUE="forty-two", TMPDIR="/tmp")
    env.update({var: "1" for var in warmstart.THREAD_VARS}, **extra)
    if not warm:
        env.pop(warmstart.SOCKET_ENV, None)
    return env


def _run(script, *args, warm, cwd, **extra):
    """The finished process (with ``started``: the pid of the process this started)."""
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=cwd,
                            env=_env(warm, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    result.started = proc.pid
    return result


def test_a_warm_job_is_a_fresh_process_with_its_libraries_loaded(server, tmp_path):
    script = _job(tmp_path)
    (tmp_path / "here").mkdir()
    cold = _run(script, "state", "x y", warm=False, cwd=tmp_path / "here")
    warm = _run(script, "state", "x y", warm=True, cwd=tmp_path / "here")
    assert cold.returncode == 0 and warm.returncode == 0, (cold.stderr, warm.stderr)
    a, b = json.loads(cold.stdout), json.loads(warm.stdout)
    # cold: in the process started; warm: in the server's child
    assert a.pop("pid") == cold.started and b.pop("pid") != warm.started
    # torch seeds its generator from the OS at import: so does every warm job
    again = json.loads(_run(script, "state", "x y", warm=True, cwd=tmp_path / "here").stdout)
    assert len({a.pop("torch_seed"), b.pop("torch_seed"), again["torch_seed"]}) == 3
    assert len({a.pop("torch_rand"), b.pop("torch_rand"), again["torch_rand"]}) == 3
    assert a == b  # cwd, argv, __file__, environment, threads, seeded results
    assert b["threads"] == 1 and b["env"] == "forty-two" and b["main"] == "__main__"
    assert b["gc"] is False  # as after simart.jobstart: runlog.setup turns it on
    assert warm.stderr.strip() == cold.stderr.strip() == "to stderr"
    usage = json.loads((tmp_path / "logs" / "job.log.usage.json").read_text())
    assert usage["rule"] == "demo" and usage["wildcards"] == {"shard": "0003"}
    assert usage["status"] == 0 and usage["max_rss"] > 50 and usage["cpu_time"] > 0


def test_exit_status_and_uncaught_exceptions_as_in_a_fresh_process(server, tmp_path):
    script = _job(tmp_path)
    for warm in (False, True):
        assert _run(script, "exit", "3", warm=warm, cwd=tmp_path).returncode == 3
        failed = _run(script, "raise", warm=warm, cwd=tmp_path)
        assert failed.returncode == 1
        assert "ValueError: boom" in failed.stderr


def test_signals_reach_the_job_and_a_killed_client_takes_it_along(server, tmp_path):
    script = _job(tmp_path)

    def start():
        for f in ("pid", "terminated"):
            (tmp_path / f).unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(script), "wait"], cwd=tmp_path,
                                env=_env(True), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while not (tmp_path / "pid").exists():
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.1)
        time.sleep(0.3)
        return proc, int((tmp_path / "pid").read_text())

    proc, child = start()
    assert child != proc.pid
    proc.send_signal(signal.SIGTERM)  # as Snakemake or Slurm would
    assert proc.wait(30) == 7
    assert (tmp_path / "terminated").read_text() == str(int(signal.SIGTERM))

    proc, child = start()
    proc.kill()  # SIGKILL: the client cannot pass it on; the server sees it gone
    proc.wait(10)
    deadline = time.time() + 10
    while _alive(child):
        assert time.time() < deadline, "the job outlived its killed client"
        time.sleep(0.1)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie until the server reaps it
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize("extra", [{"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
                                    "OPENBLAS_NUM_THREADS": "2"},  # no server for 2 threads
                                   {"PYTHONPATH": "/elsewhere"}])  # libraries from elsewhere
def test_a_job_the_server_cannot_stand_for_runs_cold(server, tmp_path, extra):
    script = _job(tmp_path)
    warm = _run(script, "state", warm=True, cwd=tmp_path, **extra)
    assert warm.returncode == 0, warm.stderr
    assert json.loads(warm.stdout)["pid"] == warm.started
    assert not (tmp_path / "logs" / "job.log.usage.json").exists()


def test_no_server_without_the_switch(monkeypatch, tmp_path):
    monkeypatch.setenv(warmstart.SWITCH_ENV, "0")
    monkeypatch.delenv(warmstart.SOCKET_ENV, raising=False)
    assert warmstart.start([1], tmp_path) is None
    assert warmstart.SOCKET_ENV not in os.environ


def test_no_server_on_a_machine_with_a_gpu_driver(monkeypatch, tmp_path):
    fake = tmp_path / "nvidiactl"
    fake.touch()
    monkeypatch.setattr(warmstart, "GPU_DEVICE_NODES", (str(fake),))
    monkeypatch.delenv(warmstart.SOCKET_ENV, raising=False)
    monkeypatch.delenv(warmstart.SWITCH_ENV, raising=False)
    assert warmstart.gpu_machine()
    assert warmstart.start([1], tmp_path) is None
