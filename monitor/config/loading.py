"""The config file: finding it, `${VAR}` interpolation, and validation into the models.

Parsing is kept apart from running: everything here either returns a `Config` or raises
`ConfigError` carrying one line per problem, each naming the field path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.config.models import Config

ENV_VAR = "FEATMON_CONFIG"
DEFAULT_FILE = "config.yaml"
_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one `field.path: why` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def find_config_file(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(DEFAULT_FILE)


def interpolate(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in string values (`$$` is a literal `$`).

    Done on parsed values, not the raw text, so a variable can never inject YAML.
    """
    if isinstance(value, dict):
        return {k: interpolate(v, env, _join(path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        raise ConfigError([f"{path or '(root)'}: environment variable {name} is not set"])

    return _INTERPOLATION.sub(replace, value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = _join(out, part)
    return out or "(root)"


def parse_config(
    data: Any, base_dir: Path = Path("."), env: Mapping[str, str] | None = None
) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["(root): the config must be a mapping of keys to values"])
    data = interpolate(data, os.environ if env is None else env)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            loc = format_location(tuple(err["loc"]))
            if loc == "(root)":
                problems += msg.splitlines()
            else:
                problems.append(f"{loc}: {msg}")
        raise ConfigError(problems) from None
    return config.model_copy(update={"base_dir": base_dir})


def load_config(explicit: str | None = None) -> tuple[Config, Path]:
    path = find_config_file(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        how = (
            "-c/--config"
            if explicit
            else (f"${ENV_VAR}" if os.environ.get(ENV_VAR) else f"./{DEFAULT_FILE}")
        )
        raise ConfigError([f"{path}: config file not found (from {how})"]) from None
    except OSError as e:
        raise ConfigError([f"{path}: cannot read config file: {e.strerror}"]) from None
    try:
        # libyaml's loader where PyYAML was built with it (the same safe subset, ~5x faster).
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from None
    return parse_config(data, base_dir=path.resolve().parent), path
