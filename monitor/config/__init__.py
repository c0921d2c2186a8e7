"""featmon's configuration: the models (models.py), finding and loading the file
(loading.py) and the daemon's schedules (schedule.py). Import from here."""

from monitor.config.loading import (
    DEFAULT_FILE,
    ENV_VAR,
    ConfigError,
    find_config_file,
    interpolate,
    load_config,
    parse_config,
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
    "BigQueryWarehouse",
    "Config",
    "ConfigError",
    "DuckDBWarehouse",
    "HistoryConfig",
    "SlackConfig",
    "WebhookConfig",
    "find_config_file",
    "interpolate",
    "load_config",
    "parse_config",
]
