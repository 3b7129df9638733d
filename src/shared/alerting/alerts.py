"""One alert model, built from a failure, a Model Monitor finding or a utilization verdict.

What an alert can say is decided here: names, statuses, a sanitized failure reason, timing,
hardware, utilization, waste and one allow-listed tag. Never Environment, HyperParameters or
request parameters — the models those would come from do not even carry them. Every text an
alert holds is plain and bounded (`Alert.__post_init__`), and every list shows a few items and
how many more (`listing`): names come from event data, which a workload account controls.
`shared.render` turns an alert into email, chat and machine renderings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from shared.alerting.formats import no_mentions
from shared.contracts.report import UtilizationReport, Waste
from shared.contracts.storm_window import StormWindow
from shared.domain.automation import AutomationRun
from shared.domain.events import SageMakerEvent
from shared.domain.text import NAME_LIMIT, one_line, sanitize
from shared.domain.vocabulary import (
    BY_KIND,
    MONITOR_VIOLATIONS,
    NAMING_REFUSALS,
    SEVERITY_TAG,
    SILENCE_TAG,
    UNDER_USED_TAG,
    ResourceKind,
)


class AlertKind(StrEnum):
    FAILURE = "failure"
    VIOLATIONS = "violations"  # a Model Monitor execution found constraint violations
    UNDER_USED = "under-used"
    IDLE = "idle"
    OPS = "ops"  # sagewatch's own coverage: a workload account fell silent, or came back
    UNHEALTHY = "unhealthy"  # a HyperPod node or instance group SageMaker could not keep up


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


LINE_LIMIT = 1_024  # a headline, status, hardware or incident line
CONTEXT_LIMIT = 4_096  # a context value (room for a list of names built elsewhere)
LIST_LIMIT = 20  # items any list in an alert shows; the rest are "and N more"
LIST_CHARS = 1_000  # and at most this many characters of them

_SEVERITY = {
    AlertKind.FAILURE: Severity.HIGH,
    AlertKind.VIOLATIONS: Severity.MEDIUM,
    AlertKind.IDLE: Severity.MEDIUM,
    AlertKind.UNDER_USED: Severity.LOW,
    AlertKind.OPS: Severity.HIGH,
    AlertKind.UNHEALTHY: Severity.MEDIUM,
}


# Failures of what no job or endpoint waits on right away: someone's notebook, a feature group
# or image being made, a labeling or review task, a monitoring schedule, experiment tracking.
LOW_STAKES = frozenset(
    {
        ResourceKind.NOTEBOOK,
        ResourceKind.FEATURE_GROUP,
        ResourceKind.IMAGE,
        ResourceKind.IMAGE_VERSION,
        ResourceKind.LABELING_JOB,
        ResourceKind.HUMAN_LOOP,
        ResourceKind.MONITORING_SCHEDULE,
        ResourceKind.TRACKING_SERVER,
    }
)


_QUIETER = {
    Severity.HIGH: Severity.MEDIUM,
    Severity.MEDIUM: Severity.LOW,
    Severity.LOW: Severity.LOW,
}


def is_production(environment: str) -> bool:
    return environment.lower().startswith(("prod", "prd", "live"))


def severity_of(
    kind: AlertKind, resource: ResourceKind, environment: str | None = None
) -> Severity:
    """The kind's severity (lower for what no job waits on, higher for a serving endpoint's
    health), one step lower in an account whose
    Environment is not production. sagewatch's own coverage (`ops`) is never lowered: a silent
    account hides everything in it, whatever it runs."""
    base = Severity.LOW if kind is AlertKind.FAILURE and resource in LOW_STAKES else _SEVERITY[kind]
    if kind is AlertKind.UNHEALTHY and resource is ResourceKind.ENDPOINT:
        base = Severity.HIGH  # its callers get the errors or wait, now
    if environment is None or kind is AlertKind.OPS or is_production(environment):
        return base
    return _QUIETER[base]


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
    waste: Waste | None = None
    context: tuple[tuple[str, str], ...] = ()  # e.g. pipeline, failed step, endpoint config
    summary: bool = False  # stands for many resources: links go to lists, not to one job
    thread: str = ""  # what chat threads group by, when not the resource itself
    subject_of: tuple[str, str] | None = None  # (what, name) the subject names, if not the resource
    # Storm control of its own: (scope, how its summary lists this alert). The first alert of a
    # scope's window is sent, the rest are counted and listed in one summary when it closes.
    storm: tuple[str, str] | None = None
    step: str | None = None  # the next step, where its builder knows it best
    follows: str | None = None  # the incident this alert updates (same thread; not a new page)
    project: str | None = None  # the account's labels (its workload stack's), when known
    environment: str | None = None
    account_name: str | None = None  # its alias
    severity_tag: Severity | None = None  # set by the job's own tag (SEVERITY_TAG)
    run: str | None = None  # an automation run's id, which its console page needs beside the name

    def __post_init__(self) -> None:
        # The one guarantee every rendering relies on, however the alert was built: its text is
        # plain (no control, bidi or zero-width characters, credentials masked) and bounded.
        def clean(text: str, limit: int = NAME_LIMIT) -> str:
            return one_line(text, limit) or "-"  # never empty: SNS and the schema need a value

        fix = object.__setattr__
        fix(self, "incident", _key(self.incident))
        if self.follows:  # as the incident it updates was keyed (`_key` keeps a key as it is)
            fix(self, "follows", _key(self.follows))
        fix(self, "account", clean(self.account))
        fix(self, "region", clean(self.region, 64))
        fix(self, "name", clean(self.name))
        fix(self, "status", clean(self.status, LINE_LIMIT))
        fix(self, "headline", clean(self.headline, LINE_LIMIT))
        fix(self, "reason", sanitize(self.reason))
        fix(self, "team", one_line(self.team) or None)
        fix(self, "project", one_line(self.project, 64) or None)
        fix(self, "environment", one_line(self.environment, 64) or None)
        fix(self, "account_name", one_line(self.account_name, 64) or None)
        fix(self, "instance_type", one_line(self.instance_type, LINE_LIMIT) or None)
        fix(self, "run", one_line(self.run, 2 * NAME_LIMIT) or None)  # a build id may be 292
        fix(self, "context", tuple((clean(k), clean(v, CONTEXT_LIMIT)) for k, v in self.context))
        if self.subject_of:
            fix(self, "subject_of", (one_line(self.subject_of[0]), clean(self.subject_of[1])))
        if self.storm:
            fix(self, "storm", (clean(self.storm[0]), clean(self.storm[1])))

    @property
    def severity(self) -> Severity:
        return self.severity_tag or severity_of(self.kind, self.resource, self.environment)


@dataclass(frozen=True, slots=True)
class JobSays:
    """What a job's own tags ask of its alerts: none at all (a sandbox experiment), or another
    severity. Shown in the alert when used."""

    silenced: bool = False
    severity: Severity | None = None

    @classmethod
    def of(cls, tags: Sequence[tuple[str, str]]) -> JobSays:
        values = {key: value.strip().lower() for key, value in tags}
        silence = values.get(SILENCE_TAG)
        severity = values.get(SEVERITY_TAG, "")
        return cls(
            silenced=silence is not None and silence not in ("false", "no", "0"),
            severity=Severity(severity) if severity in _SEVERITIES else None,
        )

    def applied(self, alert: Alert) -> Alert:
        if self.severity is None:
            return alert
        said = ("severity", f"{self.severity.value}, set by the job's tag {SEVERITY_TAG}")
        return replace(alert, severity_tag=self.severity, context=(*alert.context, said))


_SEVERITIES = frozenset(severity.value for severity in Severity)


# Failures on AWS's side, not the job's: nothing to fix, retrying (elsewhere, for capacity) is
# the way out. The first row whose pattern the reason matches decides.
AWS_SIDE_STEPS = (
    (
        re.compile(
            r"(?:insufficient|not (?:have )?(?:sufficient|enough))\W*(?:instance\W*)?capacity"
            r"|capacity\s*error",
            re.I,
        ),
        "Retry later, or with another instance type or Region: AWS had no capacity for it.",
    ),
    (
        re.compile(r"throttl|rate exceeded|too many requests", re.I),
        "Retry later: AWS throttled a request; nothing in the job needs fixing.",
    ),
    (
        re.compile(r"internal\W*(?:server\W*)?(?:error|failure)|service\W*unavailable", re.I),
        "Retry: the error was on AWS's side, not in the job; if it persists, ask AWS Support.",
    ),
)


def aws_side_step(reason: str | None) -> str | None:
    if not reason or reason.startswith("AlgorithmError"):  # the job's own code failed
        return None
    return next((step for pattern, step in AWS_SIDE_STEPS if pattern.search(reason)), None)


def _key(text: str) -> str:
    """An incident key as shown to readers: plain, mention-free (so the chat notification shows
    the same key as the other renderings) and bounded. One that cleaning changed (a name masked
    as a credential: `churn-sk-2026-11-20-10-00-00-123` is `churn-***`) or cut keeps a digest
    of the whole, so two incidents never become one. A key is its own key: an alert copied with
    `replace` keys it again, and a masked value at its end would take in the digest."""
    shown = _shown(text)
    if shown == text and len(shown) <= LINE_LIMIT:
        return shown
    head = text[:-_DIGEST_CHARS]
    if len(text) <= LINE_LIMIT and _DIGESTED.search(text) and _shown(head) == head:
        return text
    room, cut = LINE_LIMIT - _DIGEST_CHARS, LINE_LIMIT - _DIGEST_CHARS
    while len(shown) > room:  # cut, and cleaned again: a cut may leave half a masked value
        shown, cut = _shown(shown[:cut]), cut - 8
    return shown + "#" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_DIGEST_CHARS = 33  # "#" and 32 hexadecimal digits
_DIGESTED = re.compile(r"#[0-9a-f]{32}\Z")


def _shown(text: str) -> str:
    return no_mentions(one_line(text, len(text) + 1))


def listing(items: Sequence[str], limit: int = LIST_LIMIT, sep: str = ", ") -> str:
    """A list for a reader: at most `limit` items and LIST_CHARS characters, then how many
    more (a forged inventory or a storm can hold thousands)."""
    shown: list[str] = []
    size = 0
    for item in items[:limit]:
        text = one_line(item, LIST_CHARS)
        size += len(text) + len(sep)
        if shown and size > LIST_CHARS:
            break
        shown.append(text)
    rest = len(items) - len(shown)
    return sep.join(shown) + (f" and {rest} more" if rest else "")


def incident_key(
    account: str, region: str, kind: ResourceKind, resource: str, what: str, *more: str
) -> str:
    """Account, region, resource and what happened — never the event id, which differs
    between duplicate deliveries of the same state change."""
    return "|".join((account, region, kind.value, resource, what, *more))


def _incident(event: SageMakerEvent, what: str) -> str:
    # An endpoint (a notebook, an image...) can fail again later under the same name: its
    # state's time is part of the key, or the UTC day where the event carries none.
    when = ""
    if event.kind.is_long_lived:
        at = event.ended_at or event.created_at
        when = at.isoformat() if at else day_of(event)
    return incident_key(
        event.account, event.region, event.kind, event.name, what, *filter(None, [when])
    )


def day_of(event: SageMakerEvent) -> str:
    # EventBridge always stamps `time`; an event without one (hostile) keeps a stable key.
    return event.time.date().isoformat() if event.time else "undated"


def _hardware(event: SageMakerEvent) -> tuple[str | None, int]:
    types = sorted({g.instance_type for g in event.instance_groups})
    return (listing(types, sep=" + ") if types else None), event.instance_count


def failure_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    if event.kind in (ResourceKind.PIPELINE_EXECUTION, ResourceKind.PIPELINE_STEP):
        return _pipeline_alert(event, team_tag_key)
    # A tuning job's ResourceConfig is each child's, not hardware the tuning job itself holds.
    instance_type, count = _hardware(event) if event.kind.has_host_metrics else (None, 0)
    status = event.status
    if event.secondary_status and event.secondary_status != event.status:
        status = f"{event.status} ({event.secondary_status})"
    context: list[tuple[str, str]] = []
    if event.child_counts:
        context.append(("child jobs", listing([f"{k} {v}" for k, v in event.child_counts if v])))
    return Alert(
        kind=AlertKind.FAILURE,
        incident=_incident(event, "failed"),
        account=event.account,
        region=event.region,
        resource=event.kind,
        name=event.name,
        status=status,
        headline=f"{event.kind.label} {one_line(event.name)} {_failure_word(event)}",
        reason=sanitize(event.failure_reason),
        team=event.tag(team_tag_key),
        instance_type=instance_type,
        instance_count=count,
        duration_seconds=event.duration_seconds if event.kind.is_job else None,
        ended_at=event.ended_at or event.time,
        context=tuple(context),
    )


def violations_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    """A Model Monitor execution that found constraint violations. One incident per schedule and
    day: an hourly schedule that keeps finding them alerts once a day, not 24 times."""
    schedule = event.monitoring_schedule or event.name
    # EventBridge always stamps `time`; an event without one (hostile) keeps a stable key.
    dated = event.ended_at or event.time
    day = dated.date().isoformat() if dated else "undated"
    found = re.search(r"(\d+) violations?", event.exit_message or "")
    headline = f"Model Monitor schedule {schedule} found {found.group(1) if found else ''} "
    headline = " ".join(headline.split()) + " constraint violations"
    context = [("monitoring schedule", schedule)]
    if event.monitored_endpoint:
        headline += f" on endpoint {event.monitored_endpoint}"
        context.append(("endpoint", event.monitored_endpoint))
    context.append(("execution", event.name))
    instance_type, count = _hardware(event)
    return Alert(
        kind=AlertKind.VIOLATIONS,
        incident=incident_key(event.account, event.region, event.kind, schedule, "violations", day),
        account=event.account,
        region=event.region,
        resource=event.kind,
        name=event.name,
        status=f"{event.status} ({MONITOR_VIOLATIONS})",
        headline=headline,
        reason=sanitize(event.exit_message),
        team=event.tag(team_tag_key),
        instance_type=instance_type,
        instance_count=count,
        duration_seconds=event.duration_seconds,
        ended_at=event.ended_at or event.time,
        context=tuple(context),
        thread="|".join((event.account, event.region, "monitoring-schedule", schedule)),
        subject_of=("monitoring schedule", schedule),
    )


def rollback_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    """An endpoint update SageMaker rolls back: the new configuration did not go live, the
    endpoint keeps serving the previous one. One incident per rollback (its time is the key's)."""
    name = one_line(event.name)
    return replace(
        failure_alert(event, team_tag_key),
        incident=_incident(event, "rolled-back"),
        headline=f"endpoint {name} is rolling back its update: the new configuration did not go "
        "live, the previous one keeps serving",
    )


def refused_call_alert(event: SageMakerEvent) -> Alert:
    """A control-plane call SageMaker refused (CloudTrail): what never started. One incident per
    account, Region, call, error code, caller and day: a script retrying the call alerts once
    a day, not per attempt. Nothing of the request is shown, not even the job's name."""
    call = one_line(event.api_event_name) or "call"
    code = one_line(event.status)
    caller = one_line(event.caller_arn) or "unknown caller"
    day = day_of(event)
    context = [("caller", caller)]  # the call and the code are the name and the status
    if code not in NAMING_REFUSALS:  # the parser did not read its message
        context.append(("message", "in CloudTrail only: it may quote the request's parameters"))
    return Alert(
        kind=AlertKind.FAILURE,
        incident=incident_key(event.account, event.region, event.kind, call, code, caller, day),
        account=event.account,
        region=event.region,
        resource=event.kind,
        name=call,
        status=code,
        headline=f"SageMaker refused {call} ({code}): nothing was started",
        reason=sanitize(event.failure_reason),
        ended_at=event.time,
        context=tuple(context),
        thread="|".join((event.account, event.region, "refused-call", call, code, caller)),
        subject_of=("call", call),
    )


def _failure_word(event: SageMakerEvent) -> str:
    if event.kind is ResourceKind.TRACKING_SERVER:  # its status is the operation that failed
        operation = event.status.removesuffix(" Failed").lower()
        return "failed its maintenance" if operation == "maintenance" else f"failed to {operation}"
    family = BY_KIND.get(event.kind)
    stopped = family.stopped_by_sagemaker if family else {}
    return stopped.get(event.secondary_status or "", "failed")


def _pipeline_alert(event: SageMakerEvent, team_tag_key: str) -> Alert:
    """One alert per execution: the step event (when it arrives first) names the failed step."""
    # Names from the ARNs: bounded here, so the headline keeps its end however long they are.
    pipeline = one_line(event.pipeline_name) or "pipeline"
    execution = one_line((event.execution_arn or "").rsplit("/", 1)[-1] or event.name)
    context = [("pipeline", pipeline), ("execution", execution)]
    headline = f"pipeline {pipeline} execution {execution} failed"
    if event.kind is ResourceKind.PIPELINE_STEP:
        step = one_line(event.name)
        context.append(("failed step", step))
        headline += f" at step {step}"
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
        # Pipeline events carry no tags today (see SageMaker's event schema): when one does,
        # its team routes it like any other alert.
        team=event.tag(team_tag_key),
        duration_seconds=event.duration_seconds,
        ended_at=event.ended_at or event.time,
        context=tuple(context),
    )


# How an automation run ended, as a headline says it.
_ENDED = {
    "FAILED": "failed",
    "TIMED_OUT": "timed out",
    "FAULT": "faulted (a CodeBuild error, not the build's)",
}


def automation_alert(run: AutomationRun) -> Alert:
    """One alert per run: a CodePipeline action's event (when it arrives first) names where the
    execution failed, and its execution's own event is the same incident."""
    label = run.kind.label
    ended = _ENDED.get(run.status, run.status.lower().replace("_", " "))
    build = run.kind is ResourceKind.CODEBUILD_BUILD
    shown = run.run.rsplit(":", 1)[-1] if build else run.run  # a build's id repeats its project
    headline = f"{label} {one_line(shown)} of {one_line(run.name)} {ended}"
    if run.where:
        where = " / ".join(one_line(value) for _, value in run.where)
        headline += f" in phase {where}" if build else f" at {where}"
    owner = {
        ResourceKind.STATE_MACHINE_EXECUTION: "state machine",
        ResourceKind.CODEPIPELINE_EXECUTION: "pipeline",
        ResourceKind.CODEBUILD_BUILD: "project",
    }[run.kind]
    context = [(owner, run.name), ("execution" if owner != "project" else "build", run.run)]
    return Alert(
        kind=AlertKind.FAILURE,
        incident=incident_key(
            run.account, run.region, run.kind, f"{run.name}/{run.run}", "failed", str(run.attempt)
        ),
        account=run.account,
        region=run.region,
        resource=run.kind,
        name=run.name,
        status=run.status,
        headline=headline,
        reason=sanitize(run.reason),
        duration_seconds=(run.ended_at - run.started_at).total_seconds()
        if run.started_at and run.ended_at and run.ended_at >= run.started_at
        else None,
        ended_at=run.ended_at,
        context=(*context, *run.where),
        run=run.run,
    )


def utilization_alert(report: UtilizationReport, team_tag_key: str) -> Alert:
    job = report.job
    kind = AlertKind.IDLE if report.verdict.value == "idle" else AlertKind.UNDER_USED
    instance_type, count = _hardware(job)
    return Alert(
        kind=kind,
        incident=_incident(job, kind.value),
        account=job.account,
        region=job.region,
        resource=job.kind,
        name=job.name,
        status=job.status,
        headline=f"{job.kind.label} {one_line(job.name)} was {kind.value}",
        reason=sanitize("; ".join(report.reasons)),
        team=job.tag(team_tag_key),
        instance_type=instance_type,
        instance_count=count,
        duration_seconds=job.duration_seconds,
        ended_at=job.ended_at,
        utilization=tuple(report.utilization.items()),
        waste=report.waste,
        context=_own_threshold(report),
    )


def _own_threshold(report: UtilizationReport) -> tuple[tuple[str, str], ...]:
    """The job's own under-used threshold, when its tag set the one it was judged by."""
    if report.job.tag(UNDER_USED_TAG) is None or report.thresholds is None:
        return ()
    value = report.thresholds.under_used_percent
    return (("under-used threshold", f"{value:g}%, set by the job's tag {UNDER_USED_TAG}"),)


HUNG_STEP = (
    "The job hung: its hardware sat idle until SageMaker stopped it. Read the last lines of its "
    "logs (a stuck data loader, a deadlock, a wait on a missing input) before re-running: as it "
    "is, a re-run burns the same again."
)
WASTED_FAILURE_STEP = (
    "Fix the failure before re-running, and check the job's input and instance type: its "
    "hardware did little while it ran."
)


def waste_follow_up(report: UtilizationReport, team_tag_key: str) -> Alert:
    """A failed job's utilization report, as an update of its failure's incident (same thread,
    same incident in the JSON): what its hardware did and what that cost, not a second page."""
    job = report.job
    failure = failure_alert(job, team_tag_key)
    verdict = report.verdict.value
    usd = report.waste.estimated_usd if report.waste else None
    costly = f": about ${usd:,.0f} wasted" if usd is not None else ""
    hung = verdict == "idle" and job.secondary_status in BY_KIND[job.kind].stopped_by_sagemaker
    return replace(
        utilization_alert(report, team_tag_key),
        kind=AlertKind.FAILURE,
        incident=f"{failure.incident}|{verdict}",
        status=failure.status,
        headline=f"{failure.headline} with its hardware {verdict}{costly}",
        follows=failure.incident,
        step=HUNG_STEP if hung else WASTED_FAILURE_STEP,
    )


def burst_alert(
    window: StormWindow, names: list[str], individually: int, listed: int = LIST_LIMIT
) -> Alert:
    """One summary for a storm of failures of one kind in one account and Region, or of one
    scope's problems (a HyperPod cluster's nodes and instance groups)."""
    resource = window.resource
    start = datetime.fromtimestamp(window.window_start, tz=UTC)
    minutes = window.window_seconds // 60
    counts = (
        ("window", f"{start:%Y-%m-%d %H:%M} UTC + {minutes} min"),
        ("alerted one by one", str(min(individually, len(names)))),
        ("summarized here", str(max(len(names) - individually, 0))),
    )
    if window.scope:  # about one resource: its own links and chat thread
        return Alert(
            kind=AlertKind(window.kind),
            incident=window.bucket,
            account=window.account,
            region=window.region,
            resource=resource,
            name=window.scope,
            status=f"{len(names)} problems",
            headline=f"{resource.label} {window.scope}: {len(names)} problems within {minutes} "
            "minutes",
            context=(*counts, ("problems", listing(names, listed))),
            step=SCOPED_STORM_STEP,
        )
    return Alert(
        kind=AlertKind.FAILURE,
        incident=window.bucket,
        account=window.account,
        region=window.region,
        resource=resource,
        name=f"{len(names)} {resource.label}s",
        status="Failed",
        headline=f"{len(names)} {resource.label}s failed within {minutes} minutes",
        summary=True,
        subject_of=("", f"{len(names)} {resource.label}s within {minutes} min"),
        context=(*counts, ("jobs", listing(names, listed))),
    )


SCOPED_STORM_STEP = (
    "Many problems at once usually share one cause (capacity in the Availability Zone, a bad "
    "image or lifecycle script): read the first alert and the cluster's Events tab."
)
