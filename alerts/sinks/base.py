"""The one contract every notification sink implements, like Alertmanager's `Notify`.

A sink is handed an `Envelope` (the notifications of one group of alerts) and answers with a
`Delivery`: delivered (with where it landed) or not (with why, and whether retrying can help).
It knows nothing about how the alerts were decided, never runs SQL, and keeps its own
addressing (a Slack channel and message ts, a webhook URL) to itself: the notification log
stores the `ref` a sink returns without reading it, and hands it back with the group's next
notification so the sink can edit or thread onto its earlier message.

Adding a transport is one module under `alerts/sinks/` implementing `Sink`, plus its config
model; nothing else in featmon changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from alerts.lifecycle import Notification


@dataclass(frozen=True)
class Attachment:
    """A file a message may carry (the game date's timeline PNG), rendered before delivery
    so that no sink queries the warehouse or holds up the notification lease to draw it."""

    what: str  # for people and logs: "timeline"
    filename: str
    title: str
    comment: str
    content: bytes


@dataclass(frozen=True)
class Envelope:
    """What a sink is asked to deliver: what changed in one group of alerts, and the group.

    `id` is the notification log's id of the first change: the idempotency key a sink can
    embed in its message (Slack metadata) to recognise it in `find` after a crash.
    `group_key` names the group (opaque; `group_labels` are its labels, such as the game
    date). `notifications` are the changes, in order; `members` the group's picture: the
    latest of every alert of the group, firing or resolved (the changes included). `ref`
    is where this sink delivered the group's message before (its own earlier
    `Delivery.ref`), None for a new group.
    """

    id: str
    group_key: str
    notifications: tuple[Notification, ...]
    created_at: dt.datetime
    ref: str | None = None
    attachments: tuple[Attachment, ...] = ()
    members: tuple[Notification, ...] = ()
    group_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def first(self) -> Notification:
        return self.notifications[0]

    @property
    def picture(self) -> tuple[Notification, ...]:
        """Every alert of the group (the changes alone when no picture was given)."""
        return self.members or self.notifications


@dataclass(frozen=True)
class Delivery:
    ok: bool
    ref: str | None = None  # sink-specific, opaque to everyone else
    error: str = ""  # for on-call: never contains a secret
    retryable: bool = True  # False: a person must fix something (token, URL, channel)
    # The sink asked to be left alone this long (a 429's Retry-After): the run defers the
    # rest of its notifications to the next run rather than sleeping or looping.
    retry_after_s: float | None = None


class Sink(Protocol):
    """A transport. `deliver` must not raise for transport failures: it reports them, and
    returns within the sink's own per-call timeout (a hung peer must not hold the run: the
    caller's `DeliveryBudget` stops calling a sink after its first transient failure)."""

    name: str

    def deliver(self, envelope: Envelope) -> Delivery: ...

    def find(self, envelope: Envelope) -> Delivery | None:
        """After a crash between sending and recording: the message the earlier attempt
        delivered, if the sink can tell (None: not found or cannot tell, so it is re-sent)."""
        ...
