"""The workflow as Snakemake's linter and a conda user see it: rule files that only
declare, a conda environment on every rule that runs a script, an environment file conda
can build from Snakemake's copy of it. (`snakemake --lint` itself runs in CI: .ci/run.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from simart.workflow import smk

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "rules").glob("*.smk"))
ENV = ROOT / "envs/simart.yaml"


def _rule_blocks(text: str) -> list[str]:
    """The text of each rule (from `rule` to the next top-level or loop-level rule)."""
    starts = [m.start() for m in re.finditer(r"^ *(rule\b.*:|use rule\b)", text, re.MULTILINE)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)][:len(starts)],
                                      strict=True)]


def test_rule_files_define_no_function():
    """Snakemake's lint 'Mixed rules and functions in same snakefile': every helper is a
    module function (src/simart/workflow/smk.py), bound in rules/common.smk."""
    for f in [ROOT / "Snakefile", *RULE_FILES]:
        assert not re.search(r"^\s*def \w+\(", f.read_text(), re.MULTILINE), f.name


def test_every_script_rule_names_the_conda_environment():
    n = 0
    for f in RULE_FILES:
        for block in _rule_blocks(f.read_text()):
            if re.search(r"^\s+script:", block, re.MULTILINE):
                n += 1
                assert re.search(r'^\s+conda:\n\s+"\.\./envs/simart\.yaml"', block, re.MULTILINE), \
                    f"{f.name}: {block.splitlines()[0]}"
            if re.search(r"^\s+run:", block, re.MULTILINE):  # Snakemake's process: no conda
                assert "conda:" not in block
    assert n >= 15
    assert (ROOT / "rules" / "../envs/simart.yaml").resolve() == ENV


def test_environment_pins_match_pyproject():
    env = yaml.safe_load(ENV.read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert project["requires-python"] == f">={python[7:]},<3.{int(python.split('.')[1]) + 1}"
    assert "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    first = [next(d for d in project["dependencies"] if d.startswith(f"{name}=="))
             for name in ("torch", "torchvision")]
    assert pip[:2] == first  # torch and torchvision pinned as in pyproject.toml, listed first
    assert pip[2] == f"-e ${{{smk.SOURCE_ROOT_VAR}}}"  # the package, with all its pins


def test_pip_installs_the_package_from_snakemakes_copy_of_the_environment(tmp_path,
                                                                          monkeypatch):
    """Snakemake builds the environment from a copy of the file in .snakemake/conda/, and
    conda runs pip there on the file's pip lines: the package line must not depend on the
    file's own folder. pip itself resolves it here (dry run, offline)."""
    conda_dir = tmp_path / ".snakemake/conda"
    conda_dir.mkdir(parents=True)
    pip = next(d["pip"] for d in yaml.safe_load(ENV.read_text())["dependencies"]
               if isinstance(d, dict))
    req = conda_dir / "condaenv.requirements.txt"
    req.write_text("\n".join(pip[2:]) + "\n")
    monkeypatch.delenv(smk.SOURCE_ROOT_VAR, raising=False)  # restored after the test
    root = smk.export_source_root(ROOT)  # what rules/common.smk does
    assert os.environ[smk.SOURCE_ROOT_VAR] == root == str(ROOT.resolve())
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index",
           "--no-build-isolation", "-r", req.name]
    done = subprocess.run(cmd, cwd=conda_dir, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Would install simart" in done.stdout
