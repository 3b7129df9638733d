"""EMF records through Powertools: dimensions of low cardinality, names only as properties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from shared.contracts.report import USAGE_KEYS, UtilizationReport
from shared.domain.utilization import Verdict
from shared.platform.observability import METRICS_NAMESPACE

if TYPE_CHECKING:  # the enricher never builds alerts: keep them out of its cold start
    from shared.alerting.alerts import Alert
    from shared.contracts.inventory import Snapshot

# The only EMF properties that leave: names and labels, never event payloads.
METRIC_PROPERTIES = frozenset(
    {"JobName", "Name", "Region", "Verdict", "InstanceTypes", "Project", "Environment"}
)
_UTILIZATION_METRICS = {key: f"{metric.value}Normalized" for metric, key in USAGE_KEYS.items()}


def _record() -> EphemeralMetrics:
    # service="" keeps Powertools from adding a constant "service" dimension to every metric.
    return EphemeralMetrics(namespace=METRICS_NAMESPACE, service="")


def emit_job(report: UtilizationReport) -> None:
    """One record per finished job: counted per account × job type × status."""
    job, record = report.job, _record()
    record.add_dimension("Account", job.account)
    record.add_dimension("JobType", job.kind.value)
    record.add_dimension("Status", job.status or "unknown")
    record.add_metric("Jobs", MetricUnit.Count, 1)
    if report.verdict in (Verdict.UNDER_USED, Verdict.IDLE):
        record.add_metric("UnderUsedJobs", MetricUnit.Count, 1)
    if waste := report.waste:
        record.add_metric("WastedInstanceHours", MetricUnit.Count, waste.wasted_instance_hours)
        if waste.estimated_usd is not None:
            record.add_metric("EstimatedWasteUSD", MetricUnit.Count, waste.estimated_usd)
    if (duration := job.duration_seconds) is not None:
        record.add_metric("JobDurationSeconds", MetricUnit.Seconds, duration)
        record.add_metric("InstanceHours", MetricUnit.Count, duration / 3600 * job.instance_count)
    for key, name in _UTILIZATION_METRICS.items():
        value = report.utilization.get(key)
        if value is not None:
            record.add_metric(name, MetricUnit.Percent, value)
    _properties(
        record,
        JobName=job.name,
        Region=job.region,
        Verdict=report.verdict.value,
        InstanceTypes=sorted({g.instance_type for g in job.instance_groups}),
    )
    record.flush_metrics()


def emit_alert(alert: Alert) -> None:
    record = _record()
    record.add_dimension("Account", alert.account)
    record.add_dimension("JobType", alert.resource.value)
    record.add_dimension("AlertKind", alert.kind.value)
    record.add_metric("Alerts", MetricUnit.Count, 1)
    _properties(record, Name=alert.name)
    record.flush_metrics()


def emit_inventory(snapshot: Snapshot, metric_names: dict[str, str]) -> None:
    """One record per snapshot: what each workload account runs now, per account and Region."""
    record = _record()
    record.add_dimension("Account", snapshot.account)
    record.add_dimension("Region", snapshot.region)
    for kpi, count in snapshot.counts.items():
        record.add_metric(metric_names[kpi], MetricUnit.Count, count)
    _properties(record, Project=snapshot.project, Environment=snapshot.environment)
    record.flush_metrics()


def _properties(record: EphemeralMetrics, **properties: Any) -> None:
    for key, value in metric_properties(properties).items():
        record.add_metadata(key, value)


def metric_properties(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key in METRIC_PROPERTIES}
