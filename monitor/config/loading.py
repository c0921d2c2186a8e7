"""The config file: finding it, `${VAR}` interpolation, and validation into the models.

Parsing is kept apart from running: everything here either returns a `Config` or raises
`ConfigError` carrying one line per problem, each naming the field path.

Secret fields (`SECRET_FIELDS`: a sink's token, URL and header values) keep their `${VAR}`
references at load and are resolved by `resolve_secret` only when a sink is built to deliver:
investigating (validate, alerts, sql, impact, explain, timeline, a dry run) never needs the
production secrets, and an unset secret fails that sink's delivery instead of the config.
"""

from __future__ import annotations

import fnmatch
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
# The SecretStr fields of the models (Slack, the webhooks), as config paths (`*`: any key).
SECRET_FIELDS = (
    "alerts.slack.token",
    "alerts.slack.webhook_url",
    "alerts.webhook.url",
    "alerts.webhook.headers.*",
    "actions.invalidation.webhook.url",
    "actions.invalidation.webhook.headers.*",
    "remediation.api_key",
)


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


class SecretUnset(Exception):
    """A secret field names an environment variable that is unset: the sink cannot be built.
    The message names the field and the variable, never a value."""

    def __init__(self, path: str, variable: str) -> None:
        super().__init__(f"{path}: environment variable {variable} is not set")
        self.path = path
        self.variable = variable


class _Unset(Exception):
    """Internal: which variable was missing; callers word it for their field."""

    def __init__(self, variable: str) -> None:
        super().__init__(variable)
        self.variable = variable


def is_secret(path: str) -> bool:
    """Whether the config path is a secret field, resolved only when delivering."""
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in SECRET_FIELDS)


def interpolate(
    value: Any, env: Mapping[str, str], path: str = "", *, defer_secrets: bool = False
) -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in string values (`$$` is a literal `$`).

    Done on parsed values, not the raw text, so a variable can never inject YAML. With
    `defer_secrets`, the secret fields are left as written, for `resolve_secret` later.
    """
    if defer_secrets and is_secret(path):
        return value
    if isinstance(value, dict):
        return {
            k: interpolate(v, env, _join(path, str(k)), defer_secrets=defer_secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate(v, env, f"{path}[{i}]", defer_secrets=defer_secrets)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str):
        return value
    try:
        return _substitute(value, env)
    except _Unset as e:
        problem = f"{path or '(root)'}: environment variable {e.variable} is not set"
        raise ConfigError([problem]) from None


def resolve_secret(template: str, env: Mapping[str, str], path: str) -> str:
    """A secret field's value with its `${VAR}` references replaced, at delivery time;
    `SecretUnset` (naming `path` and the variable) when one is unset without a default."""
    try:
        return _substitute(template, env)
    except _Unset as e:
        raise SecretUnset(path, e.variable) from None


def unset_variables(template: str, env: Mapping[str, str]) -> list[str]:
    """The variables `template` needs that are unset and have no default (`validate`)."""
    return [
        m.group(1)
        for m in _INTERPOLATION.finditer(template)
        if m.group(1) and not env.get(m.group(1)) and m.group(2) is None
    ]


def _substitute(value: str, env: Mapping[str, str]) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        raise _Unset(name)

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
        # An empty or comment-only file: a mounted secret left blank would otherwise run
        # green forever while watching nothing.
        raise ConfigError(["(root): the config is empty: nothing to monitor (list `checks:`)"])
    if not isinstance(data, dict):
        raise ConfigError(["(root): the config must be a mapping of keys to values"])
    data = interpolate(data, os.environ if env is None else env, defer_secrets=True)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            if str(err["type"]).endswith("_type"):
                # Strict types: say what was given (its type, never its value: secrets).
                msg += f" (got {_kind(err.get('input'))})"
            loc = format_location(tuple(err["loc"]))
            if loc == "(root)":
                problems += msg.splitlines()
            else:
                problems.append(f"{loc}: {msg}")
        raise ConfigError(problems) from None
    return config.model_copy(update={"base_dir": base_dir})


def _kind(value: Any) -> str:
    """How a wrongly typed config value reads in YAML terms."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


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
    config = parse_config(data, base_dir=path.resolve().parent)
    if explicit or os.environ.get(ENV_VAR):
        # Not the default file: the commands a message prints must name it. A person reading
        # the message has neither this process's working directory nor its environment.
        config = config.model_copy(update={"source": str(path.resolve())})
    return config, path
