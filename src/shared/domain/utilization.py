"""Host utilization: plan GetMetricData queries for a batch of jobs, normalize, give a verdict.

Facts respected here (see DESIGN.md): exact `Host` dimensions (never a SEARCH on the job name),
a window from the algorithm start to the end, `AccountId` of the job's account, only metrics the
host type emits, ≤ 500 queries and ≤ 100,800 points per call, CPU/GPU summed over cores/GPUs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.events import SageMakerEvent
from shared.domain.instances import instance_spec
from shared.domain.vocabulary import UNDER_USED_TAG, ResourceKind

MAX_QUERIES_PER_CALL = 500
MAX_POINTS_PER_CALL = 100_800
MAX_POINTS_PER_QUERY = 1_440  # one day of 1-minute points; longer jobs get a coarser period
MINUTE = 60

NAMESPACES = {
    ResourceKind.TRAINING: "/aws/sagemaker/TrainingJobs",
    ResourceKind.PROCESSING: "/aws/sagemaker/ProcessingJobs",
    ResourceKind.TRANSFORM: "/aws/sagemaker/TransformJobs",
}


class Metric(StrEnum):
    CPU = "CPUUtilization"
    MEMORY = "MemoryUtilization"
    DISK = "DiskUtilization"
    GPU = "GPUUtilization"
    GPU_MEMORY = "GPUMemoryUtilization"


class Verdict(StrEnum):
    OK = "ok"
    UNDER_USED = "under-used"
    IDLE = "idle"
    INSUFFICIENT_DATA = "insufficient-data"


WASTEFUL = (Verdict.UNDER_USED, Verdict.IDLE)  # the verdicts that alert and count as waste


# Metrics reported as a sum over cores (CPU) or devices (GPU); the rest are already 0-100.
_SUMMED_OVER_VCPUS = {Metric.CPU}
_SUMMED_OVER_GPUS = {Metric.GPU, Metric.GPU_MEMORY}


@dataclass(frozen=True, slots=True)
class Thresholds:
    under_used_percent: float = 20.0
    idle_percent: float = 2.0
    min_duration_seconds: int = 600


@dataclass(frozen=True, slots=True)
class JobKey:
    account: str
    region: str
    kind: ResourceKind
    name: str

    @classmethod
    def of(cls, job: SageMakerEvent) -> JobKey:
        return cls(job.account, job.region, job.kind, job.name)


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    job: JobKey
    host: str
    metric: Metric
    period: int
    start: datetime
    end: datetime

    def to_api(self) -> dict[str, object]:
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACES[self.job.kind],
                    "MetricName": self.metric.value,
                    "Dimensions": [{"Name": "Host", "Value": self.host}],
                },
                "Period": self.period,
                "Stat": "Average",
            },
            "AccountId": self.job.account,
            "ReturnData": True,
        }


@dataclass(frozen=True, slots=True)
class Call:
    """One GetMetricData request: queries sharing the call's StartTime/EndTime."""

    queries: tuple[Query, ...]
    start: datetime
    end: datetime

    @property
    def points(self) -> int:
        seconds = (self.end - self.start).total_seconds()
        return sum(math.ceil(seconds / q.period) for q in self.queries)


@dataclass(frozen=True, slots=True)
class Skip:
    job: JobKey
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    calls: tuple[Call, ...]
    skipped: tuple[Skip, ...] = ()

    @property
    def query_count(self) -> int:
        return sum(len(call.queries) for call in self.calls)


@dataclass(frozen=True, slots=True)
class Observed:
    """What CloudWatch returned for one job: each reporting host's mean, per metric."""

    host_means: Mapping[Metric, tuple[float, ...]] = field(default_factory=dict)
    datapoints: int = 0


@dataclass(frozen=True, slots=True)
class Usage:
    """Normalized utilization of one job: mean percent per metric (None when not measured)."""

    percent: Mapping[Metric, float | None] = field(default_factory=dict)
    datapoints: int = 0


@dataclass(frozen=True, slots=True)
class Assessment:
    verdict: Verdict
    usage: Usage
    reasons: tuple[str, ...]
    primary: Metric | None = None  # the metric the verdict was decided on

    @property
    def deciding_percent(self) -> float | None:
        return None if self.primary is None else self.usage.percent.get(self.primary)


def thresholds_for(job: SageMakerEvent, thresholds: Thresholds) -> Thresholds:
    """The deployment's thresholds, with the job's own under-used threshold where its tag sets
    one (a number above the idle threshold, at most 100; anything else is ignored)."""
    raw = job.tag(UNDER_USED_TAG)
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return thresholds
    if value is None or not thresholds.idle_percent < value <= 100:
        return thresholds
    return replace(thresholds, under_used_percent=value)


def window(job: SageMakerEvent) -> tuple[datetime, datetime] | None:
    """From the algorithm start to the end, widened to whole minutes."""
    start = job.started_at
    end = job.ended_at or job.time
    if start is None or end is None or end <= start:
        return None
    start = start.replace(second=0, microsecond=0)
    try:
        end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    except OverflowError:  # an end in the last minute a datetime holds (9999-12-31 23:59)
        return None
    return start, end


def metrics_for(job: SageMakerEvent) -> tuple[Metric, ...] | None:
    """What the job's hosts emit; None when an instance type is unknown."""
    specs = [instance_spec(group.instance_type) for group in job.instance_groups]
    if not specs or any(spec is None for spec in specs):
        return None
    metrics = [Metric.CPU, Metric.MEMORY]
    if job.kind is not ResourceKind.TRANSFORM:  # transform hosts publish no disk metric
        metrics.append(Metric.DISK)
    if any(spec is not None and spec.gpus > 0 for spec in specs):
        metrics += [Metric.GPU, Metric.GPU_MEMORY]
    return tuple(metrics)


def deciding_metrics(job: SageMakerEvent) -> tuple[Metric, ...]:
    """What a verdict needs: GPU on GPU hosts, CPU on all (the job table shows both)."""
    return tuple(m for m in metrics_for(job) or () if m in (Metric.GPU, Metric.CPU))


def judged_metric(job: SageMakerEvent) -> Metric:
    """The one metric a verdict is decided on: GPU utilization on GPU hosts, CPU otherwise."""
    return Metric.GPU if Metric.GPU in (metrics_for(job) or ()) else Metric.CPU


def supporting_metrics(job: SageMakerEvent) -> tuple[Metric, ...]:
    """The rest of what the hosts emit: context for a wasteful job's alert, never its verdict."""
    return tuple(m for m in metrics_for(job) or () if m not in deciding_metrics(job))


def hosts_for(job: SageMakerEvent, discovered: Mapping[JobKey, Sequence[str]]) -> list[str]:
    """`<job>/algo-<n>` for training and processing; transform hosts come from ListMetrics."""
    if job.kind is ResourceKind.TRANSFORM:
        return sorted(discovered.get(JobKey.of(job), ()))
    return [f"{job.name}/algo-{n}" for n in range(1, job.instance_count + 1)]


def screen(job: SageMakerEvent, thresholds: Thresholds) -> str | None:
    """Why a job cannot be measured, before spending a query on it."""
    if not job.kind.has_host_metrics:
        return f"{job.kind.label}s publish no host metrics"
    if not job.instance_groups:
        return "no instance type in the event"
    if any(
        (spec := instance_spec(g.instance_type)) and spec.accelerators for g in job.instance_groups
    ):
        return "Trainium/Inferentia load is not in the host metrics read here"
    if metrics_for(job) is None:
        unknown = sorted(
            {g.instance_type for g in job.instance_groups if not instance_spec(g.instance_type)}
        )
        return f"unknown instance type {', '.join(unknown)}"
    duration = job.duration_seconds
    if duration is None or window(job) is None:
        return "no algorithm start or end time"
    if duration < thresholds.min_duration_seconds:
        return f"ran {duration:.0f}s, shorter than the {thresholds.min_duration_seconds}s minimum"
    return None


def plan(
    jobs: Iterable[SageMakerEvent],
    thresholds: Thresholds,
    now: datetime,
    discovered_hosts: Mapping[JobKey, Sequence[str]] | None = None,
    wanted: Callable[[SageMakerEvent], Sequence[Metric]] = deciding_metrics,
) -> Plan:
    """As few calls as the query and point limits allow: jobs sorted by window, packed greedily;
    per host only the metrics `wanted` (by default what the verdict needs: every metric asked
    for is billed). `now` decides the resolution CloudWatch still keeps for each job's window."""
    discovered = discovered_hosts or {}
    skipped: list[Skip] = []
    pending: list[tuple[datetime, datetime, list[Query]]] = []
    for job in jobs:
        reason = screen(job, thresholds)
        hosts = hosts_for(job, discovered) if reason is None else []
        if reason is None and not hosts:
            reason = "no hosts found in CloudWatch"
        elif len(hosts) > 2 * job.instance_count:  # transform hosts, listed: the account
            # publishes them. Room for each instance replaced once; past it, which are the job's?
            reason = f"{len(hosts)} hosts in CloudWatch for {job.instance_count} instances"
        span = window(job)
        metrics = metrics_for(job)
        if reason is not None or span is None or metrics is None:
            skipped.append(Skip(JobKey.of(job), reason or "not measurable"))
            continue
        period = _period(span, now)
        key = JobKey.of(job)
        queries = [
            Query("", key, host, metric, period, *span) for host in hosts for metric in wanted(job)
        ]
        pending.append((span[0], span[1], queries))

    calls: list[Call] = []
    current: list[Query] = []
    start = end = None
    for job_start, job_end, queries in sorted(pending, key=lambda p: (p[0], p[1])):
        for query in queries:
            new_start = min(start, job_start) if start else job_start
            new_end = max(end, job_end) if end else job_end
            candidate = Call((*current, query), new_start, new_end)
            if current and (
                len(candidate.queries) > MAX_QUERIES_PER_CALL
                or candidate.points > MAX_POINTS_PER_CALL
            ):
                calls.append(Call(tuple(current), start, end))  # type: ignore[arg-type]
                current, start, end = [query], job_start, job_end
            else:
                current, start, end = list(candidate.queries), new_start, new_end
    if current:
        calls.append(Call(tuple(current), start, end))  # type: ignore[arg-type]
    return Plan(tuple(_number(calls)), tuple(skipped))


def _period(span: tuple[datetime, datetime], now: datetime) -> int:
    """≤ 1,440 points per query, and a multiple of what CloudWatch still keeps for data that
    old: 1-minute points for 15 days, 5-minute for 63, then hourly."""
    minutes = (span[1] - span[0]).total_seconds() / MINUTE
    age = (now - span[0]).days
    step = MINUTE if age < 15 else 5 * MINUTE if age < 63 else 60 * MINUTE
    wanted = MINUTE * max(1, math.ceil(minutes / MAX_POINTS_PER_QUERY))
    return step * math.ceil(wanted / step)


def _number(calls: list[Call]) -> list[Call]:
    """Ids unique within a call, as GetMetricData requires (`q0`, `q1`, ...)."""
    return [
        Call(
            tuple(
                Query(f"q{i}", q.job, q.host, q.metric, q.period, q.start, q.end)
                for i, q in enumerate(call.queries)
            ),
            call.start,
            call.end,
        )
        for call in calls
    ]


Series = Mapping[Query, Sequence[tuple[datetime, float]]]


def observe(series: Series) -> dict[JobKey, Observed]:
    """Per job and metric, each host's mean over the job's own window (a call's window may be
    wider than the job's, so points outside it are dropped)."""
    per_job: dict[JobKey, dict[Metric, list[float]]] = {}
    points: dict[JobKey, int] = {}
    for query, values in series.items():
        inside = [v for t, v in values if query.start <= t < query.end]
        metrics = per_job.setdefault(query.job, {})
        points[query.job] = points.get(query.job, 0) + len(inside)
        if inside:
            metrics.setdefault(query.metric, []).append(sum(inside) / len(inside))
    return {
        job: Observed({m: tuple(v) for m, v in means.items()}, points.get(job, 0))
        for job, means in per_job.items()
    }


def merged(first: Observed, second: Observed) -> Observed:
    """Two rounds' observations of one job (different metrics)."""
    return Observed({**first.host_means, **second.host_means}, first.datapoints + second.datapoints)


def normalize(job: SageMakerEvent, observed: Observed) -> Usage:
    """Host means → percent of capacity. CPU sums over vCPUs and GPU over GPUs (0-100 × n).

    Homogeneous clusters divide by the capacity of the hosts that reported. Heterogeneous
    clusters (instance groups) cannot map hosts to types, so a summed metric is only given when
    every host that should report did, and is divided by the whole cluster's capacity.
    """
    specs = [(instance_spec(g.instance_type), g.count) for g in job.instance_groups]
    total_vcpus = sum(s.vcpus * n for s, n in specs if s)
    total_gpus = sum(s.gpus * n for s, n in specs if s)
    gpu_hosts = sum(n for s, n in specs if s and s.gpus > 0)
    homogeneous = len({g.instance_type for g in job.instance_groups}) == 1
    result: dict[Metric, float | None] = {}
    for metric, means in observed.host_means.items():
        if metric in _SUMMED_OVER_VCPUS or metric in _SUMMED_OVER_GPUS:
            cluster = total_vcpus if metric in _SUMMED_OVER_VCPUS else total_gpus
            expected_hosts = job.instance_count if metric in _SUMMED_OVER_VCPUS else gpu_hosts
            if homogeneous:
                capacity = cluster / max(job.instance_count, 1) * len(means)
            elif len(means) == expected_hosts:
                capacity = cluster
            else:
                result[metric] = None
                continue
            result[metric] = round(sum(means) / capacity, 2) if capacity else None
        else:
            result[metric] = round(sum(means) / len(means), 2)
    return Usage(result, observed.datapoints)


def assess(job: SageMakerEvent, usage: Usage, thresholds: Thresholds) -> Assessment:
    """GPU hosts are judged by GPU utilization, CPU hosts by CPU; one rule for both."""
    primary = judged_metric(job)
    value = usage.percent.get(primary)
    label = "GPU" if primary is Metric.GPU else "CPU"
    if value is None:
        return Assessment(
            Verdict.INSUFFICIENT_DATA, usage, (f"no complete {label} datapoints for the job",)
        )
    if value < thresholds.idle_percent:
        return Assessment(
            Verdict.IDLE,
            usage,
            (
                f"mean {label} utilization {value:.1f}% is below the idle threshold "
                f"{thresholds.idle_percent:g}%",
            ),
            primary,
        )
    if value < thresholds.under_used_percent:
        return Assessment(
            Verdict.UNDER_USED,
            usage,
            (f"mean {label} utilization {value:.1f}% is below {thresholds.under_used_percent:g}%",),
            primary,
        )
    return Assessment(Verdict.OK, usage, (f"mean {label} utilization {value:.1f}%",), primary)
