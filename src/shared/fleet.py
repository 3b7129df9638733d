"""Fleet operations in the monitoring account: the workload accounts' heartbeats and inventory
snapshots, the silent-account watchdog, idle endpoints, and inventory refresh requests.

Heartbeats travel the real forwarding path (a schedule in each workload account puts one on its
default bus, whose forwarding rule sends it here), so a silent account means its forwarding is
broken, its stack gone, or the account closed: worth an operations alert either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.errors import InvalidEvent
from shared.parser import detail_of, envelope, parse_time

HEARTBEAT_SOURCE = "sagewatch.heartbeat"
HEARTBEAT_DETAIL_TYPE = "sagewatch Heartbeat"
INVENTORY_SOURCE = "sagewatch.inventory"
SNAPSHOT_DETAIL_TYPE = "SageMaker Inventory Snapshot"
REFRESH_SOURCE = "sagewatch.monitoring"
REFRESH_DETAIL_TYPE = "Inventory Refresh Requested"

SILENT_AFTER_INTERVALS = 2  # heartbeats missed before an account counts as silent
KPIS = {  # snapshot KPI → the EMF metric it becomes
    "endpoints_in_service": "EndpointsInService",
    "running_training_jobs": "RunningTrainingJobs",
    "running_processing_jobs": "RunningProcessingJobs",
    "training_jobs_completed_24h": "TrainingJobsCompleted24h",
    "training_jobs_failed_24h": "TrainingJobsFailed24h",
    "studio_apps_in_service": "StudioAppsInService",
    "notebook_instances_in_service": "NotebookInstancesInService",
}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    account: str
    region: str
    at: datetime
    interval_minutes: int
    project: str
    environment: str


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    instance_type: str | None
    instance_count: int
    serverless: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    account: str
    region: str
    at: datetime
    project: str
    environment: str
    counts: Mapping[str, int]
    endpoints: tuple[Endpoint, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)


def _where(raw: Any) -> tuple[dict[str, Any], Mapping[str, Any]]:
    common, detail = envelope(raw), detail_of(raw)
    if not common["account"] or not common["region"]:
        raise InvalidEvent("event has no account or region")
    return common, detail


def _label(value: Any) -> str:
    return value[:64] if isinstance(value, str) and value else "unknown"


def parse_heartbeat(raw: Any) -> Heartbeat:
    common, detail = _where(raw)
    interval = detail.get("interval_minutes")
    if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 1440:
        raise InvalidEvent(f"heartbeat interval_minutes {interval!r} is not 1..1440")
    return Heartbeat(
        account=common["account"],
        region=common["region"],
        at=common["time"] or datetime.now(UTC),
        interval_minutes=interval,
        project=_label(detail.get("project")),
        environment=_label(detail.get("environment")),
    )


def parse_snapshot(raw: Any) -> Snapshot:
    common, detail = _where(raw)
    kpis = detail.get("kpis")
    if not isinstance(kpis, Mapping):
        raise InvalidEvent("snapshot detail.kpis is missing or not an object")
    counts = {
        name: int(kpi["count"])
        for name, kpi in kpis.items()
        if name in KPIS and isinstance(kpi, Mapping) and isinstance(kpi.get("count"), int)
    }
    errors = detail.get("errors")
    return Snapshot(
        account=common["account"],
        region=common["region"],
        at=parse_time(detail.get("collected_at")) or common["time"] or datetime.now(UTC),
        project=_label(detail.get("project")),
        environment=_label(detail.get("environment")),
        counts=counts,
        endpoints=tuple(_endpoints(kpis.get("endpoints_in_service"))),
        errors={str(k): str(v)[:200] for k, v in errors.items()}
        if isinstance(errors, Mapping)
        else {},
    )


def _endpoints(kpi: Any) -> Iterable[Endpoint]:
    items = kpi.get("items") if isinstance(kpi, Mapping) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        variants = tuple(
            Variant(
                str(v.get("name") or "AllTraffic"),
                v["instance_type"] if isinstance(v.get("instance_type"), str) else None,
                int(v.get("instance_count") or 0),
                bool(v.get("serverless")),
            )
            for v in item.get("variants") or []
            if isinstance(v, Mapping)
        )
        yield Endpoint(item["name"], variants)


# --- the watchdog --------------------------------------------------------------------------


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


def silence_changes(
    sources: Iterable[Source],
    configured: Iterable[str],
    never_heard: Mapping[str, float],
    now: float,
    forget_after_seconds: float,
    default_interval_minutes: int = 15,
) -> list[Change]:
    """Transitions only: a source silent for more than two intervals that is not yet marked, one
    marked silent that is heard again, and configured accounts never heard from at all (marked
    in `never_heard`, account → since). Sources not heard for `forget_after_seconds` are no
    longer expected (a closed account stops alerting), unless configured."""
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
        if account not in never_heard:
            changes.append(Change(True, account, None, now, None, default_interval_minutes))
    for account, since in sorted(never_heard.items()):
        if account in heard:  # its first heartbeat arrived
            changes.append(Change(False, account, None, since, None, default_interval_minutes))
    return changes
