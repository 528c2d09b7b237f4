"""schemas/config.schema.json: the pydantic model's export, checked by the Snakefile before
the model (which stays the stronger check and the one whose message a config error shows).

Regenerate the file after a change to simart.config:

    python -m simart.workflow.schema > schemas/config.schema.json
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from simart.config import validate_config
from simart.workflow import checks
from simart.workflow.schema import DIALECT, config_schema, config_schema_text

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas/config.schema.json"
BASE = yaml.safe_load((ROOT / "config.yaml").read_text())


def _merged(*overrides: str) -> dict:
    raw = copy.deepcopy(BASE)
    for f in overrides:
        update_config(raw, yaml.safe_load((ROOT / f).read_text()) or {})
    return raw


def _schema_error(raw: dict) -> WorkflowError | None:
    """What the Snakefile's validate call raises on ``raw`` (None: it passes)."""
    try:
        validate(copy.deepcopy(raw), str(SCHEMA), set_default=False)
    except WorkflowError as err:
        return err
    return None


def test_schema_file_is_the_models_export_now():
    """The committed file equals the export; on a difference, regenerate it with
    ``python -m simart.workflow.schema > schemas/config.schema.json``."""
    assert SCHEMA.read_text(encoding="utf-8") == config_schema_text()
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == DIALECT  # snakemake.utils.validate reads it
    assert schema == json.loads(json.dumps(config_schema()))
    assert schema["additionalProperties"] is False  # unknown top-level keys are refused


@pytest.mark.parametrize("files", [
    (), ("tests/data/tiny.yaml",), ("tests/data/tiny_learned.yaml",),
    ("tests/data/slurm_ci.yaml",), ("tests/data/slurm_ci_train.yaml",), (".ci/ci.yaml",)])
def test_shipped_configs_pass_the_schema_and_the_model(files):
    raw = _merged(*files)
    assert _schema_error(raw) is None
    validate_config(raw)


@pytest.mark.parametrize("preset", ["configs/paper.yaml", "configs/workstation.yaml"])
def test_presets_alone_pass_the_schema(preset):
    raw = yaml.safe_load((ROOT / preset).read_text())  # --replace-workflow-config
    assert _schema_error(raw) is None
    validate_config(raw)


def test_validate_fills_no_default_into_the_config():
    raw = _merged("tests/data/tiny.yaml")
    before = copy.deepcopy(raw)
    validate(raw, str(SCHEMA), set_default=False)
    assert raw == before


@pytest.mark.parametrize("key,value,names", [
    ("image_sise", 3, "unknown config key 'image_sise'"),
    ("image_size", 8, "greater than or equal to 16"),
    ("seed", "abc", "seed"),
    ("evaluate.metrics", ["psnr", 3], "evaluate.metrics"),
])
def test_a_config_both_refuse_stops_with_the_models_message(key, value, names, capsys):
    raw = copy.deepcopy(BASE)
    *parents, last = key.split(".")
    node = raw
    for p in parents:
        node = node[p]
    node[last] = value
    err = _schema_error(raw)
    assert err is not None  # the schema refuses it too ...
    with pytest.raises(SystemExit):
        checks.validated_config(raw, schema_error=err)
    out = capsys.readouterr().err
    # ... but the message is the model's: key, value, what is allowed; no JSON-schema dump
    assert "SIMART config error: invalid configuration" in out and names in out
    assert "Failed validating" not in out and "$schema" not in out


def test_a_config_only_the_schema_refuses_runs_with_a_warning(capsys):
    raw = _merged("tests/data/tiny.yaml")
    raw["train"]["defaults"]["lr"] = "1e-4"  # YAML's reading of `lr: 1e-4`
    err = _schema_error(raw)
    assert err is not None
    cfg = checks.validated_config(raw, schema_error=err)
    assert cfg.train.defaults.lr == pytest.approx(1e-4)
    out = capsys.readouterr().err
    assert "SIMART config warning" in out and "$.train.defaults.lr" in out
    assert "1.0e-4" in out
