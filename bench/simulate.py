"""A day of a fleet through the real sagewatch services, timed as AWS would run them.

The events of the fleet day (bench/fleet.py) arrive on the bus at their own time; the bus's
rules are template.yaml's as deployed (`sagewatch.template.bus_rules`), matched with moto's
EventBridge pattern matcher; each rule's target gets the event as AWS delivers it:

* a function (SAM `EventBridgeRule` events): one asynchronous invocation per event;
* a queue with an event source mapping: SendMessage; the message becomes visible after the
  queue's DelaySeconds; Lambda's poller gathers visible messages into a batch until BatchSize or
  MaximumBatchingWindowInSeconds, receives them (ReceiveMessage, ten a request), invokes the
  function, deletes what succeeded (DeleteMessageBatch, ten a request) and lets the failed
  ones come back after the queue's VisibilityTimeout;
* a log group: the event's bytes are ingested.

Functions run their real handler module (`handlers.*`) with the real service behind it, built
from the function's environment as template.yaml resolves it, and the counting adapters of
bench/adapters.py as its AWS. Scheduled invocations follow the functions' schedules. The
workload accounts send heartbeats and inventory snapshots on their own schedules
(workload-template.yaml), and a snapshot whenever the fleet function asks for one.

Lambda is billed per invocation for `LATENCY_MS` of each request it made plus its CPU time
measured here, scaled to the function's share of a vCPU (Lambda gives 1 vCPU at 1,769 MB: docs.
aws.amazon.com/lambda/latest/dg/configuration-memory.html), rounded up to the millisecond; a
cold start (an invocation more than KEEP_WARM_SECONDS after the function's last one) also bills
its INIT: the handler's import time measured here in a fresh interpreter, not scaled (assumed:
INIT is not held to the memory's CPU share). INIT is billed since 2025-08-01
(aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase).
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import importlib
import json
import math
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from bench.adapters import (
    CountingActivity,
    CountingChannel,
    CountingFleetTable,
    CountingLedger,
    CountingOnce,
    CountingQueue,
    CountingRefresher,
    CountingSink,
    FleetMetrics,
    Meter,
    chunks,
    envelope,
)
from bench.deployment import ACCOUNT, REGION, Deployment, Workload
from bench.fleet import DAY, Fleet, heartbeat, snapshot
from sagewatch import template as cfn
from sagewatch.embedded.observe import captured_output, emf_metrics
from sagewatch.embedded.runtime import FakeLambdaContext
from shared.contracts.inventory import KPIS

DAY_SECONDS = 86_400
VCPU_MB = 1769  # the memory at which a function has one full vCPU
KEEP_WARM_SECONDS = 600  # assumed: an idle execution environment is kept 10 minutes
# Assumed: Lambda's own JSON log records per invocation (platform.start, platform.report).
PLATFORM_LOG_BYTES = 450
COLLECTOR_LOG_BYTES = 300  # assumed: the collector's one log line
RECEIVE_BATCH = 10  # messages per ReceiveMessage / DeleteMessageBatch request
# Assumed subscriptions (the stack creates none by default): one address on the email topic,
# Amazon Q Developer (HTTPS) on the chat topic, one queue on the JSON topic.
SUBSCRIPTIONS = {"EmailTopic": ("email",), "ChatTopic": ("https",), "JsonTopic": ("sqs",)}
HANDLERS = {
    "EnricherFunction": ("handlers.enricher", "_enricher"),
    "AlerterFunction": ("handlers.alerter", "_alerter"),
    "SummarizerFunction": ("handlers.summarizer", "_summarizer"),
    "FleetFunction": ("handlers.fleet", "_fleet"),
}


def cpu_share(memory_mb: int) -> float:
    return min(1.0, memory_mb / VCPU_MB)


def hour_of_day(moment: float) -> int:
    """The hour of the day a datapoint falls in. Work that runs past midnight lands in the
    early hours, where the next day's would in steady state (one day stands for every day)."""
    return int((moment - DAY.timestamp()) // 3600) % 24


def timestamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


@dataclass
class FunctionUsage:
    memory_mb: int
    architecture: str
    requests: int = 0
    billed_ms: float = 0.0
    cold_starts: int = 0
    init_ms: float = 0.0
    cpu_ms: float = 0.0
    latency_ms: float = 0.0
    errors: int = 0

    @property
    def gb_seconds(self) -> float:
        return self.memory_mb / 1024 * (self.billed_ms + self.init_ms) / 1000


@dataclass
class Usage:
    """What one day used: per function, per API, per billing unit."""

    functions: dict[str, FunctionUsage] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    units: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    log_bytes: Counter[str] = field(default_factory=Counter)  # by log group
    log_retention: dict[str, int | None] = field(default_factory=dict)
    archive_bytes: int = 0
    archive_retention_days: int | None = None
    events: Counter[str] = field(default_factory=Counter)  # billed EventBridge events by kind
    kms_requests: int = 0
    metric_hours: int = 0
    metric_series: int = 0
    metric_names: int = 0
    workload: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    outcomes: Counter[str] = field(default_factory=Counter)
    part: dict[str, Usage] = field(default_factory=dict)  # what a feature used, within the above


# The in-flight check's work: its schedule's invocations, and the running jobs' queue (sending,
# polling, the fleet function's batches); a share of the day's usage, priced on its own.
IN_FLIGHT, RUNNING_JOBS_QUEUE = {"action": "in-flight"}, "RunningJobsQueue"
ORGANIZATION = "o-bench12345"  # the fleet's accounts' organization (its paths admit them all)
# The endpoint health check's: its schedule's invocations (issue 16, part 2).
ENDPOINT_HEALTH = {"action": "endpoint-health"}


@dataclass
class _Message:
    message_id: str
    body: str
    receives: int = 0


@dataclass
class _Poller:
    waiting: list[_Message] = field(default_factory=list)
    generation: int = 0
    timer: bool = False


class Simulation:
    """One day of `fleet` on a sagewatch stack deployed as `deployment` says."""

    def __init__(
        self,
        fleet: Fleet,
        deployment: Deployment,
        workload: Workload | None,
        init_seconds: Mapping[str, float],
        seed: int = 1,
    ) -> None:
        from moto.events.models import EventPattern

        self.fleet, self.deployment, self.workload = fleet, deployment, workload
        self.init_seconds = init_seconds
        self.rng = random.Random(seed)
        self.meter = Meter()
        self.usage = Usage(
            log_retention=dict(deployment.log_groups),
            archive_retention_days=deployment.archive_retention_days,
        )
        for logical_id, spec in deployment.functions.items():
            self.usage.functions[logical_id] = FunctionUsage(spec.memory_mb, spec.architecture)
        self.heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.sequence = 0
        self.last_end: dict[str, float] = {}
        self.pollers = {queue: _Poller() for queue in deployment.queue_sources}
        self.series_hours: set[tuple[Any, ...]] = set()
        self.rules = [
            (
                rule.logical_id,
                rule.pattern,
                rule.targets,
                EventPattern.load(json.dumps(rule.pattern)),
            )
            for rule in cfn.bus_rules(ACCOUNT)
        ]
        self.matches: dict[tuple[Any, ...], bool] = {}
        self.services = self._services()

    # ---- the stack -------------------------------------------------------------------------
    def clock(self) -> float:
        return self.meter.now

    def _environment(self, logical_id: str) -> dict[str, str]:
        names = {
            "EventBus": "sagewatch",
            **{topic: f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}" for topic in SUBSCRIPTIONS},
            "IdempotencyTable": "sagewatch-idempotency",
            "FleetTable": "sagewatch-fleet",
            "RefreshRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/sagewatch-refresh",
            "EnrichmentDeadLetterQueue": "EnrichmentDeadLetterQueue",
            "SummaryQueue": "SummaryQueue",
            "SummaryDeadLetterQueue": "SummaryDeadLetterQueue",
            "RunningJobsDeadLetterQueue": "RunningJobsDeadLetterQueue",
            # Deployed for an organization, so with its OAM sink: the fleet function's checks
            # read the linked accounts' endpoint metrics.
            "OrganizationPaths": ORGANIZATION,
            "OamSink.Arn": f"arn:aws:oam:{REGION}:{ACCOUNT}:sink/bench",
        }  # fmt: skip
        refs = cfn.parameter_defaults() | cfn.pseudo_parameters(ACCOUNT, REGION) | names
        return cfn.function_environment(logical_id, refs) | {"AWS_REGION": REGION}

    def _services(self) -> dict[str, Any]:
        from shared.alerting.service import Alerter, Summarizer
        from shared.config import AlerterSettings, EnricherSettings, FleetSettings
        from shared.enrichment.service import Enricher
        from shared.fleet.service import Fleet as FleetService

        meter = self.meter
        owners = {run.name: run.account for run in self.fleet.runs}
        records, ledger = CountingOnce(meter), CountingLedger(meter)
        metrics = FleetMetrics(meter, self.fleet.series, owners)  # the enricher's and the fleet's
        table = CountingFleetTable(meter)  # the fleet's, and the accounts' labels for every alert
        topics = {"email": "EmailTopic", "json": "JsonTopic", "chat": "ChatTopic"}
        channels: dict[str, Any] = {
            channel: CountingChannel(meter, topic, SUBSCRIPTIONS[topic])
            for channel, topic in topics.items()
        }
        summaries = CountingQueue(
            meter, "SummaryQueue", lambda body: self._arrive("SummaryQueue", body)
        )
        alerter_settings = AlerterSettings.from_env(self._environment("AlerterFunction"))
        return {
            "EnricherFunction": Enricher(
                EnricherSettings.from_env(self._environment("EnricherFunction")),
                metrics=metrics,
                publisher=CountingSink(meter, lambda event: self.later(0, self.bus, event, "own")),
                dead_letters=CountingQueue(meter, "EnrichmentDeadLetterQueue"),
                records=records, clock=self.clock,
            ),
            "AlerterFunction": Alerter(
                alerter_settings, publishers=channels, ledger=ledger, summaries=summaries,
                clock=self.clock, records=records, labels=table,
            ),
            "SummarizerFunction": Summarizer(
                AlerterSettings.from_env(self._environment("SummarizerFunction")),
                publishers=channels, ledger=ledger, records=records,
                dead_letters=CountingQueue(meter, "SummaryDeadLetterQueue"), labels=table,
                clock=self.clock,
            ),
            "FleetFunction": FleetService(
                FleetSettings.from_env(self._environment("FleetFunction")),
                table=table, activity=CountingActivity(meter),
                refresher=CountingRefresher(meter, self._refresh), publishers=channels,
                records=records, clock=self.clock,
                metrics=metrics, dead_letters=CountingQueue(meter, "RunningJobsDeadLetterQueue"),
            ),
        }  # fmt: skip

    @contextlib.contextmanager
    def handlers(self) -> Iterator[dict[str, Callable[..., Any]]]:
        """The functions' own handler modules, each serving this simulation's service."""
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # the stack's default
        modules: dict[str, tuple[ModuleType, str, Any]] = {}
        for logical_id, (module_name, factory) in HANDLERS.items():
            module = importlib.import_module(module_name)
            modules[logical_id] = (module, factory, getattr(module, factory))
            service = self.services[logical_id]
            setattr(module, factory, lambda service=service: service)
        try:
            yield {logical_id: module.handler for logical_id, (module, _, _) in modules.items()}
        finally:
            for module, factory, original in modules.values():
                setattr(module, factory, original)

    # ---- the event loop --------------------------------------------------------------------
    def later(self, delay: float, action: Callable[..., None], *args: Any) -> None:
        self.at(self.meter.now + delay, action, *args)

    def at(self, when: float, action: Callable[..., None], *args: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (when, self.sequence, action, args))

    def run(self) -> Usage:
        start = DAY.timestamp()
        self._warm_up(start)
        for event in self.fleet.events:
            self.at(timestamp(event["time"]), self._forwarded, event)
        for schedule in self.deployment.schedules:
            for n in range(DAY_SECONDS // schedule.every_seconds):
                when = start + n * schedule.every_seconds
                self.at(when, self._invoke_async, schedule.function, schedule.input)
        if self.workload:
            self._workload_schedules(start)
        with self.handlers() as handlers:
            self.handler_of = handlers
            while self.heap:
                when, _, action, args = heapq.heappop(self.heap)
                self.meter.now = max(self.meter.now, when)
                action(*args)
        return self._usage()

    def _warm_up(self, start: float) -> None:
        """Yesterday, unmetered: every account heard from and inventoried two days ago, so
        today's endpoints are candidates for the idle check, as on any day but the first."""
        if not self.workload:
            return
        fleet = self.services["FleetFunction"]
        self.meter.on = False
        with captured_output():
            for account in self.fleet.accounts:
                for at in (start - 2 * DAY_SECONDS, start - 60):
                    self.meter.now = at
                    when = datetime.fromtimestamp(at, UTC)
                    fleet.handle(snapshot(self.fleet, account, when, "schedule", None, self.rng))
                    fleet.handle(
                        heartbeat(account, when, self.workload.heartbeat_seconds // 60, self.rng)
                    )
        self.meter.on = True
        self.meter.now = start

    # ---- EventBridge -----------------------------------------------------------------------
    def _forwarded(self, event: dict[str, Any]) -> None:
        """A workload account's rule forwards an event to this bus (cross-account: the workload
        account pays it as a custom event)."""
        self.usage.workload["events.cross_account"] += chunks(len(json.dumps(event)))
        self.bus(event, "workload")

    def bus(self, event: dict[str, Any], origin: str) -> None:
        size = len(json.dumps(event))
        self.usage.events[f"received.{origin}"] += chunks(size)
        if self.deployment.archive_retention_days is not None:
            self.usage.archive_bytes += size
        for rule_id, pattern, targets, matcher in self.rules:
            if self._matches(rule_id, pattern, matcher, event):
                for target in targets:
                    self._deliver(target, event, size)

    def _matches(
        self, rule_id: str, pattern: Mapping[str, Any], matcher: Any, event: Mapping[str, Any]
    ) -> bool:
        for key in ("source", "detail-type"):
            wanted = pattern.get(key)
            if (
                isinstance(wanted, list)
                and all(isinstance(w, str) for w in wanted)
                and event.get(key) not in wanted
            ):
                return False
        if set(pattern) <= {"source", "detail-type", "account"}:
            memo = (rule_id, event.get("source"), event.get("detail-type"), event.get("account"))
            if memo not in self.matches:
                self.matches[memo] = bool(matcher.matches_event(event))
            return self.matches[memo]
        return bool(matcher.matches_event(event))

    def _deliver(self, target: str, event: dict[str, Any], size: int) -> None:
        if target in self.deployment.queue_sources:
            self._send(target, json.dumps(event))
        elif target in self.deployment.functions:
            self.later(0, self._invoke_async, target, event)
        elif target in self.deployment.log_groups:
            self.usage.log_bytes[target] += size
            self.meter.kms_activity(f"logs:{target}")
        else:
            raise ValueError(f"rule target {target} is neither a queue, a function nor a log group")

    def _refresh(self, targets: Any, detail: Mapping[str, Any], source: str, kind: str) -> None:
        """The fleet function's refresh request: on this bus (archived), then delivered by its
        rules to each workload account's default bus (the sender pays each delivery), where it
        runs the inventory collector."""
        self.sequence += 1
        event = envelope(source, kind, detail, self.meter.now, f"refresh-{self.sequence}")
        self.later(0, self.bus, event, "own")
        self.usage.events["refresh.cross_account"] += len(targets) * chunks(len(json.dumps(event)))
        for account, _ in targets:
            self.later(1, self._collect, account, "refresh", detail.get("request_id"))

    # ---- SQS and Lambda's poller -----------------------------------------------------------
    def _send(self, queue: str, body: str) -> None:
        with self._share("in-flight", queue == RUNNING_JOBS_QUEUE):
            self.meter.call("sqs.SendMessage", {"sqs.request_chunks": chunks(len(body))}, kms=queue)
        self._arrive(queue, body)

    @contextlib.contextmanager
    def _share(self, name: str, counted: bool) -> Iterator[None]:
        """What the code does within is also counted as `name`'s share of the day."""
        if not counted:
            yield
            return
        calls, units = Counter(self.meter.calls), dict(self.meter.units)
        before = {n: dataclasses.replace(f) for n, f in self.usage.functions.items()}
        logged = Counter(self.usage.log_bytes)
        try:
            yield
        finally:
            part = self.usage.part.setdefault(
                name, Usage(log_retention=dict(self.usage.log_retention))
            )
            part.calls.update(Counter(self.meter.calls) - calls)
            for unit, value in self.meter.units.items():
                part.units[unit] += value - units.get(unit, 0.0)
            part.log_bytes.update(Counter(self.usage.log_bytes) - logged)
            for n, now in self.usage.functions.items():
                was = before[n]
                mine = part.functions.setdefault(n, FunctionUsage(now.memory_mb, now.architecture))
                mine.requests += now.requests - was.requests
                mine.billed_ms += now.billed_ms - was.billed_ms
                mine.init_ms += now.init_ms - was.init_ms
                mine.cold_starts += now.cold_starts - was.cold_starts

    def _arrive(self, queue: str, body: str) -> None:
        source = self.deployment.queue_sources.get(queue)
        if source is None:
            return
        self.sequence += 1
        message = _Message(f"m-{self.sequence}", body)
        self.later(source.delay_seconds, self._visible, queue, message)

    def _visible(self, queue: str, message: _Message) -> None:
        source, poller = self.deployment.queue_sources[queue], self.pollers[queue]
        poller.waiting.append(message)
        if len(poller.waiting) >= source.batch_size:
            self._flush(queue, poller.generation)
        elif not poller.timer:
            poller.timer = True
            self.later(source.window_seconds, self._flush, queue, poller.generation)

    def _flush(self, queue: str, generation: int) -> None:
        with self._share("in-flight", queue == RUNNING_JOBS_QUEUE):
            self._poll(queue, generation)

    def _poll(self, queue: str, generation: int) -> None:
        source, poller = self.deployment.queue_sources[queue], self.pollers[queue]
        if generation != poller.generation or not poller.waiting:
            return
        poller.generation += 1
        poller.timer = False
        batch, poller.waiting = (
            poller.waiting[: source.batch_size],
            poller.waiting[source.batch_size :],
        )
        if poller.waiting:
            poller.timer = True
            self.later(source.window_seconds, self._flush, queue, poller.generation)
        for offset in range(0, len(batch), RECEIVE_BATCH):
            size = sum(len(m.body) for m in batch[offset : offset + RECEIVE_BATCH])
            self.meter.call("sqs.ReceiveMessage", {"sqs.request_chunks": chunks(size)}, kms=queue)
        for message in batch:
            message.receives += 1
        records = [
            {
                "messageId": m.message_id, "receiptHandle": m.message_id, "body": m.body,
                "attributes": {"ApproximateReceiveCount": str(m.receives)}, "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for m in batch
        ]  # fmt: skip
        result = self._invoke(source.function, {"Records": records})
        if isinstance(result, dict):
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        else:  # the invocation failed: the whole batch comes back
            failed = {m.message_id for m in batch}
        done = [m for m in batch if m.message_id not in failed]
        self.meter.call("sqs.DeleteMessageBatch", count=math.ceil(len(done) / RECEIVE_BATCH))
        self.usage.outcomes[f"{queue}.returned"] += len(failed)
        for message in batch:
            if message.message_id not in failed:
                continue
            if source.max_receives is not None and message.receives >= source.max_receives:
                self.usage.outcomes[f"{queue}.redriven"] += 1
            else:
                self.later(source.visibility_seconds, self._visible, queue, message)

    # ---- Lambda ----------------------------------------------------------------------------
    def _invoke_async(self, function: str, event: Any) -> None:
        with (
            self._share("in-flight", event == IN_FLIGHT),
            self._share("endpoint-health", event == ENDPOINT_HEALTH),
        ):
            self._invoke(function, event)

    def _invoke(self, function: str, event: Any) -> Any:
        spec, usage = self.deployment.functions[function], self.usage.functions[function]
        share = cpu_share(spec.memory_mb)
        now = self.meter.now
        if now - self.last_end.get(function, -math.inf) > KEEP_WARM_SECONDS:
            usage.cold_starts += 1
            usage.init_ms += self.init_seconds.get(function, 0.0) * 1000
            self.usage.kms_requests += 1  # Lambda decrypts the environment with the stack's key
        self.meter.latency_ms = 0.0
        context = FakeLambdaContext(f"sagewatch-{function}")
        result: Any = None
        bookkeeping = self.meter.bookkeeping_s
        with captured_output() as output:
            started = time.process_time()
            try:
                result = self.handler_of[function](event, context)
            except Exception as error:  # counted; Lambda's retries are not modelled
                usage.errors += 1
                result = error
            cpu_s = time.process_time() - started - (self.meter.bookkeeping_s - bookkeeping)
        cpu_ms = cpu_s * 1000
        duration = self.meter.latency_ms + cpu_ms / share
        usage.requests += 1
        usage.billed_ms += math.ceil(duration)
        usage.cpu_ms += cpu_ms
        usage.latency_ms += self.meter.latency_ms
        self.last_end[function] = now + duration / 1000
        self._logs(spec.log_group or function, output.getvalue(), now)
        return result

    def _logs(self, group: str, text: str, now: float) -> None:
        self.usage.log_bytes[group] += len(text.encode()) + PLATFORM_LOG_BYTES
        self.meter.kms_activity(f"logs:{group}")
        hour = hour_of_day(now)
        for line in text.splitlines():
            if '"_aws"' not in line:
                continue
            for metric in emf_metrics(json.loads(line)):
                dimensions = tuple(sorted(metric["dimensions"].items()))
                self.series_hours.add((metric["namespace"], metric["name"], dimensions, hour))

    # ---- the workload accounts -------------------------------------------------------------
    def _workload_schedules(self, start: float) -> None:
        assert self.workload is not None
        heartbeat_every, collector_every = (
            self.workload.heartbeat_seconds,
            self.workload.collector_seconds,
        )
        for account in self.fleet.accounts:
            phase = self.rng.uniform(0, heartbeat_every)
            for n in range(int((DAY_SECONDS - phase) // heartbeat_every) + 1):
                self.at(start + phase + n * heartbeat_every, self._heartbeat, account)
            phase = self.rng.uniform(0, collector_every)
            for n in range(int((DAY_SECONDS - phase) // collector_every) + 1):
                jitter = self.rng.uniform(0, self.workload.collector_window_seconds)
                self.at(
                    start + phase + n * collector_every + jitter,
                    self._collect,
                    account,
                    "schedule",
                    None,
                )

    def _heartbeat(self, account: str) -> None:
        """EventBridge Scheduler puts the heartbeat on the account's default bus (a custom
        event), whose rule forwards it here."""
        assert self.workload is not None
        when = datetime.fromtimestamp(self.meter.now, UTC)
        event = heartbeat(account, when, self.workload.heartbeat_seconds // 60, self.rng)
        self.usage.workload["scheduler.invocations"] += 1
        self.usage.workload["events.custom"] += chunks(len(json.dumps(event)))
        self._forwarded(event)

    def _collect(self, account: str, trigger: str, request_id: Any) -> None:
        """The workload's inventory collector: one Lambda run (its SageMaker List calls, one per
        KPI, and a Describe per item it reports: `LATENCY_MS["sagemaker"]` each), a custom event
        on its default bus, forwarded here."""
        assert self.workload is not None
        when = datetime.fromtimestamp(self.meter.now, UTC)
        event = snapshot(self.fleet, account, when, trigger, request_id, self.rng)
        kpis = event["detail"]["kpis"]
        calls = len(KPIS) + sum(len(k.get("items", [])) for k in kpis.values())
        from bench.adapters import LATENCY_MS

        duration_ms = calls * LATENCY_MS["sagemaker"] + LATENCY_MS["events"]
        usage = self.usage.workload
        usage["collector.invocations"] += 1
        if trigger == "schedule":  # EventBridge Scheduler invoked it
            usage["scheduler.invocations"] += 1
        usage["collector.billed_ms"] += math.ceil(duration_ms)
        if (
            self.meter.now - self.last_end.get("collector|" + account, -math.inf)
            > KEEP_WARM_SECONDS
        ):
            usage["collector.cold_starts"] += 1
            usage["collector.init_ms"] += self.init_seconds.get("collector", 0.0) * 1000
        self.last_end["collector|" + account] = self.meter.now + duration_ms / 1000
        usage["collector.log_bytes"] += PLATFORM_LOG_BYTES + COLLECTOR_LOG_BYTES
        usage["events.custom"] += chunks(len(json.dumps(event)))
        self.later(duration_ms / 1000, self._forwarded, event)

    # ---- the day's totals ------------------------------------------------------------------
    def _usage(self) -> Usage:
        usage = self.usage
        usage.calls = Counter(self.meter.calls)
        usage.units = defaultdict(float, self.meter.units)
        usage.kms_requests += len(self.meter.kms)
        usage.metric_hours = len(self.series_hours)
        usage.metric_series = len({hour[:3] for hour in self.series_hours})
        usage.metric_names = len({hour[1] for hour in self.series_hours})
        return usage
