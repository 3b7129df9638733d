"""The benchmark's counting adapters (bench/adapters.py) count the requests the real adapters
make: each case runs the real adapter on real boto3 clients behind botocore's Stubber (which
refuses any request but the next one queued, and fails on one left over) and the counting
adapter on the same call, and compares the requests. No network."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import boto3
import pytest
from botocore.stub import Stubber

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
)
from shared.adapters.cloudwatch import EndpointActivity, MetricsReader
from shared.adapters.dynamodb import BurstLedger, FleetTable, OnceTable
from shared.adapters.eventbridge import EventPublisher, RefreshRequester
from shared.adapters.sns import AlertPublisher
from shared.adapters.sqs import DeadLetterQueue, SummaryQueue
from shared.contracts.storm_window import StormWindow
from shared.domain.health import Signal
from shared.domain.utilization import Call, JobKey, Metric, Query
from shared.domain.vocabulary import ResourceKind
from shared.platform.clock import FixedClock
from shared.platform.idempotency import Once

REGION = "us-east-1"
ACCOUNT = "111122223333"
WORKLOAD = "444455556666"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
Step = tuple[str, Any]  # (client method, response; or an error code for a client error)
Real = Callable[[str, list[Step], Callable[[Any], object]], Counter[str]]


@pytest.fixture
def real(offline_credentials: None) -> Real:
    """Runs `action(client)` on a stubbed client answering `steps` in order; the requests."""

    def run(service: str, steps: list[Step], action: Callable[[Any], object]) -> Counter[str]:
        client = cast(Any, boto3.client)(service, region_name=REGION)
        with Stubber(client) as stubber:
            for method, response in steps:
                if isinstance(response, tuple):
                    code, fields = response
                    stubber.add_client_error(method, code, modeled_fields=fields)
                else:
                    stubber.add_response(method, response)
            action(client)
            stubber.assert_no_pending_responses()
        names = client.meta.method_to_api_mapping
        return Counter(f"{service}.{names[method]}" for method, _ in steps)

    return run


def test_once_records(real: Real) -> None:
    """`OnceTable`: a first attempt claims and settles its record; a repeat is one conditional
    UpdateItem answered with the settled item (no GetItem)."""

    def twice(records: Any) -> None:
        once = Once(records, "alert", 60, FixedClock(1_000))
        for _ in range(2):
            with once.attempt("incident") as progress:
                progress.sent.setdefault("email", "m-1")

    old = {
        "id": {"S": "whatever"},
        "expiration": {"N": "9999999999"},
        "done": {"BOOL": True},
        "sent": {"M": {"email": {"S": "m-1"}}},
    }
    expected = real(
        "dynamodb",
        [
            ("update_item", {}),
            ("update_item", {}),
            ("update_item", ("ConditionalCheckFailedException", {"Item": old})),
        ],
        lambda client: twice(OnceTable("t", client)),
    )
    meter = Meter()
    twice(CountingOnce(meter))
    assert meter.calls == expected


def test_storm_ledger(real: Real) -> None:
    window = {"Attributes": {"id": {"S": "b"}, "incidents": {"SS": ["d"]}}}
    expected = real(
        "dynamodb",
        [("update_item", window), ("update_item", window)],
        lambda client: (
            BurstLedger("t", client).add("b", "incident", "job", 1),
            BurstLedger("t", client).summarize("b"),
        ),
    )
    meter = Meter()
    ledger = CountingLedger(meter)
    ledger.add("b", "incident", "job", 1)
    ledger.summarize("b")
    assert meter.calls == expected


def test_fleet_table(real: Real) -> None:
    record = {"account": WORKLOAD, "region": REGION, "collected_at": 1.0, "endpoints": "[]",
              "first_seen": "{}", "dead_letters": 0, "teams": "{}",
              "endpoints_complete": True}  # fmt: skip

    def work(table: Any) -> None:
        table.put_heartbeat(WORKLOAD, REGION, 1.0, 15, {})
        table.put_inventory(record, 10)
        table.inventory(WORKLOAD, REGION)
        table.sources()
        table.expect(ACCOUNT, 1.0)
        table.mark(ACCOUNT, None, None)
        table.mark(WORKLOAD, REGION, 2.0)
        table.inventories()
        table.teams(WORKLOAD, REGION)
        table.name_account(WORKLOAD, REGION, 1.0, "alias")

    expected = real(
        "dynamodb",
        [("update_item", {}), ("put_item", {}), ("get_item", {}), ("scan", {"Items": []}),
         ("put_item", {}), ("delete_item", {}), ("update_item", {}), ("scan", {"Items": []}),
         ("get_item", {}), ("update_item", {})],
        lambda client: work(FleetTable("t", client)),
    )  # fmt: skip
    meter = Meter()
    work(CountingFleetTable(meter))
    assert meter.calls == expected


def test_put_events_in_chunks_of_ten(real: Real) -> None:
    details = [{"n": n} for n in range(25)]
    answer = {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}
    expected = real(
        "events",
        [("put_events", answer)] * 3,
        lambda client: EventPublisher("bus", client).put("s", "t", details),
    )
    meter = Meter()
    delivered: list[Any] = []
    CountingSink(meter, delivered.append).put("s", "t", details)
    assert meter.calls == expected
    assert meter.units["events.custom_events"] == len(delivered) == 25


def test_refresh_requests(real: Real) -> None:
    targets = [(f"{n:012d}", REGION) for n in range(7)]  # two rules of at most five targets
    kind = "Inventory Refresh Requested"
    rule = {"RuleArn": "arn"}
    put = {"FailedEntryCount": 0, "FailedEntries": []}
    expected = real(
        "events",
        [("put_rule", rule), ("list_targets_by_rule", {}), ("put_targets", put),
         ("put_rule", rule), ("list_targets_by_rule", {}), ("put_targets", put),
         ("list_targets_by_rule", ("ResourceNotFoundException", {})),
         ("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]})],
        lambda client: RefreshRequester("bus", f"arn:aws:iam::{ACCOUNT}:role/r", "p", client)
        .request(targets, {"request_id": "r"}, "sagewatch.monitoring", kind),
    )  # fmt: skip
    meter = Meter()
    asked: list[Any] = []
    CountingRefresher(meter, lambda *request: asked.append(request)).request(
        targets, {"request_id": "r"}, "sagewatch.monitoring", kind
    )
    assert meter.calls == expected
    assert asked[0][0] == sorted(targets)


def test_publish_and_queues(real: Real) -> None:
    window = StormWindow.of(WORKLOAD, REGION, ResourceKind.TRAINING, 0, 600)
    expected = real(
        "sns", [("publish", {"MessageId": "m"})],
        lambda client: AlertPublisher("arn:aws:sns:us-east-1:1:t", client).publish("s", "m", {}),
    ) + real(
        "sqs", [("send_message", {"MessageId": "m"})] * 2,
        lambda client: (SummaryQueue("q", client).schedule(window),
                        DeadLetterQueue("q", client).send("body", "why", None, "E")),
    )  # fmt: skip
    meter = Meter()
    CountingChannel(meter, "EmailTopic", ("email",)).publish("s", "m", {})
    CountingQueue(meter, "SummaryQueue").schedule(window)
    CountingQueue(meter, "SummaryDeadLetterQueue").send("body", "why", None, "E")
    assert meter.calls == expected
    assert meter.units["sns.deliveries.email"] == 1


def test_metrics(real: Real) -> None:
    job = JobKey(WORKLOAD, REGION, ResourceKind.TRAINING, "train-1")
    end = T0 + timedelta(hours=1)
    calls = [
        Call(
            tuple(Query(f"q{i}", job, f"train-1/algo-{i}", Metric.CPU, 60, T0, end)
                  for i in range(n)),
            T0, end,
        )
        for n in (3, 2)
    ]  # fmt: skip
    expected = real(
        "cloudwatch",
        [("get_metric_data", {"MetricDataResults": []})] * 2 + [("list_metrics", {"Metrics": []})],
        lambda client: (
            MetricsReader(client).fetch(calls),
            MetricsReader(client).hosts(WORKLOAD, "/aws/sagemaker/TransformJobs", ["x"]),
        ),
    )
    meter = Meter()
    reader = FleetMetrics(meter, [], {})
    reader.fetch(calls)
    reader.hosts(WORKLOAD, "/aws/sagemaker/TransformJobs", ["x"])
    assert meter.calls == expected
    assert meter.units["cloudwatch.metrics_requested"] == 5


def test_endpoint_activity(real: Real) -> None:
    """500 queries a call: 1,200 variants need three."""
    endpoints = {f"e{n}": ["AllTraffic"] for n in range(1200)}
    end = T0 + timedelta(hours=24)
    expected = real(
        "cloudwatch",
        [("get_metric_data", {"MetricDataResults": []})] * 3,
        lambda client: EndpointActivity(client).invocations(WORKLOAD, endpoints, T0, end),
    )
    meter = Meter()
    CountingActivity(meter).invocations(WORKLOAD, endpoints, T0, end)
    assert meter.calls == expected
    assert meter.units["cloudwatch.metrics_requested"] == 1200


@pytest.mark.parametrize(("requests", "metrics"), [(False, 600), (True, 900)])
def test_endpoint_health(real: Real, requests: bool, metrics: int) -> None:
    """A metric per variant and signal, and its requests if asked: 500 queries a call."""
    variants = {(f"e{n}", "AllTraffic"): frozenset(Signal) for n in range(300)}
    end = T0 + timedelta(minutes=10)
    expected = real(
        "cloudwatch",
        [("get_metric_data", {"MetricDataResults": []})] * 2,
        lambda client: EndpointActivity(client).health(WORKLOAD, variants, T0, end, requests),
    )
    meter = Meter()
    CountingActivity(meter).health(WORKLOAD, variants, T0, end, requests)
    assert meter.calls == expected
    assert meter.units["cloudwatch.metrics_requested"] == metrics
