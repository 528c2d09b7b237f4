"""The torch-free floor: the config, the specs and parsing the Snakefile import no torch
(nor numba, h5py, pandas, scipy): config validation and the Snakefile's planning run
in every Snakemake process and job, and must stay cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numba", "h5py", "pandas", "scipy")


def _imports(code: str) -> list[str]:
    probe = (f"import sys; {code}; "
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    return out.split()


@pytest.mark.parametrize("module", [
    "simart.config", "simart.specs.modalities", "simart.specs.stem_lattice",
    "simart.specs.stm_cu111", "simart.specs.lm", "simart.specs.sources",
    "simart.specs.params", "simart.specs.metrics", "simart.specs.hparam_types",
    "simart.specs.hparams", "simart.specs.hparams_diffusion", "simart.specs.hparams_gan"])
def test_config_and_specs_import_no_heavy_package(module):
    assert _imports(f"import {module}") == [], f"{module} imports heavy packages"


def test_validating_the_configs_imports_no_torch():
    code = ("from simart.config import load_yaml, validate_config; "
            "[validate_config(load_yaml(p)) for p in ('config.yaml', '.ci/ci.yaml')]; "
            "c = load_yaml('config.yaml'); c.update(load_yaml('configs/paper.yaml')); "
            "validate_config(c)")
    assert "torch" not in _imports(code)


def test_parsing_the_snakefile_imports_no_torch():
    """`snakemake --list` parses the whole workflow (config validation, the plan, every
    rule file): torch (and numba) must not be among the modules it loaded."""
    code = ("import sys\nfrom snakemake.cli import main\nsys.argv = ['snakemake', '--list']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('LOADED', *(m for m in ('torch', 'numba') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    loaded = res.stdout.split("LOADED")[-1].split()
    assert loaded == [], f"parsing the Snakefile imports {loaded}"
