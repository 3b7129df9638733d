"""One alert model, built from a failure or a utilization verdict, rendered for people and machines.

What leaves the account is decided here: names, statuses, a sanitized failure reason, timing,
hardware, utilization and one allow-listed tag. Never Environment, HyperParameters or request
parameters — the models those would come from do not even carry them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from shared.egress import alert_document, for_email, sanitize
from shared.models import ResourceKind, SageMakerEvent
from shared.reports import UtilizationReport

ALERT_SCHEMA = "sagewatch.alert/v1"
SUBJECT_LIMIT = 99  # SNS: "less than 100 characters"


class AlertKind(StrEnum):
    FAILURE = "failure"
    UNDER_USED = "under-used"
    IDLE = "idle"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


_SEVERITY = {
    AlertKind.FAILURE: Severity.HIGH,
    AlertKind.IDLE: Severity.MEDIUM,
    AlertKind.UNDER_USED: Severity.LOW,
}


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    incident: str  # one incident, however often and under whichever event id it is delivered
    account: str
    region: str
    resource: ResourceKind
    name: str
    status: str
    headline: str
    reason: str | None = None
    team: str | None = None
    instance_type: str | None = None
    instance_count: int = 0
    duration_seconds: float | None = None
    ended_at: datetime | None = None
    utilization: tuple[tuple[str, float | None], ...] = ()
    context: tuple[tuple[str, str], ...] = ()  # e.g. pipeline, failed step, endpoint config
    summary: bool = False  # stands for many resources: links go to lists, not to one job

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self.kind]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def incident_key(
    account: str, region: str, kind: ResourceKind, resource: str, what: str, *more: str
) -> str:
    """Account, region, resource and what happened — never the event id, which differs
    between duplicate deliveries of the same state change."""
    return "|".join((account, region, kind.value, resource, what, *more))


def _incident(event: SageMakerEvent, what: str) -> str:
    # An endpoint can fail again later under the same name: its state's time is part of the key.
    when = (
        event.ended_at.isoformat() if event.kind is ResourceKind.ENDPOINT and event.ended_at else ""
    )
    return incident_key(
        event.account, event.region, event.kind, event.name, what, *filter(None, [when])
    )


def _hardware(event: SageMakerEvent) -> tuple[str | None, int]:
    types = sorted({g.instance_type for g in event.instance_groups})
    return (" + ".join(types) if types else None), event.instance_count


def failure_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    if event.kind in (ResourceKind.PIPELINE_EXECUTION, ResourceKind.PIPELINE_STEP):
        return _pipeline_alert(event)
    # A tuning job's ResourceConfig is each child's, not hardware the tuning job itself holds.
    instance_type, count = _hardware(event) if event.kind.has_host_metrics else (None, 0)
    status = event.status
    if event.secondary_status and event.secondary_status != event.status:
        status = f"{event.status} ({event.secondary_status})"
    context: list[tuple[str, str]] = []
    if event.child_counts:
        context.append(("child jobs", ", ".join(f"{k} {v}" for k, v in event.child_counts if v)))
    return Alert(
        kind=AlertKind.FAILURE,
        incident=_incident(event, "failed"),
        account=event.account,
        region=event.region,
        resource=event.kind,
        name=event.name,
        status=status,
        headline=f"{event.kind.label} {event.name} {_failure_word(event)}",
        reason=sanitize(event.failure_reason),
        team=event.tag(team_tag_key),
        instance_type=instance_type,
        instance_count=count,
        duration_seconds=event.duration_seconds if event.kind.is_job else None,
        ended_at=event.ended_at or event.time,
        context=tuple(context),
    )


def _failure_word(event: SageMakerEvent) -> str:
    return {
        "MaxRuntimeExceeded": "hit its maximum runtime",
        "MaxWaitTimeExceeded": "hit its maximum spot wait time",
    }.get(event.secondary_status or "", "failed")


def _pipeline_alert(event: SageMakerEvent) -> Alert:
    """One alert per execution: the step event (when it arrives first) names the failed step."""
    pipeline = event.pipeline_name or "pipeline"
    execution = (event.execution_arn or "").rsplit("/", 1)[-1] or event.name
    context = [("pipeline", pipeline), ("execution", execution)]
    headline = f"pipeline {pipeline} execution {execution} failed"
    if event.kind is ResourceKind.PIPELINE_STEP:
        context.append(("failed step", event.name))
        headline += f" at step {event.name}"
    return Alert(
        kind=AlertKind.FAILURE,
        incident=incident_key(
            event.account,
            event.region,
            ResourceKind.PIPELINE_EXECUTION,
            event.execution_arn or execution,
            "failed",
        ),
        account=event.account,
        region=event.region,
        resource=ResourceKind.PIPELINE_EXECUTION,
        name=pipeline,
        status="Failed",
        headline=headline,
        reason=sanitize(event.failure_reason),
        duration_seconds=event.duration_seconds,
        ended_at=event.ended_at or event.time,
        context=tuple(context),
    )


def utilization_alert(report: UtilizationReport, team_tag_key: str) -> Alert:
    job = report.job
    kind = AlertKind.IDLE if report.verdict.value == "idle" else AlertKind.UNDER_USED
    instance_type, count = _hardware(job)
    context = []
    if report.instance_hours is not None:
        context.append(("instance-hours", f"{report.instance_hours:g}"))
    return Alert(
        kind=kind,
        incident=_incident(job, kind.value),
        account=job.account,
        region=job.region,
        resource=job.kind,
        name=job.name,
        status=job.status,
        headline=f"{job.kind.label} {job.name} was {kind.value}",
        reason=sanitize("; ".join(report.reasons)),
        team=job.tag(team_tag_key),
        instance_type=instance_type,
        instance_count=count,
        duration_seconds=job.duration_seconds,
        ended_at=job.ended_at,
        utilization=tuple(report.utilization.items()),
        context=tuple(context),
    )


def burst_alert(
    burst: dict[str, Any], names: list[str], individually: int, listed: int = 50
) -> Alert:
    """One summary for a storm of failures of one kind in one account and Region."""
    resource = ResourceKind(burst["resource"])
    start = datetime.fromtimestamp(int(burst["window_start"]), tz=UTC)
    minutes = int(burst["window_seconds"]) // 60
    shown = ", ".join(names[:listed]) + (
        f" and {len(names) - listed} more" if len(names) > listed else ""
    )
    return Alert(
        kind=AlertKind.FAILURE,
        incident=str(burst["bucket"]),
        account=str(burst["account"]),
        region=str(burst["region"]),
        resource=resource,
        name=f"{len(names)} {resource.label}s",
        status="Failed",
        headline=f"{len(names)} {resource.label}s failed within {minutes} minutes",
        ended_at=start,
        summary=True,
        context=(
            ("window", f"{start:%Y-%m-%d %H:%M} UTC + {minutes} min"),
            ("alerted one by one", str(min(individually, len(names)))),
            ("summarized here", str(max(len(names) - individually, 0))),
            ("jobs", shown),
        ),
    )


# --- rendering -------------------------------------------------------------------------------

_CONSOLE_PATHS = {
    ResourceKind.TRAINING: "jobs",
    ResourceKind.PROCESSING: "processing-jobs",
    ResourceKind.TRANSFORM: "transform-jobs",
    ResourceKind.TUNING: "hyper-tuning-jobs",
    ResourceKind.ENDPOINT: "endpoints",
}
_LOG_GROUPS = {
    ResourceKind.TRAINING: "/aws/sagemaker/TrainingJobs",
    ResourceKind.PROCESSING: "/aws/sagemaker/ProcessingJobs",
    ResourceKind.TRANSFORM: "/aws/sagemaker/TransformJobs",
    ResourceKind.TUNING: "/aws/sagemaker/TrainingJobs",
}


def _console(region: str) -> str:
    if region.startswith("cn-"):
        return f"https://{region}.console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return f"https://{region}.console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def _logs_url(base: str, region: str, group: str, stream_prefix: str | None = None) -> str:
    # The console encodes the fragment's path twice ('/' → %2F → $252F), its query once ($3F).
    def twice(text: str) -> str:
        return quote(quote(text, safe=""), safe="").replace("%", "$")

    url = f"{base}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{twice(group)}"
    return url + f"$3FlogStreamNameFilter$3D{twice(stream_prefix)}" if stream_prefix else url


def links(alert: Alert) -> dict[str, str]:
    base, region, name = _console(alert.region), alert.region, alert.name
    result: dict[str, str] = {}
    if alert.summary:
        if path := _CONSOLE_PATHS.get(alert.resource):
            result["console"] = f"{base}/sagemaker/home?region={region}#/{path}"
        if group := _LOG_GROUPS.get(alert.resource):
            result["logs"] = _logs_url(base, region, group)
        return result
    if path := _CONSOLE_PATHS.get(alert.resource):
        result["console"] = f"{base}/sagemaker/home?region={region}#/{path}/{quote(name)}"
    elif alert.resource is ResourceKind.PIPELINE_EXECUTION:
        result["console"] = f"{base}/sagemaker/home?region={region}#/pipelines"
    if alert.resource is ResourceKind.ENDPOINT:
        result["logs"] = _logs_url(base, region, f"/aws/sagemaker/Endpoints/{name}")
    elif group := _LOG_GROUPS.get(alert.resource):
        result["logs"] = _logs_url(base, region, group, name)
    return result


def subject(alert: Alert) -> str:
    """ASCII, one line, under 100 characters; the name is shortened, never the facts around it."""
    tag = {AlertKind.FAILURE: "FAILED", AlertKind.UNDER_USED: "UNDER-USED", AlertKind.IDLE: "IDLE"}
    prefix = f"[sagewatch] {tag[alert.kind]} {alert.resource.label} "
    suffix = f" ({alert.account} {alert.region})"
    name = _ascii(alert.name)
    room = SUBJECT_LIMIT - len(prefix) - len(suffix)
    if len(name) > room:
        name = name[: max(room - 3, 0)] + "..."
    return _single_line(prefix + name + suffix)[:SUBJECT_LIMIT]


def _single_line(text: str) -> str:
    return re.sub(r"\s+", " ", "".join(ch for ch in text if ch.isprintable())).strip()


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


_NEXT_STEPS = {
    AlertKind.UNDER_USED: "Consider a smaller or CPU instance type, or larger batches.",
    AlertKind.IDLE: "The hardware did almost nothing: check the job's input and its instance type.",
}
_FAILURE_NEXT_STEPS = {
    ResourceKind.ENDPOINT: "Check the endpoint's logs and health check, then update the endpoint.",
    ResourceKind.PIPELINE_EXECUTION: "Open the failed step's logs, fix, and retry the execution.",
}


def _next_step(alert: Alert) -> str:
    if alert.kind is AlertKind.FAILURE:
        return _FAILURE_NEXT_STEPS.get(
            alert.resource, "Open the logs below, fix the cause, and re-run."
        )
    return _NEXT_STEPS[alert.kind]


def text_body(alert: Alert) -> str:
    """Plain text an on-call engineer reads in ten seconds: what, where, why, what next."""
    lines = [alert.headline[:1].upper() + alert.headline[1:], ""]
    where = f"Account {alert.account} | Region {alert.region}"
    if alert.team:
        where += f" | Team {_single_line(alert.team)[:64]}"
    lines.append(where)
    lines.append(f"Status: {alert.status}")
    for label, value in alert.context:
        lines.append(f"{label.capitalize()}: {_single_line(value)}")
    if alert.instance_type:
        lines.append(f"Hardware: {alert.instance_type} x {alert.instance_count}")
    ran = _duration(alert.duration_seconds)
    if ran or alert.ended_at:
        ended = alert.ended_at.strftime("%Y-%m-%d %H:%M UTC") if alert.ended_at else "unknown"
        lines.append(f"Ran: {ran or 'unknown'}, ended {ended}")
    measured = [(k, v) for k, v in alert.utilization if v is not None]
    if measured:
        lines.append(
            "Utilization: "
            + ", ".join(
                f"{k.removesuffix('_percent').replace('_', ' ')} {_percent(v)}" for k, v in measured
            )
        )
    if alert.reason:
        lines += ["", "Why:", *("  " + line for line in for_email(alert.reason).splitlines())]
    lines += ["", f"Next: {_next_step(alert)}"]
    for label, url in links(alert).items():
        lines.append(f"{label.capitalize()}: {url}")
    return "\n".join(lines)


def attributes(alert: Alert) -> dict[str, str]:
    """SNS message attributes for subscription filter policies (low cardinality)."""
    return {
        "severity": alert.severity.value,
        "kind": alert.kind.value,
        "account": alert.account,
        "region": alert.region,
        "job_type": alert.resource.value,
        "team": _single_line(alert.team)[:64] if alert.team else "",
    }


def payload(alert: Alert) -> dict[str, Any]:
    """The versioned machine-readable document (SQS, Lambda and HTTPS subscribers)."""
    return alert_document(
        {
            "schema": ALERT_SCHEMA,
            "incident": alert.incident,
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "account": alert.account,
            "region": alert.region,
            "resource_type": alert.resource.value,
            "name": alert.name,
            "status": alert.status,
            "headline": alert.headline,
            "reason": alert.reason,
            "team": alert.team,
            "instance_type": alert.instance_type,
            "instance_count": alert.instance_count,
            "duration_seconds": alert.duration_seconds,
            "ended_at": alert.ended_at.isoformat() if alert.ended_at else None,
            "utilization": dict(alert.utilization),
            "context": dict(alert.context),
            "links": links(alert),
            "subject": subject(alert),
            "text": text_body(alert),
        }
    )
