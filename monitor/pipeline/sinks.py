"""The configured notification sinks, built from the config: the one place that knows
which config section makes which transport. Secrets are resolved from their `${VAR}`
references here, when a run is about to deliver, and handed to the sink only: a sink whose
secret is unset becomes an `Unavailable` sink that keeps its notifications pending and says
which variable is missing (never a value), while everything else about the run goes on."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alerts.sinks.base import Delivery, Envelope, Sink
from alerts.steps import StepContext
from checks.durations import parse_duration
from monitor.config import Config, SecretUnset, resolve_secret, unset_variables
from monitor.config.models import SlackConfig, WebhookConfig, require_http_url


def step_context(config: Config) -> StepContext:
    """What an alert message's next steps take from the config: the file to repeat as
    `--config`, the coordinator to regenerate with, the zone that says which dates are
    played (the sink dates it per message)."""
    return StepContext(
        config_path=config.source,
        coordinator_url=config.remediation.coordinator_url,
        timezone=config.timezone,
        mode=config.remediation.mode,
        regenerate_checks=tuple(config.remediation.checks),
        min_affected_share=config.remediation.min_affected_share,
    )


def has_sinks(config: Config) -> bool:
    """Whether any notifying sink is configured (without building one: no client imports)."""
    return config.alerts.slack is not None or config.alerts.webhook is not None


def attaches_timeline(config: Config) -> bool:
    """Whether new alerts' messages carry the game date's timeline PNG."""
    slack = config.alerts.slack
    return slack is not None and slack.attach_timeline and config.history is not None


@dataclass
class Unavailable:
    """A configured sink that cannot be built (an unset secret, a bad secret URL): every
    delivery fails with `error`, retryable, so its notifications stay pending until the
    variable is set, and the run reports it like any undelivered notification."""

    name: str
    error: str

    def deliver(self, envelope: Envelope) -> Delivery:
        return Delivery(ok=False, error=self.error, retryable=True)

    def find(self, envelope: Envelope) -> Delivery | None:
        return None


def sinks_from(config: Config, env: Mapping[str, str] | None = None) -> list[Sink]:
    """The sinks to deliver through, their secrets resolved from `env` (the process's)."""
    env = os.environ if env is None else env
    out: list[Sink] = []
    slack, hook = config.alerts.slack, config.alerts.webhook
    if slack is not None:
        out.append(_built("slack", lambda: _slack(config, slack, env)))
    if hook is not None:
        out.append(_built("webhook", lambda: _webhook(config, hook, env)))
    return out


def secret_warnings(config: Config, env: Mapping[str, str] | None = None) -> list[str]:
    """For `featmon validate`: each secret field whose variable is unset (its sink would
    keep everything pending), and a config that notifies nobody. Never a value."""
    env = os.environ if env is None else env
    out = [
        f"{path}: environment variable {name} is not set ("
        + (
            "featmon cannot send regeneration requests"
            if path.startswith("remediation.")
            else "its notifications would stay pending"
        )
        + ")"
        for path, template in _secret_fields(config)
        for name in unset_variables(template, env)
    ]
    if not has_sinks(config):
        out.append("no notifier configured (alerts.slack or alerts.webhook): alerts reach nobody")
    return out


def _built(name: str, build: Callable[[], Sink]) -> Sink:
    try:
        return build()
    except (SecretUnset, ValueError) as e:
        return Unavailable(name, str(e))


def _secret_fields(config: Config) -> list[tuple[str, str]]:
    """(config path, template) of every configured secret field."""
    out: list[tuple[str, str]] = []
    slack, hook = config.alerts.slack, config.alerts.webhook
    if slack is not None:
        for field, secret in (("token", slack.token), ("webhook_url", slack.webhook_url)):
            if secret is not None:
                out.append((f"alerts.slack.{field}", secret.get_secret_value()))
    if hook is not None:
        out.append(("alerts.webhook.url", hook.url.get_secret_value()))
        out += [
            (f"alerts.webhook.headers.{k}", v.get_secret_value()) for k, v in hook.headers.items()
        ]
    invalidation = config.actions.invalidation
    if invalidation is not None and invalidation.webhook is not None:
        prefix = "actions.invalidation.webhook"
        out.append((f"{prefix}.url", invalidation.webhook.url.get_secret_value()))
        out += [
            (f"{prefix}.headers.{k}", v.get_secret_value())
            for k, v in invalidation.webhook.headers.items()
        ]
    if config.remediation.api_key is not None:
        out.append(("remediation.api_key", config.remediation.api_key.get_secret_value()))
    return out


def secrets_under(config: Config, prefix: str, env: Mapping[str, str]) -> dict[str, str]:
    """The configured secret fields under `prefix` (a config path), resolved from `env` at
    sending time; `SecretUnset` names the first whose variable is unset."""
    return _resolved(config, env, prefix)


def _resolved(config: Config, env: Mapping[str, str], prefix: str) -> dict[str, str]:
    """One sink's configured secret fields (paths under `prefix`) with their `${VAR}`s
    replaced from `env`; `SecretUnset` names the first that cannot be."""
    return {
        path: resolve_secret(template, env, path)
        for path, template in _secret_fields(config)
        if path.startswith(prefix)
    }


def _slack(config: Config, slack: SlackConfig, env: Mapping[str, str]) -> Sink:
    from alerts.sinks.slack import SlackSettings, SlackSink

    secrets = _resolved(config, env, "alerts.slack.")
    settings = SlackSettings(
        token=secrets.get("alerts.slack.token") or None,
        webhook_url=secrets.get("alerts.slack.webhook_url") or None,
        base_url=slack.base_url,
        channels={str(k): v for k, v in slack.channels.items()},
        runbook_url=config.alerts.runbook_url,
        max_retries=slack.max_retries,
        timeout_s=parse_duration(slack.timeout).total_seconds(),
        attach_timeline=slack.attach_timeline,
        zone=config.zone(),
        steps=step_context(config),
    )
    return SlackSink(settings)


def _webhook(config: Config, hook: WebhookConfig, env: Mapping[str, str]) -> Sink:
    from alerts.sinks.webhook import WebhookSink

    secrets = _resolved(config, env, "alerts.webhook.")
    url = secrets["alerts.webhook.url"]
    try:
        require_http_url(url, "url")
    except ValueError as e:
        raise ValueError(f"alerts.webhook.url: {e}") from None
    prefix = "alerts.webhook.headers."
    headers = {p.removeprefix(prefix): v for p, v in secrets.items() if p.startswith(prefix)}
    return WebhookSink(
        url,
        headers=headers,
        timeout_s=parse_duration(hook.timeout).total_seconds(),
        receiver=hook.receiver,
        external_url=hook.external_url,
        runbook_url=config.alerts.runbook_url,
    )
