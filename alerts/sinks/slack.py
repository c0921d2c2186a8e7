"""The Slack sink: delivers a group's notifications as one message and reports what happened.

Bot token (chat.postMessage / chat.update / thread replies: one message per group, edited in
place, a reply per change) or an incoming webhook (posts only: no edits, no threads, so each
change re-posts the group, growth alone waits for the next change or repeat). Every call is
bounded by `timeout_s`. The slack-sdk's retry handlers are set explicitly: by default the SDK
retries connection errors once (a refused or timed-out call then costs twice), and its
rate-limit handler would sleep Retry-After inside the run. Here only a connection reset
before Slack answered is retried (`max_retries`); a 429 returns its Retry-After, and a 5xx,
a timeout or a refused connection return at once: the caller stops calling Slack for this
run and the notification log retries next run. Errors a human must fix (bad token, unknown
channel) say so and are marked not retryable. The token never appears in any message this
module produces.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.client import RemoteDisconnected
from typing import Any

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from alerts import health
from alerts.grouping import SEVERITY_RANK, worst_severity
from alerts.sinks.base import Attachment, Delivery, Envelope
from alerts.sinks.slack_message import SlackMessage, change_reply, group_message, section
from alerts.steps import StepContext

log = logging.getLogger("featmon.slack")

# Errors retrying cannot fix: a person has to change the token, scopes or channel.
NEEDS_A_HUMAN = {
    "invalid_auth": "the Slack token is invalid (check SLACK_BOT_TOKEN)",
    "not_authed": "no Slack token was sent (check SLACK_BOT_TOKEN)",
    "token_revoked": "the Slack token was revoked",
    "account_inactive": "the Slack app's account is inactive",
    "missing_scope": "the Slack app lacks a scope (chat:write)",
    "channel_not_found": "channel {channel} does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not in {channel}: invite it",
    "is_archived": "channel {channel} is archived",
}


@dataclass(frozen=True)
class SlackSettings:
    token: str | None = None
    webhook_url: str | None = None
    base_url: str = "https://slack.com/api/"
    channels: Mapping[str, str] = field(
        default_factory=lambda: {
            "critical": "#nba-alerts",
            "warning": "#nba-alerts",
            "info": "#nba-alerts",
        }
    )
    runbook_url: str | None = None
    max_retries: int = 2  # connection resets only (see the module docstring)
    timeout_s: float = 10.0  # per call
    # Upload the game date's timeline PNG into a new alert's thread (needs files:write).
    attach_timeline: bool = False
    # The config's `timezone`: every time a message shows is in it, with its abbreviation.
    zone: dt.tzinfo = dt.UTC
    # The next steps' config path, coordinator and zone (dated per message).
    steps: StepContext = field(default_factory=StepContext)


class SlackSink:
    name = "slack"

    def __init__(self, settings: SlackSettings) -> None:
        if bool(settings.token) == bool(settings.webhook_url):
            raise ValueError("give exactly one of a bot token or a webhook URL")
        self.settings = settings
        handlers: list[RetryHandler] = [
            ConnectionErrorRetryHandler(
                max_retry_count=settings.max_retries,
                error_types=[ConnectionResetError, RemoteDisconnected],
            )
        ]
        timeout = max(1, math.ceil(settings.timeout_s))  # the SDK takes whole seconds
        self.client: WebClient | None = None
        self.webhook: WebhookClient | None = None
        if settings.token:
            self.client = WebClient(
                token=settings.token,
                base_url=settings.base_url,
                timeout=timeout,
                retry_handlers=handlers,
            )
        else:
            assert settings.webhook_url
            self.webhook = WebhookClient(
                settings.webhook_url, timeout=timeout, retry_handlers=handlers
            )

    def channel_for(self, severity: str) -> str:
        channels = self.settings.channels
        return channels.get(severity) or channels.get("warning") or next(iter(channels.values()))

    def deliver(self, envelope: Envelope) -> Delivery:
        """Deliver what changed in a group. A new group is posted (to the channel of its
        worst severity) with the group's timeline; an existing one (`envelope.ref`) is edited
        in place and gets one thread reply saying what changed: broadcast to the channel
        for a repeat, and when a more severe alert joins. The first change's id goes into
        the message metadata so `find` can recognise it after a crash."""
        members = envelope.picture
        earlier = _parse_ref(envelope.ref)
        channel = earlier.get("channel") or self.channel_for(worst_severity(members))
        ts = earlier.get("ts")
        message = group_message(
            members,
            self.settings.runbook_url,
            envelope.group_labels,
            self.settings.steps.at(envelope.created_at),
            zone=self.settings.zone,
        )
        metadata = _metadata(envelope)
        if ts is None or self.client is None:
            if self.client is None and envelope.ref is not None and _only_growth(envelope):
                # A webhook cannot edit: growth shows at the next repeat or change.
                return Delivery(ok=True, ref=_ref(channel), error="webhook: update skipped")
            posted = self._post(channel, message, metadata=metadata)
            if posted.ok:
                self._attach(posted, envelope.attachments)
            return posted
        updated = self._update(channel, ts, message)
        if not updated.ok:
            return updated
        reply = change_reply(envelope.notifications, members)
        return self._post(
            channel, reply, thread_ts=ts, broadcast=_loud(envelope), metadata=metadata
        )

    def reply(self, ref: str | None, text: str) -> Delivery:
        """A plain thread reply under a group's message (`ref`: its `Delivery.ref`), for
        what featmon did about the group (a regeneration request's outcome). Without a
        thread (a webhook, or no message yet) it is not posted and says why."""
        where = _parse_ref(ref)
        if self.client is None or not where.get("ts"):
            return Delivery(ok=False, retryable=False, error="no Slack thread to reply in")
        message = SlackMessage(text=text, blocks=[section(text)])
        return self._post(where["channel"], message, thread_ts=where["ts"])

    def find(self, envelope: Envelope) -> Delivery | None:
        """The message (or, for a group already posted, the thread reply) a crashed run sent
        for this envelope, if Slack has it (bot token only: a webhook cannot read history, so
        after a crash it may post twice)."""
        if self.client is None:
            return None
        earlier = _parse_ref(envelope.ref)
        channel = earlier.get("channel") or self.channel_for(worst_severity(envelope.picture))
        try:
            channel_id = self._channel_id(channel)
            if channel_id is None:
                return None
            if earlier.get("ts"):
                resp = self.client.conversations_replies(
                    channel=channel_id, ts=earlier["ts"], include_all_metadata=True, limit=200
                )
            else:
                resp = self.client.conversations_history(
                    channel=channel_id,
                    oldest=str((envelope.created_at - dt.timedelta(minutes=5)).timestamp()),
                    include_all_metadata=True,
                    limit=200,
                )
        except (SlackApiError, SlackClientError, OSError):
            return None  # cannot tell: the caller re-sends (at-least-once)
        for message in resp.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("notification_id") == envelope.id:
                ts = earlier.get("ts") or str(message.get("ts"))
                return Delivery(ok=True, ref=_ref(channel_id, ts))
        return None

    def health(self, notice: health.HealthNotice) -> Delivery:
        """featmon's own "cannot run" notice (alerts/health.py) in the critical channel:
        posted with metadata, bumped in its thread on repeats, edited when resolved."""
        text, blocks = health.slack_text(notice)
        message = SlackMessage(text=text, blocks=blocks)
        earlier = _parse_ref(notice.ref)
        channel = earlier.get("channel") or self.channel_for("critical")
        ts = earlier.get("ts")
        if ts is None or self.client is None:
            return self._post(channel, message, metadata=health.slack_metadata(notice))
        if notice.kind == "repeat":
            return self._post(channel, message, thread_ts=ts, broadcast=True)
        reply = self._post(channel, message, thread_ts=ts)
        if not reply.ok:
            return reply
        return self._update(channel, ts, message, metadata=health.slack_metadata(notice))

    def find_health(self, since: dt.datetime) -> str | None:
        """Where the open "cannot run" notice is, if the channel shows one posted since
        `since` (bot token only; None: none open, or Slack cannot tell)."""
        if self.client is None:
            return None
        try:
            channel_id = self._channel_id(self.channel_for("critical"))
            if channel_id is None:
                return None
            resp = self.client.conversations_history(
                channel=channel_id,
                oldest=str(since.timestamp()),
                include_all_metadata=True,
                limit=200,
            )
        except (SlackApiError, SlackClientError, OSError):
            return None
        for message in resp.get("messages") or []:  # newest first
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == health.EVENT_TYPE:
                open_ = (metadata.get("event_payload") or {}).get("status") == "firing"
                return _ref(channel_id, str(message.get("ts"))) if open_ else None
        return None

    def _attach(self, posted: Delivery, attachments: Sequence[Attachment]) -> None:
        """Best effort: the message (which already names `featmon timeline`) is delivered
        whatever happens here, so a failure is logged, never retried or raised."""
        where = _parse_ref(posted.ref)
        if not (self.settings.attach_timeline and self.client and where.get("ts")):
            return
        for attachment in attachments:
            try:
                self.client.files_upload_v2(
                    channel=where["channel"],
                    thread_ts=where["ts"],
                    content=attachment.content,
                    filename=attachment.filename,
                    title=attachment.title,
                    initial_comment=attachment.comment,
                )
            except SlackApiError as e:
                error = str(e.response.get("error", "unknown"))
                hint = " (the bot needs files:write)" if error == "missing_scope" else ""
                log.warning("%s not attached: %s%s", attachment.what, error, hint)
            except Exception as e:  # transport: the alert itself went out
                log.warning("%s not attached: %s", attachment.what, type(e).__name__)

    def _channel_id(self, channel: str) -> str | None:
        if not channel.startswith("#"):
            return channel
        assert self.client is not None
        cursor = None
        while True:
            resp = self.client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor
            )
            for c in resp.get("channels") or []:
                if c.get("name") == channel[1:]:
                    return str(c["id"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def _post(
        self,
        channel: str,
        message: SlackMessage,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Delivery:
        if self.webhook is not None:
            return self._webhook(channel, message)
        assert self.client is not None
        try:
            resp = self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                reply_broadcast=broadcast or None,
                metadata=metadata,
            )
        except SlackApiError as e:
            return _api_failure(e, channel)
        except (SlackClientError, OSError) as e:
            return self._unreachable(e)
        return Delivery(
            ok=True, ref=_ref(str(resp.get("channel") or channel), thread_ts or str(resp.get("ts")))
        )

    def _update(
        self,
        channel: str,
        ts: str,
        message: SlackMessage,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> Delivery:
        assert self.client is not None
        try:
            self.client.chat_update(
                channel=channel,
                ts=ts,
                text=message.text,
                blocks=message.blocks,
                metadata=metadata,
            )
        except SlackApiError as e:
            return _api_failure(e, channel)
        except (SlackClientError, OSError) as e:
            return self._unreachable(e)
        return Delivery(ok=True, ref=_ref(channel, ts))

    def _unreachable(self, e: Exception) -> Delivery:
        if _timed_out(e):
            error = f"Slack did not answer within {self.settings.timeout_s:g}s"
        else:
            error = f"Slack unreachable: {type(e).__name__}"
        return Delivery(ok=False, error=error)

    def _webhook(self, channel: str, message: SlackMessage) -> Delivery:
        assert self.webhook is not None
        try:
            resp = self.webhook.send(text=message.text, blocks=message.blocks)
        except (SlackClientError, OSError) as e:
            return self._unreachable(e)
        if resp.status_code == 200:
            return Delivery(ok=True, ref=_ref(channel))
        if resp.status_code == 429:
            wait = _retry_after(resp.headers)
            return Delivery(
                ok=False, retry_after_s=wait, error=f"Slack webhook rate-limited{_for(wait)}"
            )
        body = (resp.body or "").strip()[:80]
        permanent = resp.status_code in (400, 403, 404, 410)
        hint = " (check SLACK_WEBHOOK_URL)" if permanent else ""
        return Delivery(
            ok=False,
            retryable=not permanent,
            error=f"Slack webhook answered {resp.status_code} {body}{hint}",
        )


def _metadata(envelope: Envelope) -> dict[str, Any]:
    """Lets the next run find this message again (reconciling a crash after sending)."""
    payload = {
        "fingerprints": [n.state.fingerprint for n in envelope.notifications],
        "kinds": [n.kind for n in envelope.notifications],
        "notification_id": envelope.id,
    }
    return {"event_type": "featmon_alert", "event_payload": payload}


def _only_growth(envelope: Envelope) -> bool:
    return all(n.kind == "update" for n in envelope.notifications)


def _loud(envelope: Envelope) -> bool:
    """Whether the thread reply is also shown in the channel: a repeat (the group is still
    firing), or an alert joining that is more severe than the group was (an escalation)."""
    changes = envelope.notifications
    if any(n.kind == "repeat" for n in changes):
        return True
    joined = {n.state.fingerprint for n in changes if n.kind == "firing"}
    before = [n for n in envelope.picture if n.state.fingerprint not in joined]
    if not joined or not before:
        return False
    now = [n for n in envelope.picture if n.state.fingerprint in joined]
    return SEVERITY_RANK.get(worst_severity(now), 3) < SEVERITY_RANK.get(worst_severity(before), 3)


def _ref(channel: str, ts: str | None = None) -> str:
    """Where a message is, as the notification log keeps it (opaque outside this module)."""
    return json.dumps({"channel": channel, "ts": ts} if ts else {"channel": channel})


def _parse_ref(ref: str | None) -> dict[str, str]:
    if not ref:
        return {}
    try:
        where = json.loads(ref)
    except ValueError:
        return {}
    return {k: str(v) for k, v in where.items() if v} if isinstance(where, dict) else {}


def _timed_out(e: BaseException) -> bool:
    """A read or connect timeout, however urllib wrapped it."""
    reason = getattr(e, "reason", None)
    return isinstance(e, TimeoutError) or isinstance(reason, TimeoutError)


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            text = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(text))
            except (TypeError, ValueError):
                return None
    return None


def _for(wait: float | None) -> str:
    return f" (Retry-After {wait:g}s): deferred to the next run" if wait is not None else ""


def _api_failure(e: SlackApiError, channel: str) -> Delivery:
    status = int(getattr(e.response, "status_code", 200) or 200)
    if status == 429:
        wait = _retry_after(e.response.headers or {})
        return Delivery(ok=False, retry_after_s=wait, error=f"Slack rate-limited{_for(wait)}")
    if status >= 500:
        return Delivery(ok=False, error=f"Slack answered {status} (will retry next run)")
    code = str(e.response.get("error") or "unknown_error")
    if code in NEEDS_A_HUMAN:
        return Delivery(
            ok=False,
            retryable=False,
            error=f"Slack {code}: {NEEDS_A_HUMAN[code].format(channel=channel)}",
        )
    return Delivery(ok=False, error=f"Slack {code} (will retry)")
