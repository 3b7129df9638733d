"""Every custom metric sagewatch emits (EMF), in one place for the cost review.

A custom metric is billed for each hour in which any of its series gets a datapoint, so every
dimension here has a handful of values whatever the fleet's size: job types, alert kinds,
functions. What varies by account, job or endpoint (durations, utilization, waste per account,
inventories) is queried from the archive log group instead (the dashboard's log widgets), where
it costs nothing until someone looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.contracts.report import UtilizationReport
from shared.domain.utilization import WASTEFUL
from shared.platform.observability import emit_metrics

if TYPE_CHECKING:  # the enricher never builds alerts: keep them out of its cold start
    from shared.alerting.alerts import Alert

# The only EMF properties that leave (log fields beside the metrics, never dimensions): names and
# labels, never event payloads.
METRIC_PROPERTIES = frozenset({"Account", "Status", "JobName", "Name", "Region", "Verdict"})


def emit_job(report: UtilizationReport) -> None:
    """One record per finished job, counted per job type (at most 5 names × 3 types)."""
    job = report.job
    counts: dict[str, float] = {"Jobs": 1}
    if job.is_failure:
        counts["FailedJobs"] = 1
    if report.verdict in WASTEFUL:
        counts["UnderUsedJobs"] = 1
    if waste := report.waste:
        counts["WastedInstanceHours"] = waste.wasted_instance_hours
        if waste.estimated_usd is not None:
            counts["EstimatedWasteUSD"] = waste.estimated_usd
    properties = metric_properties(
        {
            "Account": job.account,
            "Status": job.status or "unknown",
            "JobName": job.name,
            "Region": job.region,
            "Verdict": report.verdict.value,
        }
    )
    emit_metrics({"JobType": job.kind.value}, counts, properties)


def emit_alert(alert: Alert) -> None:
    """One record per alert sent, counted per kind (at most one series per AlertKind)."""
    properties = metric_properties({"Account": alert.account, "Name": alert.name})
    emit_metrics({"AlertKind": alert.kind.value}, {"Alerts": 1}, properties)


def metric_properties(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key in METRIC_PROPERTIES}
