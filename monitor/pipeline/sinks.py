"""The configured notification sinks, built from the config: the one place that knows
which config section makes which transport. Secrets are read from the config's SecretStr
fields here, when a run is about to deliver, and handed to the sink only."""

from __future__ import annotations

from alerts.sinks.base import Sink
from checks.durations import parse_duration
from monitor.config import Config


def has_sinks(config: Config) -> bool:
    """Whether any notifying sink is configured (without building one: no client imports)."""
    return config.alerts.slack is not None or config.alerts.webhook is not None


def attaches_timeline(config: Config) -> bool:
    """Whether new alerts' messages carry the game date's timeline PNG."""
    slack = config.alerts.slack
    return slack is not None and slack.attach_timeline and config.history is not None


def sinks_from(config: Config) -> list[Sink]:
    out: list[Sink] = []
    slack = config.alerts.slack
    if slack is not None:
        from alerts.sinks.slack import SlackSettings, SlackSink

        settings = SlackSettings(
            token=slack.token.get_secret_value() if slack.token else None,
            webhook_url=slack.webhook_url.get_secret_value() if slack.webhook_url else None,
            base_url=slack.base_url,
            channels={str(k): v for k, v in slack.channels.items()},
            runbook_url=config.alerts.runbook_url,
            max_retries=slack.max_retries,
            attach_timeline=slack.attach_timeline,
        )
        out.append(SlackSink(settings))
    hook = config.alerts.webhook
    if hook is not None:
        from alerts.sinks.webhook import WebhookSink

        out.append(
            WebhookSink(
                hook.url.get_secret_value(),
                headers={k: v.get_secret_value() for k, v in hook.headers.items()},
                timeout_s=parse_duration(hook.timeout).total_seconds(),
                receiver=hook.receiver,
                external_url=hook.external_url,
                runbook_url=config.alerts.runbook_url,
            )
        )
    return out
