"""Production endpoint health (issue 16, part 2) end to end on the embedded monitoring account:
inventory snapshots say which endpoints serve (and their sagewatch:* tags), CloudWatch holds
their minutes, the fleet function's scheduled check alerts once per episode and once more when
it ends, under repeated ticks."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from jsonschema import Draft202012Validator

from sagewatch.embedded import EmbeddedAws
from sagewatch.template import EVENTS, ROOT
from shared.adapters.cloudwatch import EndpointActivity
from shared.config import FleetSettings
from shared.domain.health import Minute, Signal
from shared.fleet.service import Fleet
from tests.integration.conftest import Stacks

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ACCOUNT = "777788889999"  # the sample snapshot's
SINK = "arn:aws:oam:us-east-1:123456789012:sink/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
HEALTH = {"action": "endpoint-health"}
ALERT_SCHEMA = Draft202012Validator(json.loads((ROOT / "docs" / "alert.schema.json").read_text()))


class Clock:
    def __init__(self) -> None:
        self.now = T0.timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, minutes: float) -> None:
        self.now = T0.timestamp() + minutes * 60


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aws(stacks: Stacks, clock: Clock) -> EmbeddedAws:
    return stacks.reset(clock=clock)


def _fleet(
    aws: EmbeddedAws, clock: Clock, activity: EndpointActivity | None = None, **env: str
) -> Fleet:
    aws._set_env(aws.function_env["fleet"] | {"OAM_SINK_ARN": SINK} | env)
    return Fleet(FleetSettings.from_env(), activity=activity, clock=clock)


@pytest.fixture
def fleet(aws: EmbeddedAws, clock: Clock) -> Fleet:
    return _fleet(aws, clock)


def _snapshot(
    minutes: float = 0,
    endpoints: Sequence[tuple[str, dict[str, str]]] | None = None,
    variant: str = "AllTraffic",
) -> dict[str, Any]:
    """The sample snapshot, collected `minutes` after T0, listing `endpoints` (name, tags), each
    serving one `variant`."""
    at = T0 + timedelta(minutes=minutes)
    snapshot: dict[str, Any] = json.loads((EVENTS / "inventory-snapshot.json").read_text())
    snapshot["id"], snapshot["time"] = f"snap-{minutes}", at.strftime("%Y-%m-%dT%H:%M:%SZ")
    snapshot["detail"]["collected_at"] = at.isoformat()
    if endpoints is not None:
        kpi = snapshot["detail"]["kpis"]["endpoints_in_service"]
        first = kpi["items"][0]
        first["variants"][0]["name"] = variant
        kpi["items"] = [
            copy.deepcopy(first) | {"name": name, "tags": tags} for name, tags in endpoints
        ]
    return snapshot


def _serve(
    aws: EmbeddedAws,
    endpoint: str,
    minutes: range,
    requests: float = 100,
    errors: float = 0,
    latency_ms: float = 40,
    variant: str = "AllTraffic",
) -> None:
    """Minutes of traffic of the endpoint's variant, as SageMaker publishes them."""
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
    ]
    data = []
    for minute in minutes:
        at = T0 + timedelta(minutes=minute)
        for name, value, unit in (
            ("Invocations", requests, "None"),
            ("Invocation5XXErrors", errors, "None"),
            ("ModelLatency", latency_ms * 1000, "Microseconds"),
        ):
            data.append({"MetricName": name, "Dimensions": dimensions, "Timestamp": at,
                         "Value": value, "Unit": unit})  # fmt: skip
    for offset in range(0, len(data), 500):
        aws.client("cloudwatch").put_metric_data(
            Namespace="AWS/SageMaker", MetricData=data[offset : offset + 500]
        )


def _paged(
    aws: EmbeddedAws,
    fleet: Fleet,
    clock: Clock,
    name: str,
    minutes: range,
    variant: str = "AllTraffic",
) -> None:
    """`name` listed, answering 5XX to every request for `minutes`, and a tick at minute 13
    that opens its episode: one page."""
    fleet.handle(_snapshot(endpoints=[(name, {})], variant=variant))
    _serve(aws, name, minutes, errors=100, variant=variant)
    clock.at(13)
    fleet.handle(HEALTH)


def _health(aws: EmbeddedAws) -> list[dict[str, Any]]:
    alerts = [a for a in aws.alerts() if a["json"]["kind"] == "unhealthy"]
    for alert in alerts:
        assert list(ALERT_SCHEMA.iter_errors(alert["json"])) == [], alert["subject"]
    return alerts


def test_given_errors_sustained_then_one_alert_and_one_recovery_under_repeated_ticks(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle(_snapshot())
    _serve(aws, "forecasting-demand-realtime", range(0, 10), errors=0)
    _serve(aws, "forecasting-demand-realtime", range(10, 30), errors=30)  # 30 % answered 5XX
    _serve(aws, "forecasting-demand-realtime", range(30, 60), errors=1)  # 1 %: under 5 %

    ticks = {}
    for minute in (15, 22, 27, 32, 37, 42, 47):
        clock.at(minute)
        ticks[minute] = [fleet.handle(HEALTH) for _ in range(3)]  # each tick delivered thrice

    alerts = _health(aws)
    assert [a["json"]["status"] for a in alerts] == ["InService", "recovered"]
    opened, recovered = (a["json"] for a in alerts)
    # Minutes 10..19 all breached by the tick at 22 (its window ends 2 minutes back).
    assert ticks[15][0]["endpoints_unhealthy"] == []
    assert ticks[22][0]["endpoints_unhealthy"] == [
        f"{ACCOUNT}/forecasting-demand-realtime/AllTraffic"
    ]
    assert ticks[22][1]["endpoints_unhealthy"] == []  # the same tick again: open already
    assert opened["resource_type"] == "endpoint"
    assert opened["name"] == "forecasting-demand-realtime"
    assert opened["severity"] == "high"
    assert opened["context"]["variant"] == "AllTraffic"
    assert opened["context"]["5XX error rate"] == "30.0% over 10 min"
    assert opened["context"]["limit"] == "5.0% (the stack's default)"
    assert opened["context"]["traffic"] == "1,000 requests in 10 min"
    assert "5XX error rate 30.0% above 5.0% for 10 min" in opened["headline"]
    assert "metricsV2" in opened["links"]["metrics"]
    assert "forecasting-demand-realtime" in opened["links"]["metrics"]
    # Healthy again once a whole window has no breaching minute: minutes 30..39, by the tick at 42.
    assert ticks[42][0]["endpoints_recovered"] == [
        f"{ACCOUNT}/forecasting-demand-realtime/AllTraffic"
    ]
    assert recovered["incident"] == opened["incident"]
    assert recovered["update"] is True
    assert "recovered: 5XX error rate 1.0%, under 5.0% again" in recovered["headline"]
    assert alerts[0]["chat"]["metadata"]["threadId"] == alerts[1]["chat"]["metadata"]["threadId"]


class Reads(EndpointActivity):
    """CloudWatch, and what each health read asked for: (endpoint, metrics) per variant."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[dict[str, list[str]]] = []

    def health(
        self,
        account: str,
        variants: Any,
        start: datetime,
        end: datetime,
        requests: bool = True,
    ) -> dict[tuple[str, str], list[Minute]] | None:
        self.asked.append(
            {
                name: ["Invocations"] * requests + sorted(s.value for s in signals)
                for (name, _), signals in variants.items()
            }
        )
        return super().health(account, variants, start, end, requests)


def test_given_variants_where_no_minute_may_breach_then_their_requests_are_not_read(
    aws: EmbeddedAws, clock: Clock
) -> None:
    reads = Reads()
    fleet = _fleet(aws, clock, reads)
    names = ["healthy", "flaky", "failing", "slow-tagged"]
    tags = {"slow-tagged": {"sagewatch:max-latency-ms": "100"}}
    fleet.handle(_snapshot(endpoints=[(name, tags.get(name, {})) for name in names]))
    _serve(aws, "healthy", range(0, 30))
    _serve(aws, "flaky", range(0, 30), errors=1)  # 1 %: some errors, under the limit
    _serve(aws, "failing", range(0, 12), errors=50)
    _serve(aws, "failing", range(12, 30))
    _serve(aws, "slow-tagged", range(0, 30), latency_ms=250)
    clock.at(13)
    first = fleet.handle(HEALTH)
    clock.at(30)

    later = fleet.handle(HEALTH)

    signals, requests = sorted(s.value for s in Signal), ["Invocations"]
    # Every tick reads the signals of all; the requests of those where a minute may breach, and
    # of "failing" at 30 for its open episode (its minutes 18-27 are fine).
    assert reads.asked == [dict.fromkeys(names, signals), dict.fromkeys(names[1:], requests)] * 2
    unhealthy = [f"{ACCOUNT}/{name}/AllTraffic" for name in ("failing", "slow-tagged")]
    assert first["endpoints_unhealthy"] == unhealthy
    assert later["endpoints_recovered"] == unhealthy[:1]
    assert later["variants_checked"] == 4


def test_given_a_latency_limit_in_its_tag_then_that_limit_judges_it_not_the_default(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    tags = {"sagewatch:max-latency-ms": "100", "sagewatch:max-5xx-percent": "off"}
    fleet.handle(_snapshot(endpoints=[("ranker", tags), ("scorer", {})]))
    _serve(aws, "ranker", range(0, 20), errors=50, latency_ms=250)  # errors: not judged
    _serve(aws, "scorer", range(0, 20), latency_ms=250)  # under the default 5,000 ms
    clock.at(15)

    fleet.handle(HEALTH)

    (alert,) = _health(aws)
    document = alert["json"]
    assert document["name"] == "ranker"
    assert document["context"]["model latency"] == "250 ms over 10 min"
    assert document["context"]["limit"] == "100 ms (its tag sagewatch:max-latency-ms)"


def test_given_some_minutes_breaching_or_too_few_requests_then_nothing_opens_or_closes(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    endpoints = [("flaky", {}), ("quiet", {}), ("falls-silent", {})]
    fleet.handle(_snapshot(endpoints=endpoints))
    for minute in range(0, 20):  # every other minute breaches
        _serve(aws, "flaky", range(minute, minute + 1), errors=50 if minute % 2 else 0)
    _serve(aws, "quiet", range(0, 20, 3), errors=100)  # requests in 4 of 10 minutes: not judged
    _serve(aws, "falls-silent", range(0, 12), errors=100)  # unhealthy, then no request at all
    clock.at(12)
    opened = fleet.handle(HEALTH)
    clock.at(40)

    later = fleet.handle(HEALTH)

    assert opened["endpoints_unhealthy"] == [f"{ACCOUNT}/falls-silent/AllTraffic"]
    assert later["endpoints_unhealthy"] == later["endpoints_recovered"] == []  # silent: unknown
    assert [a["json"]["name"] for a in _health(aws)] == ["falls-silent"]


def test_given_an_unhealthy_endpoint_deleted_then_its_episode_ends_with_a_gone_follow_up(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle(_snapshot(endpoints=[("doomed", {}), ("kept", {})]))
    _serve(aws, "doomed", range(0, 15), errors=100)
    clock.at(13)
    fleet.handle(HEALTH)
    fleet.handle(_snapshot(20, endpoints=[("kept", {})]))  # deleted: gone from the inventory
    clock.at(22)

    fleet.handle(HEALTH)
    fleet.handle(HEALTH)

    statuses = [(a["json"]["name"], a["json"]["status"]) for a in _health(aws)]
    assert statuses == [("doomed", "InService"), ("doomed", "gone")]
    assert "is no longer in service" in _health(aws)[1]["json"]["headline"]


def test_given_many_endpoints_failing_at_once_then_the_first_alone_and_one_summary_for_the_rest(
    aws: EmbeddedAws, clock: Clock
) -> None:
    fleet = _fleet(aws, clock, BURST_THRESHOLD="1")
    names = ["svc-a", "svc-b", "svc-c"]
    fleet.handle(_snapshot(endpoints=[(name, {}) for name in names]))
    for name in names:
        _serve(aws, name, range(0, 12), errors=100)
        _serve(aws, name, range(12, 30))
    clock.at(12)
    fleet.handle(HEALTH)
    fleet.handle(HEALTH)
    clock.at(30)

    fleet.handle(HEALTH)

    alerts = [a["json"] for a in _health(aws)]
    assert [(a["name"], a["status"]) for a in alerts] == [
        ("svc-a", "InService"),
        ("2 endpoint variants", "InService"),
        ("svc-a", "recovered"),  # the summarized ones recover without a page
    ]
    assert alerts[1]["context"]["variants"] == (
        "svc-b/AllTraffic (5XX error rate), svc-c/AllTraffic (5XX error rate)"
    )


def test_given_a_silenced_endpoint_or_the_check_off_then_its_metrics_are_not_even_read(
    aws: EmbeddedAws, clock: Clock
) -> None:
    fleet = _fleet(aws, clock)
    fleet.handle(_snapshot(endpoints=[("sandbox", {"sagewatch:silence": "true"})]))
    _serve(aws, "sandbox", range(0, 15), errors=100)
    clock.at(13)

    silenced = fleet.handle(HEALTH)
    off = _fleet(aws, clock, ENDPOINT_HEALTH_MINUTES="0").handle(HEALTH)
    no_sink = _fleet(aws, clock, OAM_SINK_ARN="").handle(HEALTH)

    assert silenced["variants_checked"] == 0
    assert off == {"endpoint_health_skipped": "EndpointHealthMinutes is 0"}
    assert "no OAM sink" in no_sink["endpoint_health_skipped"]
    assert _health(aws) == []


def test_given_a_summary_whose_marks_were_lost_when_sent_again_then_it_is_the_same_incident(
    aws: EmbeddedAws, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = _fleet(aws, clock, BURST_THRESHOLD="1")
    names = ["svc-a", "svc-b", "svc-c"]
    fleet.handle(_snapshot(endpoints=[(name, {}) for name in names]))
    for name in names:
        _serve(aws, name, range(0, 20), errors=100)
    clock.at(12)
    lost: list[str] = []

    def forgotten(key: str, number: int) -> bool:
        lost.append(key)
        return False

    with monkeypatch.context() as patched:
        patched.setattr(fleet.table, "unhealthy_alerted", forgotten)
        fleet.handle(HEALTH)  # alerted, but no mark kept
    clock.at(17)

    again = fleet.handle(HEALTH)

    assert len(lost) == 3
    assert len(again["endpoints_unhealthy"]) == 3  # due again: alerted as before
    alerts = [a["json"] for a in _health(aws)]
    assert [(a["name"], a["status"]) for a in alerts] == [
        ("svc-a", "InService"),
        ("2 endpoint variants", "InService"),
    ]  # the same two incidents, each paged once


def test_given_a_summary_whose_marks_were_lost_when_another_variant_fails_then_none_pages_twice(
    aws: EmbeddedAws, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = _fleet(aws, clock, BURST_THRESHOLD="1")
    names = ["svc-a", "svc-b", "svc-c", "svc-d"]
    fleet.handle(_snapshot(endpoints=[(name, {}) for name in names]))
    for name in names[:3]:
        _serve(aws, name, range(0, 30), errors=100)
    _serve(aws, "svc-d", range(0, 12))
    _serve(aws, "svc-d", range(12, 30), errors=100)  # fails a scan later
    clock.at(12)
    marked = fleet.table.unhealthy_alerted

    def throttled(key: str, number: int) -> bool:
        if "svc-a" not in key:  # the summary was sent, its marks were not kept
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")
        return marked(key, number)

    with monkeypatch.context() as patched:
        patched.setattr(fleet.table, "unhealthy_alerted", throttled)
        first = fleet.handle(HEALTH)
    clock.at(25)

    fleet.handle(HEALTH)
    fleet.handle(HEALTH)

    assert first["endpoints_unchecked"] == [ACCOUNT]  # checked again at the next scan
    alerts = [a["json"] for a in _health(aws)]
    assert [(a["name"], a["status"]) for a in alerts] == [
        ("svc-a", "InService"),
        ("2 endpoint variants", "InService"),  # svc-b and svc-c, sent once
        ("svc-d", "InService"),  # the first of its scan: alone
    ]
    assert "svc-b" in alerts[1]["context"]["variants"]


def test_given_a_variant_replaced_then_its_episode_ends_with_a_gone_follow_up(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    _paged(aws, fleet, clock, "ranker", range(0, 15), variant="blue")
    fleet.handle(_snapshot(20, endpoints=[("ranker", {})], variant="green"))  # blue/green update
    _serve(aws, "ranker", range(15, 30), variant="green")
    clock.at(27)

    fleet.handle(HEALTH)

    alerts = [a["json"] for a in _health(aws)]
    assert [(a["name"], a["context"]["variant"], a["status"]) for a in alerts] == [
        ("ranker", "blue", "InService"),
        ("ranker", "blue", "gone"),
    ]
    assert "no longer in service with variant blue" in alerts[1]["headline"]


def test_given_an_alert_that_failed_when_sent_again_later_then_it_shows_the_window_that_broke(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle(_snapshot(endpoints=[("ranker", {})]))
    _serve(aws, "ranker", range(0, 12), errors=100)  # then no traffic at all
    clock.at(13)
    publishers = fleet.deliver.publishers

    class Unreachable:
        def publish(self, *_: Any) -> str:
            raise ClientError({"Error": {"Code": "InternalError"}}, "Publish")

    fleet.deliver.publishers = dict.fromkeys(publishers, Unreachable())
    failed = fleet.handle(HEALTH)
    fleet.deliver.publishers = publishers
    clock.at(27)  # its window now has no requests: quiet

    again = fleet.handle(HEALTH)

    [alert] = [a["json"] for a in _health(aws)]
    assert failed["endpoints_unchecked"] == [ACCOUNT]
    assert again["endpoints_unhealthy"] == [f"{ACCOUNT}/ranker/AllTraffic"]
    assert alert["context"]["5XX error rate"] == "100.0% over 10 min"
    assert alert["context"]["traffic"] == "1,000 requests in 10 min"


def test_given_an_episode_open_then_each_day_a_scan_keeps_its_record_for_30_days_more(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    _paged(aws, fleet, clock, "ranker", range(0, 15))

    def record() -> dict[str, Any]:
        [found] = [r for r in fleet.table.health_episodes() if "5xx-rate" in r["id"]]
        return found

    opened = record()
    clock.at(13 + 60)  # an hour on, still open (no traffic: quiet)
    fleet.handle(HEALTH)
    hour_later = record()
    clock.at(13 + 25 * 60)  # a day on
    fleet.handle(_snapshot(13 + 25 * 60, endpoints=[("ranker", {})]))
    fleet.handle(HEALTH)

    assert int(float(opened["expiration"])) == int(T0.timestamp()) + 13 * 60 + 30 * 86_400
    assert (opened["alone"], opened["alerted"], int(opened["requests"])) == (True, True, 1000)
    assert hour_later["expiration"] == opened["expiration"]  # a write a day, not a tick
    assert int(float(record()["expiration"])) == int(clock()) + 30 * 86_400


def _two_scans_of_one_window(aws: EmbeddedAws, clock: Clock) -> Fleet:
    """BurstThreshold 1: svc-a and svc-b fail and a scan at minute 12 pages svc-a alone and
    svc-b in its summary; then svc-c's and svc-d's minutes of the same window arrive (late)."""
    fleet = _fleet(aws, clock, BURST_THRESHOLD="1")
    names = ["svc-a", "svc-b", "svc-c", "svc-d"]
    fleet.handle(_snapshot(endpoints=[(name, {}) for name in names]))
    for name in names[:2]:
        _serve(aws, name, range(0, 12), errors=100)
    clock.at(12)
    fleet.handle(HEALTH)
    for name in names[2:]:
        _serve(aws, name, range(0, 12), errors=100)
    return fleet


def test_given_variants_failing_in_a_later_scan_of_the_same_window_then_they_are_paged_too(
    aws: EmbeddedAws, clock: Clock
) -> None:
    fleet = _two_scans_of_one_window(aws, clock)

    fleet.handle(HEALTH)  # the same window again (a tick delivered twice)

    alerts = [a["json"] for a in _health(aws)]
    assert [(a["name"], a["status"]) for a in alerts] == [
        ("svc-a", "InService"),
        ("1 endpoint variants", "InService"),  # svc-b, past the threshold of its scan
        ("svc-c", "InService"),  # the first its scan opened: alone
        ("1 endpoint variants", "InService"),  # svc-d: that scan's summary, another incident
    ]
    assert [a["context"]["variants"] for a in (alerts[1], alerts[3])] == [
        "svc-b/AllTraffic (5XX error rate)",
        "svc-d/AllTraffic (5XX error rate)",
    ]


def test_given_two_scans_at_once_then_each_names_its_summary_after_a_key_it_opened(
    aws: EmbeddedAws, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = _two_scans_of_one_window(aws, clock)
    with monkeypatch.context() as patched:
        patched.setattr(fleet.table, "health_episodes", lambda: [])  # read before the first wrote

        fleet.handle(HEALTH)  # svc-a and svc-b refused (open already), svc-c and svc-d its own

    alerts = [a["json"] for a in _health(aws)]
    assert [(a["name"], a["context"].get("variants", "")) for a in alerts] == [
        ("svc-a", ""),
        ("1 endpoint variants", "svc-b/AllTraffic (5XX error rate)"),
        ("svc-c", ""),
        ("1 endpoint variants", "svc-d/AllTraffic (5XX error rate)"),
    ]


def test_given_a_snapshot_whose_endpoint_list_failed_then_no_gone_and_no_second_page(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    _paged(aws, fleet, clock, "svc", range(0, 60))  # failing the whole hour

    broken = _snapshot(20)  # ListEndpoints throttled past the collector's retries
    del broken["detail"]["kpis"]["endpoints_in_service"]
    broken["detail"]["errors"] = {"endpoints_in_service": "ThrottlingException: Rate exceeded"}
    fleet.handle(broken)
    clock.at(22)
    fleet.handle(HEALTH)
    fleet.handle(_snapshot(25, endpoints=[("svc", {})]))  # listed again
    clock.at(30)
    fleet.handle(HEALTH)

    assert [alert["json"]["status"] for alert in _health(aws)] == ["InService"]


def test_given_a_cut_endpoint_list_then_an_endpoint_it_leaves_out_is_not_gone(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    _paged(aws, fleet, clock, "svc", range(0, 60))

    # 101 endpoints in service: the collector reports the 100 newest, `truncated: true`.
    cut = _snapshot(20, endpoints=[(f"new-{i}", {}) for i in range(100)])
    cut["detail"]["kpis"]["endpoints_in_service"].update(count=101, truncated=True)
    fleet.handle(cut)
    clock.at(22)
    fleet.handle(HEALTH)

    assert [alert["json"]["status"] for alert in _health(aws)] == ["InService"]


def test_given_a_cut_list_naming_the_endpoint_when_its_variant_was_replaced_then_gone(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    _paged(aws, fleet, clock, "ranker", range(0, 15), variant="blue")
    # blue/green update; the account has 101 endpoints, so the collector's list is cut, but it
    # names `ranker` (one of the 100 newest) with all of its variants.
    cut = _snapshot(20, endpoints=[("ranker", {})], variant="green")
    cut["detail"]["kpis"]["endpoints_in_service"].update(count=101, truncated=True)
    fleet.handle(cut)
    _serve(aws, "ranker", range(15, 30), variant="green")
    clock.at(27)

    fleet.handle(HEALTH)

    alerts = [a["json"] for a in _health(aws)]
    assert [(a["context"]["variant"], a["status"]) for a in alerts] == [
        ("blue", "InService"),
        ("blue", "gone"),
    ]
