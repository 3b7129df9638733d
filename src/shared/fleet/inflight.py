"""Running jobs whose hardware idles while it bills (issue 14, part 1).

A training or processing job's state changes tell the fleet function which jobs run (and on
what); a scheduled scan reads their hosts' last minutes in one planned GetMetricData round and
judges them with the enricher's rule. One alert per job and idle episode, under the incident
key the job's idle verdict has after it ends (so that verdict is not a second page); its
recovery and the job's end are follow-ups on the same incident.

What is kept of a running job is what the scan and its alerts need (`RunningJob`): never
hyperparameters, environment or any tag but the team's (and what sagewatch's own tags ask).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from shared.alerting.alerts import (
    HUNG_STEP,
    Alert,
    AlertKind,
    JobSays,
    Severity,
    incident_key,
    utilization_alert,
)
from shared.contracts.report import USAGE_KEYS, UtilizationReport
from shared.domain.events import InstanceGroup, SageMakerEvent
from shared.domain.prices import cost_estimate
from shared.domain.text import one_line
from shared.domain.utilization import Assessment, Metric, Thresholds, judged_metric
from shared.domain.vocabulary import BY_KIND, Outcome, ResourceKind
from shared.platform.errors import InvalidEvent

KEY_PREFIX = "running|"
# Kept this long after the job's end: its end's follow-up, and a late state change that must
# not bring it back to life, need the record.
ENDED_KEPT_SECONDS = 2 * 86_400
# SageMaker's default maximum runtime (a day), and its longest (28 days): what a job's events
# claim is held to it, so no event keeps a record (and its queries) alive longer.
DEFAULT_MAX_RUNTIME_SECONDS = 86_400
LONGEST_RUNTIME_SECONDS = 28 * 86_400
WORKING = "Training"  # the training phase whose hardware is judged (not downloading, uploading)


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A running job as the fleet table keeps it, and its idle episode."""

    account: str
    region: str
    kind: ResourceKind
    name: str
    status: str  # as alerts show it: "InProgress (Training)"
    at: float  # the state change's time: a later one replaces it, an earlier one changes nothing
    started_at: float | None  # the algorithm's start
    # Since when it does the work its hardware is judged on: a training job from its Training
    # phase (downloading its data or uploading its model keeps GPUs idle by design), a
    # processing job from its start; None while it does not.
    working_since: float | None
    instance_groups: tuple[InstanceGroup, ...]
    max_runtime_seconds: int | None = None
    team: str | None = None
    says: JobSays = field(default_factory=JobSays)  # what its own tags ask of its alerts
    ended_at: float | None = None  # set by the job's end (then only kept for its follow-up)
    ended_status: str | None = None
    episode: int = 0  # idle episodes so far
    idle_since: float | None = None  # the open episode's start (None: not idle)
    idle_percent: float | None = None  # the utilization that opened it
    alerted: bool = False  # its alert was delivered

    @classmethod
    def of(cls, event: SageMakerEvent, team_tag_key: str) -> RunningJob:
        at = event.time.timestamp() if event.time else 0.0
        started = min(event.started_at.timestamp(), at) if event.started_at else None
        working: float | None = None
        if event.status == "InProgress":
            if event.kind is not ResourceKind.TRAINING:
                working = started
            elif event.secondary_status == WORKING:
                since = event.secondary_since or event.time
                working = min(since.timestamp(), at) if since else None
        runtime = event.max_runtime_seconds
        return cls(
            account=event.account,
            region=event.region,
            kind=event.kind,
            name=event.name,
            status=_status(event),
            at=at,
            started_at=started,
            working_since=working,
            instance_groups=event.instance_groups,
            max_runtime_seconds=min(runtime, LONGEST_RUNTIME_SECONDS)
            if runtime and runtime > 0
            else None,
            team=event.tag(team_tag_key),
            says=JobSays.of(event.tags),
        )

    @property
    def key(self) -> str:
        return key_of(self.account, self.region, self.kind, self.name)

    @property
    def stops_at(self) -> float:
        """When SageMaker stops it at the latest (its maximum runtime), heard or not."""
        runtime = self.max_runtime_seconds or DEFAULT_MAX_RUNTIME_SECONDS
        return (self.started_at or self.at) + runtime

    @property
    def expires_at(self) -> int:
        if self.ended_at is not None:
            return int(self.ended_at + ENDED_KEPT_SECONDS)
        return int(self.stops_at + ENDED_KEPT_SECONDS)

    @property
    def hosts(self) -> int:
        return sum(group.count for group in self.instance_groups)

    @property
    def judged(self) -> Metric:
        """What its verdict is decided on (GPU on GPU hosts, else CPU)."""
        return judged_metric(self.probe(self.at, self.at, ""))

    def job_text(self) -> str:
        """What the table keeps of the job itself (the episode has attributes of its own)."""
        return json.dumps(
            {
                "account": self.account,
                "region": self.region,
                "kind": self.kind.value,
                "name": self.name,
                "status": self.status,
                "started_at": self.started_at,
                "working_since": self.working_since,
                "groups": [[g.instance_type, g.count, g.name] for g in self.instance_groups],
                "max_runtime_seconds": self.max_runtime_seconds,
                "team": self.team,
                "silenced": self.says.silenced,
                "severity": self.says.severity.value if self.says.severity else None,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RunningJob:
        """A record as the fleet table returns it (numbers may come back as text)."""
        try:
            job = json.loads(record["job"])
            return cls(
                account=str(job["account"]),
                region=str(job["region"]),
                kind=ResourceKind(job["kind"]),
                name=str(job["name"]),
                status=str(job["status"]),
                at=float(record["at"]),
                started_at=_number(job.get("started_at")),
                working_since=_number(job.get("working_since")),
                instance_groups=tuple(
                    InstanceGroup(str(t), int(n), None if g is None else str(g))
                    for t, n, g in job["groups"]
                ),
                max_runtime_seconds=_whole(job.get("max_runtime_seconds")),
                team=None if job.get("team") is None else str(job["team"]),
                says=JobSays(
                    job.get("silenced") is True,
                    Severity(job["severity"]) if job.get("severity") else None,
                ),
                ended_at=_number(record.get("ended_at")),
                ended_status=record.get("ended_status"),
                episode=_whole(record.get("episode")) or 0,
                idle_since=_number(record.get("idle_since")),
                idle_percent=_number(record.get("idle_percent")),
                alerted=record.get("alerted") is True,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidEvent(f"running job record unreadable: {error!r}"[:300]) from None

    def probe(self, start: float, end: float, team_tag_key: str) -> SageMakerEvent:
        """The job as the planner and the verdict see it, over [start, end)."""
        return SageMakerEvent(
            event_id=self.key,
            source="sagewatch.fleet",
            detail_type="running job",
            account=self.account,
            region=self.region,
            kind=self.kind,
            name=self.name,
            status=self.status,
            outcome=Outcome.IN_PROGRESS,
            time=_at(end),
            started_at=_at(start),
            ended_at=_at(end),
            instance_groups=self.instance_groups,
            max_runtime_seconds=self.max_runtime_seconds,
            tags=((team_tag_key, self.team),) if self.team else (),
        )

    @property
    def incident(self) -> str:
        """The open (or last) episode's incident: the first is the key the job's idle verdict
        has after it ends; later ones are numbered."""
        more = (f"episode-{self.episode}",) if self.episode > 1 else ()
        return incident_key(self.account, self.region, self.kind, self.name, "idle", *more)


def key_of(account: str, region: str, kind: ResourceKind, name: str) -> str:
    """The table key; a long one keeps a digest (DynamoDB keys hold 2 KB, hostile names more)."""
    text = "|".join((account, region, kind.value, name))
    if len(text) > 512:
        text = text[:440] + "#" + hashlib.sha256(text.encode()).hexdigest()
    return KEY_PREFIX + text


def _status(event: SageMakerEvent) -> str:
    if event.secondary_status and event.secondary_status != event.status:
        return f"{event.status} ({event.secondary_status})"
    return event.status


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _whole(value: Any) -> int | None:
    return None if value is None else int(float(value))


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _clock(seconds: float) -> str:
    return f"{_at(seconds):%Y-%m-%d %H:%M} UTC"


def _span(seconds: float) -> str:
    minutes = max(round(seconds / 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _device(job: RunningJob) -> str:
    return "GPUs" if job.judged is Metric.GPU else "CPUs"


def hourly_cost(job: RunningJob) -> float | None:
    """What the job's instances bill an hour (on-demand list prices), None if unpriced."""
    return cost_estimate(job.region, [(g.instance_type, g.count) for g in job.instance_groups])


def idle_cost(job: RunningJob, since: float, until: float, percent: float) -> float | None:
    """The unused share of what the job billed from `since` to `until` (as a report's waste)."""
    hourly = hourly_cost(job)
    if hourly is None:
        return None
    return round(hourly * max(until - since, 0) / 3600 * (1 - min(max(percent, 0), 100) / 100), 2)


# ---- the three alerts of an episode ------------------------------------------------------------


def in_flight_alert(
    job: RunningJob,
    assessment: Assessment,
    since: float,
    now: float,
    thresholds: Thresholds,
    team_tag_key: str,
) -> Alert:
    """A running job whose GPUs (CPUs on CPU hosts) idle: what idles since when, what it costs an
    hour, how long it has run and may still run. One per episode (its incident)."""
    probe = job.probe(since, now, team_tag_key)
    report = UtilizationReport.of(probe, assessment, thresholds)
    device, percent = _device(job), assessment.deciding_percent or 0.0
    context = [("idle since", f"{_clock(since)} ({_span(now - since)})")]
    if job.started_at is not None:
        ran = f"{_span(now - job.started_at)} since {_clock(job.started_at)}"
        if job.max_runtime_seconds:
            left = job.started_at + job.max_runtime_seconds - now
            ran += f", stopped by SageMaker at its maximum runtime in {_span(left)}"
        context.append(("running for", ran))
    hourly = hourly_cost(job)
    step = IN_FLIGHT_STEP
    if hourly is not None:
        context.append(("bills", f"about ${hourly:,.2f} an hour (on-demand list prices)"))
        step += f" Until it ends it bills about ${hourly:,.2f} an hour."
    return job.says.applied(
        replace(
            utilization_alert(report, team_tag_key),
            incident=job.incident,
            status=job.status,
            headline=f"{job.kind.label} {one_line(job.name)} is running with its {device} idle "
            f"({percent:.1f}% since {_at(since):%H:%M} UTC)",
            duration_seconds=None,
            ended_at=None,
            context=tuple(context),
            step=step,
        )
    )


def recovered_alert(
    job: RunningJob, assessment: Assessment, now: float, window_seconds: int, team_tag_key: str
) -> Alert:
    """The follow-up when the job's hardware works again (the episode closes)."""
    since = job.idle_since or now
    busy_from = max(since, now - window_seconds)
    device, percent = _device(job), assessment.deciding_percent or 0.0
    cost = idle_cost(job, since, busy_from, job.idle_percent or 0.0)
    spent = f": about ${cost:,.2f} of idle hardware" if cost is not None else ""
    return _follow_up(
        job,
        "recovered",
        job.status,
        f"{job.kind.label} {one_line(job.name)} is busy again ({device} {percent:.1f}%), after "
        f"idling from {_at(since):%H:%M} to about {_at(busy_from):%H:%M} UTC{spent}",
        RECOVERED_STEP,
        team_tag_key,
    )


def ended_alert(job: RunningJob, team_tag_key: str) -> Alert:
    """The follow-up when a job ends with its hardware still idle: what the episode cost."""
    since = job.idle_since or 0.0
    ended = job.ended_at or since
    cost = idle_cost(job, since, ended, job.idle_percent or 0.0)
    spent = f": about ${cost:,.2f} of idle hardware" if cost is not None else ""
    status = job.ended_status or "ended"
    family = BY_KIND.get(job.kind)
    hung = family is not None and any(s in status for s in family.stopped_by_sagemaker)
    alert = _follow_up(
        job,
        "ended",
        status,
        f"{job.kind.label} {one_line(job.name)} ended with its {_device(job)} idle since "
        f"{_at(since):%H:%M} UTC{spent}",
        HUNG_STEP if hung else ENDED_IDLE_STEP,
        team_tag_key,
    )
    ran = None if job.started_at is None else max(ended - job.started_at, 0.0)
    return replace(alert, duration_seconds=ran, ended_at=_at(ended))


def _follow_up(
    job: RunningJob, what: str, status: str, headline: str, step: str, team_tag_key: str
) -> Alert:
    groups = sorted({g.instance_type for g in job.instance_groups})
    alert = Alert(
        kind=AlertKind.IDLE,
        incident=f"{job.incident}|{what}",
        account=job.account,
        region=job.region,
        resource=job.kind,
        name=job.name,
        status=status,
        headline=headline,
        team=job.team,
        instance_type=" + ".join(groups) or None,
        instance_count=sum(g.count for g in job.instance_groups),
        # What opened the episode (the GPU's or CPU's), not this moment's.
        utilization=((USAGE_KEYS[job.judged], job.idle_percent),),
        step=step,
        follows=job.incident,
    )
    return job.says.applied(alert)


IN_FLIGHT_STEP = (
    "Read the last lines of its logs: a stuck data loader, a deadlock or a wait on a missing "
    "input keeps accelerators idle. If it is stuck, stop it from the console."
)
RECOVERED_STEP = "Nothing to do: it works again. If it idles again, a new alert follows."
ENDED_IDLE_STEP = (
    "Before re-running it, read the last lines of its logs: it sat idle until it ended, and a "
    "re-run as it is burns the same again."
)
