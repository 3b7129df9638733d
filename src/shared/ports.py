"""The ports: what the services need from the outside world, as `typing.Protocol`s.

Services (Enricher, Alerter, Summarizer, Delivery, Fleet) annotate their adapters with these and
default to the AWS adapters of `shared.aws`; tests and the benchmark pass the in-memory fakes of
`tests/fakes.py`, which mypy checks against the same Protocols. Time is a port too: `Clock`
(`shared.clock`), seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.contracts.labels import Labels
from shared.contracts.storm_window import StormWindow
from shared.domain.health import Breach, Minute, Signal
from shared.domain.utilization import Call, JobKey, Query
from shared.platform.clock import Clock
from shared.platform.idempotency import OnceStore, Progress


@dataclass(frozen=True)
class Fetched:
    """What a metrics source returns for planned calls: each query's datapoints, and the jobs
    whose account does not share its metrics with this one."""

    series: dict[Query, list[tuple[datetime, float]]]
    forbidden: set[JobKey]


# Endpoint names a day's record of idle alerts keeps (each at most 63 characters: with its
# copies, alone and pending, under 200 KB of a DynamoDB item's 400); past it, an account's newly
# idle endpoints are still alerted, unrecorded, so they may be alerted again in later runs.
MAX_IDLE_ALERTED = 1_000


@dataclass(frozen=True)
class IdleAlerted:
    """An account's endpoints alerted idle on one UTC day: all those decided, those alerted one
    by one (the rest were named in an alert for many), and the plans decided but not yet all
    sent (plan → its endpoints). `version` counts the decisions (compare-and-set)."""

    alerted: frozenset[str] = frozenset()
    alone: frozenset[str] = frozenset()
    pending: Mapping[str, frozenset[str]] = field(default_factory=dict)
    version: int = 0
    grouped_at: float = 0.0  # when the last alert for many was decided


@dataclass(frozen=True)
class IdlePlan:
    """A decision about newly idle endpoints: alerted one by one (`alone`), or in one alert."""

    id: str
    names: frozenset[str]
    alone: bool
    decided_at: float


class MetricsSource(Protocol):
    """Job host metrics for the enricher (`adapters.cloudwatch.MetricsReader`: CloudWatch)."""

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        """Run the planned GetMetricData calls; every query of every call is in the result."""
        ...

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        """Per prefix (a transform job's name), the `Host` values `<prefix>/...` in `account`."""
        ...


class EventSink(Protocol):
    """Events on the bus (`adapters.eventbridge.EventPublisher`: PutEvents)."""

    def put(
        self,
        source: str,
        detail_type: str,
        details: Sequence[Mapping[str, Any]],
        at: datetime | None = None,
    ) -> list[int]:
        """One event per detail, stamped `at` (the bus's own time when None); returns the
        indexes of those not accepted."""
        ...


class AlertChannel(Protocol):
    """One rendering's topic (`adapters.sns.AlertPublisher`: SNS Publish)."""

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> str:
        """Returns the message id."""
        ...


class StormLedger(Protocol):
    """Failure incidents per storm-control window (`adapters.dynamodb.BurstLedger`: DynamoDB)."""

    def add(self, bucket: str, incident: str, name: str, expires_at: int) -> tuple[int, bool]:
        """Count `incident` once in window `bucket`; how many the window holds, and whether it
        was summarized already."""
        ...

    def summarize(self, bucket: str) -> tuple[int, list[str]] | None:
        """Mark the window summarized and read its count and job names in one step; None once
        the window expired."""
        ...


class DeadLetters(Protocol):
    """Where a function parks what it cannot process (`adapters.sqs.DeadLetterQueue`: SQS)."""

    def send(self, body: str, reason: str, event_id: str | None, error_type: str) -> None: ...


class SummaryScheduler(Protocol):
    """Wakes the summarizer when a window has closed (`adapters.sqs.SummaryQueue`: delayed SQS)."""

    def schedule(self, window: StormWindow) -> None: ...


class FleetStore(Protocol):
    """Heartbeats, silence marks and inventory snapshots (`adapters.dynamodb.FleetTable`: DynamoDB).
    Later heartbeats and snapshots win; records read back as plain values."""

    def put_heartbeat(
        self, account: str, region: str, at: float, interval: int, labels: Mapping[str, str]
    ) -> None: ...

    def sources(self) -> tuple[list[dict[str, Any]], dict[str, tuple[float, bool]]]:
        """Every source's record, and per configured account not heard from yet: since when it
        was missed and whether that was alerted."""
        ...

    def expect(self, account: str, since: float) -> None: ...

    def mark(self, account: str, region: str | None, silent_since: float | None) -> None: ...

    def put_inventory(self, record: Mapping[str, Any], expires: int) -> None:
        """`record` is a `StoredInventory.record()`; kept unless a later one is stored."""
        ...

    def inventory(self, account: str, region: str) -> dict[str, Any] | None:
        """The record `put_inventory` stored (read it with `StoredInventory.from_record`)."""
        ...

    def inventories(self) -> list[dict[str, Any]]: ...

    def labels(self, account: str, region: str) -> Labels | None:
        """The Project and Environment of the account's latest heartbeat in `region`, and the
        alias its inventory snapshots name."""
        ...

    def teams(self, account: str, region: str) -> Mapping[str, str]:
        """The teams its latest inventory snapshot names (`AccountLabels.teams`)."""
        ...

    def name_account(self, account: str, region: str, at: float, alias: str) -> None:
        """Keep the account's alias beside its heartbeat record (none before the first), as of
        the snapshot at `at` (an older one changes nothing)."""
        ...

    def idle_alerted(self, account: str, region: str, day: str) -> IdleAlerted:
        """The account's endpoints alerted idle on `day` (an ISO date, UTC), read as written."""
        ...

    def plan_idle_alerts(
        self, account: str, region: str, day: str, plan: IdlePlan, version: int, expires: int
    ) -> bool:
        """Record a decision before its alerts are sent: its endpoints alerted (and alone, if
        so), the plan pending, kept until `expires`. False if the day's record is no longer at
        `version` (another run decided meanwhile): nothing is written."""
        ...

    def idle_alerts_sent(self, account: str, region: str, day: str, plan_id: str) -> None:
        """Every alert of plan `plan_id` was sent: no longer pending."""
        ...

    def put_running(self, key: str, job: str, at: float, expires: int) -> None:
        """A running job's latest state change (`RunningJob.job_text()`): a later one wins, and
        none once the job has ended (deliveries come out of order)."""
        ...

    def end_running(self, key: str, at: float, status: str, expires: int) -> dict[str, Any]:
        """The job ended (the first end wins); its record as it is now, kept until `expires`
        for its end's follow-up (a record of the end alone if it was never seen running)."""
        ...

    def running_jobs(self) -> list[dict[str, Any]]:
        """The records of every job not ended (read with `RunningJob.from_record`)."""
        ...

    def open_episode(self, key: str, since: float, percent: float) -> int | None:
        """Start an idle episode if none is open and the job has not ended: its number, or
        None if one was open or the job ended meanwhile."""
        ...

    def episode_alerted(self, key: str, episode: int) -> dict[str, Any] | None:
        """Episode `episode`'s alert was delivered (later scans send nothing more for it): the
        record as it is now, None if that episode is no longer open."""
        ...

    def close_episode(self, key: str, episode: int) -> bool:
        """Close episode `episode` of a job still running; False if it was not open."""
        ...

    def health_episodes(self) -> list[dict[str, Any]]:
        """The records of endpoint variants' open health episodes (`health.Episode`)."""
        ...

    def open_unhealthy(self, key: str, breach: Breach, expires: int) -> int | None:
        """Open a health episode unless one is open: its number, or None. Its record goes at
        `expires` if nothing closes it before."""
        ...

    def unhealthy_alerted(self, key: str, episode: int) -> bool:
        """Episode `episode` was alerted (alone or in its summary); False if it is no longer
        open."""
        ...

    def keep_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        """Episode `episode` is still open (a scan saw it): its record goes at `expires` now;
        False if it is no longer open."""
        ...

    def close_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        """Close episode `episode` (the record is kept until `expires`); False if it was not
        open."""
        ...


class AccountLabels(Protocol):
    """An account's labels in one Region (`adapters.dynamodb.FleetTable`: its heartbeat record);
    None when it never sent a heartbeat there."""

    def labels(self, account: str, region: str) -> Labels | None: ...

    def teams(self, account: str, region: str) -> Mapping[str, str]:
        """The teams owning its endpoints and pipelines (`labels.owned` key → team), as its
        latest inventory snapshot named them; {} if none."""
        ...


class InvocationSource(Protocol):
    """Endpoint traffic, errors and latency in linked accounts (`adapters.cloudwatch.
    EndpointActivity`: CloudWatch)."""

    def invocations(
        self,
        account: str,
        endpoints: Mapping[str, Sequence[str]],
        start: datetime,
        end: datetime,
    ) -> dict[str, float | None]:
        """Invocations per endpoint (its variants summed) over the window; None for an endpoint
        whose count could not be read (never "idle")."""
        ...

    def health(
        self,
        account: str,
        variants: Mapping[tuple[str, str], Collection[Signal]],
        start: datetime,
        end: datetime,
        requests: bool = True,
    ) -> dict[tuple[str, str], list[Minute]] | None:
        """Each (endpoint, variant)'s minutes in the window: its requests (0 when not
        `requests`), and what its judged signals need (5XX errors, latency); None when the
        account does not share its metrics."""
        ...


class RefreshRequests(Protocol):
    """Asks workload accounts for a fresh inventory (`adapters.eventbridge.RefreshRequester`)."""

    def request(
        self, targets: Sequence[tuple[str, str]], detail: Mapping[str, Any], source: str, kind: str
    ) -> None:
        """`targets` are (account, Region) pairs."""
        ...


__all__ = [
    "AccountLabels",
    "AlertChannel",
    "Clock",
    "DeadLetters",
    "EventSink",
    "Fetched",
    "FleetStore",
    "InvocationSource",
    "MetricsSource",
    "OnceStore",
    "Progress",
    "RefreshRequests",
    "StormLedger",
    "SummaryScheduler",
]
