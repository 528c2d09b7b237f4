"""Shared test plumbing: the count of bad inputs / corrupt states tried (marker ``bad_input``).

Every test marked ``bad_input`` feeds one bad input or corrupt state to the project and
asserts (with the helpers of ``tests/badinput.py``) that it is refused with a message
naming the key or file and that nothing is left that Snakemake would take as complete.
The summary line at the end of the run prints how many were tried and how many passed.
"""

from __future__ import annotations

import logging
import os

import pytest

#: The Slurm executor plugin, which every Snakemake the tests start imports, asks the cluster's
#: controller for its MinJobAge when it is imported (`scontrol show config`, 10 s timeout). On a
#: machine with Slurm's client installed and no controller answering (CI's machine once its
#: Slurm stage has stopped the cluster) each Snakemake start waited 9 s (measured): ~100 starts in
#: the suite. The tests use no cluster (CI's Slurm stage does, .ci/check_slurm.sh): Slurm's
#: commands run from the tests read an empty configuration and fail at once (a path that does
#: not exist would not do: Slurm then looks for its controller in DNS, 60 s here).
NO_SLURM_CONF = os.devnull


def pytest_configure(config):
    os.environ["SLURM_CONF"] = NO_SLURM_CONF

_COUNTS = {"tried": 0, "refused": 0}


def pytest_runtest_logreport(report):
    if report.when == "call" and "bad_input" in report.keywords:
        _COUNTS["tried"] += 1
        _COUNTS["refused"] += bool(report.passed)


def pytest_terminal_summary(terminalreporter):
    if _COUNTS["tried"]:
        terminalreporter.write_line(
            f"bad inputs / corrupt states tried: {_COUNTS['tried']}; refused with a message "
            f"naming the key or file and no partial output: {_COUNTS['refused']}")


@pytest.fixture
def one_thread():
    """One intra-op torch thread (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    OpenMP workers spin-wait, and on a busy 2-core machine two of them made the model
    trainings of the tests 70x slower (measured) instead of faster."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def quiet_warnings():
    """Warnings off (e.g. PCSD without the VGG weights warns on every model built)."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


#: the slowest test modules (each runs a small pipeline end to end): collected first, so that
#: pytest-xdist's `--dist loadfile` (make test) gives them to different workers at the start
#: instead of, by collection order, possibly one after the other to the same worker
SLOW_FIRST = ("test_workflow_train.py", "test_workflow.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within each module is kept
