"""The "Job Utilization Report" event the enricher puts on the monitoring bus (schema version 1):
one model, written by `UtilizationReport.detail` and read by `UtilizationReport.parse`
(docs/report.schema.json describes the same; a test holds them together).

It carries a secret-free snapshot of the job (no Environment, HyperParameters or request
parameters ever reach it), the verdict and the normalized utilization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.events import InstanceGroup, SageMakerEvent
from shared.domain.parser import detail_of, envelope, outcome_of, parse_tags, parse_time
from shared.domain.prices import cost_estimate, price_table_as_of
from shared.domain.text import sanitize
from shared.domain.utilization import WASTEFUL, Assessment, Metric, Thresholds, Verdict
from shared.domain.vocabulary import JOB_TAGS, ResourceKind
from shared.platform.errors import InvalidEvent

SAGEWATCH_SOURCE = "sagewatch"
REPORT_DETAIL_TYPE = "Job Utilization Report"
SCHEMA_VERSION = 1

USAGE_KEYS = {
    Metric.GPU: "gpu_percent",
    Metric.GPU_MEMORY: "gpu_memory_percent",
    Metric.CPU: "cpu_percent",
    Metric.MEMORY: "memory_percent",
    Metric.DISK: "disk_percent",
}


@dataclass(frozen=True, slots=True)
class Waste:
    """Paid capacity a job left unused: its instance-hours × (1 − the utilization its verdict was
    decided on), priced with the shipped on-demand table (an estimate; None without a price)."""

    instance_hours: float
    wasted_instance_hours: float
    estimated_usd: float | None = None
    price_as_of: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """As reports and alert documents carry it (both schemas name the same four fields)."""
        return {
            "instance_hours": self.instance_hours,
            "wasted_instance_hours": self.wasted_instance_hours,
            "estimated_usd": self.estimated_usd,
            "price_as_of": self.price_as_of,
        }


def waste_of(job: SageMakerEvent, assessment: Assessment) -> Waste | None:
    """Only for under-used and idle jobs with a measured utilization and a known run time."""
    percent, duration = assessment.deciding_percent, job.duration_seconds
    if assessment.verdict not in WASTEFUL:
        return None
    if percent is None or duration is None or not job.instance_groups:
        return None
    unused = 1 - min(max(percent, 0.0), 100.0) / 100
    hours = [(g.instance_type, duration / 3600 * g.count) for g in job.instance_groups]
    instance_hours = sum(h for _, h in hours)
    cost = cost_estimate(job.region, hours)
    return Waste(
        round(instance_hours, 2),
        round(instance_hours * unused, 2),
        None if cost is None else round(cost * unused, 2),
        None if cost is None else price_table_as_of(),
    )


@dataclass(frozen=True, slots=True)
class UtilizationReport:
    job: SageMakerEvent
    verdict: Verdict
    utilization: Mapping[str, float | None]  # by USAGE_KEYS value; None: not measured
    datapoints: int
    reasons: tuple[str, ...]
    waste: Waste | None = None
    thresholds: Thresholds | None = None  # what the verdict was decided with

    @classmethod
    def of(
        cls, job: SageMakerEvent, assessment: Assessment, thresholds: Thresholds
    ) -> UtilizationReport:
        return cls(
            job,
            assessment.verdict,
            {key: assessment.usage.percent.get(metric) for metric, key in USAGE_KEYS.items()},
            assessment.usage.datapoints,
            assessment.reasons,
            waste_of(job, assessment),
            thresholds,
        )

    @property
    def instance_hours(self) -> float | None:
        duration = self.job.duration_seconds
        return None if duration is None else round(duration / 3600 * self.job.instance_count, 2)

    def detail(self, team_tag_key: str) -> dict[str, Any]:
        """The event's detail; of the job's tags only the team tag and sagewatch's own
        (`JOB_TAGS`) are carried."""
        thresholds = self.thresholds
        return {
            "schema_version": SCHEMA_VERSION,
            "job": _job_detail(self.job, team_tag_key),
            "verdict": self.verdict.value,
            "utilization": dict(self.utilization),
            "instance_hours": self.instance_hours,
            "waste": self.waste.as_dict() if self.waste else None,
            "datapoints": self.datapoints,
            "reasons": list(self.reasons),
            "thresholds": None
            if thresholds is None
            else {
                "under_used_percent": thresholds.under_used_percent,
                "idle_percent": thresholds.idle_percent,
                "min_duration_seconds": thresholds.min_duration_seconds,
            },
        }

    @classmethod
    def parse(cls, raw: Any) -> UtilizationReport:
        """A report event as the bus delivers it; `InvalidEvent` names what is wrong."""
        common = envelope(raw)
        return cls.from_detail(detail_of(raw), common["event_id"], common["time"])

    @classmethod
    def from_detail(
        cls, detail: Mapping[str, Any], event_id: str = "", time: datetime | None = None
    ) -> UtilizationReport:
        try:
            return _from_detail(detail, event_id, time)
        except (ValueError, TypeError, KeyError, OverflowError) as error:  # wrong types inside
            raise InvalidEvent(f"malformed utilization report: {error}") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _job_detail(job: SageMakerEvent, team_tag_key: str) -> dict[str, Any]:
    groups = [
        {"instance_type": g.instance_type, "count": g.count, "name": g.name}
        for g in job.instance_groups
    ]
    types = {g.instance_type for g in job.instance_groups}
    return {
        "account": job.account,
        "region": job.region,
        "kind": job.kind.value,
        "name": job.name,
        "arn": job.arn,
        "status": job.status,
        "secondary_status": job.secondary_status,
        "instance_type": types.pop() if len(types) == 1 else None,
        "instance_count": job.instance_count,
        "instance_groups": groups,
        "started": _iso(job.started_at),
        "ended": _iso(job.ended_at),
        "duration_seconds": job.duration_seconds,
        "failure_reason": sanitize(job.failure_reason),
        "tags": {
            key: value[:64]
            for key in (team_tag_key, *JOB_TAGS)
            if (value := job.tag(key)) is not None
        },
        "tuning_job_arn": job.tuning_job_arn,
        "source_event_id": job.event_id,
    }


def _parse_waste(raw: Any) -> Waste | None:
    if not isinstance(raw, Mapping):
        return None
    usd = raw.get("estimated_usd")
    return Waste(
        float(raw["instance_hours"]),
        float(raw["wasted_instance_hours"]),
        None if usd is None else float(usd),
        _string(raw.get("price_as_of")),
    )


def _parse_thresholds(raw: Any) -> Thresholds | None:
    if not isinstance(raw, Mapping):
        return None
    return Thresholds(
        float(raw["under_used_percent"]),
        float(raw["idle_percent"]),
        int(raw["min_duration_seconds"]),
    )


def _from_detail(
    detail: Mapping[str, Any], event_id: str, time: datetime | None
) -> UtilizationReport:
    version = detail.get("schema_version")
    if isinstance(version, bool) or version != SCHEMA_VERSION:  # True == 1 in Python
        raise InvalidEvent(f"report schema_version {str(version)[:20]!r} is not {SCHEMA_VERSION}")
    job = detail.get("job")
    if not isinstance(job, Mapping):
        raise InvalidEvent("report detail.job is missing or not an object")
    try:
        verdict = Verdict(str(detail.get("verdict")))
        kind = ResourceKind(str(job.get("kind")))
    except ValueError as error:
        raise InvalidEvent(f"report has {error}") from None
    name, account, region = job.get("name"), job.get("account"), job.get("region")
    if not all(isinstance(v, str) and v for v in (name, account, region)):
        raise InvalidEvent("report job needs string name, account and region")
    groups = tuple(
        InstanceGroup(str(g["instance_type"]), int(g.get("count") or 1), g.get("name"))
        for g in job.get("instance_groups") or []
        if isinstance(g, Mapping) and g.get("instance_type")
    )
    if not groups and isinstance(job.get("instance_type"), str):
        groups = (InstanceGroup(job["instance_type"], int(job.get("instance_count") or 1)),)
    status = str(job.get("status") or "")
    snapshot = SageMakerEvent(
        event_id=str(job.get("source_event_id") or event_id),
        source=SAGEWATCH_SOURCE,
        detail_type=REPORT_DETAIL_TYPE,
        account=str(account),
        region=str(region),
        kind=kind,
        name=str(name),
        status=status,
        outcome=outcome_of(kind, status),
        secondary_status=_string(job.get("secondary_status")),
        time=time,
        arn=_string(job.get("arn")),
        started_at=parse_time(job.get("started")),
        ended_at=parse_time(job.get("ended")),
        instance_groups=groups,
        tags=parse_tags(job.get("tags")),
        tuning_job_arn=_string(job.get("tuning_job_arn")),
        failure_reason=_string(job.get("failure_reason")),
    )
    utilization = detail.get("utilization")
    usage = {
        key: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
        for key, v in (utilization.items() if isinstance(utilization, Mapping) else [])
    }
    reasons = detail.get("reasons")
    return UtilizationReport(
        snapshot,
        verdict,
        usage,
        int(detail.get("datapoints") or 0),
        tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
        _parse_waste(detail.get("waste")),
        _parse_thresholds(detail.get("thresholds")),
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
