"""The reference design on the same event stream: the aws-samples "advanced monitoring and
reporting" centralized SageMaker monitoring (github.com/aws-samples/amazon-sagemaker-advanced-
monitoring-and-reporting, read 2026-12-01 from the tool library's copy:
monitoring-account-infra/lib/monitoring-account-infra-stack.ts, functions/ingester/index.py).

What it deploys in the monitoring account: a custom bus the workload accounts forward their
SageMaker events to; one rule for every "State Change"/"Status Change" event, whose targets are
a log group (every such event, CDK's default retention of two years) and the `ingester` Lambda
(a CDK PythonFunction: x86_64 and 128 MB, CDK's defaults); a DynamoDB job table
(PAY_PER_REQUEST); a dashboard. The ingester handles each event alone; for a finished training
or processing job it puts three EMF metrics per account × jobType (<Type>JobCount_Total,
<Type>JobCount_<status>, <Type>Job_Duration) and reads the hosts' utilization with one
GetMetricData SEARCH over the job's Host metrics (billed per metric the search returns: every
metric the job's hosts published), printing one line per host.

Modelled as the issue asks, where the sample leaves it open: a duplicate check in the job table
(one Query, eventually consistent) before GetMetricData, and a PutItem of the job once new. No
alerts, no archive, no KMS key, no alarms.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.adapters import Meter, chunks, item_bytes, read_units, write_units
from bench.fleet import Fleet
from bench.simulate import (
    KEEP_WARM_SECONDS,
    PLATFORM_LOG_BYTES,
    FunctionUsage,
    Usage,
    cpu_share,
    hour_of_day,
    timestamp,
)
from sagewatch.embedded.observe import emf_metrics

MEMORY_MB, ARCHITECTURE = 128, "x86_64"  # CDK's Function defaults
LOG_RETENTION_DAYS = 731  # CDK's LogGroup default (two years); the function's own log group
# never expires by default: counted with the same two years
NAMESPACE = "SageMakerCentralizedMonitoring"
DASHBOARDS = 1
JOB_TYPES = {
    "SageMaker Processing Job State Change": ("PROCESSING_JOB", "Processing"),
    "SageMaker Training Job State Change": ("TRAINING_JOB", "Training"),
    "SageMaker HyperParameter Tuning Job State Change": ("HYPERPARAMETER_JOB", None),
    "SageMaker Transform Job State Change": ("TRANFORM_JOB", None),
    "SageMaker Endpoint State Change": ("ENDPOINT", None),
    "SageMaker Model Building Pipeline Execution Status Change": ("PIPELINE_EXECUTION", None),
    "SageMaker Model Building Pipeline Execution Step Status Change": ("PIPELINE_STEP", None),
}
NAMESPACES = {
    "Processing": "/aws/sagemaker/ProcessingJobs",
    "Training": "/aws/sagemaker/TrainingJobs",
}


def matches(event: Mapping[str, Any]) -> bool:
    """The reference's rule: source aws.sagemaker, detail-type ending in State/Status Change."""
    kind = str(event.get("detail-type", ""))
    return event.get("source") == "aws.sagemaker" and kind.endswith(
        ("State Change", "Status Change")
    )


@dataclass
class Ingester:
    """The reference's Lambda, one event per invocation."""

    meter: Meter
    hosts: Mapping[tuple[str, str], list[tuple[str, str, float]]]  # (namespace, job) → metrics
    seen: set[tuple[str, str, str]] = field(default_factory=set)

    def handle(self, event: Mapping[str, Any], now: float) -> list[str]:
        """The lines it prints (EMF and its own)."""
        lines: list[str] = []
        record: dict[str, Any] = {}
        metrics: list[dict[str, str]] = []
        known = JOB_TYPES.get(str(event.get("detail-type")))
        if known is None:
            lines.append("Unexpected event received")
        else:
            job_type, kind = known
            account, detail = str(event["account"]), event["detail"]
            record |= {"account": account, "jobType": job_type, "JobType": event["detail-type"]}
            if kind is None:
                lines.append("Unhandled event type")
            else:
                name = str(detail.get(f"{kind}JobName"))
                status = detail.get(f"{kind}JobStatus")
                record |= {"JobName": name, f"{kind}JobArn": detail.get(f"{kind}JobArn")}
                if status and status != "InProgress":
                    lines += self._finished(
                        account, kind, name, str(status), detail, record, metrics
                    )
        directive = {
            "Dimensions": [["account", "jobType"]],
            "Metrics": metrics,
            "Namespace": NAMESPACE,
        }
        lines.append(
            json.dumps(
                {"_aws": {"Timestamp": int(now * 1000), "CloudWatchMetrics": [directive]}} | record
            )
        )
        return lines

    def _finished(
        self, account: str, kind: str, name: str, status: str, detail: Mapping[str, Any],
        record: dict[str, Any], metrics: list[dict[str, str]],
    ) -> list[str]:  # fmt: skip
        key = (account, name, status)
        self.meter.call("dynamodb.Query", {"dynamodb.read_units": read_units(200, False)})
        if key in self.seen:  # a duplicate delivery: nothing more
            return []
        self.seen.add(key)
        item = {"pk": f"{kind.upper()}_JOB", "sk": f"{account}#{name}#{status}", "detail": detail}
        self.meter.call("dynamodb.PutItem", {"dynamodb.write_units": write_units(item_bytes(item))})
        start, end = detail.get(f"{kind}StartTime"), detail.get(f"{kind}EndTime")
        duration = (end - start) if isinstance(start, int) and isinstance(end, int) else 0
        for metric, unit, value in (
            (f"{kind}JobCount_Total", "Count", 1),
            (f"{kind}JobCount_{status}", "Count", 1),
            (f"{kind}Job_Duration", "Milliseconds", duration),
        ):
            metrics.append({"Name": metric, "Unit": unit})
            record[metric] = value
        found = self.hosts.get((NAMESPACES[kind], name), [])
        self.meter.call("cloudwatch.GetMetricData", {"cloudwatch.metrics_requested": len(found)})
        per_host: dict[str, dict[str, float]] = {}
        for host, metric_name, reading in found:
            per_host.setdefault(host, {})[metric_name] = reading
        job = {"Account": account, "JobName": name, "Status": status, "Duration": duration}
        return [str(job | {"Host": host, "Metrics": values}) for host, values in per_host.items()]


def run(fleet: Fleet, init_seconds: float) -> Usage:
    """The reference's day: every forwarded event, its rule's two targets, the Lambda's calls."""
    meter = Meter()
    hosts: dict[tuple[str, str], list[tuple[str, str, float]]] = {}
    for series in fleet.series:
        host = series["dimensions"]["Host"]
        hosts.setdefault((series["namespace"], host.split("/")[0]), []).append(
            (host, series["metric"], float(series["value"]))
        )
    ingester = Ingester(meter, hosts)
    function = FunctionUsage(MEMORY_MB, ARCHITECTURE)
    usage = Usage(
        functions={"IngesterFunction": function},
        log_retention={
            "EventsLogGroup": LOG_RETENTION_DAYS,
            "IngesterFunction": LOG_RETENTION_DAYS,
        },
    )
    series_hours: set[tuple[Any, ...]] = set()
    share, last_end = cpu_share(MEMORY_MB), -math.inf
    for event in fleet.events:
        meter.now = now = timestamp(event["time"])
        size = len(json.dumps(event))
        usage.workload["events.cross_account"] += chunks(size)
        usage.events["received.workload"] += chunks(size)
        if not matches(event):
            continue
        usage.log_bytes["EventsLogGroup"] += size
        if now - last_end > KEEP_WARM_SECONDS:
            function.cold_starts += 1
            function.init_ms += init_seconds * 1000
        meter.latency_ms = 0.0
        started = time.process_time()
        lines = ingester.handle(event, now)
        text = "\n".join(lines) + "\n"
        cpu_ms = (time.process_time() - started) * 1000
        duration = meter.latency_ms + cpu_ms / share
        function.requests += 1
        function.billed_ms += math.ceil(duration)
        function.cpu_ms += cpu_ms
        function.latency_ms += meter.latency_ms
        last_end = now + duration / 1000
        usage.log_bytes["IngesterFunction"] += len(text.encode()) + PLATFORM_LOG_BYTES
        for line in lines:
            if line.startswith('{"_aws"'):
                for metric in emf_metrics(json.loads(line)):
                    dimensions = tuple(sorted(metric["dimensions"].items()))
                    series_hours.add(
                        (metric["namespace"], metric["name"], dimensions, hour_of_day(now))
                    )
    usage.calls, usage.units = Counter(meter.calls), defaultdict(float, meter.units)
    usage.metric_hours = len(series_hours)
    usage.metric_series = len({hour[:3] for hour in series_hours})
    usage.metric_names = len({hour[1] for hour in series_hours})
    return usage
