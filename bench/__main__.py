"""`make bench`: the cost of sagewatch all in, per 1,000 jobs and per month, at three fleet
sizes against the reference design on the same event stream; invocations, API calls, cold
start and per-event CPU, measured in one run.

The cost (`cost_all_in`) is a model, not a bill: bench/simulate.py drives the real services
(handlers, services, Powertools idempotency, EMF) through a day of each fleet with counting
in-memory adapters (bench/adapters.py), timed by a batching model of template.yaml's event
sources; bench/reference.py does the same for the reference design (the aws-samples
centralized SageMaker monitoring); bench/costing.py prices what they used with bench/prices.py.
Every figure is a count of calls the code made or an assumption stated where it is used and
listed in results.json (`assumptions`). `sagewatch replay` (in memory, as without --faults)
replays a ~10,000-event day in a fresh interpreter for the throughput and peak RSS measures,
and a tuning burst for the GetMetricData measure.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bench.fleet import Fleet, FleetSpec, generate, sized

if TYPE_CHECKING:  # the cost model is imported where it runs, not with this module
    from bench.simulate import Usage

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
FLEETS = ((100, 10), (1_000, 50), (10_000, 500))  # finished jobs a day, workload accounts

ASSUMPTIONS = [
    "us-east-1 list prices (bench/prices.py, each with its source, read 2026-12-01); no free tier.",
    "Custom metrics: a series is billed $0.30/730 (first 10,000 metric-months; then the tiers) "
    "for each hour in which it gets at least one datapoint (aws.amazon.com/cloudwatch/pricing: "
    "prorated by the hour, metered only when sent); series are the (namespace, name, "
    "dimensions) the code's EMF records define, hours from the simulated clock.",
    "Event timing from the fleet generator (bench/fleet.py): jobs start over 20 hours and end "
    "within 3; heartbeats every HeartbeatMinutes and inventory runs every CollectorMinutes "
    "(workload-template.yaml, with its flexible window) at random phases per account, plus "
    "one run per hourly refresh request.",
    "Lambda's SQS poller: one batch at a time per queue, closed at BatchSize or "
    "MaximumBatchingWindowInSeconds after its first visible message; ten messages a "
    "ReceiveMessage and a DeleteMessageBatch; failed records back after VisibilityTimeout.",
    "Lambda duration: per request the latency in bench/adapters.py LATENCY_MS (DynamoDB 6 ms, "
    "SQS 10, SNS and PutEvents 20, GetMetricData 150, ListMetrics 80, SageMaker 100) plus the "
    "code's CPU time measured here divided by its vCPU share (memory / 1,769 MB); this "
    "machine's core assumed as fast as Lambda's.",
    "Cold start: an invocation more than 10 minutes after the function's last one; its INIT "
    "is the CPU time its package's process takes under awslambdaric from start through its "
    "first response (bench/coldstart.py: INIT and the first invocation, whose work the warm "
    "figures count again), unscaled, and is billed; the collector's and the reference "
    "ingester's: a handler that imports boto3 only, measured the same way.",
    "Lambda log records: 450 bytes of platform records per invocation besides what the code "
    "prints; the collector logs 300 bytes a run.",
    "KMS: each resource on the stack's key asks for a data key once per 5 minutes in use "
    "(SQS's default reuse period, assumed for SNS, DynamoDB and CloudWatch Logs); each cold "
    "start decrypts the function's environment once.",
    "Alert subscriptions (none by default): one email address on the email topic, Amazon Q "
    "Developer (HTTPS) on the chat topic, one SQS queue on the JSON topic (free delivery; the "
    "subscriber's queue is not counted).",
    "Idle endpoints: every endpoint served traffic (no idle alerts); the endpoints of the fleet "
    "were first seen two days before the simulated day; no account falls silent.",
    "Endpoint health: every endpoint served traffic without errors every minute (no alerts), "
    "one variant each; its limits the parameters' defaults (both signals read). CloudWatch "
    "alarms doing the same: per variant a metric-math alarm on the 5XX rate (2 metrics) and "
    "one on latency (1), $0.10 a metric-month, in ALARM 1-3 minutes after their window; "
    "the workload-side function that would keep them in step with the endpoints is not priced.",
    "The monitoring stack is deployed for an organization (OrganizationPaths), so with its OAM "
    "sink: the fleet function's endpoint checks read the linked accounts' metrics.",
    "The monitoring account runs no jobs; every job runs in a workload account, whose "
    "forwarding of each event is billed to it as a cross-account event.",
    "Logs and archives in steady state: a day's bytes held for the retention days, "
    "uncompressed (an upper bound).",
    "Lambda's SQS poller keeps five 20-second long polls open on each idle queue.",
    "Reference: x86_64, 128 MB, one invocation per State/Status Change event; for a new "
    "finished training or processing job one Query (duplicate check), one PutItem, one "
    "GetMetricData SEARCH billed per metric the job's hosts published; EMF account × jobType "
    "(Total, per-status count, duration); events and its logs kept two years.",
]


class CallMeter:
    """Counts GetMetricData calls and metrics requested inside an embedded (moto) replay, and the
    fewest calls that could carry each round (the enricher reads the verdicts' metrics in one
    round, then the context of the wasteful jobs in another: 500 queries a call at most)."""

    def __init__(self) -> None:
        self.calls = 0
        self.metrics = 0
        self.floor = 0

    @contextlib.contextmanager
    def attached(self) -> Any:
        from shared.adapters.cloudwatch import MetricsReader

        fetch = MetricsReader.fetch
        meter = self

        # Parameters named as the method's own: a replacement must take the same keywords.
        def counted_fetch(self: MetricsReader, calls: Any) -> Any:
            metrics = sum(len(call.queries) for call in calls)
            meter.calls += len(calls)
            meter.metrics += metrics
            meter.floor += math.ceil(metrics / 500)
            return fetch(self, calls)

        MetricsReader.fetch = counted_fetch  # type: ignore[method-assign]
        try:
            yield self
        finally:
            MetricsReader.fetch = fetch  # type: ignore[method-assign]


def run_fleet(
    fleet: Fleet, run_every: int | None = 100, stack: Literal["memory", "moto"] | None = None
) -> tuple[dict[str, Any], CallMeter, float]:
    """Replay on the embedded AWS (`stack`: replay's default, in memory); the functions work
    every `run_every` events (a day spreads its finished jobs over many small batches) or once
    at the end (a burst: full batches)."""
    from sagewatch.embedded import replay

    meter = CallMeter()
    with meter.attached(), contextlib.redirect_stderr(io.StringIO()):
        started = time.perf_counter()
        result = replay(fleet.events, {"series": fleet.series}, run_every=run_every, stack=stack)
        elapsed = time.perf_counter() - started
    return result, meter, elapsed


REPLAY_DAY = (1_570, 5)  # finished jobs, accounts: sized() to a day of ~10,000 events


def replay_day() -> dict[str, Any]:
    """The ~10,000-event day replayed in a fresh interpreter (its peak RSS is the replay's, with
    the day's events and metrics held): events a second (wall clock) and peak RSS in MB."""
    code = (
        "import sys; sys.path.insert(0, 'src'); sys.path.insert(0, '.');"
        "from bench.__main__ import _replay_day; _replay_day()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    measured: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return measured


def _replay_day() -> None:
    import resource

    spec = sized(*REPLAY_DAY)
    fleet = generate(spec)
    _, _, elapsed = run_fleet(fleet)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events = len(fleet.events)
    print(json.dumps({"spec": vars(spec), "events": events, "events_per_second": events / elapsed,
                      "peak_rss_mb": peak}))  # fmt: skip


def init_seconds(cold: Mapping[str, float]) -> dict[str, float]:
    """Each function's INIT: its measured cold start (bench/coldstart.py); the collector and
    the reference's ingester import boto3 (and a small library) only: the baseline's."""
    from bench.coldstart import BASELINE

    return dict(cold) | {"collector": cold[BASELINE], "reference": cold[BASELINE]}


def counts(usage: Usage) -> dict[str, Any]:
    """What the code did on the simulated day, behind the cost lines."""
    return {
        "invocations": {name: f.requests for name, f in usage.functions.items()},
        "cold_starts": {name: f.cold_starts for name, f in usage.functions.items()},
        "cpu_ms_per_invocation": {
            name: round(f.cpu_ms / f.requests, 3)
            for name, f in usage.functions.items()
            if f.requests
        },
        "billed_ms_per_invocation": {
            name: round(f.billed_ms / f.requests, 1)
            for name, f in usage.functions.items()
            if f.requests
        },
        "errors": sum(f.errors for f in usage.functions.values()),
        "api_requests": dict(sorted(usage.calls.items())),
        "billing_units": {k: round(v, 1) for k, v in sorted(usage.units.items())},
        "metric_hours": usage.metric_hours,
        "metric_series": usage.metric_series,
        "metric_names": usage.metric_names,
        "log_bytes": dict(sorted(usage.log_bytes.items())),
        "archive_bytes": usage.archive_bytes,
        "events": dict(sorted(usage.events.items())),
        "workload": {k: round(v, 1) for k, v in sorted(usage.workload.items())},
        "outcomes": dict(usage.outcomes),
    }


def cost_all_in(init: Mapping[str, float]) -> list[dict[str, Any]]:
    """Both designs on each fleet's day, priced."""
    from bench import costing, deployment, reference
    from bench.simulate import Simulation

    monitoring, workload = deployment.monitoring(), deployment.workload()
    entries = []
    for jobs, accounts in FLEETS:
        spec = sized(jobs, accounts)
        fleet = generate(spec)
        ours = Simulation(fleet, monitoring, workload, init).run()
        theirs = reference.run(fleet, init["reference"])
        lines = costing.sagewatch(ours, monitoring, workload, accounts)
        entries.append(
            {
                "fleet": {
                    "jobs_per_day": fleet.jobs,
                    "accounts": accounts,
                    "sagemaker_events_per_day": len(fleet.events),
                    "spec": vars(spec),
                },
                "sagewatch": costing.summary(lines, fleet.jobs) | {"counts": counts(ours)},
                # Within the above: what the in-flight check adds (issue 14).
                "in_flight_check": costing.summary(
                    # its queue, and its dead-letter queue's metric in the alarm
                    costing.share(ours.part["in-flight"], queues=1, alarm_metrics=1),
                    fleet.jobs,
                )
                | {"counts": counts(ours.part["in-flight"])},
                # And what the endpoint health check adds (issue 16, part 2).
                "endpoint_health_check": costing.summary(
                    costing.share(ours.part["endpoint-health"]), fleet.jobs
                )
                | {"counts": counts(ours.part["endpoint-health"])},
                "reference": costing.summary(
                    costing.reference(theirs, reference.DASHBOARDS), fleet.jobs
                )
                | {"counts": counts(theirs)},
            }
        )
    return entries


# Endpoints in service, and the accounts they are spread over, of the two fleets the endpoint
# health check is priced at against CloudWatch alarms (issue 16, part 2).
HEALTH_FLEETS = ((10, 5), (500, 50))
# An alarm per variant and signal does the same: the 5XX rate is metric math over two metrics,
# latency one; a standard alarm is billed per metric it evaluates. It goes to ALARM after its
# window (the same minutes) and CloudWatch's evaluation, 1-3 minutes late.
ALARM_METRICS_PER_VARIANT = 3
ALARM_EVALUATION_MINUTES = (1, 3)


def endpoint_health(init: Mapping[str, float]) -> list[dict[str, Any]]:
    """The endpoint health check (a day of a fleet of endpoints only, its schedule's share)
    against CloudWatch alarms per endpoint, at each of HEALTH_FLEETS: cost a month and minutes
    from a sustained breach's start to its alert."""
    from bench import costing, deployment, prices
    from bench.simulate import Simulation
    from shared.domain.health import HEALTH_WINDOW_MINUTES, METRIC_DELAY_SECONDS

    monitoring, workload = deployment.monitoring(), deployment.workload()
    (tick,) = [
        s.every_seconds for s in monitoring.schedules if s.input == {"action": "endpoint-health"}
    ]
    window, delay = HEALTH_WINDOW_MINUTES, METRIC_DELAY_SECONDS / 60
    entries = []
    for endpoints, accounts in HEALTH_FLEETS:
        spec = FleetSpec(
            accounts=accounts, training=0, processing=0, transform=0, tuning=0, pipelines=0,
            endpoints=endpoints, automation=0, duplicate_rate=0,
        )  # fmt: skip
        usage = Simulation(generate(spec), monitoring, workload, init).run().part["endpoint-health"]
        scan = costing.summary(costing.share(usage), 1)
        alarms = endpoints * ALARM_METRICS_PER_VARIANT * prices.PRICES["cw_alarm_metric_month"].usd
        entries.append(
            {
                "endpoints": endpoints,
                "accounts": accounts,
                "scan": {
                    "per_month_usd": scan["per_month_usd"],
                    "breakdown": {
                        name: {k: v for k, v in line.items() if k != "per_1000_jobs_usd"}
                        for name, line in scan["breakdown"].items()
                    },
                    "counts": counts(usage),
                    "detect_minutes": [window + delay, window + delay + tick / 60],
                },
                "alarms": {
                    "per_month_usd": round(alarms, 2),
                    "alarm_metrics": endpoints * ALARM_METRICS_PER_VARIANT,
                    "detect_minutes": [window + m for m in ALARM_EVALUATION_MINUTES],
                },
            }
        )
    return entries


def lifecycle(init: Mapping[str, float]) -> tuple[float, float]:
    """Invocations per training job (its ~7 state changes, failures, reports) by the functions
    the jobs' events reach, under the batching model; and the reference's."""
    from bench import deployment, reference
    from bench.simulate import Simulation

    fleet = generate(FleetSpec(seed=11, training=300, processing=0, transform=0, tuning=0,
                               pipelines=0, endpoints=0))  # fmt: skip
    monitoring = deployment.monitoring()
    usage = Simulation(fleet, monitoring, None, init).run()
    scheduled = {schedule.function for schedule in monitoring.schedules}
    ours = sum(f.requests for name, f in usage.functions.items() if name not in scheduled)
    theirs = reference.run(fleet, init["reference"]).functions["IngesterFunction"].requests
    return ours / fleet.jobs, theirs / fleet.jobs


WARM_ROUNDS = 5


def warm_cpu(events: int = 2000) -> dict[str, float]:
    """CPU milliseconds per event with in-memory fakes, against a json.loads floor."""
    from bench.warm import alerter_workload, publishers, quiet
    from shared.alerting.service import Summarizer
    from shared.config import EnricherSettings
    from shared.domain.utilization import Thresholds
    from shared.enrichment.service import Enricher
    from tests.fakes import MemoryLedger, MemoryOnce, NoMetrics, Recorder

    raw, settings, alerter = alerter_workload(events)
    enricher = Enricher(
        EnricherSettings("bus", "us-east-1", Thresholds(), "t", "q", 5, 0, 3600, "team"),
        metrics=NoMetrics(), publisher=Recorder(), dead_letters=Recorder(),
        emit=lambda report: None, records=MemoryOnce(),
    )  # fmt: skip
    with quiet():
        # Interleaved rounds, medians: the two measures see the same machine load.
        floors, alerts = [], []
        for _ in range(WARM_ROUNDS):
            floors.append(_cpu(lambda: [json.loads(text) for text in raw]) / events)
            handle = alerter().handle  # a new one per round: it would meet only duplicates
            alerts.append(_cpu(lambda h=handle: [h(json.loads(t)) for t in raw]) / events)
        floor, alert = statistics.median(floors), statistics.median(alerts)
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
            settings, publishers=publishers(), ledger=ledger, records=MemoryOnce()
        )
        summarize = _cpu(lambda: summarizer.run(windows)) / events
    return {
        "json_loads_ms": floor * 1000, "alerter_ms": alert * 1000, "enricher_ms": enrich * 1000,
        "summarizer_ms": summarize * 1000,
    }  # fmt: skip


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
    from bench import coldstart, prices

    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    started = time.process_time()
    day_spec = FleetSpec()
    day = generate(day_spec)
    replayed = replay_day()

    burst_spec = FleetSpec(
        seed=13, training=0, processing=0, transform=0, tuning=1, children_per_tuning=200,
        pipelines=0, endpoints=0, automation=0, duplicate_rate=0,
    )  # fmt: skip
    burst = generate(burst_spec)
    _, burst_meter, _ = run_fleet(burst, run_every=None)
    floor = burst_meter.floor

    # Before the cost model grows this process: the child's ru_maxrss starts from it.
    peak_rss = peak_rss_mb()
    cold = coldstart.measure()
    init = init_seconds(cold["cpu_seconds"])
    per_lifecycle, ref_per_lifecycle = lifecycle(init)
    costs = cost_all_in(init)
    health = endpoint_health(init)
    cpu = warm_cpu()
    results = {
        "scenario": {"fleet_day": vars(day_spec), "events": len(day.events), "jobs": day.jobs},
        "cost_all_in": costs,
        "endpoint_health": health,
        "invocations_per_training_lifecycle": round(per_lifecycle, 3),
        "reference_invocations_per_training_lifecycle": round(ref_per_lifecycle, 3),
        "getmetricdata_calls_vs_floor": round(burst_meter.calls / floor, 3),
        "burst": {
            "jobs": burst.jobs,
            "calls": burst_meter.calls,
            "metrics_requested": burst_meter.metrics,
            "floor": floor,
        },
        "cold_start_vs_boto3_runtime": round(cold["worst_ratio"], 3),
        "cold_start_runtime": {
            "ratios": {k: round(v, 3) for k, v in cold["ratios"].items()},
            "cpu_seconds": {k: round(v, 4) for k, v in cold["cpu_seconds"].items()},
            "rounds": cold["rounds"],
        },
        "alerter_warm_ms_per_event": round(cpu["alerter_ms"], 4),
        "alerter_warm_vs_json_loads": round(cpu["alerter_ms"] / cpu["json_loads_ms"], 1),
        "enricher_warm_ms_per_event": round(cpu["enricher_ms"], 4),
        "summarizer_warm_ms_per_window": round(cpu["summarizer_ms"], 4),
        "json_loads_floor_ms_per_event": round(cpu["json_loads_ms"], 4),
        "peak_rss_mb": round(peak_rss, 1),
        "replay_events_per_second": round(replayed["events_per_second"], 1),
        "replay_peak_rss_mb": round(replayed["peak_rss_mb"], 1),
        "replay_fleet_day": {"spec": replayed["spec"], "events": replayed["events"]},
        "assumptions": ASSUMPTIONS,
        "prices_usd": prices.table(),
        "prices_as_of": f"{prices.READ}, us-east-1 list prices",
        "bench_cpu_seconds": None,
    }
    results["bench_cpu_seconds"] = round(time.process_time() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


TARGETS = [
    ("invocations per training lifecycle", "invocations_per_training_lifecycle", "<=", 1.3),
    ("GetMetricData calls / floor (burst)", "getmetricdata_calls_vs_floor", "<=", 1.2),
    ("cold start / boto3-only, runtime (worst)", "cold_start_vs_boto3_runtime", "<=", 1.5),
    ("alerter warm CPU per event / json.loads", "alerter_warm_vs_json_loads", "<=", 10),
    ("replay events per second (10,000-event day)", "replay_events_per_second", ">=", 1000),
    ("replay peak RSS MB (10,000-event day)", "replay_peak_rss_mb", "<", 300),
]
COST_TARGET = 0.10  # USD per 1,000 jobs, and below the reference


def _print(results: dict[str, Any]) -> None:
    print(f"{'measure':44} {'value':>12} {'target':>10}  met")
    for label, key, op, target in TARGETS:
        value = results[key]
        met = {"<=": value <= target, "<": value < target, ">=": value >= target}[op]
        print(f"{label:44} {value:>12} {op + str(target):>10}  {'yes' if met else 'NO'}")
    ref = results["reference_invocations_per_training_lifecycle"]
    print(f"{'  reference':44} {ref:>12}")
    print(f"{'enricher warm CPU ms per event':44} {results['enricher_warm_ms_per_event']:>12}")
    print(
        f"{'summarizer warm CPU ms per window':44} {results['summarizer_warm_ms_per_window']:>12}"
    )
    print(f"{'json.loads floor ms per event':44} {results['json_loads_floor_ms_per_event']:>12}")
    cold = results["cold_start_runtime"]["ratios"]
    shown = ", ".join(f"{name.removesuffix('Function').lower()} {v}" for name, v in cold.items())
    print(f"{'cold start / boto3-only, per function':44} {shown}")
    print(f"{'peak RSS MB (one alerter invocation)':44} {results['peak_rss_mb']:>12}")

    print("\ncost all in (USD)       per 1,000 jobs (target <= 0.10, below reference)    per month")
    print(f"{'jobs/day  accounts':24}{'sagewatch':>11}{'reference':>11}{'met':>5}"
          f"{'sagewatch':>18}{'reference':>11}")  # fmt: skip
    for entry in results["cost_all_in"]:
        fleet, ours, theirs = entry["fleet"], entry["sagewatch"], entry["reference"]
        met = (
            ours["per_1000_jobs_usd"] <= COST_TARGET
            and ours["per_1000_jobs_usd"] < theirs["per_1000_jobs_usd"]
        )
        print(
            f"{fleet['jobs_per_day']:>8,} {fleet['accounts']:>9,}      "
            f"{ours['per_1000_jobs_usd']:>11.3f}{theirs['per_1000_jobs_usd']:>11.3f}"
            f"{'yes' if met else 'NO':>5}{ours['per_month_usd']:>18,.2f}"
            f"{theirs['per_month_usd']:>11,.2f}"
        )
    for entry in results["cost_all_in"]:
        fleet = entry["fleet"]
        print(
            f"\n{fleet['jobs_per_day']:,} jobs/day over {fleet['accounts']} accounts: "
            "the largest lines (USD a month)"
        )
        for design in ("sagewatch", "reference"):
            top = list(entry[design]["breakdown"].items())[:6]
            shown = ", ".join(f"{name} {line['per_month_usd']:,.2f}" for name, line in top)
            print(f"  {design:10} {shown}")
    print("\nthe in-flight check's share (within the above): USD a month; GetMetricData requests, "
          "metrics; fleet invocations")  # fmt: skip
    for entry in results["cost_all_in"]:
        fleet, share = entry["fleet"], entry["in_flight_check"]
        requests, units = share["counts"]["api_requests"], share["counts"]["billing_units"]
        print(
            f"{fleet['jobs_per_day']:>8,} {fleet['accounts']:>9,}  {share['per_month_usd']:>10,.2f}"
            f"  {requests.get('cloudwatch.GetMetricData', 0):>8,}"
            f" {units.get('cloudwatch.metrics_requested', 0):>10,.0f}"
            f" {share['counts']['invocations'].get('FleetFunction', 0):>8,}"
        )
    print("\nEndpoint health: the scan against CloudWatch alarms per endpoint (a month; minutes "
          "from a breach to its alert)")  # fmt: skip
    print(f"{'endpoints':>9} {'scan USD':>9} {'metrics/day':>12} {'minutes':>8}"
          f"  {'alarms USD':>10} {'minutes':>8}")  # fmt: skip
    for entry in results["endpoint_health"]:
        scan, alarms = entry["scan"], entry["alarms"]
        metrics = scan["counts"]["billing_units"].get("cloudwatch.metrics_requested", 0)
        scan_minutes, alarm_minutes = (
            "-".join(f"{m:g}" for m in side["detect_minutes"]) for side in (scan, alarms)
        )
        print(
            f"{entry['endpoints']:>9,} {scan['per_month_usd']:>9,.2f} {metrics:>12,.0f}"
            f" {scan_minutes:>8}  {alarms['per_month_usd']:>10,.2f} {alarm_minutes:>8}"
        )
    print(f"\n{results['bench_cpu_seconds']} CPU seconds (this process); written to "
          f"{RESULTS.relative_to(ROOT)}")  # fmt: skip


if __name__ == "__main__":
    main()
