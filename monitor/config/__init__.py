"""featmon's configuration: the models (models.py), finding and loading the file
(loading.py) and the daemon's schedules (schedule.py). Import from here."""

from monitor.config.loading import (
    DEFAULT_FILE,
    ENV_VAR,
    SECRET_FIELDS,
    ConfigError,
    SecretUnset,
    find_config_file,
    interpolate,
    load_config,
    parse_config,
    resolve_secret,
    unset_variables,
)
from monitor.config.models import (
    BigQueryWarehouse,
    Config,
    DuckDBWarehouse,
    HistoryConfig,
    SlackConfig,
    WebhookConfig,
)

__all__ = [
    "DEFAULT_FILE",
    "ENV_VAR",
    "SECRET_FIELDS",
    "BigQueryWarehouse",
    "Config",
    "ConfigError",
    "DuckDBWarehouse",
    "HistoryConfig",
    "SecretUnset",
    "SlackConfig",
    "WebhookConfig",
    "find_config_file",
    "interpolate",
    "load_config",
    "parse_config",
    "resolve_secret",
    "unset_variables",
]
