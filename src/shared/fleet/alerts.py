"""The fleet's alerts: a silent workload account, events a workload account could not forward,
idle endpoints (one each, or one per run for those newly idle past the day's storm threshold)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from shared.alerting.alerts import Alert, AlertKind, incident_key, listing
from shared.contracts.inventory import Endpoint, StoredInventory
from shared.contracts.report import Waste
from shared.domain.prices import cost_estimate, price_table_as_of
from shared.domain.text import one_line
from shared.domain.vocabulary import ResourceKind
from shared.fleet.silence import Change


def silence_alert(change: Change, now: float) -> Alert:
    """A workload account (in one Region, or anywhere if never heard) stopped sending heartbeats,
    or is heard again. One incident per silence: its start is part of the key."""
    where = change.region or "any Region"
    context = [("expected", f"a heartbeat every {change.interval_minutes} min")]
    if change.last_seen is not None:
        last = datetime.fromtimestamp(change.last_seen, tz=UTC)
        context.append(("last heartbeat", f"{last:%Y-%m-%d %H:%M} UTC"))
    else:
        context.append(("last heartbeat", "never"))
    if change.silent:
        quiet = round((now - change.since) / 60) if change.last_seen is not None else None
        headline = f"workload account {change.account} is silent in {where}" + (
            f" ({quiet} minutes without a heartbeat)" if quiet is not None else ""
        )
    else:
        headline = f"workload account {change.account} is heard again in {where}"
    return Alert(
        kind=AlertKind.OPS,
        incident=incident_key(
            change.account,
            change.region or "*",
            ResourceKind.ACCOUNT,
            change.account,
            "silent" if change.silent else "recovered",
            # A source's silence starts at its last heartbeat; a never-heard account has one.
            str(int(change.since)) if change.region else "never-heard",
        ),
        account=change.account,
        region=change.region or "*",
        resource=ResourceKind.ACCOUNT,
        name=change.account,
        status="silent" if change.silent else "recovered",
        headline=headline,
        context=tuple(context),
        thread="|".join((change.account, change.region or "*", "silence", str(int(change.since)))),
        subject_of=("account", f"{change.account} {'silent' if change.silent else 'heard again'}"),
    )


def dead_letters_alert(inventory: StoredInventory) -> Alert:
    """Events a workload account could not forward to the monitoring bus wait in its forwarding
    dead-letter queue (its snapshot says how many). An incident starts with the first snapshot
    that reports them after one that did not, at most one per account, Region and day: a
    workload account's snapshots are its own claims, and flapping ones must not page on-call
    again and again."""
    since = datetime.fromtimestamp(inventory.collected_at, tz=UTC)
    account, region = inventory.account, inventory.region
    return Alert(
        kind=AlertKind.OPS,
        incident=incident_key(
            account,
            region,
            ResourceKind.ACCOUNT,
            account,
            "dead-letters",
            since.date().isoformat(),
        ),
        account=account,
        region=region,
        resource=ResourceKind.ACCOUNT,
        name=account,
        status="dead-letters",
        headline=(
            f"workload account {account} could not forward {inventory.dead_letters} events"
            f" in {region}"
        ),
        context=(
            ("waiting", f"{inventory.dead_letters} in its forwarding dead-letter queue"),
            ("reported", f"{since:%Y-%m-%d %H:%M} UTC (inventory snapshot)"),
        ),
        subject_of=("account", f"{account} dead letters"),
    )


def idle_endpoint_alert(
    account: str, region: str, endpoint: Endpoint, hours: float, day: str, team: str | None = None
) -> Alert:
    """An endpoint in service that served no request for `hours`: its instances cost anyway."""
    hardware = [v for v in endpoint.variants if v.instance_type and not v.serverless]
    count = sum(v.instance_count for v in hardware)
    hourly = cost_estimate(region, [(v.instance_type or "", v.instance_count) for v in hardware])
    listed = [f"{v.name}: {v.instance_type} x {v.instance_count}" for v in hardware]
    # Re-sent after its account's inventory stopped listing it: what it ran is no longer known.
    context = [("variants", listing(listed) or "no longer listed in its account's inventory")]
    as_of = price_table_as_of()
    if hourly is not None and hardware:
        context.append(("hourly cost", f"${hourly:,.2f} (on-demand estimate, {as_of})"))
    types = sorted({v.instance_type for v in hardware if v.instance_type})
    return Alert(
        kind=AlertKind.IDLE,
        incident=incident_key(account, region, ResourceKind.ENDPOINT, endpoint.name, "idle", day),
        account=account,
        region=region,
        resource=ResourceKind.ENDPOINT,
        name=endpoint.name,
        status="InService",
        headline=f"endpoint {one_line(endpoint.name)} served no request in {hours:g} hours",
        reason=f"no invocations on any variant in the last {hours:g} hours",
        team=team,
        instance_type=listing(types, sep=" + ") or None,
        instance_count=count,
        waste=_idle_waste(count, hours, hourly, as_of) if hardware else None,
        context=tuple(context),
    )


def idle_endpoints_alert(
    account: str, region: str, endpoints: list[Endpoint], hours: float, day: str
) -> Alert:
    """Storm control for idle endpoints: past the day's threshold, one alert per run names the
    endpoints newly idle in it (a bounded list, then how many more) instead of one alert each;
    those endpoints are its incident, so a retried run sends it once."""
    hardware = [v for e in endpoints for v in e.variants if v.instance_type and not v.serverless]
    count = sum(v.instance_count for v in hardware)
    hourly = cost_estimate(region, [(v.instance_type or "", v.instance_count) for v in hardware])
    context = [("endpoints", listing([e.name for e in endpoints]))]
    as_of = price_table_as_of()
    if hourly is not None:
        context.append(("hourly cost", f"${hourly:,.2f} (on-demand estimate, {as_of})"))
    what = f"{len(endpoints)} endpoints"
    digest = names_digest(e.name for e in endpoints)
    return Alert(
        kind=AlertKind.IDLE,
        incident=incident_key(account, region, ResourceKind.ENDPOINT, "*", "idle", day, digest),
        account=account,
        region=region,
        resource=ResourceKind.ENDPOINT,
        name=what,
        status="InService",
        headline=f"{what} served no request in {hours:g} hours",
        reason=f"no invocations on any variant of these endpoints in the last {hours:g} hours",
        instance_count=count,
        waste=_idle_waste(count, hours, hourly, as_of),
        context=tuple(context),
        summary=True,
        subject_of=("", f"{what} idle for {hours:g} h"),
    )


def names_digest(names: Iterable[str]) -> str:
    """Endpoint names as one short key: the same endpoints, in any order, the same key."""
    named = "\n".join(sorted(names)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(named).hexdigest()[:16]


def _idle_waste(count: int, hours: float, hourly: float | None, as_of: str) -> Waste:
    """Idle hardware wastes all of its instance-hours."""
    return Waste(
        round(count * hours, 2),
        round(count * hours, 2),
        None if hourly is None else round(hourly * hours, 2),
        None if hourly is None else as_of,
    )
