"""A simulated day's usage priced line by line (bench/prices.py), all in.

`per_1000_jobs_usd` is the usage-billed cost of the day (every request, GB-second, byte,
metric-hour and stored byte it adds) divided by the day's finished jobs, × 1,000. It includes
what depends on the number of accounts rather than jobs (heartbeats, inventories, per-account
inventory metrics) at that fleet's accounts. `per_month_usd` is that day × 730/24 days plus the
monthly resource charges (dashboards, alarm metrics, KMS keys, Lambda's idle SQS polling),
which are in no per-job figure. Logs and archives are billed as stored in steady state: a day's
bytes × the retention days, each month (uncompressed bytes: an upper bound).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.prices import PRICES, custom_metrics_usd
from bench.simulate import Usage

DAYS_PER_MONTH = 730 / 24
# Assumed: Lambda's SQS poller long-polls an idle queue with five connections, 20 s each
# (betterprogramming.pub "Lambda SQS Triggers and Concurrency": "Lambda starts long polling with
# five parallel connections"; the idle receives are billed: cloudysave.com "SQS Lambda Polling").
IDLE_POLLERS, LONG_POLL_SECONDS = 5, 20


@dataclass(frozen=True)
class Line:
    usd_per_day: float  # usage-billed
    usd_per_month_fixed: float  # resource charges
    quantity: float  # per day (usage) or per month (fixed)
    unit: str
    paid_by: str = "monitoring account"


def _price(name: str) -> float:
    return PRICES[name].usd


def _storage_month(
    bytes_per_day: Mapping[str, float], retention: Mapping[str, int | None]
) -> float:
    """GB held in steady state: each day's bytes for as many days as they are kept (a group
    without retention is counted for two years)."""
    return sum(size * (retention.get(group) or 731) for group, size in bytes_per_day.items()) / 1e9


def lambda_lines(usage: Usage, lines: dict[str, Line]) -> None:
    requests = sum(f.requests for f in usage.functions.values())
    lines["lambda.requests"] = Line(requests * _price("lambda_request"), 0, requests, "invocations")
    gb_seconds = dict.fromkeys(("arm64", "x86_64"), 0.0)
    for function in usage.functions.values():
        gb_seconds[function.architecture] += function.gb_seconds
    usd = gb_seconds["arm64"] * _price("lambda_gb_second_arm64")
    usd += gb_seconds["x86_64"] * _price("lambda_gb_second_x86")
    lines["lambda.duration"] = Line(usd, 0, sum(gb_seconds.values()), "GB-seconds (incl. INIT)")


def common_lines(usage: Usage, lines: dict[str, Line]) -> None:
    """What both designs are billed for the same way."""
    lambda_lines(usage, lines)
    metric_months = usage.metric_hours * DAYS_PER_MONTH / 730
    lines["cloudwatch.custom_metrics"] = Line(
        custom_metrics_usd(metric_months) / DAYS_PER_MONTH, 0, usage.metric_hours,
        f"metric-hours ({usage.metric_series} series, {usage.metric_names} names)",
    )  # fmt: skip
    metrics = usage.units["cloudwatch.metrics_requested"]
    lines["cloudwatch.getmetricdata"] = Line(
        metrics * _price("cw_getmetricdata_metric"), 0, metrics,
        f"metrics requested ({usage.calls['cloudwatch.GetMetricData']} requests)",
    )  # fmt: skip
    listed = usage.calls["cloudwatch.ListMetrics"]
    if listed:
        lines["cloudwatch.listmetrics"] = Line(
            listed * _price("cw_api_request"), 0, listed, "requests"
        )
    ingested = sum(usage.log_bytes.values())
    lines["logs.ingestion"] = Line(
        ingested / 1e9 * _price("logs_ingest_gb"), 0, ingested, "bytes (events, EMF, logs)"
    )
    stored = _storage_month(usage.log_bytes, usage.log_retention)
    lines["logs.storage"] = Line(
        stored * _price("logs_storage_gb_month") / DAYS_PER_MONTH, 0, stored,
        "GB held (steady state, uncompressed)",
    )  # fmt: skip
    writes, reads = usage.units["dynamodb.write_units"], usage.units["dynamodb.read_units"]
    lines["dynamodb.writes"] = Line(
        writes * _price("dynamodb_write_unit"), 0, writes, "write request units"
    )
    lines["dynamodb.reads"] = Line(
        reads * _price("dynamodb_read_unit"), 0, reads, "read request units"
    )
    cross = usage.workload["events.cross_account"]
    lines["workload.forwarding"] = Line(
        cross * _price("eventbridge_cross_account_event"), 0, cross,
        "events forwarded to the monitoring bus", "workload accounts",
    )  # fmt: skip


def sagewatch(usage: Usage, deployment: Any, workload: Any, accounts: int) -> dict[str, Line]:
    lines: dict[str, Line] = {}
    common_lines(usage, lines)
    custom = usage.units["events.custom_events"]
    lines["eventbridge.custom_events"] = Line(
        custom * _price("eventbridge_custom_event"),
        0,
        custom,
        "PutEvents entries (reports, refresh)",
    )
    refresh = usage.events["refresh.cross_account"]
    lines["eventbridge.refresh_deliveries"] = Line(
        refresh * _price("eventbridge_cross_account_event"), 0, refresh,
        "refresh requests to workload buses",
    )  # fmt: skip
    archived = usage.archive_bytes
    lines["eventbridge.archive"] = Line(
        archived / 1e9 * _price("eventbridge_archive_gb"), 0, archived, "bytes archived"
    )
    held = archived * (usage.archive_retention_days or 0) / 1e9
    lines["eventbridge.archive_storage"] = Line(
        held * _price("eventbridge_archive_storage_gb_month") / DAYS_PER_MONTH, 0, held,
        "GB held (steady state)",
    )  # fmt: skip
    queue_lines(usage, lines)
    scheduled = sum(86_400 // s.every_seconds for s in deployment.schedules)
    lines["eventbridge.schedules"] = Line(
        0, 0, scheduled, "scheduled-rule invocations (aws.events events: not charged, assumed)"
    )
    lines["kms.requests"] = Line(
        usage.kms_requests * _price("kms_request"), 0, usage.kms_requests,
        "data-key requests (one per resource and 5 minutes in use) and cold-start decrypts",
    )  # fmt: skip
    w = usage.workload
    schedules = w["scheduler.invocations"]
    lines["workload.scheduler"] = Line(
        schedules * _price("scheduler_invocation"), 0, schedules,
        "EventBridge Scheduler invocations (heartbeat, collector)", "workload accounts",
    )  # fmt: skip
    custom_w = w["events.custom"]
    lines["workload.custom_events"] = Line(
        custom_w * _price("eventbridge_custom_event"), 0, custom_w,
        "heartbeats and snapshots put on the default bus", "workload accounts",
    )  # fmt: skip
    gb_s = (
        workload.collector.memory_mb
        / 1024
        * (w["collector.billed_ms"] + w["collector.init_ms"])
        / 1000
    )
    price = (
        "lambda_gb_second_arm64"
        if workload.collector.architecture == "arm64"
        else "lambda_gb_second_x86"
    )
    lines["workload.collector"] = Line(
        w["collector.invocations"] * _price("lambda_request") + gb_s * _price(price), 0,
        w["collector.invocations"], "collector invocations", "workload accounts",
    )  # fmt: skip
    collector_logs = w["collector.log_bytes"]
    lines["workload.collector_logs"] = Line(
        collector_logs / 1e9 * _price("logs_ingest_gb")
        + collector_logs * (workload.collector.log_retention_days or 731) / 1e9
        * _price("logs_storage_gb_month") / DAYS_PER_MONTH,
        0, collector_logs, "bytes logged", "workload accounts",
    )  # fmt: skip
    # Monthly resource charges.
    lines["cloudwatch.dashboards"] = Line(
        0, deployment.dashboards * _price("cw_dashboard_month"), deployment.dashboards, "dashboards"
    )
    lines["cloudwatch.alarms"] = Line(
        0, deployment.alarm_metrics * _price("cw_alarm_metric_month"), deployment.alarm_metrics,
        "alarm metrics",
    )  # fmt: skip
    lines["workload.alarms"] = Line(
        0, accounts * workload.alarm_metrics * _price("cw_alarm_metric_month"),
        accounts * workload.alarm_metrics, "alarm metrics", "workload accounts",
    )  # fmt: skip
    lines["kms.keys"] = Line(
        0, deployment.kms_keys * _price("kms_key_month"), deployment.kms_keys,
        "keys (a rotated key adds $1/month a year, up to 2: not counted)",
    )  # fmt: skip
    polls = len(deployment.queue_sources) * IDLE_POLLERS * 730 * 3600 / LONG_POLL_SECONDS
    lines["sqs.idle_polling"] = Line(
        0, polls * _price("sqs_request"), polls, "empty long polls (assumed)"
    )
    return lines


def queue_lines(usage: Usage, lines: dict[str, Line]) -> None:
    """SNS publishes and deliveries, SQS requests."""
    units = usage.units
    lines["sns.publishes"] = Line(
        units["sns.publish_chunks"] * _price("sns_publish"), 0, units["sns.publish_chunks"],
        "publishes (64 KB chunks)",
    )  # fmt: skip
    for protocol, price in (("email", "sns_email_delivery"), ("https", "sns_https_delivery"),
                            ("sqs", "sns_sqs_delivery")):  # fmt: skip
        count = units[f"sns.deliveries.{protocol}"]
        lines[f"sns.deliveries.{protocol}"] = Line(
            count * _price(price), 0, count, f"{protocol} deliveries"
        )
    sqs = units["sqs.request_chunks"] + usage.calls["sqs.DeleteMessageBatch"]
    lines["sqs.requests"] = Line(
        sqs * _price("sqs_request"), 0, sqs, "send, receive, delete requests (64 KB chunks)"
    )


def share(part: Usage, queues: int = 0, alarm_metrics: int = 0) -> dict[str, Line]:
    """A feature's share of the day (its invocations, requests, units, logs), priced as the
    whole is, with the monthly charges of its own `queues` (idle polling) and alarm metrics.
    KMS data keys are not split by feature (a few cents a month in all)."""
    lines: dict[str, Line] = {}
    common_lines(part, lines)
    queue_lines(part, lines)
    polls = queues * IDLE_POLLERS * 730 * 3600 / LONG_POLL_SECONDS
    lines["sqs.idle_polling"] = Line(0, polls * _price("sqs_request"), polls, "empty long polls")
    lines["cloudwatch.alarms"] = Line(
        0, alarm_metrics * _price("cw_alarm_metric_month"), alarm_metrics, "alarm metrics"
    )
    return {name: line for name, line in lines.items() if line.quantity}


def reference(usage: Usage, dashboards: int) -> dict[str, Line]:
    lines: dict[str, Line] = {}
    common_lines(usage, lines)
    lines["cloudwatch.dashboards"] = Line(
        0, dashboards * _price("cw_dashboard_month"), dashboards, "dashboards"
    )
    return lines


def summary(lines: Mapping[str, Line], jobs: int) -> dict[str, Any]:
    """per_1000_jobs_usd, per_month_usd and the breakdown, rounded for results.json."""
    daily = sum(line.usd_per_day for line in lines.values())
    fixed = sum(line.usd_per_month_fixed for line in lines.values())
    breakdown = {
        name: {
            "per_1000_jobs_usd": _round(line.usd_per_day / jobs * 1000),
            "per_month_usd": _round(line.usd_per_day * DAYS_PER_MONTH + line.usd_per_month_fixed),
            "quantity": _round(line.quantity),
            "unit": line.unit,
            "per": "month" if line.usd_per_month_fixed else "day",
            "paid_by": line.paid_by,
        }
        for name, line in sorted(
            lines.items(),
            key=lambda item: -(item[1].usd_per_day * DAYS_PER_MONTH + item[1].usd_per_month_fixed),
        )
    }
    return {
        "per_1000_jobs_usd": _round(daily / jobs * 1000),
        "per_month_usd": _round(daily * DAYS_PER_MONTH + fixed),
        "per_month_fixed_usd": _round(fixed),
        "breakdown": breakdown,
    }


def _round(value: float) -> float:
    """Four significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(0, 3 - math.floor(math.log10(abs(value)))))
