"""`make bench`: invocations, API calls, cost per 1,000 jobs, cold start and per-event CPU,
measured in one run, against the reference design users would otherwise deploy.

The reference design is the aws-samples centralized SageMaker monitoring solution: one Lambda
invocation per SageMaker "State Change"/"Status Change" event, and per terminal training or
processing event 1 DynamoDB Query, 1 PutItem and 1 GetMetricData; no alerts.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.fleet import Fleet, FleetSpec, generate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"

# us-east-1 list prices (USD), as published on the AWS pricing pages, read 2026-11. Estimates.
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "getmetricdata_metric": 0.01 / 1000,
    "eventbridge_event": 1.00 / 1e6,  # custom and cross-account events
    "sns_publish": 0.50 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "dynamodb_write": 0.625 / 1e6,
    "dynamodb_read": 0.125 / 1e6,
    "logs_ingest_gb": 0.50,
}
MEMORY_GB = {"enricher": 0.5, "alerter": 0.25, "summarizer": 0.25}
REFERENCE_MEMORY_GB, REFERENCE_SECONDS = 0.128, 0.1  # its function's size; assumed duration


class Meter:
    """Counts GetMetricData calls, metrics requested and function time inside a replay."""

    def __init__(self) -> None:
        self.calls = 0
        self.metrics = 0
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def attached(self) -> Any:
        from sagewatch.embedded import EmbeddedAws
        from shared.adapters.cloudwatch import MetricsReader

        fetch, invoke = MetricsReader.fetch, EmbeddedAws.invoke
        meter = self

        # Parameters named as the methods' own: a replacement must take the same keywords.
        def counted_fetch(self: MetricsReader, calls: Any) -> Any:
            meter.calls += len(calls)
            meter.metrics += sum(len(call.queries) for call in calls)
            return fetch(self, calls)

        def timed_invoke(self: EmbeddedAws, function: str, event: Any) -> Any:
            started = time.perf_counter()
            try:
                return invoke(self, function, event)
            finally:
                meter.seconds[function] += time.perf_counter() - started

        MetricsReader.fetch = counted_fetch  # type: ignore[method-assign]
        EmbeddedAws.invoke = timed_invoke  # type: ignore[method-assign]
        try:
            yield self
        finally:
            MetricsReader.fetch = fetch  # type: ignore[method-assign]
            EmbeddedAws.invoke = invoke  # type: ignore[method-assign]


def run_fleet(fleet: Fleet, run_every: int | None = 100) -> tuple[dict[str, Any], Meter, float]:
    """Replay on the embedded AWS; the functions work every `run_every` events (a day spreads
    its finished jobs over many small batches) or once at the end (a burst: full batches)."""
    from sagewatch.embedded import replay

    meter = Meter()
    with meter.attached(), contextlib.redirect_stderr(io.StringIO()):
        started = time.perf_counter()
        result = replay(fleet.events, {"series": fleet.series}, run_every=run_every)
        elapsed = time.perf_counter() - started
    return result, meter, elapsed


def reference_counts(fleet: Fleet) -> dict[str, float]:
    """The reference design's work on the same event stream."""
    changes = [
        e for e in fleet.events if e["detail-type"].endswith(("State Change", "Status Change"))
    ]
    terminal = [
        e for e in changes
        if e["detail"].get("TrainingJobStatus", e["detail"].get("ProcessingJobStatus"))
        in ("Completed", "Failed", "Stopped")
    ]  # fmt: skip
    return {
        "invocations": len(changes),
        "getmetricdata_calls": len(terminal),
        "metrics_requested": sum(_metrics(e) for e in terminal),
        "dynamodb_reads": len(terminal),
        "dynamodb_writes": len(terminal),
        "eventbridge_events": len(fleet.events),
    }


def _metrics(event: dict[str, Any]) -> int:
    """Assumed: the reference reads the same host metrics per job as sagewatch (the same
    information through the same API), once per terminal event it receives."""
    from shared.domain.parser import parse_event
    from shared.domain.utilization import metrics_for

    job = parse_event(event)
    return len(metrics_for(job) or ()) * job.instance_count


def our_counts(fleet: Fleet, result: dict[str, Any], meter: Meter) -> dict[str, float]:
    calls = Counter(result["calls"])
    terminal_messages = sum(1 for e in fleet.events if _terminal_job(e))
    return {
        "invocations": sum(result["invocations"].values()),
        "getmetricdata_calls": meter.calls,
        "metrics_requested": meter.metrics,
        "putevents_entries": calls["events.PutEvents"],
        "sns_publishes": calls["sns.Publish"],
        "dynamodb_reads": calls["dynamodb.GetItem"],
        "dynamodb_writes": calls["dynamodb.PutItem"]
        + calls["dynamodb.UpdateItem"]
        + calls["dynamodb.DeleteItem"],
        "sqs_requests": 3 * terminal_messages + calls["sqs.SendMessage"],  # send, receive, delete
        "eventbridge_events": len(fleet.events) + calls["events.PutEvents"],
        "archive_bytes": sum(len(json.dumps(e)) for e in fleet.events),
    }


def _terminal_job(event: dict[str, Any]) -> bool:
    detail = event["detail"]
    statuses = (
        detail.get(k) for k in ("TrainingJobStatus", "ProcessingJobStatus", "TransformJobStatus")
    )
    return any(s in ("Completed", "Failed", "Stopped") for s in statuses)


def cost(counts: dict[str, float], gb_seconds: float) -> float:
    p = PRICES
    return (
        counts["invocations"] * p["lambda_request"]
        + gb_seconds * p["lambda_gb_second_arm64"]
        + counts["metrics_requested"] * p["getmetricdata_metric"]
        + counts["eventbridge_events"] * p["eventbridge_event"]
        + counts.get("sns_publishes", 0) * p["sns_publish"]
        + counts.get("sqs_requests", 0) * p["sqs_request"]
        + counts["dynamodb_writes"] * p["dynamodb_write"]
        + counts["dynamodb_reads"] * p["dynamodb_read"]
        + counts.get("archive_bytes", 0) / 1e9 * p["logs_ingest_gb"]
    )


def cold_imports(runs: int = 11) -> dict[str, float]:
    """Median import time of each handler in a fresh interpreter, and of boto3 alone."""
    env = os.environ | {"POWERTOOLS_TRACE_DISABLED": "true"}  # as deployed by default
    medians = {}
    for module in ("boto3", "handlers.alerter", "handlers.enricher", "handlers.summarizer"):
        code = (
            "import sys, time; sys.path.insert(0, 'src'); t = time.perf_counter(); "
            f"import {module}; print(time.perf_counter() - t)"
        )
        samples = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    env=env,
                    check=True,
                ).stdout
            )
            for _ in range(runs)
        ]
        medians[module] = statistics.median(samples)
    return medians


def warm_cpu(events: int = 2000) -> dict[str, float]:
    """CPU milliseconds per event with in-memory fakes, against a json.loads floor."""
    from sagewatch.template import EVENTS
    from shared.alerting.service import Alerter, Summarizer
    from shared.config import AlerterSettings, EnricherSettings
    from shared.domain.utilization import Thresholds
    from shared.enrichment.service import Enricher
    from shared.platform.observability import logger
    from tests.fakes import MemoryLedger, MemoryStore, NoMetrics, Recorder

    failed = json.loads((EVENTS / "training-failed.json").read_text())
    raw = [
        json.dumps(
            failed | {"id": f"e{n}", "detail": failed["detail"] | {"TrainingJobName": f"job-{n}"}}
        )
        for n in range(events)
    ]
    settings = AlerterSettings(
        {c: f"arn:aws:sns:us-east-1:123456789012:{c}" for c in ("email", "json", "chat")},
        "t", "team", 3600, 0, 600, "", "us-east-1", "sagewatch",
    )  # fmt: skip
    alerter = Alerter(
        settings,
        publishers=_publishers(), ledger=MemoryLedger(), summaries=Recorder(), store=MemoryStore(),
    )  # fmt: skip
    enricher = Enricher(
        EnricherSettings("bus", "us-east-1", Thresholds(), "t", "q", 5, 0, 3600, "team"),
        metrics=NoMetrics(), publisher=Recorder(), dead_letters=Recorder(),
        emit=lambda report: None, store=MemoryStore(),
    )  # fmt: skip
    handler: Any = logger.registered_handler
    sink, previous = io.StringIO(), handler.stream
    handler.stream = sink
    try:
        with contextlib.redirect_stdout(sink):
            floor = _cpu(lambda: [json.loads(text) for text in raw]) / events
            alert = _cpu(lambda: [alerter.handle(json.loads(text)) for text in raw]) / events
            batches = [
                [{"messageId": str(i), "body": text} for i, text in enumerate(raw[n : n + 100])]
                for n in range(0, events, 100)
            ]
            enrich = _cpu(lambda: [enricher.run(batch) for batch in batches]) / events
            ledger = MemoryLedger()
            windows = [
                {"messageId": str(n), "body": json.dumps(_burst(n, ledger))} for n in range(events)
            ]
            summarizer = Summarizer(
                settings, publishers=_publishers(), ledger=ledger, store=MemoryStore()
            )
            summarize = _cpu(lambda: summarizer.run(windows)) / events
    finally:
        handler.stream = previous
    return {
        "json_loads_ms": floor * 1000, "alerter_ms": alert * 1000, "enricher_ms": enrich * 1000,
        "summarizer_ms": summarize * 1000,
    }  # fmt: skip


def _publishers() -> dict[str, Any]:
    from tests.fakes import Recorder

    return dict.fromkeys(("email", "json", "chat"), Recorder())


def _burst(n: int, ledger: Any) -> dict[str, Any]:
    """A closed burst window of 20 failures, as the alerter leaves it for the summarizer."""
    bucket = f"burst|123456789012|us-east-1|training|{n}"
    for job in range(20):
        ledger.add(bucket, f"{bucket}|job-{job}", f"job-{job}", 0)
    return {"bucket": bucket, "account": "123456789012", "region": "us-east-1",
            "resource": "training", "window_start": 1795168800, "window_seconds": 600}  # fmt: skip


def _cpu(work: Any) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def peak_rss_mb() -> float:
    """Peak RSS of a fresh interpreter that imports the alerter and handles one event."""
    code = (
        "import json, resource, sys; sys.path.insert(0, 'src'); sys.path.insert(0, '.');"
        "from bench.__main__ import warm_cpu; warm_cpu(1);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    day_spec = FleetSpec()
    day = generate(day_spec)
    result, meter, elapsed = run_fleet(day)
    ours, reference = our_counts(day, result, meter), reference_counts(day)
    gb_seconds = sum(meter.seconds[f] * MEMORY_GB[f] for f in meter.seconds)
    per_k = 1000 / day.jobs
    cost_ours = cost(ours, gb_seconds) * per_k
    cost_ref = (
        cost(reference, reference["invocations"] * REFERENCE_SECONDS * REFERENCE_MEMORY_GB) * per_k
    )

    lifecycle = generate(FleetSpec(seed=11, training=300, processing=0, transform=0, tuning=0,
                                   pipelines=0, endpoints=0))  # fmt: skip
    life_result, _, _ = run_fleet(lifecycle)
    per_lifecycle = sum(life_result["invocations"].values()) / lifecycle.jobs
    ref_per_lifecycle = reference_counts(lifecycle)["invocations"] / lifecycle.jobs

    burst_spec = FleetSpec(
        seed=13, training=0, processing=0, transform=0, tuning=1, children_per_tuning=200,
        pipelines=0, endpoints=0, duplicate_rate=0,
    )  # fmt: skip
    burst = generate(burst_spec)
    _, burst_meter, _ = run_fleet(burst, run_every=None)
    floor = math.ceil(burst_meter.metrics / 500)

    imports = cold_imports()
    worst = max(v for k, v in imports.items() if k != "boto3")
    cpu = warm_cpu()
    results = {
        "scenario": {"fleet_day": vars(day_spec), "events": len(day.events), "jobs": day.jobs},
        "invocations_per_training_lifecycle": round(per_lifecycle, 3),
        "reference_invocations_per_training_lifecycle": round(ref_per_lifecycle, 3),
        "getmetricdata_calls_vs_floor": round(burst_meter.calls / floor, 3),
        "burst": {
            "jobs": burst.jobs,
            "calls": burst_meter.calls,
            "metrics_requested": burst_meter.metrics,
            "floor": floor,
        },
        "cold_import_vs_boto3": round(worst / imports["boto3"], 3),
        "cold_import_seconds": {k: round(v, 4) for k, v in imports.items()},
        "alerter_warm_ms_per_event": round(cpu["alerter_ms"], 4),
        "enricher_warm_ms_per_event": round(cpu["enricher_ms"], 4),
        "summarizer_warm_ms_per_window": round(cpu["summarizer_ms"], 4),
        "json_loads_floor_ms_per_event": round(cpu["json_loads_ms"], 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "replay_events_per_second": round(len(day.events) / elapsed, 1),
        "per_1000_jobs": {
            "sagewatch": {k: round(v * per_k, 1) for k, v in ours.items()},
            "reference": {k: round(v * per_k, 1) for k, v in reference.items()},
        },
        "cost_per_1000_jobs_usd": {
            "sagewatch": round(cost_ours, 4),
            "reference": round(cost_ref, 4),
        },
        "prices_usd": PRICES,
        "prices_as_of": "2026-11, us-east-1 list prices",
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


TARGETS = [
    ("invocations per training lifecycle", "invocations_per_training_lifecycle", "<=", 1.3),
    ("GetMetricData calls / floor (burst)", "getmetricdata_calls_vs_floor", "<=", 1.2),
    ("cold import / import boto3 (worst)", "cold_import_vs_boto3", "<=", 1.3),
    ("alerter warm CPU ms per event", "alerter_warm_ms_per_event", "<", 1.0),
    ("replay events per second", "replay_events_per_second", ">=", 500),
]


def _print(results: dict[str, Any]) -> None:
    print(f"{'measure':44} {'value':>12} {'target':>10}  met")
    for label, key, op, target in TARGETS:
        value = results[key]
        met = {"<=": value <= target, "<": value < target, ">=": value >= target}[op]
        print(f"{label:44} {value:>12} {op + str(target):>10}  {'yes' if met else 'NO'}")
    costs = results["cost_per_1000_jobs_usd"]
    met = costs["sagewatch"] <= 0.10 and costs["sagewatch"] < costs["reference"]
    label = "cost per 1,000 jobs (USD), sagewatch"
    print(f"{label:44} {costs['sagewatch']:>12} {'<=0.1':>10}  {'yes' if met else 'NO'}")
    print(f"{'cost per 1,000 jobs (USD), reference':44} {costs['reference']:>12}")
    print(f"{'enricher warm CPU ms per event':44} {results['enricher_warm_ms_per_event']:>12}")
    print(
        f"{'summarizer warm CPU ms per window':44} {results['summarizer_warm_ms_per_window']:>12}"
    )
    print(f"{'json.loads floor ms per event':44} {results['json_loads_floor_ms_per_event']:>12}")
    print(f"{'peak RSS MB (one alerter invocation)':44} {results['peak_rss_mb']:>12}")
    print("\nper 1,000 jobs        " + " ".join(f"{k:>20}" for k in ("sagewatch", "reference")))
    ours, ref = results["per_1000_jobs"]["sagewatch"], results["per_1000_jobs"]["reference"]
    for key in ours | ref:
        print(f"{key:22}" + f"{ours.get(key, '-'):>21}" + f"{ref.get(key, '-'):>21}")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
