"""Sending regeneration requests: automatically after a run (`remediation.mode: auto`), or
by `featmon remediate --execute`. Never twice across processes, never holding the warehouse
during a network call:

1. under the `remediation` lease: read the firing alerts and the date's logged requests,
   plan (monitor/remediation/plan.py), and for a plan whose guards pass log the intent
   (`sending`): the claim a second run finds, so it does not send;
2. without the warehouse: send, with retries within the deadline (coordinator.py);
3. record the answer and the intent to reply (`reply: replying`), then post the outcome
   as a reply in the incident group's Slack thread, then mark it `replied`.

A reply whose group has no Slack message yet (another run is posting it) waits
(`waiting`) and a later auto run posts it. A crash in 2 leaves `sending`: nothing re-sends
it (the coordinator cannot be asked whether it arrived; a date is superseded at most once
per `min_interval`). A crash in 3 after the
post leaves `replying`: never re-posted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from checks.durations import parse_duration
from monitor.config import Config
from monitor.persistence.remediations import RemediationLog
from monitor.pipeline.window import today_in
from monitor.remediation.coordinator import Answer, send
from monitor.remediation.plan import HARD, Plan, plan_for

LEASE = "remediation"
# Test hook: die after the intent is logged, before the request.
CRASH_BEFORE_SEND = "FEATMON_FAULT_CRASH_BEFORE_REGENERATE"


@dataclass
class Sent:
    plan: Plan
    row_id: str
    answer: Answer


@dataclass
class Acted:
    plans: list[Plan] = field(default_factory=list)  # every date considered, as decided
    sent: list[Sent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # for stderr; never the key


def auto(config: Config, now: dt.datetime, env: Mapping[str, str] | None = None) -> Acted:
    """After a run: every date with a firing alert of `remediation.checks` whose guards pass
    gets its request (mode auto only)."""
    env = os.environ if env is None else env
    if config.remediation.mode != "auto":
        return Acted()
    acted = _act(config, now, env, dates=None, trigger="auto", force=False)
    _post_waiting(config, acted.problems)
    return acted


def execute(
    config: Config,
    day: dt.date,
    now: dt.datetime,
    *,
    force: bool,
    env: Mapping[str, str] | None = None,
) -> tuple[Plan, Acted]:
    """`featmon remediate --date D --execute [--force]`: the plan as decided under the
    lease, and what was sent (nothing when a guard refused)."""
    env = os.environ if env is None else env
    trigger = "force" if force else "execute"
    acted = _act(config, now, env, dates=[day], trigger=trigger, force=force)
    if not acted.plans:  # another run held the lease: it decides; show the plan as it stands
        return current_plan(config, day, now, env), acted
    return acted.plans[0], acted


def current_plan(
    config: Config, day: dt.date, now: dt.datetime, env: Mapping[str, str] | None = None
) -> Plan:
    """The plan without sending (`featmon remediate --date D`): a read of the state."""
    from monitor.persistence.alert_state import StateStore
    from monitor.warehouse import WarehouseError, open_for_reading

    env = os.environ if env is None else env
    firing, earlier = {}, []
    try:
        with open_for_reading(config) as wh:
            firing = StateStore(wh, config.state.dataset).firing()
            try:
                earlier = RemediationLog(wh, config.state.dataset).of_date(day)
            except WarehouseError:
                earlier = []  # no request logged yet
    except WarehouseError:
        pass  # no state yet: no alert, no request
    return plan_for(config, day, firing.values(), earlier, now, env)


def _act(
    config: Config,
    now: dt.datetime,
    env: Mapping[str, str],
    *,
    dates: list[dt.date] | None,
    trigger: str,
    force: bool,
) -> Acted:
    from monitor.pipeline.notify import lease, open_state

    out = Acted()
    claims: list[tuple[str, Plan]] = []
    wh, store = open_state(config)
    with wh:
        log = RemediationLog(wh, config.state.dataset)
        log.ensure()
        with lease(store, config.state.wait_s, name=LEASE) as held:
            if not held:  # the holder decides, and sends what it claims
                out.problems.append(
                    f"another featmon run holds the {LEASE} lease: regeneration left to it"
                )
                return out
            firing = store.firing()
            if dates is None:
                today = today_in(config, now)
                dates = sorted(
                    {
                        dt.date.fromisoformat(s.labels["game_date"])
                        for s in firing.values()
                        if s.labels.get("game_date")
                        and s.labels.get("check") in config.remediation.checks
                        and dt.date.fromisoformat(s.labels["game_date"]) >= today
                    }
                )
            for day in dates:
                plan = plan_for(config, day, firing.values(), log.of_date(day), now, env)
                out.plans.append(plan)
                refused = plan.refused(force)
                if refused:
                    if trigger == "auto":  # a config problem, not a judgement: say so
                        out.problems += [
                            f"regeneration of {day} not requested: {g.why}"
                            for g in refused
                            if g.name in HARD
                        ]
                    continue
                t = plan.trigger
                row_id = log.claim(
                    day,
                    trigger=trigger,
                    check=t.labels["check"] if t else "",
                    fingerprint=t.fingerprint if t else "",
                    group_id=t.group_id if t else "",
                    alert_started_at=t.started_at if t else None,
                    request=_body(plan),
                    now=now,
                )
                claims.append((row_id, plan))
    if claims and os.environ.get(CRASH_BEFORE_SEND):
        os._exit(75)
    rem = config.remediation
    for row_id, plan in claims:
        assert plan.url is not None and plan.api_key is not None  # hard guards passed
        answer = send(
            rem.coordinator_url or "",
            plan.api_key,
            plan.body,
            timeout_s=parse_duration(rem.timeout).total_seconds(),
            deadline_s=parse_duration(rem.deadline).total_seconds(),
        )
        out.sent.append(Sent(plan, row_id, answer))
        if answer.status != "accepted":
            out.problems.append(f"regeneration of {plan.game_date} not accepted: {answer.error}")
    if out.sent:
        _record_and_reply(config, now, out.sent, out.problems)
    return out


def _body(plan: Plan) -> str:
    return json.dumps(plan.body, sort_keys=True)


def _record_and_reply(
    config: Config, now: dt.datetime, sent: list[Sent], problems: list[str]
) -> None:
    from monitor.pipeline.notify import open_state

    replies: list[tuple[str, str, str]] = []  # row id, group ref, text
    slack = config.alerts.slack is not None
    wh, store = open_state(config)
    with wh:
        log = RemediationLog(wh, config.state.dataset)
        for s in sent:
            a = s.answer
            log.finish(
                s.row_id,
                a.status,
                now,
                attempts=a.attempts,
                http_status=a.http_status,
                batch_id=a.batch_id,
                error=a.error,
            )
            trigger = s.plan.trigger
            ref = (
                store.group_ref(trigger.group_id or trigger.fingerprint, "slack")
                if (slack and trigger is not None)
                else None
            )
            # No message yet (another run may be posting the group right now): the reply
            # waits for it (`waiting`), and a later run posts it.
            waiting = slack and trigger is not None
            log.mark_reply(s.row_id, "replying" if ref else ("waiting" if waiting else "none"))
            if ref:
                text = outcome_text(s.plan.game_date, s.plan.body.get("reason", ""), a)
                replies.append((s.row_id, ref, text))
    _post_replies(config, replies, problems)


def _post_waiting(config: Config, problems: list[str]) -> None:
    """The outcomes whose group had no Slack message yet when they were recorded, once it
    has one."""
    from monitor.pipeline.notify import open_state

    if config.alerts.slack is None:
        return
    replies: list[tuple[str, str, str]] = []
    wh, store = open_state(config)
    with wh:
        log = RemediationLog(wh, config.state.dataset)
        log.ensure()
        for row in log.all_rows():
            if row.reply != "waiting" or row.status == "sending":
                continue
            ref = store.group_ref(row.group_id or row.fingerprint, "slack")
            if not ref:
                continue
            log.mark_reply(row.id, "replying")
            answer = Answer(row.status, row.attempts, row.http_status, row.batch_id, row.error)
            reason = str(json.loads(row.request).get("reason", ""))
            replies.append((row.id, ref, outcome_text(row.game_date, reason, answer)))
    _post_replies(config, replies, problems)


def _post_replies(config: Config, replies: list[tuple[str, str, str]], problems: list[str]) -> None:
    """Post each (row id, group ref, text) in its thread, then mark it `replied`."""
    from monitor.pipeline.notify import open_state

    if not replies:
        return
    from monitor.pipeline.sinks import sinks_from

    sink = next((k for k in sinks_from(config) if k.name == "slack"), None)
    reply = getattr(sink, "reply", None)
    done: list[str] = []
    failed: list[str] = []
    for row_id, ref, text in replies:
        if reply is None:
            problems.append("regeneration outcome not posted: the Slack sink is unavailable")
            continue
        delivery = reply(ref, text)
        if delivery.ok:
            done.append(row_id)
        else:
            failed.append(row_id)
            problems.append(f"regeneration outcome not posted: {delivery.error}")
    if done or failed:
        wh, _ = open_state(config)
        with wh:
            log = RemediationLog(wh, config.state.dataset)
            for row_id in done:
                log.mark_reply(row_id, "replied")
            for row_id in failed:  # Slack said no: a later run tries again
                log.mark_reply(row_id, "waiting")


def outcome_text(day: dt.date, reason: str, a: Answer) -> str:
    """The thread reply: what was asked and what the coordinator said."""
    if a.status == "accepted":
        return (
            f":recycle: Regeneration requested for {day} ({reason}): the coordinator accepted "
            f"it, batch `{a.batch_id or '?'}`. Its predictions supersede the date's; this "
            "group resolves when the date's active predictions match the store."
        )
    retried = "not retried" if a.status == "rejected" else f"gave up after {a.attempts} tries"
    return (
        f":warning: Regeneration for {day} ({reason}) not accepted: {a.error} ({retried}). "
        f"`featmon remediate --date {day}` shows the plan and its guards."
    )
