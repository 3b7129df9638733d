"""Counting in-memory adapters: the fakes of tests/fakes.py (or a data-aware one), each also
recording the AWS requests the real adapter in shared/adapters makes for the same call, with
their billing units and an assumed latency.

A day of the 10,000-job fleet is about 200,000 events, and the cost model needs the requests
and their billing units, which the embedded AWS does not price; so it drives the real services
through these. Each
adapter's requests per call are those of the adapter it stands for (tests/unit/
test_bench_adapters.py runs both on the same calls, the real one against botocore's Stubber, and
compares the requests).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.deployment import ACCOUNT, KMS_DEFAULT_DATA_KEY_REUSE_SECONDS, REGION
from sagewatch.embedded.memory import MemoryOnce
from shared.adapters.cloudwatch import EndpointActivity
from shared.adapters.eventbridge import PUT_EVENTS_MAX_ENTRIES, RefreshRequester
from shared.contracts.labels import Labels
from shared.contracts.storm_window import StormWindow
from shared.domain.health import Breach, Minute, Signal
from shared.domain.parser import parse_time
from shared.domain.utilization import NAMESPACES, Call, Query
from shared.ports import (
    AlertChannel,
    DeadLetters,
    EventSink,
    Fetched,
    InvocationSource,
    MetricsSource,
    Progress,
    RefreshRequests,
    SummaryScheduler,
)
from tests.fakes import MemoryFleetTable, MemoryLedger

CHUNK = 64 * 1024  # EventBridge, SNS and SQS bill each 64 KB of a payload as one request

# Assumed in-Region latency of one request from a Lambda function, in milliseconds (p50-like,
# not measured here): DynamoDB single-digit, queue and topic writes ~10-20, GetMetricData the
# slowest (it reads the metrics store). The model's Lambda duration is the sum of these for the
# requests an invocation makes, plus its measured CPU time.
LATENCY_MS = {
    "dynamodb": 6.0,
    "sqs": 10.0,
    "sns": 20.0,
    "events": 20.0,
    "cloudwatch.GetMetricData": 150.0,
    "cloudwatch.ListMetrics": 80.0,
    "sagemaker": 100.0,
}


def chunks(size: int) -> int:
    return max(1, math.ceil(size / CHUNK))


class Meter:
    """Every request the counting adapters make, with billing units and KMS activity."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()  # "dynamodb.PutItem" → requests
        self.units: defaultdict[str, float] = defaultdict(float)  # "dynamodb.write_units" → units
        self.kms: set[tuple[str, int]] = set()  # (resource, data-key period) with activity
        self.latency_ms = 0.0  # of the invocation under way
        self.now = 0.0  # the simulated clock, seconds since the epoch
        self.on = True
        self.bookkeeping_s = 0.0  # CPU spent sizing items and payloads: the bench's, not AWS's

    @contextlib.contextmanager
    def sizing(self) -> Iterator[None]:
        """Work only the benchmark does (item and payload sizes): kept out of the functions'
        measured CPU time."""
        started = time.process_time()
        try:
            yield
        finally:
            self.bookkeeping_s += time.process_time() - started

    def call(
        self,
        api: str,
        units: Mapping[str, float] | None = None,
        kms: str | None = None,
        count: int = 1,
    ) -> None:
        if not self.on or count <= 0:
            return
        self.calls[api] += count
        self.latency_ms += count * LATENCY_MS.get(api, LATENCY_MS.get(api.split(".")[0], 0.0))
        for name, value in (units or {}).items():
            self.units[name] += value
        if kms:
            self.kms_activity(kms)

    def kms_activity(self, resource: str) -> None:
        """A resource encrypted with the stack's key was used now: its service asks KMS for a
        data key once per reuse period (SQS's KmsDataKeyReusePeriodSeconds default, assumed
        for SNS, DynamoDB and CloudWatch Logs too)."""
        if self.on:
            self.kms.add((resource, int(self.now // KMS_DEFAULT_DATA_KEY_REUSE_SECONDS)))


# ---- DynamoDB ----------------------------------------------------------------------------------


def value_bytes(value: Any) -> int:
    """A DynamoDB attribute value's size: strings by UTF-8 length, numbers ~1 byte per two
    digits plus one, sets and lists summed (plus 3 bytes for a list), booleans 1."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        return len(str(value)) // 2 + 1
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, set | frozenset | list | tuple):
        return 3 + sum(value_bytes(v) for v in value)
    return len(json.dumps(value, default=str))


def item_bytes(item: Mapping[str, Any]) -> int:
    return sum(len(name) + value_bytes(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


class CountingOnce(MemoryOnce):
    """`OnceTable` in memory (sagewatch.embedded.memory), each UpdateItem it counts also metered:
    write units by the item's size. A claim refused by its condition (a duplicate, or the key
    held) returns the item in the same call and still consumes write units."""

    def __init__(self, meter: Meter, table: str = "IdempotencyTable") -> None:
        super().__init__()
        self.meter, self.table = meter, table

    def _write(self, key: str) -> None:
        with self.meter.sizing():
            size = item_bytes({"id": key} | self.items.get(key, {}))
        units = {"dynamodb.write_units": write_units(size)}
        self.meter.call("dynamodb.UpdateItem", units, kms=self.table)

    def claim(self, key: str, now: float, lease_until: float, expires_at: int) -> Progress | None:
        progress = super().claim(key, now, lease_until, expires_at)
        self._write(key)
        return progress

    def settle(self, key: str, progress: Progress) -> None:
        super().settle(key, progress)
        self._write(key)


class CountingLedger(MemoryLedger):
    """BurstLedger: one UpdateItem per incident (two once the window's list is full: the first
    fails its condition), one per summary; write units by the window item's size (digests of
    16 characters, the job names, the counters)."""

    DIGEST = 16

    def __init__(self, meter: Meter, table: str = "IdempotencyTable") -> None:
        super().__init__()
        self.meter, self.table = meter, table

    def _size(self, bucket: str) -> int:
        window = self.windows.get(bucket)
        if window is None:
            return 0
        with self.meter.sizing():
            return self._item_size(bucket, window)

    def _item_size(self, bucket: str, window: Mapping[str, Any]) -> int:
        return item_bytes(
            {
                "id": bucket,
                "incidents": ["x" * self.DIGEST] * len(window["incidents"]),
                "job_names": sorted(window["names"]),
                "expiration": 1_800_000_000,
                "unlisted": window["unlisted"],
                "summarized": window["summarized"],
            }
        )

    def add(self, bucket: str, incident: str, name: str, expires_at: int) -> tuple[int, bool]:
        before = self._size(bucket)
        window = self.windows.get(bucket)
        full = (
            window is not None
            and incident not in window["incidents"]
            and len(window["incidents"]) >= self.LISTED
        )
        result = super().add(bucket, incident, name, expires_at)
        units = write_units(max(before, self._size(bucket)))
        self.meter.call(
            "dynamodb.UpdateItem", {"dynamodb.write_units": units * (2 if full else 1)},
            kms=self.table, count=2 if full else 1,
        )  # fmt: skip
        return result

    def summarize(self, bucket: str) -> tuple[int, list[str]] | None:
        units = write_units(self._size(bucket))
        self.meter.call("dynamodb.UpdateItem", {"dynamodb.write_units": units}, kms=self.table)
        return super().summarize(bucket)


class CountingFleetTable(MemoryFleetTable):
    """FleetTable: heartbeats and marks are UpdateItem/PutItem/DeleteItem, an inventory is a
    conditional PutItem and an eventually consistent GetItem, `sources` and `inventories` each
    a strongly consistent Scan of the whole table (1 MB pages, read units per 4 KB)."""

    def __init__(self, meter: Meter, table: str = "FleetTable") -> None:
        super().__init__()
        self.meter, self.table = meter, table
        self.sizes: dict[str, int] = {}  # each item's size, kept as items are written

    def _size(self, key: str) -> int:
        return self.sizes.get(key, 0)

    def _write(self, api: str, key: str, before: int) -> None:
        with self.meter.sizing():
            item = self.items.get(key)
            if item is None:
                self.sizes.pop(key, None)
            else:
                self.sizes[key] = len("id") + len(key) + item_bytes(item)
        units = write_units(max(before, self._size(key)))
        self.meter.call(api, {"dynamodb.write_units": units}, kms=self.table)

    def _scan(self) -> None:
        size = sum(self.sizes.values())
        pages = max(1, math.ceil(size / 1_000_000))
        units = max(1, math.ceil(size / 4096))
        self.meter.call(
            "dynamodb.Scan", {"dynamodb.read_units": units}, kms=self.table, count=pages
        )

    def put_heartbeat(
        self, account: str, region: str, at: float, interval: int, labels: Mapping[str, str]
    ) -> None:
        key = f"source|{account}|{region}"
        before = self._size(key)
        super().put_heartbeat(account, region, at, interval, labels)
        self._write("dynamodb.UpdateItem", key, before)

    def sources(self) -> tuple[list[dict[str, Any]], dict[str, tuple[float, bool]]]:
        self._scan()
        return super().sources()

    def expect(self, account: str, since: float) -> None:
        key = f"expected|{account}"
        before = self._size(key)
        super().expect(account, since)
        self._write("dynamodb.PutItem", key, before)

    def mark(self, account: str, region: str | None, silent_since: float | None) -> None:
        key = f"expected|{account}" if region is None else f"source|{account}|{region}"
        before = self._size(key)
        super().mark(account, region, silent_since)
        api = "dynamodb.UpdateItem" if region is not None else "dynamodb.PutItem"
        if region is None and silent_since is None:
            api = "dynamodb.DeleteItem"
        self._write(api, key, before)

    def put_inventory(self, record: Mapping[str, Any], expires: int) -> None:
        key = f"inventory|{record['account']}|{record['region']}"
        with self.meter.sizing():
            before = max(self._size(key), item_bytes(record) + len("expiration") + 6)
        super().put_inventory(record, expires)
        self._write("dynamodb.PutItem", key, before)

    def inventory(self, account: str, region: str) -> dict[str, Any] | None:
        size = self._size(f"inventory|{account}|{region}")
        self.meter.call(
            "dynamodb.GetItem", {"dynamodb.read_units": read_units(size, False)}, kms=self.table
        )
        return super().inventory(account, region)

    def inventories(self) -> list[dict[str, Any]]:
        self._scan()
        return super().inventories()

    def labels(self, account: str, region: str) -> Labels | None:
        size = self._size(f"source|{account}|{region}")
        self.meter.call(
            "dynamodb.GetItem", {"dynamodb.read_units": read_units(size, False)}, kms=self.table
        )
        return super().labels(account, region)

    def name_account(self, account: str, region: str, at: float, alias: str) -> None:
        change = super().name_account
        self._updated(f"source|{account}|{region}", lambda: change(account, region, at, alias))

    def teams(self, account: str, region: str) -> Mapping[str, str]:
        size = self._size(f"inventory|{account}|{region}")  # read units: the whole item's
        self.meter.call(
            "dynamodb.GetItem", {"dynamodb.read_units": read_units(size, False)}, kms=self.table
        )
        return super().teams(account, region)

    # Running jobs: each write an UpdateItem (conditional), the check's read a Scan.
    def _updated(self, key: str, change: Callable[[], Any]) -> Any:
        before = self._size(key)
        result = change()
        self._write("dynamodb.UpdateItem", key, before)
        return result

    def put_running(self, key: str, job: str, at: float, expires: int) -> None:
        change = super().put_running
        self._updated(key, lambda: change(key, job, at, expires))

    def end_running(self, key: str, at: float, status: str, expires: int) -> dict[str, Any]:
        change = super().end_running
        return dict(self._updated(key, lambda: change(key, at, status, expires)))

    def running_jobs(self) -> list[dict[str, Any]]:
        self._scan()
        return super().running_jobs()

    def open_episode(self, key: str, since: float, percent: float) -> int | None:
        change = super().open_episode
        episode: int | None = self._updated(key, lambda: change(key, since, percent))
        return episode

    def episode_alerted(self, key: str, episode: int) -> dict[str, Any] | None:
        change = super().episode_alerted
        record: dict[str, Any] | None = self._updated(key, lambda: change(key, episode))
        return record

    def close_episode(self, key: str, episode: int) -> bool:
        change = super().close_episode
        return bool(self._updated(key, lambda: change(key, episode)))

    def health_episodes(self) -> list[dict[str, Any]]:
        self._scan()
        return super().health_episodes()

    def open_unhealthy(self, key: str, breach: Breach, expires: int) -> int | None:
        change = super().open_unhealthy
        episode: int | None = self._updated(key, lambda: change(key, breach, expires))
        return episode

    def unhealthy_alerted(self, key: str, episode: int) -> bool:
        change = super().unhealthy_alerted
        return bool(self._updated(key, lambda: change(key, episode)))

    def keep_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        change = super().keep_unhealthy
        return bool(self._updated(key, lambda: change(key, episode, expires)))

    def close_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        change = super().close_unhealthy
        return bool(self._updated(key, lambda: change(key, episode, expires)))


# ---- CloudWatch --------------------------------------------------------------------------------


class FleetMetrics(MetricsSource):
    """The fleet's host metrics (bench/fleet.py's series) served as GetMetricData would: each
    query gets its series' datapoints inside the query's window. One request per planned call
    (the planner keeps each call within GetMetricData's 100,800 points, so no NextToken); every
    query is a billed metric. `hosts` is one ListMetrics per account (500 metrics a page)."""

    def __init__(
        self, meter: Meter, series: Iterable[Mapping[str, Any]], owners: Mapping[str, str]
    ):
        self.meter = meter
        self.series: dict[tuple[str, str, str], tuple[datetime, datetime, int, float]] = {}
        self.hosts_of: dict[tuple[str, str], list[str]] = {}  # (account, namespace) → hosts
        for s in series:
            host = s["dimensions"]["Host"]
            start, end = parse_time(s["start"]), parse_time(s["end"])
            assert start is not None
            assert end is not None
            self.series[(s["namespace"], s["metric"], host)] = (
                start, end, int(s.get("every_seconds", 60)), float(s["value"]),
            )  # fmt: skip
            account = owners.get(host.split("/")[0])
            if account and s["metric"] == "CPUUtilization":
                self.hosts_of.setdefault((account, s["namespace"]), []).append(host)

    def _points(self, query: Query) -> list[tuple[datetime, float]]:
        found = self.series.get((NAMESPACES[query.job.kind], query.metric.value, query.host))
        if found is None:
            return []
        start, end, every, value = found
        first = max(start, query.start)
        skip = math.ceil((first - start).total_seconds() / every)
        at, points = start + timedelta(seconds=skip * every), []
        while at < min(end, query.end):
            points.append((at, value))
            at += timedelta(seconds=every)
        return points

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        series: dict[Query, list[tuple[datetime, float]]] = {}
        for call in calls:
            self.meter.call(
                "cloudwatch.GetMetricData", {"cloudwatch.metrics_requested": len(call.queries)}
            )
            for query in call.queries:
                series[query] = self._points(query)
        return Fetched(series, set())

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        known = self.hosts_of.get((account, namespace), [])
        self.meter.call("cloudwatch.ListMetrics", count=max(1, math.ceil(len(known) / 500)))
        return {
            prefix: sorted(h for h in known if h.startswith(f"{prefix}/")) for prefix in prefixes
        }


class CountingActivity(InvocationSource):
    """EndpointActivity: GetMetricData in as few calls as its limits allow, one billed metric
    per variant. Assumed: every endpoint served traffic (none idle)."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter

    def invocations(
        self, account: str, endpoints: Mapping[str, Sequence[str]], start: datetime, end: datetime
    ) -> dict[str, float | None]:
        pairs = sum(len(variants) for variants in endpoints.values())
        points = max(1, int((end - start).total_seconds()) // EndpointActivity.PERIOD + 1)
        per_call = max(1, min(EndpointActivity.MAX_QUERIES, EndpointActivity.MAX_POINTS // points))
        self.meter.call(
            "cloudwatch.GetMetricData", {"cloudwatch.metrics_requested": pairs},
            count=math.ceil(pairs / per_call),
        )  # fmt: skip
        return dict.fromkeys(endpoints, 1.0)

    def health(
        self,
        account: str,
        variants: Mapping[tuple[str, str], Collection[Signal]],
        start: datetime,
        end: datetime,
        requests: bool = True,
    ) -> dict[tuple[str, str], list[Minute]]:
        """A billed metric per variant and signal judged, and its requests if asked (1-minute
        periods). Assumed: every variant served traffic without an error, every minute."""
        queries = sum(requests + len(signals) for signals in variants.values())
        minutes = max(1, int((end - start).total_seconds()) // 60)
        per_call = max(
            1, min(EndpointActivity.MAX_QUERIES, EndpointActivity.MAX_POINTS // (minutes + 1))
        )
        self.meter.call(
            "cloudwatch.GetMetricData", {"cloudwatch.metrics_requested": queries},
            count=math.ceil(queries / per_call),
        )  # fmt: skip
        served = [
            Minute(start + timedelta(minutes=i), 100.0 if requests else 0.0, 0.0, 20.0)
            for i in range(minutes)
        ]
        return dict.fromkeys(variants, served)


# ---- EventBridge, SNS, SQS ---------------------------------------------------------------------


def envelope(
    source: str, detail_type: str, detail: Mapping[str, Any], at: float, event_id: str
) -> dict[str, Any]:
    """An event as EventBridge delivers what PutEvents put on this account's bus."""
    return {
        "version": "0", "id": event_id, "detail-type": detail_type, "source": source,
        "account": ACCOUNT, "time": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION, "resources": [], "detail": dict(detail),
    }  # fmt: skip


class CountingSink(EventSink):
    """EventPublisher: PutEvents in chunks of ten entries, each entry a custom event per 64 KB;
    every accepted event is handed to `deliver` (the bus)."""

    def __init__(self, meter: Meter, deliver: Callable[[dict[str, Any]], None]) -> None:
        self.meter, self.deliver = meter, deliver
        self.sequence = 0

    def put(
        self,
        source: str,
        detail_type: str,
        details: Sequence[Mapping[str, Any]],
        at: datetime | None = None,
    ) -> list[int]:
        for offset in range(0, len(details), PUT_EVENTS_MAX_ENTRIES):
            chunk = details[offset : offset + PUT_EVENTS_MAX_ENTRIES]
            with self.meter.sizing():
                sizes = [len(json.dumps(d, separators=(",", ":"))) for d in chunk]
            self.meter.call("events.PutEvents", {"events.custom_events": sum(map(chunks, sizes))})
            for detail in chunk:
                self.sequence += 1
                when = at.timestamp() if at else self.meter.now
                event_id = f"00000000-0000-4000-8000-{self.sequence:012d}"
                self.deliver(envelope(source, detail_type, detail, when, event_id))
        return []


class CountingChannel(AlertChannel):
    """AlertPublisher: one Publish per rendering (64 KB chunks), and what SNS then delivers to
    each subscription of the topic."""

    def __init__(self, meter: Meter, topic: str, subscriptions: Sequence[str]) -> None:
        self.meter, self.topic, self.subscriptions = meter, topic, tuple(subscriptions)
        self.published = 0

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> str:
        size = (
            len(subject)
            + len(message.encode())
            + sum(len(k) + len(v) for k, v in attributes.items())
        )
        units: Counter[str] = Counter({"sns.publish_chunks": chunks(size)})
        for protocol in self.subscriptions:
            units[f"sns.deliveries.{protocol}"] += 1
        self.meter.call("sns.Publish", units, kms=self.topic)
        self.published += 1
        return f"{self.topic}-{self.published}"


class CountingQueue(SummaryScheduler, DeadLetters):
    """SummaryQueue and DeadLetterQueue: one SendMessage each; the sent body goes to `sent`."""

    def __init__(self, meter: Meter, queue: str, sent: Callable[[str], None] | None = None):
        self.meter, self.queue, self.sent = meter, queue, sent

    def _send(self, body: str) -> None:
        self.meter.call(
            "sqs.SendMessage", {"sqs.request_chunks": chunks(len(body))}, kms=self.queue
        )
        if self.sent:
            self.sent(body)

    def schedule(self, window: StormWindow) -> None:
        self._send(json.dumps(window.message()))

    def send(self, body: str, reason: str, event_id: str | None, error_type: str) -> None:
        self._send(body)


class CountingRefresher(RefreshRequests):
    """RefreshRequester: per rule of five targets PutRule, ListTargetsByRule and PutTargets
    (RemoveTargets when a target left), the surplus rules listed and removed, then one PutEvents.
    `requested` gets the targets: the bus delivers the request to each (cross-account)."""

    def __init__(
        self,
        meter: Meter,
        requested: Callable[[Sequence[tuple[str, str]], Mapping[str, Any], str, str], None],
    ) -> None:
        self.meter, self.requested = meter, requested
        self.rules: list[set[tuple[str, str]]] = []  # each rule's targets

    def request(
        self, targets: Sequence[tuple[str, str]], detail: Mapping[str, Any], source: str, kind: str
    ) -> None:
        size = RefreshRequester.TARGETS_PER_RULE
        wanted = sorted(targets)
        chunks_ = [set(wanted[i : i + size]) for i in range(0, len(wanted), size)]
        for index, chunk in enumerate(chunks_):
            current = self.rules[index] if index < len(self.rules) else set()
            self.meter.call("events.PutRule")
            self.meter.call("events.ListTargetsByRule")
            self.meter.call("events.RemoveTargets", count=1 if current - chunk else 0)
            self.meter.call("events.PutTargets")
        for surplus in self.rules[len(chunks_) :]:
            self.meter.call("events.ListTargetsByRule")
            self.meter.call("events.RemoveTargets", count=1 if surplus else 0)
            self.meter.call("events.DeleteRule")
        self.meter.call("events.ListTargetsByRule")  # the next index: not found, stop
        self.rules = chunks_
        self.meter.call(
            "events.PutEvents", {"events.custom_events": chunks(len(json.dumps(dict(detail))))}
        )
        self.requested(wanted, detail, source, kind)
