"""The watchdog's rule: which workload accounts fell silent or came back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SILENT_AFTER_INTERVALS = 2  # heartbeats missed before an account counts as silent


@dataclass(frozen=True, slots=True)
class Source:
    """What the fleet table knows of one workload account and Region."""

    account: str
    region: str
    last_seen: float  # epoch seconds of the last heartbeat
    interval_minutes: int
    silent_since: float | None = None  # set while an alert about its silence stands


@dataclass(frozen=True, slots=True)
class Change:
    """A source fell silent or came back; `region` None: a configured account never heard."""

    silent: bool
    account: str
    region: str | None
    since: float  # when it fell silent (its last heartbeat, or when the watch began)
    last_seen: float | None
    interval_minutes: int


@dataclass(frozen=True, slots=True)
class Expected:
    """A configured account not heard from yet: since when, and whether that was alerted."""

    since: float
    alerted: bool


def silence_changes(
    sources: Iterable[Source],
    configured: Iterable[str],
    never_heard: Mapping[str, Expected],
    now: float,
    forget_after_seconds: float,
    grace_seconds: float = 0,
    default_interval_minutes: int = 15,
) -> list[Change]:
    """Transitions only: a source silent for more than two intervals that is not yet marked, one
    marked silent that is heard again, and configured accounts never heard from at all once
    their grace has passed (time to onboard them after the monitoring stack is deployed; the
    watch records when it first missed them in `never_heard`). Sources not heard for
    `forget_after_seconds` are no longer expected (a closed account stops alerting), unless
    configured."""
    changes: list[Change] = []
    heard: set[str] = set()
    configured = set(configured)
    for source in sources:
        heard.add(source.account)
        quiet = now - source.last_seen
        silent = quiet > SILENT_AFTER_INTERVALS * source.interval_minutes * 60
        expected = quiet <= forget_after_seconds or source.account in configured
        if silent and expected and source.silent_since is None:
            changes.append(
                Change(
                    True,
                    source.account,
                    source.region,
                    source.last_seen,
                    source.last_seen,
                    source.interval_minutes,
                )
            )
        elif not silent and source.silent_since is not None:
            changes.append(
                Change(
                    False,
                    source.account,
                    source.region,
                    source.silent_since,
                    source.last_seen,
                    source.interval_minutes,
                )
            )
    for account in sorted(configured - heard):
        waiting = never_heard.get(account)
        if waiting and not waiting.alerted and now - waiting.since >= grace_seconds:
            changes.append(
                Change(True, account, None, waiting.since, None, default_interval_minutes)
            )
    for account, waiting in sorted(never_heard.items()):
        if account in heard and waiting.alerted:  # its first heartbeat arrived
            changes.append(
                Change(False, account, None, waiting.since, None, default_interval_minutes)
            )
    return changes
