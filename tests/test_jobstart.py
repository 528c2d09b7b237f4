"""A workflow job's process start-up: libraries load without garbage collection
(simart.jobstart, ended by runlog.setup), and the training's determinism flag is set
without importing torch._inductor (simart.train.loop.set_deterministic)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "workflow_scripts").glob("*.py"))


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_workflow_script_imports_jobstart_first_and_sets_up_its_log(script):
    tree = ast.parse(script.read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    first = min(imports, key=lambda n: n.lineno)
    assert isinstance(first, ast.Import) and first.names[0].name == "simart.jobstart", \
        f"{script.name}: its first import must be simart.jobstart (before torch & co.)"
    assert "runlog.setup(" in script.read_text(), \
        f"{script.name}: runlog.setup turns garbage collection on again"


def test_collection_off_while_loading_then_on_with_the_loaded_objects_frozen():
    out = _python(
        "import gc, simart.jobstart\n"
        "off = not gc.isenabled()\n"
        "import numpy\n"
        "from simart import runlog\n"
        "runlog.setup(None)\n"
        "print(off, gc.isenabled(), gc.get_freeze_count() > 1000)\n")
    assert out.split() == ["True", "True", "True"]


def test_library_imports_leave_the_garbage_collector_alone():
    out = _python(
        "import gc\n"
        "import simart.evaluation.cells, simart.runlog, simart.train.distributed\n"
        "import simart.train.pipeline, simart.workflow.plan\n"
        "print(gc.isenabled(), 'simart.jobstart' in __import__('sys').modules)\n")
    assert out.split() == ["True", "False"]


def test_set_deterministic_sets_torch_flags_without_loading_inductor():
    out = _python(
        "import sys, torch\n"
        "from simart.train.loop import set_deterministic\n"
        "set_deterministic(True)\n"
        "a = (torch.are_deterministic_algorithms_enabled(),\n"
        "     torch.is_deterministic_algorithms_warn_only_enabled())\n"
        "set_deterministic(True, warn_only=True)\n"
        "b = torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "set_deterministic(False)\n"
        "print(*a, b, torch.are_deterministic_algorithms_enabled(),\n"
        "      'torch._inductor' in sys.modules)\n")
    assert out.split() == ["True", "False", "True", "False", "False"]


def test_inductor_determinism_follows_the_flag_once_loaded():
    out = _python(
        "import torch\n"
        "import torch._inductor.config as c\n"
        "from simart.train.loop import set_deterministic\n"
        "set_deterministic(True)\n"
        "a = c.deterministic\n"
        "set_deterministic(False)\n"
        "print(a, c.deterministic)\n")
    assert out.split() == ["True", "False"]
