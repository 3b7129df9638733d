"""What the workload accounts send the fleet function: heartbeats and inventory snapshots,
parsed as hostile input (every count bounded, every name checked).

Heartbeats travel the real forwarding path (a schedule in each workload account puts one on its
default bus, whose forwarding rule sends it here), so a silent account means its forwarding is
broken, its stack gone, or the account closed: worth an operations alert either way.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.contracts.labels import MAX_OWNED, OWNED_KINDS, owned, teams_from_record
from shared.domain.parser import detail_of, envelope, parse_time
from shared.domain.vocabulary import ENDPOINT_TAGS
from shared.platform.errors import InvalidEvent

HEARTBEAT_SOURCE = "sagewatch.heartbeat"
HEARTBEAT_DETAIL_TYPE = "sagewatch Heartbeat"
INVENTORY_SOURCE = "sagewatch.inventory"
SNAPSHOT_DETAIL_TYPE = "SageMaker Inventory Snapshot"
REFRESH_SOURCE = "sagewatch.monitoring"
REFRESH_DETAIL_TYPE = "Inventory Refresh Requested"

# The KPIs a snapshot may report (others are dropped). The archive keeps every snapshot, and the
# dashboard reads the latest per account from it: no custom metric per account.
KPIS = (
    "endpoints_in_service",
    "running_training_jobs",
    "running_processing_jobs",
    "training_jobs_completed_24h",
    "training_jobs_failed_24h",
    "studio_apps_in_service",
    "notebook_instances_in_service",
)


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "serverless": self.serverless,
        }


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    variants: tuple[Variant, ...]
    # Its sagewatch:* tags (`ENDPOINT_TAGS` only): what it asks of its health alerts.
    tags: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The shape a snapshot lists it in, which `endpoint_from` reads."""
        listed: dict[str, Any] = {
            "name": self.name,
            "variants": [v.as_dict() for v in self.variants],
        }
        return listed | ({"tags": dict(self.tags)} if self.tags else {})


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
    dead_letters: int | None = None  # waiting in its forwarding dead-letter queue; None: unknown
    alias: str | None = None  # the account's IAM alias, the name people know it by
    teams: Mapping[str, str] | None = None  # `labels.owned` key → team; None: not reported
    # False when the list may leave out endpoints in service: its KPI failed (ListEndpoints
    # throttled) or was cut (the collector's 100 newest, or halved to fit the event).
    endpoints_complete: bool = True


@dataclass(frozen=True, slots=True)
class StoredInventory:
    """What the fleet table keeps of one account and Region's last snapshot: its endpoints and
    when each was first seen (an endpoint is judged idle only after a whole window in service).
    `record` and `from_record` are the one way in and out of the table."""

    account: str
    region: str
    collected_at: float  # epoch seconds
    endpoints: tuple[Endpoint, ...]
    first_seen: Mapping[str, float]  # endpoint name → epoch seconds
    dead_letters: int = 0  # in its forwarding dead-letter queue, as last reported
    teams: Mapping[str, str] = field(default_factory=dict)  # `labels.owned` key → team
    complete: bool = True  # `endpoints` names every endpoint in service (Snapshot's)

    @classmethod
    def after(cls, snapshot: Snapshot, previous: StoredInventory | None) -> StoredInventory:
        """`snapshot` stored over `previous`: endpoints seen before keep their first sighting,
        and so do those a list that may leave some out does not name (an endpoint missing from
        it is not gone: its idle clock runs on when it is listed again)."""
        at = snapshot.at.timestamp()
        seen = previous.first_seen if previous else {}
        first_seen = {e.name: min(seen.get(e.name, at), at) for e in snapshot.endpoints}
        if not snapshot.endpoints_complete:
            unnamed = (item for item in seen.items() if item[0] not in first_seen)
            room = max(MAX_ENDPOINTS - len(first_seen), 0)  # bounded, whatever the churn
            first_seen |= dict(itertools.islice(unnamed, room))
        return cls(
            snapshot.account,
            snapshot.region,
            at,
            snapshot.endpoints,
            first_seen,
            # Unknown this time (the queue unreadable): as last reported.
            snapshot.dead_letters
            if snapshot.dead_letters is not None
            else (previous.dead_letters if previous else 0),
            snapshot.teams if snapshot.teams is not None else (previous.teams if previous else {}),
            snapshot.endpoints_complete,
        )

    def dead_letters_appeared(self, previous: StoredInventory | None) -> bool:
        """Events waiting now where none waited at the last snapshot before this one: the start
        of one incident (a late, older snapshot starts none)."""
        if previous is not None and previous.collected_at >= self.collected_at:
            return False
        return self.dead_letters > 0 and (previous is None or previous.dead_letters == 0)

    def record(self) -> dict[str, Any]:
        """As the fleet table stores it: endpoints and first sightings as JSON text."""
        return {
            "account": self.account,
            "region": self.region,
            "collected_at": self.collected_at,
            "endpoints": json.dumps([e.as_dict() for e in self.endpoints]),
            "first_seen": json.dumps(dict(self.first_seen)),
            "dead_letters": self.dead_letters,
            "teams": json.dumps(dict(self.teams), separators=(",", ":")),
            "endpoints_complete": self.complete,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StoredInventory:
        """A record as `record` wrote it (numbers may come back as text); `InvalidEvent` if it
        cannot be read (the endpoints are validated again, as any snapshot's)."""
        try:
            seen = json.loads(record["first_seen"])
            return cls(
                str(record["account"]),
                str(record["region"]),
                float(record["collected_at"]),
                tuple(endpoint_from(item) for item in json.loads(record["endpoints"])),
                {str(name): float(at) for name, at in seen.items()},
                int(record.get("dead_letters", 0)),  # records from before it was reported: 0
                teams_from_record(record.get("teams")),
                record.get("endpoints_complete", True) is not False,  # older records: listed all
            )
        except (InvalidEvent, ValueError, TypeError, KeyError, AttributeError) as error:
            raise InvalidEvent(f"unreadable inventory record: {str(error)[:200]}") from None


# Bounds on what a workload account's snapshot may hold: the snapshot is its own claim, so it is
# validated like any hostile input. Items past a bound are dropped and named in `errors`.
MAX_ENDPOINTS = 1_000  # per snapshot (one account and Region)
MAX_VARIANTS = 10  # SageMaker's limit of production variants per endpoint
MAX_INSTANCES = 1_000  # per variant
MAX_COUNT = 1_000_000  # any KPI count
MAX_ERRORS = 20
TAG_CHARS = 64  # a sagewatch:* tag's value (a number, a severity, a yes)
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", re.ASCII)  # endpoint and variant names
ENDPOINT_NAME_CHARS = 63  # SageMaker's limit of an endpoint's (and a variant's) name
_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9.-]{1,40}", re.ASCII)
_LABEL_UNSAFE = re.compile(r"[^\w .:/@+-]")


def _where(raw: Any) -> tuple[dict[str, Any], Mapping[str, Any]]:
    common, detail = envelope(raw), detail_of(raw)
    if common["time"] is None:
        raise InvalidEvent("envelope field 'time' is missing or not a time")
    return common, detail


def _label(value: Any) -> str:
    """Project and Environment labels: printable, short (they reach alerts and EMF properties)."""
    if not isinstance(value, str) or not value.strip():
        return "unknown"
    return _LABEL_UNSAFE.sub("_", value.strip())[:64]


# IAM's own rule for an account alias: 3-63 lower-case letters, digits and single hyphens.
_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")


def _alias(value: Any) -> str | None:
    """An alias as IAM allows them, else none (it reaches alerts)."""
    return value if isinstance(value, str) and _ALIAS.fullmatch(value) else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def parse_heartbeat(raw: Any) -> Heartbeat:
    common, detail = _where(raw)
    interval = detail.get("interval_minutes")
    if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 1440:
        small = isinstance(interval, int) and abs(interval) < 10**6
        shown = interval if small else f"a {type(interval).__name__}"
        raise InvalidEvent(f"heartbeat interval_minutes {shown} is not 1..1440")
    return Heartbeat(
        account=common["account"],
        region=common["region"],
        at=common["time"],
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
        name: count
        for name, kpi in kpis.items()
        if name in KPIS
        and isinstance(kpi, Mapping)
        and (count := _count(kpi.get("count"))) is not None
    }
    errors = _errors(detail.get("errors"))
    listed = kpis.get("endpoints_in_service")
    endpoints, problem = _endpoints(listed)
    if problem and len(errors) < MAX_ERRORS:
        errors["endpoints_in_service"] = problem
    teams, problem = _teams(detail.get("teams"))
    if problem and len(errors) < MAX_ERRORS:
        errors["teams"] = problem
    return Snapshot(
        account=common["account"],
        region=common["region"],
        at=_collected_at(detail.get("collected_at"), common["time"]),
        project=_label(detail.get("project")),
        environment=_label(detail.get("environment")),
        counts=counts,
        endpoints=endpoints,
        errors=errors,
        dead_letters=_count(detail.get("forwarding_dead_letters")),
        alias=_alias(detail.get("account_alias")),
        teams=teams,
        endpoints_complete=_complete(listed),
    )


def _complete(kpi: Any) -> bool:
    """Does the endpoints KPI list every endpoint in service? Not when it failed (absent), was
    cut (`truncated`) or lists more than a snapshot keeps."""
    items = kpi.get("items") if isinstance(kpi, Mapping) else None
    return (
        isinstance(items, list) and kpi.get("truncated") is not True and len(items) <= MAX_ENDPOINTS
    )


def _collected_at(value: Any, received: datetime) -> datetime:
    """The collector's own time, unless it is absent or a day off the envelope's (a far-future
    time would make this snapshot win over every later one)."""
    at = parse_time(value)
    return at if at is not None and abs((at - received).total_seconds()) <= 86_400 else received


def _errors(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    items = list(value.items())[:MAX_ERRORS]
    return {_label(str(k)): _LABEL_UNSAFE.sub("_", str(v))[:200] for k, v in items}


# Each kind's rule for names: SageMaker's for endpoints and pipelines (pipelines may be 256
# long); Step Functions', CodePipeline's and CodeBuild's for the ML platform's automation.
_SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", re.ASCII)
_AUTOMATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,254}", re.ASCII)
# Step Functions refuses only these (whitespace, brackets, wildcards, some punctuation, control
# characters): `ml-train+eval`, `ml-train(v2)` and `ml-modèle` are names.
_STATE_MACHINE_NAME = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]+")
_NAMES = {
    "endpoint": (_SAGEMAKER_NAME, ENDPOINT_NAME_CHARS),
    "pipeline": (_SAGEMAKER_NAME, 256),
    "state-machine": (_STATE_MACHINE_NAME, 80),
    "codepipeline": (_AUTOMATION_NAME, 100),
    "codebuild": (_AUTOMATION_NAME, 255),
}


def _teams(value: Any) -> tuple[dict[str, str] | None, str | None]:
    """The owning teams a snapshot names (at most MAX_OWNED per kind, names as SageMaker allows,
    teams as labels), and what was dropped, if anything; None if it names none."""
    if not isinstance(value, Mapping):
        return None, None
    teams: dict[str, str] = {}
    dropped = 0
    for kind in OWNED_KINDS:
        named = value.get(kind)
        items = list(named.items()) if isinstance(named, Mapping) else []
        dropped += max(0, len(items) - MAX_OWNED)
        for name, team in items[:MAX_OWNED]:
            rule, longest = _NAMES[kind]
            if (
                isinstance(name, str)
                and len(name) <= longest
                and rule.fullmatch(name)
                and _label(team) != "unknown"
            ):
                teams[owned(kind, name)] = _label(team)
            else:
                dropped += 1
    return teams, (
        f"{dropped} owning teams dropped (invalid or past {MAX_OWNED})" if dropped else None
    )


def _endpoints(kpi: Any) -> tuple[tuple[Endpoint, ...], str | None]:
    """Valid endpoints (at most MAX_ENDPOINTS), and what was dropped, if anything."""
    items = kpi.get("items") if isinstance(kpi, Mapping) else None
    if not isinstance(items, list):
        return (), None
    endpoints: list[Endpoint] = []
    rejected: list[str] = []
    named: set[str] = set()
    for item in items[:MAX_ENDPOINTS]:
        try:
            endpoint = endpoint_from(item)
        except InvalidEvent as error:
            rejected.append(str(error))
            continue
        if endpoint.name in named:  # names are unique in an account and Region: the first kept
            rejected.append(f"endpoint {endpoint.name!r} listed twice")
            continue
        named.add(endpoint.name)
        endpoints.append(endpoint)
    problems = []
    if len(items) > MAX_ENDPOINTS:
        problems.append(f"{len(items)} endpoints listed, the first {MAX_ENDPOINTS} kept")
    if rejected:
        problems.append(f"{len(rejected)} endpoints rejected, e.g. {rejected[0]}")
    return tuple(endpoints), "; ".join(problems)[:200] or None


def endpoint_from(item: Any) -> Endpoint:
    """One endpoint of a snapshot (and of the fleet table, which keeps the same shape)."""
    if not isinstance(item, Mapping) or not _is_name(item.get("name")):
        raise InvalidEvent("an endpoint without a valid name")
    variants = item.get("variants")
    if not isinstance(variants, list) or len(variants) > MAX_VARIANTS:
        raise InvalidEvent(f"endpoint variants are not a list of at most {MAX_VARIANTS}")
    return Endpoint(item["name"], tuple(_variant(v) for v in variants), _endpoint_tags(item))


def _endpoint_tags(item: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The tags sagewatch reads (others, and values past TAG_CHARS, are not kept)."""
    tags = item.get("tags")
    if not isinstance(tags, Mapping):
        return ()
    return tuple(
        (key, tags[key])
        for key in ENDPOINT_TAGS
        if isinstance(tags.get(key), str) and len(tags[key]) <= TAG_CHARS
    )


def _variant(value: Any) -> Variant:
    if not isinstance(value, Mapping) or not _is_name(value.get("name")):
        raise InvalidEvent("a variant without a valid name")
    serverless = value.get("serverless") is True
    instance_type = value.get("instance_type")
    count = value.get("instance_count")
    if serverless:
        return Variant(value["name"], None, 0, serverless=True)
    # None: unknown (its endpoint config was deleted), so never judged idle.
    if instance_type is not None and not (
        isinstance(instance_type, str) and _INSTANCE_TYPE.fullmatch(instance_type)
    ):
        raise InvalidEvent("a variant whose instance_type is not an ml.* type")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_INSTANCES:
        raise InvalidEvent(f"a variant whose instance_count is not 0..{MAX_INSTANCES}")
    return Variant(value["name"], instance_type, count)


def _is_name(value: Any) -> bool:
    # The pattern bounds the letters and digits, not the hyphens between them: SageMaker's own
    # limit is the length. A longer name would reach GetMetricData, which refuses it.
    return (
        isinstance(value, str)
        and len(value) <= ENDPOINT_NAME_CHARS
        and _NAME.fullmatch(value) is not None
    )
