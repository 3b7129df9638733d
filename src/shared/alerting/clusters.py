"""HyperPod clusters' alerts: a cluster that failed or rolls back an update (failures), a node
SageMaker found unhealthy, an operation that failed on the cluster, an instance group or an
instance, and an instance group that runs short of instances (unhealthy).

The cluster is the resource of every one of them (its console page, its chat thread); the node
or instance group is a fact. A cluster losing many nodes is one incident: its unhealthy alerts
share a storm-control window per cluster (`Alert.storm`), so the first is sent and the rest are
counted and listed in one summary when the window closes.
"""

from __future__ import annotations

from shared.alerting.alerts import (
    Alert,
    AlertKind,
    aws_side_step,
    day_of,
    incident_key,
    listing,
)
from shared.domain.events import ClusterGroup, ClusterNews, SageMakerEvent
from shared.domain.patterns import CLUSTER_ROLLING_BACK
from shared.domain.text import one_line, sanitize
from shared.domain.vocabulary import ResourceKind

FAILED_STEP = (
    "Read the failure above and the cluster's lifecycle-script logs, fix the configuration, "
    "then delete the cluster and create it again."
)
ROLLBACK_STEP = (
    "The update did not apply; the cluster keeps its previous configuration. Find the failed "
    "instances in the cluster's Events tab (capacity, quota, lifecycle script) before updating "
    "it again."
)
SHORT_STEP = (
    "Find why the instances did not launch in the cluster's Events tab (capacity, quota, "
    "lifecycle script); jobs that need the whole group wait until it is back to its target."
)
REPAIRING_STEP = (
    "SageMaker repairs the node itself (automatic node recovery); jobs on it resume from their "
    "last checkpoint. If nodes keep failing, give AWS Support the node's id."
)
UNREPAIRED_STEP = (
    "Nothing repairs it automatically: follow the recommendation (reboot or replace the node from "
    "the HyperPod console or CLI), then resume its jobs from their last checkpoint."
)
ERROR_STEP = (
    "Read the failure in the cluster's Events tab, fix what it names, then scale or update the "
    "instance group again."
)
# A node's HealthSummary.RepairAction when SageMaker repairs nothing by itself.
NO_REPAIR = frozenset({"", "None"})


def _news(event: SageMakerEvent) -> ClusterNews:
    return event.cluster or ClusterNews()


def _alert(
    event: SageMakerEvent,
    team_tag_key: str,
    kind: AlertKind,
    incident: str,
    headline: str,
    context: tuple[tuple[str, str], ...],
    step: str,
    storm: tuple[str, str] | None = None,
) -> Alert:
    """What every HyperPod alert says of its cluster; the arguments say what happened."""
    return Alert(
        kind=kind,
        incident=incident,
        account=event.account,
        region=event.region,
        resource=ResourceKind.HYPERPOD_CLUSTER,
        name=event.name,
        status=event.status or "unknown",
        headline=headline,
        reason=sanitize(event.failure_reason),
        team=event.tag(team_tag_key),
        ended_at=event.ended_at or event.time,
        context=context,
        storm=storm,
        step=step,
    )


def troubled(event: SageMakerEvent) -> bool:
    """the cluster failed or rolls back an update, or an instance group's Status is Failed or
    Degraded"""
    return event.is_failure or CLUSTER_ROLLING_BACK(event) or bool(_news(event).short_groups)


def _incident(event: SageMakerEvent, *what: str) -> str:
    return incident_key(
        event.account, event.region, ResourceKind.HYPERPOD_CLUSTER, event.name, *what
    )


def cluster_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    """A cluster's state change: the cluster failed, an update rolls back (failures), or an
    instance group runs short of instances (unhealthy)."""
    name = one_line(event.name)
    groups = _news(event).groups
    context = (("instance groups", listing([_group(g) for g in groups])),) if groups else ()
    if event.is_failure:  # a failed cluster is deleted; its name can come back as a new one
        created = event.created_at.isoformat() if event.created_at else ""
        return _alert(
            event,
            team_tag_key,
            kind=AlertKind.FAILURE,
            incident=_incident(event, "failed", *filter(None, [created])),
            headline=f"HyperPod cluster {name} failed",
            context=context,
            step=aws_side_step(event.failure_reason) or FAILED_STEP,
        )
    if CLUSTER_ROLLING_BACK(event):
        return _alert(
            event,
            team_tag_key,
            kind=AlertKind.FAILURE,
            incident=_incident(event, "rolled-back", day_of(event)),
            headline=f"HyperPod cluster {name} is rolling back its update: the previous "
            "configuration stays",
            context=context,
            step=ROLLBACK_STEP,
        )
    short = _news(event).short_groups
    shown = listing([_group(g) for g in short])
    return _alert(
        event,
        team_tag_key,
        kind=AlertKind.UNHEALTHY,
        incident=_incident(event, "short", *sorted(g.name for g in short), day_of(event)),
        headline=f"HyperPod cluster {name} runs short of instances: {shown}",
        context=context,
        storm=(event.name, f"instance groups short: {shown}"),
        step=SHORT_STEP,
    )


def _group(group: ClusterGroup) -> str:
    def known(count: int | None) -> str:
        return "?" if count is None else str(count)

    counts = f"{known(group.current)} of {known(group.target)}"
    hardware = f" {group.instance_type}" if group.instance_type else ""
    return f"{group.name} {group.status or 'unknown'}, {counts}{hardware}"


def node_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    """A node SageMaker's health checks found unhealthy: one incident per node and day."""
    news = _news(event)
    node = news.node or "unknown node"
    action = news.repair_action or ""
    headline = f"HyperPod cluster {one_line(event.name)}: node {one_line(node)} is unhealthy"
    if action not in NO_REPAIR:
        headline += f", repair: {one_line(action)}"
    context = [("node", node), ("repair action", action or "None")]
    if news.recommendation:
        context.append(("recommendation", news.recommendation))
    return _alert(
        event,
        team_tag_key,
        kind=AlertKind.UNHEALTHY,
        incident=_incident(event, "unhealthy", node, day_of(event)),
        headline=headline,
        context=tuple(context),
        storm=(event.name, f"node {node} {event.status or 'unhealthy'}"),
        step=UNREPAIRED_STEP if action in NO_REPAIR else REPAIRING_STEP,
    )


def cluster_error_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    """A cluster event of level Error. Its duplicates share its EventId: one incident each."""
    news = _news(event)
    name = one_line(event.name)
    about = news.node or news.instance_group or "the cluster"
    what = news.description or f"an operation on {about} failed"
    context = [(label, value) for label, value in (
        ("instance group", news.instance_group), ("node", news.node)) if value]  # fmt: skip
    when = event.ended_at.isoformat() if event.ended_at else day_of(event)
    return _alert(
        event,
        team_tag_key,
        kind=AlertKind.UNHEALTHY,
        incident=_incident(event, "error", news.event_id or f"{about}|{when}"),
        headline=f"HyperPod cluster {name}: {one_line(what)}",
        context=tuple(context),
        storm=(event.name, f"{about}: {what}"),
        step=aws_side_step(event.failure_reason) or ERROR_STEP,
    )
