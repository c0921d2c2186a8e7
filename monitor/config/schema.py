"""The config's JSON Schema, generated from the same pydantic models that validate it, so
an editor (yaml-language-server) flags a typo or a wrong type while the file is written,
by the rules `featmon validate` applies. `featmon schema` prints it; docs/config.schema.json
is that output, committed (a test keeps it up to date)."""

from __future__ import annotations

import json
from typing import Any

from monitor.config.models import Config

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a featmon config file (the keys a person writes, by their YAML
    names: `from`, not `from_`)."""
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    schema["properties"].pop("base_dir", None)  # set by the loader, never written
    return {
        "$schema": SCHEMA_URI,
        "title": "featmon config",
        "description": (
            "featmon's config file (config.yaml). Cross-field rules (a check needs the "
            "columns it compares, at least one check enabled) are checked by `featmon "
            "validate`, not here."
        ),
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    """The schema as `featmon schema` prints it and docs/config.schema.json holds it."""
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"
