"""Property-based tests over generated and mutated events: no exception escapes other than the
typed ones, and nothing is silently dropped. 6,000+ events per CI run (derandomized).

Mutations reach any depth of an event and include what broke batches in the field test: deep
nesting, numbers too large for a float or a datetime, out-of-range ISO times, ids of other types."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagewatch.template import EVENTS
from shared.alerting.service import Alerter, Summarizer
from shared.config import AlerterSettings, EnricherSettings, FleetSettings
from shared.domain.events import SageMakerEvent
from shared.domain.parser import parse_event
from shared.domain.utilization import Thresholds
from shared.enrichment.service import Enricher
from shared.fleet.service import Fleet
from shared.platform.clock import FixedClock
from shared.platform.errors import InvalidEvent
from shared.platform.idempotency import RETRYABLE
from tests.fakes import (
    MemoryFleetTable,
    MemoryLedger,
    MemoryOnce,
    NoInvocations,
    NoMetrics,
    Recorder,
)

SAMPLES = [json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))]
STATUS_KEYS = [
    "TrainingJobStatus", "ProcessingJobStatus", "TransformJobStatus", "EndpointStatus",
    "HyperParameterTuningJobStatus", "currentPipelineExecutionStatus", "currentStepStatus",
    "SecondaryStatus",
]  # fmt: skip
STATUSES = [
    "Completed",
    "Failed",
    "Stopped",
    "InProgress",
    "FAILED",
    "Succeeded",
    "MaxRuntimeExceeded",
]
CANARY = "canary-secret-"
# What may escape a function: a poison event (reported with its reason), or a fault worth a retry.
EXPECTED: tuple[type[Exception], ...] = (InvalidEvent, *RETRYABLE)
FUZZ = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD_TIMES = [
    "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",  # in range: one minute more is not
    "9999-12-31T23:59:59.999999999+14:00", "2026-13-45T25:61:61Z", "1e400", "-1", "NaN",
    "Infinity", 10**30, -(10**30), 1e308, -1e308, 253402300800000, 2**63, "", " ", True,
]  # fmt: skip
HUGE_NUMBERS = st.sampled_from(
    [10**400, -(10**400), 10**4000, 1e308, -1e308, float("inf"), float("-inf"), float("nan")]
)


@dataclass(frozen=True)
class Deep:
    """Stands for `depth` levels of nesting until `expand` builds them in the test: hypothesis
    could not print a falsifying example holding the real thing."""

    depth: int


def expand(value: Any) -> Any:
    """The value with every `Deep` built: lists and objects nested around a 0."""
    if isinstance(value, Deep):
        leaf: Any = 0
        for level in range(value.depth):
            leaf = [leaf] if level % 2 else {"k": leaf}
        return leaf
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    scalars | HUGE_NUMBERS | st.sampled_from(ODD_TIMES),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=6,
)
# Past MAX_DEPTH, and past any recursion limit (none in between: hypothesis raises the limit while
# it runs, so a failure at the edge would not reproduce).
deep_values = st.builds(Deep, st.sampled_from([100, 10_000]))


def _containers(value: Any) -> list[Any]:
    """Every dict and non-empty list in a value (the event itself first)."""
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack += item.values()
        elif isinstance(item, list) and item:
            found.append(item)
            stack += item
    return found


@st.composite
def mutated(draw: st.DrawFn, samples: list[dict[str, Any]]) -> Any:
    """A sample with fields, at any depth, deleted, retyped, blown up, nested deeply, given
    odd times, huge numbers, ids of other types, or another status."""
    if draw(st.integers(0, 49)) == 0:
        return draw(json_values | deep_values)  # not an event at all
    event = copy.deepcopy(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(0, 4))):
        containers = _containers(event)
        detail = event.get("detail") if isinstance(event, dict) else None
        container = draw(st.sampled_from(containers)) if containers else None
        if container is None:
            break
        keys = sorted(container) if isinstance(container, dict) else list(range(len(container)))
        if not keys:
            continue
        key: Any = draw(st.sampled_from(keys))
        action = draw(
            st.sampled_from(
                ["delete", "retype", "oversize", "status", "deep", "time", "huge", "id"]
            )
        )
        if action == "delete":
            del container[key]
        elif action == "retype":
            container[key] = draw(json_values)
        elif action == "oversize":
            container[key] = "x" * draw(st.integers(300, 300_000))
        elif action == "deep":
            container[key] = draw(deep_values)
        elif action == "time":
            container[key] = draw(st.sampled_from(ODD_TIMES))
        elif action == "huge":
            container[key] = draw(HUGE_NUMBERS)
        elif action == "id" and isinstance(event, dict):
            event["id"] = draw(json_values | deep_values)
        elif isinstance(detail, dict):
            detail[draw(st.sampled_from(STATUS_KEYS))] = draw(st.sampled_from(STATUSES))
    return event


def mutated_events() -> st.SearchStrategy[Any]:
    return mutated(SAMPLES)


def as_body(value: Any) -> str:
    """An SQS message body: JSON where json can write it, else (too deep) text nested beyond
    what the JSON decoder's recursion takes."""
    try:
        return json.dumps(value)
    except (RecursionError, ValueError):
        return "[" * 100_000 + "]" * 100_000


@settings(FUZZ, max_examples=3000)
@given(mutated_events())
def test_given_any_mutated_event_when_parsed_then_model_or_invalid_event(event: Any) -> None:
    try:
        parsed = parse_event(expand(event))
    except InvalidEvent:
        return
    assert isinstance(parsed, SageMakerEvent)
    assert CANARY not in repr(parsed)


ALERTER_SETTINGS = AlerterSettings(
    topics={c: f"arn:aws:sns:us-east-1:123456789012:{c}" for c in ("email", "json", "chat")},
    idempotency_table="t",
    team_tag_key="team", dedup_seconds=3600, burst_threshold=3, burst_window_seconds=600,
    summary_queue_url="https://q/summary",
)  # fmt: skip


@settings(FUZZ, max_examples=2000)
@given(mutated_events())
def test_given_any_mutated_event_when_alerted_then_one_outcome_or_invalid_event(event: Any) -> None:
    sns, summaries = Recorder(), Recorder()
    alerter = Alerter(
        ALERTER_SETTINGS, publishers=dict.fromkeys(("email", "json", "chat"), sns),
        ledger=MemoryLedger(), summaries=summaries,
        records=MemoryOnce(),
    )  # fmt: skip
    try:
        result = alerter.handle(expand(event))
    except EXPECTED:
        return
    assert result["outcome"] in {"alerted", "skipped", "unrouted"}
    assert len(sns.items) == 3 * (result["outcome"] == "alerted")  # email, JSON, chat
    for message in sns.items:
        assert len(message["subject"]) < 100
        assert CANARY not in json.dumps(message)


ENRICHER_SETTINGS = EnricherSettings(
    event_bus_name="sagewatch", region="us-east-1", thresholds=Thresholds(),
    idempotency_table="t", dead_letter_queue_url="https://q/dlq", max_receives=5, data_waits=2,
    dedup_seconds=3600, team_tag_key="team",
)  # fmt: skip
records = st.lists(
    st.tuples(mutated_events() | st.text(max_size=30) | deep_values, st.integers(1, 5)),
    min_size=1,
    max_size=10,
)


@settings(FUZZ, max_examples=150)
@given(records)
def test_given_any_batch_when_enriched_then_every_record_has_exactly_one_fate(
    batch: list[tuple[Any, int]],
) -> None:
    bus, dead = Recorder(), Recorder()
    enricher = Enricher(
        ENRICHER_SETTINGS, metrics=NoMetrics(), publisher=bus, dead_letters=dead,
        emit=lambda report: None, records=MemoryOnce(),
    )  # fmt: skip
    sqs = [
        {
            "messageId": f"m{i}",
            "body": body if isinstance(body, str) else as_body(expand(body)),
            "attributes": {"ApproximateReceiveCount": str(receives)},
        }
        for i, (body, receives) in enumerate(batch)
    ]
    result = enricher.run(sqs)

    assert set(result.outcomes) == {record["messageId"] for record in sqs}
    assert result.count().get("dead-lettered", 0) == len(dead.items)
    assert len(result.reports) == len(bus.items)
    assert CANARY not in json.dumps(bus.items)


WINDOW = {
    "bucket": "burst|111122223333|us-east-1|training|1795168800", "account": "111122223333",
    "region": "us-east-1", "resource": "training", "window_start": 1795168800,
    "window_seconds": 600, "failures": 9, "version": 1,
}  # fmt: skip
windows = mutated([WINDOW, {"detail": WINDOW}])


@settings(FUZZ, max_examples=300)
@given(st.lists(windows | st.text(max_size=30) | deep_values, min_size=1, max_size=10))
def test_given_any_batch_when_summarized_then_each_window_summarized_or_parked_with_reason(
    bodies: list[Any],
) -> None:
    sns, dead, ledger = Recorder(), Recorder(), MemoryLedger()
    summarizer = Summarizer(
        ALERTER_SETTINGS, publishers=dict.fromkeys(("email", "json", "chat"), sns),
        ledger=ledger, records=MemoryOnce(), dead_letters=dead,
    )  # fmt: skip
    sqs = [
        {"messageId": f"m{i}", "body": body if isinstance(body, str) else as_body(expand(body))}
        for i, body in enumerate(bodies)
    ]

    assert summarizer.run(sqs) == []  # nothing left to retry: summarized or parked
    assert all(letter["reason"] for letter in dead.items)
    parked = {letter["body"] for letter in dead.items}
    summarized = [record for record in sqs if record["body"] not in parked]
    # Each window summarized is one alert in three renderings (windows may repeat: sent once).
    assert len(sns.items) <= 3 * len(summarized)
    assert bool(sns.items) == bool(summarized)
    for message in sns.items:
        assert len(message["subject"]) < 100


FLEET_SETTINGS = FleetSettings.from_env(
    {
        "FLEET_TABLE": "fleet", "IDEMPOTENCY_TABLE": "t", "AWS_REGION": "us-east-1",
        **{f"{c.upper()}_TOPIC_ARN": f"arn:aws:sns:us-east-1:123456789012:{c}"
           for c in ("email", "json", "chat")},
        "EVENT_BUS_NAME": "sagewatch", "REFRESH_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
        "REFRESH_RULE_PREFIX": "sagewatch-refresh", "OAM_SINK_ARN": "arn:aws:oam:sink",
        "WORKLOAD_ACCOUNT_IDS": "444455556666",
    }
)  # fmt: skip
FLEET_SOURCES = ("sagewatch.heartbeat", "sagewatch.inventory")
FLEET_SAMPLES = [e for e in SAMPLES if e["source"] in FLEET_SOURCES]
ACTIONS = [{"action": a} for a in ("watch", "refresh", "idle-endpoints", "hourly")]
fleet_events = mutated([*FLEET_SAMPLES, *ACTIONS])


@settings(FUZZ, max_examples=600)
@given(st.lists(fleet_events, min_size=1, max_size=4))
def test_given_any_events_when_fleet_handles_them_then_result_or_invalid_event(
    events: list[Any],
) -> None:
    """Heartbeats, snapshots and scheduled actions in sequence, so what one records is what the
    next reads (a snapshot's endpoints, then the idle-endpoint check)."""
    sns = Recorder()
    fleet = Fleet(
        FLEET_SETTINGS, table=MemoryFleetTable(), activity=NoInvocations(), refresher=Recorder(),
        publishers=dict.fromkeys(("email", "json", "chat"), sns),
        records=MemoryOnce(), clock=FixedClock(1_795_170_000),
    )  # fmt: skip
    for event in events:
        try:
            result = fleet.handle(expand(event))
        except EXPECTED:
            continue
        assert isinstance(result, dict)
    for message in sns.items:
        assert len(message["subject"]) < 100


HEARTBEAT = next(e for e in SAMPLES if e["source"] == "sagewatch.heartbeat")


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"action": Deep(10_000)}, id="action"),
        pytest.param(HEARTBEAT | {"detail-type": Deep(10_000)}, id="detail-type"),
        pytest.param(
            HEARTBEAT | {"detail": {"interval_minutes": Deep(10_000)}}, id="heartbeat-field"
        ),
    ],
)
def test_given_fuzz_finding_nested_past_any_limit_when_fleet_handles_it_then_invalid_event(
    event: dict[str, Any],
) -> None:
    """What the fuzz found in the fleet function (watchdog.Fleet.handle's str() of the action,
    the router's str() of source and detail-type, parse_heartbeat's of interval_minutes)."""
    fleet = Fleet(
        FLEET_SETTINGS, table=MemoryFleetTable(), activity=NoInvocations(), refresher=Recorder(),
        publishers=dict.fromkeys(("email", "json", "chat"), Recorder()),
        records=MemoryOnce(), clock=FixedClock(1_795_170_000),
    )  # fmt: skip
    with pytest.raises(InvalidEvent):
        fleet.handle(expand(event))
