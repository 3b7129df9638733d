"""Every custom metric sagewatch emits (EMF through Powertools), in one place for the cost review.

A custom metric is billed for each hour in which any of its series gets a datapoint, so every
dimension here has a handful of values whatever the fleet's size: job types, alert kinds,
functions. What varies by account, job or endpoint (durations, utilization, waste per account,
inventories) is queried from the archive log group instead (the dashboard's log widgets), where
it costs nothing until someone looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from shared.contracts.report import UtilizationReport
from shared.domain.utilization import WASTEFUL
from shared.platform.observability import METRICS_NAMESPACE

if TYPE_CHECKING:  # the enricher never builds alerts: keep them out of its cold start
    from shared.alerting.alerts import Alert

# The only EMF properties that leave (log fields beside the metrics, never dimensions): names and
# labels, never event payloads.
METRIC_PROPERTIES = frozenset({"Account", "Status", "JobName", "Name", "Region", "Verdict"})


def _record() -> EphemeralMetrics:
    # service="" keeps Powertools from adding a constant "service" dimension to every metric.
    return EphemeralMetrics(namespace=METRICS_NAMESPACE, service="")


def emit_job(report: UtilizationReport) -> None:
    """One record per finished job, counted per job type (at most 5 names × 3 types)."""
    job, record = report.job, _record()
    record.add_dimension("JobType", job.kind.value)
    record.add_metric("Jobs", MetricUnit.Count, 1)
    if job.is_failure:
        record.add_metric("FailedJobs", MetricUnit.Count, 1)
    if report.verdict in WASTEFUL:
        record.add_metric("UnderUsedJobs", MetricUnit.Count, 1)
    if waste := report.waste:
        record.add_metric("WastedInstanceHours", MetricUnit.Count, waste.wasted_instance_hours)
        if waste.estimated_usd is not None:
            record.add_metric("EstimatedWasteUSD", MetricUnit.Count, waste.estimated_usd)
    _properties(
        record,
        Account=job.account,
        Status=job.status or "unknown",
        JobName=job.name,
        Region=job.region,
        Verdict=report.verdict.value,
    )
    record.flush_metrics()


def emit_alert(alert: Alert) -> None:
    """One record per alert sent, counted per kind (at most 5 series)."""
    record = _record()
    record.add_dimension("AlertKind", alert.kind.value)
    record.add_metric("Alerts", MetricUnit.Count, 1)
    _properties(record, Account=alert.account, Name=alert.name)
    record.flush_metrics()


def _properties(record: EphemeralMetrics, **properties: Any) -> None:
    for key, value in metric_properties(properties).items():
        record.add_metadata(key, value)


def metric_properties(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key in METRIC_PROPERTIES}
