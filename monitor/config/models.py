"""What a config says, as validated models: every key, its type, default and rules.

Each model rejects unknown keys; rules that span sections (a check needs the columns it
compares, a schedule must parse) are in `Config._consistent`, one line per problem naming
the field path, so a bad deploy fails fast with exit 2 and says exactly what to fix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    field_validator,
    model_validator,
)

from alerts.grouping import DEFAULT_GROUP_BY, GroupLabel
from alerts.silences import label_problem
from checks.base import CheckSettings, Severity
from checks.durations import Duration
from checks.registry import CHECKS
from checks.safety import PROJECT
from checks.tables import (
    CONFIG_MODEL,
    FeatureStoreTable,
    GradingTable,
    Identifier,
    PredictionsTable,
    Strict,
    WriteLog,
)
from monitor.config.schedule import parse_schedule
from monitor.warehouse.capabilities import capabilities_of

# DuckDB's own `memory_limit` grammar (a size with a unit, or a share of RAM), checked at
# load: otherwise a typo fails every run with a parser error from inside the warehouse.
_MEMORY = re.compile(r"^\s*(\d+(\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*$", re.IGNORECASE)


class DuckDBWarehouse(Strict):
    backend: Literal["duckdb"] = "duckdb"
    # Relative paths are resolved against the config file's folder.
    path: str = ".featmon/demo.duckdb"
    memory_limit: str | None = None
    threads: Annotated[int, Field(ge=1)] | None = None

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, v: str | None) -> str | None:
        m = _MEMORY.match(v) if v is not None else None
        if v is not None and (not m or float(m[1]) <= 0 or (m[3] == "%" and float(m[1]) > 100)):
            raise ValueError(f"{v!r} is not a memory size like 4GB, 512MiB or 80%")
        return v


_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


class BigQueryWarehouse(Strict):
    backend: Literal["bigquery"]
    project: str  # the billing project: jobs run (and are billed) here
    location: str | None = None
    # Where `dataset.table` names live, when not in the billing project.
    dataset_project: str | None = None
    maximum_bytes_billed: Annotated[int, Field(gt=0)] | None = 50 * 1024**3
    job_timeout_s: Annotated[float, Field(gt=0)] = 300.0
    # How long transient failures (5xx, rateLimitExceeded, backendError) are retried.
    retry_deadline_s: Annotated[float, Field(gt=0)] = 120.0
    labels: dict[str, str] = Field(default_factory=dict)
    # `adc` (Application Default Credentials: the job's service account on Cloud Run),
    # `anonymous` (emulators and tests, with `endpoint`), or a service-account key path.
    credentials: str = "adc"
    endpoint: str | None = None

    @field_validator("dataset_project", "endpoint", "location", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: Any) -> Any:
        # `${VAR:-}` interpolates to "" when VAR is unset: treat that as not given.
        return None if v == "" else v

    @field_validator("project", "dataset_project")
    @classmethod
    def _project_id(cls, v: str | None) -> str | None:
        if v is not None and not PROJECT.match(v):
            raise ValueError(f"{v!r} is not a valid project id")
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _LABEL.match(key) or not _LABEL_VALUE.match(value):
                raise ValueError(
                    f"label {key}={value!r}: keys start with a lowercase letter; keys and "
                    "values use lowercase letters, digits, _ and - (63 characters at most)"
                )
        reserved = {"app", "check"} & set(v)
        if reserved:
            raise ValueError(f"labels {sorted(reserved)} are set by featmon")
        return v

    @model_validator(mode="after")
    def _anonymous_needs_endpoint(self) -> BigQueryWarehouse:
        if self.credentials == "anonymous" and not self.endpoint:
            raise ValueError("`credentials: anonymous` is for emulators: give `endpoint` too")
        return self


Warehouse = Annotated[DuckDBWarehouse | BigQueryWarehouse, Field(discriminator="backend")]


class Budget(Strict):
    """What a run may cost: checked by dry runs before anything is spent (BigQuery)."""

    max_bytes_per_run: Annotated[int, Field(gt=0)] | None = None
    usd_per_tib: Annotated[float, Field(ge=0)] = 6.25
    # For the monthly figure of `featmon check --estimate` (the scheduler has its own).
    runs_per_day: Annotated[float, Field(gt=0)] = 288.0


class Window(Strict):
    """Which game dates a run checks: relative to today in `timezone`, or fixed."""

    model_config = ConfigDict(**CONFIG_MODEL, populate_by_name=True)

    days_back: Annotated[int, Field(ge=0, le=366)] = 1
    days_ahead: Annotated[int, Field(ge=0, le=366)] = 1
    # Dates may be written quoted: ISO text is as clear as YAML's own date.
    from_: dt.date | None = Field(default=None, alias="from", strict=False)
    to: dt.date | None = Field(default=None, strict=False)

    @model_validator(mode="after")
    def _fixed_window_is_whole(self) -> Window:
        if (self.from_ is None) != (self.to is None):
            raise ValueError("give both `from` and `to`, or neither")
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError(f"`from` ({self.from_}) is after `to` ({self.to})")
        return self


class ConsoleConfig(Strict):
    pass


class StateConfig(Strict):
    """Where alert state and the notification log live: a schema in the DuckDB warehouse."""

    dataset: Identifier = "featmon_state"
    # How long a run waits for another run: for the DuckDB write lock (then it gives up
    # loudly, exit 3), and for the notification lease (then it leaves notifying to the
    # holder and says so, exit 0).
    wait_s: Annotated[float, Field(ge=0, le=600)] = 30.0
    # Where a run remembers the "featmon cannot run" notice it sent while the state above
    # was unavailable (relative to the config file): kept apart from the warehouse so the
    # notice is deduplicated and resolved without it. Point it at a mounted volume where
    # the local disk does not outlive a run (a Cloud Run job): Slack's message metadata
    # is also consulted there.
    health_file: str = ".featmon/health.json"


class SilenceRule(Strict):
    match: dict[str, str]
    # Without an offset, wall-clock time in the config's `timezone` (as `silence add
    # --until` reads it); the pipeline localizes it (checks.times.localized).
    until: dt.datetime = Field(strict=False)
    reason: str = ""


class InhibitRule(Strict):
    source: str
    target: str

    @field_validator("source", "target")
    @classmethod
    def _known_check(cls, v: str) -> str:
        if v not in CHECKS:
            raise ValueError(f"unknown check {v!r}; known: {', '.join(CHECKS)}")
        return v


def _default_channels() -> dict[Severity, str]:
    return {"critical": "#nba-alerts", "warning": "#nba-alerts", "info": "#nba-alerts"}


class SlackConfig(Strict):
    """A bot token (updates and threads) or an incoming webhook (posts only). Secrets come
    from the environment (`${SLACK_BOT_TOKEN}`) and are never printed."""

    token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    base_url: str = "https://slack.com/api/"
    channels: dict[Severity, str] = Field(default_factory=_default_channels)
    # Per Web API call (and incoming-webhook post): a hung Slack costs a run this long once,
    # then the run stops calling Slack until the next run (alerts.delivery_deadline).
    timeout: Duration = "10s"
    # Immediate retries of a call whose connection was reset before Slack answered. Never
    # for 429 (Retry-After defers to the next run), 5xx or a timeout: those stop Slack
    # for this run and the notification log retries next run.
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    # Upload the timeline PNG into a new alert's thread (bot token with files:write, and
    # `history` on); otherwise the message links the `featmon timeline` command.
    attach_timeline: bool = False

    @model_validator(mode="after")
    def _one_transport(self) -> SlackConfig:
        if (self.token is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of `token` or `webhook_url`")
        return self

    @field_validator("channels")
    @classmethod
    def _some_channel(cls, v: dict[Severity, str]) -> dict[Severity, str]:
        # With no channel every message would fail; a severity without one goes to the
        # `warning` channel (or the first listed), so a blank name is a mistake, not a default.
        if not v:
            raise ValueError("give at least one channel, e.g. {critical: '#alerts'}")
        blank = [s for s, name in v.items() if not name.strip()]
        if blank:
            raise ValueError(f"channel name is blank for: {', '.join(blank)}")
        return v

    @field_validator("base_url")
    @classmethod
    def _http(cls, v: str) -> str:
        require_http_url(v, "base_url")
        return v


def require_http_url(value: str, field: str) -> None:
    """A URL that is http(s); one still holding a `${VAR}` secret reference is checked when
    the sink is built (monitor/pipeline/sinks.py), since its value is not known at load."""
    if "${" in value:
        return
    scheme = value.split(":", 1)[0].lower()
    if scheme not in ("http", "https") or "://" not in value:
        raise ValueError(f"`{field}` must be an http:// or https:// URL")


class WebhookConfig(Strict):
    """An Alertmanager-compatible webhook receiver. The URL and header values often carry
    tokens: give them as `${ENV_VAR}`; they are kept secret and never printed."""

    url: SecretStr
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    timeout: Duration = "10s"
    # Alertmanager's `receiver` and `externalURL` fields of the payload.
    receiver: str = "featmon"
    external_url: str = ""

    @field_validator("url")
    @classmethod
    def _url(cls, v: SecretStr) -> SecretStr:
        require_http_url(v.get_secret_value(), "url")
        return v

    @field_validator("external_url")
    @classmethod
    def _external_url(cls, v: str) -> str:
        if v:
            require_http_url(v, "external_url")
        return v


class CloudMonitoringConfig(Strict):
    project: str
    location: str = "us-west2"  # the Cloud Run job's region, for the cloud_run_job resource
    # host:port of a plaintext gRPC MetricService (tests); unset means Google's endpoint.
    endpoint: str | None = None
    timeout: Duration = "10s"  # per call; a failed write is reported, never retried in-run


class CloudLoggingConfig(Strict):
    # auto: JSON lines on Cloud Run (CLOUD_RUN_JOB / K_SERVICE set), readable lines elsewhere.
    format: Literal["auto", "json", "text"] = "auto"


class AlertsConfig(Strict):
    repeat_interval: Duration = "4h"
    # All of a run's deliveries together (sends, lookups, uploads): what is not delivered
    # by then stays pending for the next run. Well under the schedule interval.
    delivery_deadline: Duration = "60s"
    # Alerts with equal values of these labels share one message (alerts/grouping.py);
    # "cannot run" alerts are grouped by their cause whatever this says.
    group_by: list[GroupLabel] = Field(default_factory=lambda: list(DEFAULT_GROUP_BY))
    runbook_url: str | None = None

    @field_validator("runbook_url")
    @classmethod
    def _runbook(cls, v: str | None) -> str | None:
        if v:
            require_http_url(v, "runbook_url")
        return v

    silences: list[SilenceRule] = Field(default_factory=list)
    inhibit: list[InhibitRule] = Field(default_factory=list)
    console: ConsoleConfig | None = ConsoleConfig()
    slack: SlackConfig | None = None
    webhook: WebhookConfig | None = None
    cloud_monitoring: CloudMonitoringConfig | None = None
    cloud_logging: CloudLoggingConfig | None = None


RemediationMode = Literal["off", "dry_run", "auto"]
# The checks whose alerts a regeneration of the date fixes (alerts/steps.py REGENERATE).
RegenerationCheck = Literal["stale_predictions", "quality_mismatch", "feature_mismatch"]


def _regeneration_checks() -> list[RegenerationCheck]:
    return ["stale_predictions", "quality_mismatch", "feature_mismatch"]


class RemediationConfig(Strict):
    """Guarded regeneration (docs/actions.md): how featmon asks the coordinator to
    regenerate a date's predictions, and when it may. `dry_run` (the default) prints the
    exact request in the incident's message; `auto` sends it, at most once per date per
    `min_interval`, only for dates not yet played and alerts of `checks` affecting at least
    `min_affected_share` of the date's predictions. The API key is a secret: kept as
    `${VAR}` at load, resolved only when sending, never printed or stored."""

    coordinator_url: str | None = None
    api_key: SecretStr | None = None
    mode: RemediationMode = "dry_run"
    checks: Annotated[list[RegenerationCheck], Field(min_length=1)] = Field(
        default_factory=_regeneration_checks
    )
    min_affected_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    min_interval: Duration = "2h"
    # Bound on one request; retries of timeouts and 5xx stop at `deadline`.
    timeout: Duration = "10s"
    deadline: Duration = "60s"

    @field_validator("coordinator_url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None:
            require_http_url(v, "coordinator_url")
        return v

    @model_validator(mode="after")
    def _auto_needs_coordinator(self) -> RemediationConfig:
        if self.mode == "auto" and (self.coordinator_url is None or self.api_key is None):
            raise ValueError("`mode: auto` needs `coordinator_url` and `api_key`")
        return self


class AuditLogConfig(Strict):
    """BigQuery audit logs in Cloud Logging: finished jobs whose destination is the store."""

    project: str  # where the audit logs are (the store's project)
    lookback: Duration = "3d"  # how far back a run reads them (only new entries are kept)
    # http://host:port of a Logging REST endpoint (tests); unset means Google's endpoint.
    endpoint: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v:
            require_http_url(v, "endpoint")
        return v


class HistoryConfig(Strict):
    """The feature store's version history, kept in `state.dataset` (see docs/history.md)."""

    retention_days: Annotated[int, Field(ge=1, le=3660)] = 90
    # A store column naming the feature set (e.g. v2_37features): listed per version.
    version_column: Identifier | None = "feature_version"
    # Predictions made less than this apart form one batch in attribution and the timeline.
    batch_gap: Duration = "10m"
    # Write times recorded by others, so versions written while featmon was not running
    # are known (with unknown values).
    log_table: WriteLog | None = None
    audit_log: AuditLogConfig | None = None


_TOPIC = re.compile(
    r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$"
)


class InvalidationWebhook(Strict):
    """Where store-write events are POSTed as JSON. The URL and header values often carry
    tokens: give them as `${ENV_VAR}`; they are resolved only when sending, never printed."""

    url: SecretStr
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _url(self) -> InvalidationWebhook:
        require_http_url(self.url.get_secret_value(), "url")
        return self


class InvalidationConfig(Strict):
    """The cache-invalidation signal: one event per new store version of a game date that
    is today or later (docs/actions.md), to a Pub/Sub topic and/or a webhook."""

    # projects/P/topics/T; the client honours PUBSUB_EMULATOR_HOST (tests, local runs).
    pubsub_topic: str | None = None
    webhook: InvalidationWebhook | None = None
    # Bound on one publish or POST; an event not confirmed in time stays pending.
    timeout: Duration = "10s"
    # Versions recorded this long ago and not announced yet (a run that died between
    # recording and announcing) are announced by the next run.
    catch_up: Duration = "1h"

    @field_validator("pubsub_topic")
    @classmethod
    def _topic(cls, v: str | None) -> str | None:
        if v is not None and not _TOPIC.match(v):
            raise ValueError(f"{v!r} is not a topic name (projects/PROJECT/topics/TOPIC)")
        return v

    @model_validator(mode="after")
    def _somewhere(self) -> InvalidationConfig:
        if self.pubsub_topic is None and self.webhook is None:
            raise ValueError("give `pubsub_topic`, `webhook`, or both")
        return self


class ActionsConfig(Strict):
    """What featmon does besides telling people (docs/actions.md)."""

    invalidation: InvalidationConfig | None = None


def _checks_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (check.settings_model | None, None) for name, check in CHECKS.items()
    }
    return create_model("ChecksConfig", __config__=CONFIG_MODEL, **fields)


ChecksConfig = _checks_model()


class Config(Strict):
    warehouse: Warehouse = DuckDBWarehouse()
    budget: Budget = Budget()
    timezone: str = "America/New_York"
    window: Window = Window()
    max_examples: Annotated[int, Field(ge=0, le=50)] = 5
    feature_store: FeatureStoreTable = FeatureStoreTable()
    predictions: PredictionsTable = PredictionsTable()
    checks: ChecksConfig = Field(default_factory=ChecksConfig)  # type: ignore[valid-type]
    alerts: AlertsConfig = AlertsConfig()
    state: StateConfig = StateConfig()
    history: HistoryConfig | None = None
    grading: GradingTable | None = None
    actions: ActionsConfig = ActionsConfig()
    remediation: RemediationConfig = RemediationConfig()
    # `featmon run`: a cron string in `timezone` or {every: 5m}; checks may override.
    schedule: str | dict[str, str] = Field(default_factory=lambda: {"every": "5m"})

    # Set by load_config: where relative paths are resolved from.
    base_dir: Path = Field(default=Path("."), exclude=True)
    # Set by load_config: the file as given, when it is not the default ./config.yaml (the
    # commands an alert message prints repeat it as `--config`, so they work as printed).
    source: str | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name)") from None
        return v

    @field_validator("checks", mode="before")
    @classmethod
    def _listed_means_enabled(cls, v: Any) -> Any:
        # `stale_predictions:` with nothing after it enables the check with defaults.
        if isinstance(v, Mapping):
            return {k: ({} if s is None else s) for k, s in v.items()}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        problems = []
        if not self.enabled_checks():
            problems.append(
                "checks: no check is enabled, so featmon would monitor nothing; list at least "
                f"one of: {', '.join(CHECKS)}"
            )
        if len(self.feature_store.keys) != len(self.predictions.keys):
            problems.append(
                "predictions.keys: must pair one-to-one with feature_store.keys "
                f"({len(self.predictions.keys)} vs {len(self.feature_store.keys)})"
            )
        if (
            self.feature_store.write_times.source == "partitions"
            and not capabilities_of(self.warehouse.backend).partition_metadata
        ):
            problems.append(
                "feature_store.write_times.source: `partitions` reads BigQuery's "
                "INFORMATION_SCHEMA.PARTITIONS and needs warehouse.backend: bigquery "
                "(use `row` or `log_table` on DuckDB)"
            )
        schedules = [("schedule", self.schedule)] + [
            (f"checks.{n}.schedule", s.schedule)
            for n, s in self.enabled_checks().items()
            if s.schedule is not None
        ]
        for where, value in schedules:
            try:
                parse_schedule(value)
            except ValueError as e:
                problems.append(f"{where}: {e}")
        for name in self.enabled_checks():
            check = CHECKS[name]
            if check.uses_quality and not self.predictions.quality:
                problems.append(f"checks.{name}: needs predictions.quality (where it is logged)")
            if check.uses_store_quality and not self.feature_store.quality:
                problems.append(f"checks.{name}: needs feature_store.quality")
            if check.uses_features and not self.predictions.features:
                problems.append(f"checks.{name}: needs predictions.features (what to compare)")
            if check.uses_grading and self.grading is None:
                problems.append(f"checks.{name}: needs `grading` (the graded outcomes table)")
            if check.uses_features and not self.feature_store.feature_names_column:
                problems.append(
                    f"checks.{name}: needs feature_store.feature_names_column and "
                    "feature_values_column"
                )
        for i, rule in enumerate(self.alerts.silences):
            for key, value in rule.match.items():
                problem = label_problem(key, value, list(CHECKS), list(self.predictions.features))
                if problem:
                    problems.append(f"alerts.silences[{i}].match.{key}: {problem}")
        if self.actions.invalidation is not None and self.history is None:
            problems.append(
                "actions.invalidation: needs `history` (the store versions it announces)"
            )
        if problems:
            # Each line already names its field; parse_config splits them back out.
            raise ValueError("\n".join(problems))
        return self

    def enabled_checks(self) -> dict[str, CheckSettings]:
        out: dict[str, CheckSettings] = {}
        for name in CHECKS:
            settings = getattr(self.checks, name)
            if settings is not None and settings.enabled:
                out[name] = settings
        return out

    def settings_for(self, name: str) -> CheckSettings:
        """The configured settings of a check, or its defaults when it is not listed."""
        settings = getattr(self.checks, name)
        return settings if settings is not None else CHECKS[name].settings_model()

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def warehouse_path(self) -> Path:
        assert isinstance(self.warehouse, DuckDBWarehouse)
        path = Path(self.warehouse.path)
        return path if path.is_absolute() else self.base_dir / path

    def table_path(self, table: str) -> str:
        """A configured table name as the warehouse resolves it (`dataset_project` prefixed)."""
        w = self.warehouse
        if isinstance(w, BigQueryWarehouse) and w.dataset_project and table.count(".") == 1:
            return f"{w.dataset_project}.{table}"
        return table
