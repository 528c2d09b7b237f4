"""The JSON schema of the run config, exported from the pydantic model.

``schemas/config.schema.json`` is :func:`config_schema` written by :func:`main`; the
Snakefile checks the config against it with ``snakemake.utils.validate`` (for the tools
that read a workflow's schema: editors, the workflow catalog) before the model validates
it. The model stays the stronger check (cross-field rules, registries of names, physical
bounds per parameter: simart.config), so the schema refuses a subset of what the model
refuses. Regenerate after a change to simart.config:

    python -m simart.workflow.schema > schemas/config.schema.json

(tests/test_config_schema.py fails while the file differs from the model's export.)
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: the JSON-schema dialect pydantic writes (and snakemake.utils.validate checks against)
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    """``simart.config.Config.model_json_schema()`` with its dialect and a description."""
    from simart.config import Config

    schema = Config.model_json_schema()
    return {"$schema": DIALECT,
            "description": ("The SIMART run config (config.yaml, configs/*.yaml), exported "
                            "from simart.config.Config: python -m simart.workflow.schema"),
            **schema}


def config_schema_text() -> str:
    """The file's text: :func:`config_schema` as indented JSON (keys in the model's
    order, non-ASCII kept, no NaN), newline-terminated."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def main() -> int:
    sys.stdout.write(config_schema_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
