"""The idle-endpoint check on in-memory fakes: what an inventory snapshot may name, which
endpoints hold hardware that can sit idle, and how a day's hourly runs page them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import FleetTable
from shared.config import FleetSettings
from shared.contracts.inventory import parse_snapshot
from shared.fleet.service import Fleet
from shared.platform.clock import FixedClock
from shared.platform.errors import RetryableError
from shared.ports import FleetStore, IdleAlerted, IdlePlan
from tests.fakes import MemoryFleetTable, MemoryOnce, NoInvocations, Recorder
from tests.unit.test_in_flight import CHANNELS, ENV

ACCOUNT, HOSTILE = "111122223333", "666666666666"
T0, HOUR = 1_795_176_000.0, 3600  # 2026-11-20 12:00 UTC
SINK = "arn:aws:oam:us-east-1:123456789012:sink/x"


class Quiet(NoInvocations):
    """No request on any endpoint; a dimension value past 1,024 characters is refused, as
    CloudWatch refuses it. Records the accounts read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def invocations(
        self, account: str, endpoints: Mapping[str, Sequence[str]], start: datetime, end: datetime
    ) -> dict[str, float | None]:
        self.read.append(account)
        if any(len(v) > 1024 for variants in endpoints.values() for v in variants):
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": "Value too long"}}, "GetMetricData"
            )
        return dict.fromkeys(endpoints, 0.0)


def _snapshot(
    at: float, names: Sequence[str], account: str = ACCOUNT, **variant: Any
) -> dict[str, Any]:
    """An account's snapshot: its endpoints, each with one variant (`variant` overrides it, on
    every endpoint, or per endpoint when given as a mapping of name to override)."""
    stamp = datetime.fromtimestamp(at).astimezone().isoformat()
    shape = {"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": 1}
    per = variant.pop("per", {})
    endpoints = [
        {"name": name, "variants": [shape | variant | per.get(name, {})]} for name in names
    ]
    return {
        "id": f"s-{account}-{at}", "source": "sagewatch.inventory", "account": account,
        "detail-type": "SageMaker Inventory Snapshot", "region": "us-east-1", "time": stamp,
        "detail": {"collected_at": stamp,
                   "kpis": {"endpoints_in_service": {"count": len(names), "items": endpoints}}},
    }  # fmt: skip


def _fleet(activity: Quiet, threshold: int = 3) -> tuple[Fleet, FixedClock, dict[str, Recorder]]:
    channels = {c: Recorder() for c in CHANNELS}
    clock = FixedClock(T0)
    env = ENV | {"OAM_SINK_ARN": SINK, "BURST_THRESHOLD": str(threshold)}
    settings = FleetSettings.from_env(env)
    fleet = Fleet(settings, table=MemoryFleetTable(), activity=activity, refresher=Recorder(),
                  publishers=channels, records=MemoryOnce(), clock=clock)  # fmt: skip
    return fleet, clock, channels


def _a_day_in_service(fleet: Fleet, clock: FixedClock, *snapshots: Any) -> None:
    """Each snapshot (a function of the time) reported now and 25 hours later."""
    for at in (T0, T0 + 25 * HOUR):
        clock.now = at
        for snapshot in snapshots:
            fleet.handle(snapshot(at))


def _paged(channels: dict[str, Recorder]) -> list[str]:
    return [json.loads(m["message"])["name"] for m in channels["json"].items]


@pytest.mark.parametrize(("length", "kept"), [(63, True), (64, False), (1_100, False)])
def test_given_a_name_of_hyphens_when_parsed_then_kept_only_within_sagemakers_63_characters(
    length: int, kept: bool
) -> None:
    name = "a" + "-" * (length - 2) + "b"  # the pattern bounds letters and digits, not hyphens
    as_endpoint = parse_snapshot(_snapshot(T0, [name]))
    as_variant = parse_snapshot(_snapshot(T0, ["svc"], name=name))
    assert [e.name for e in as_endpoint.endpoints] == ([name] if kept else [])
    assert [v.name for e in as_variant.endpoints for v in e.variants] == ([name] if kept else [])


def test_given_a_variant_name_past_cloudwatchs_limit_then_other_accounts_are_still_paged() -> None:
    activity = Quiet()
    fleet, clock, channels = _fleet(activity)
    long = "a" + "-" * 1_098 + "b"
    _a_day_in_service(
        fleet,
        clock,
        lambda at: _snapshot(at, ["svc"]),
        lambda at: _snapshot(at, ["x"], account=HOSTILE, name=long),
    )

    result = fleet.handle({"action": "idle-endpoints"})  # no RetryableError: no rerun for all

    assert result["idle_endpoints"] == ["svc"]
    assert _paged(channels) == ["svc"]


def test_given_a_variant_scaled_in_to_zero_instances_then_it_is_not_idle_hardware() -> None:
    fleet, clock, channels = _fleet(Quiet())
    scaled_in = {"scaled-in": {"instance_count": 0}}
    _a_day_in_service(
        fleet,
        clock,
        lambda at: _snapshot(at, ["scaled-in", "serving"], instance_type="ml.g5.12xlarge",
                             per=scaled_in),
    )  # fmt: skip

    result = fleet.handle({"action": "idle-endpoints"})

    assert result["idle_endpoints"] == ["serving"]
    assert _paged(channels) == ["serving"]


@pytest.mark.parametrize(
    ("threshold", "paged"),
    [(0, ["a", "b"]), (1, ["2 endpoints"]), (2, ["a", "b"])],
)
def test_given_a_storm_threshold_then_past_it_one_alert_names_them_and_0_turns_that_off(
    threshold: int, paged: list[str]
) -> None:
    fleet, clock, channels = _fleet(Quiet(), threshold)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ["a", "b"]))

    fleet.handle({"action": "idle-endpoints"})

    assert sorted(_paged(channels)) == paged


# ---- storm control over a day's hourly runs ---------------------------------------------------


class Some(Quiet):
    """Requests on every endpoint but those named idle."""

    def __init__(self) -> None:
        super().__init__()
        self.idle: set[str] = set()

    def invocations(
        self, account: str, endpoints: Mapping[str, Sequence[str]], start: datetime, end: datetime
    ) -> dict[str, float | None]:
        quiet = super().invocations(account, endpoints, start, end)
        return {name: 0.0 if name in self.idle else 12.0 for name in quiet}


def _pages(channels: dict[str, Recorder]) -> list[str]:
    """Each page: an endpoint's name, or the names an alert for many lists ("a+b")."""
    documents = [json.loads(m["message"]) for m in channels["json"].items]
    return [d["context"].get("endpoints", "").replace(", ", "+") or d["name"] for d in documents]


ENDPOINTS = [f"e{n}" for n in range(8)]


def _hourly(threshold: int, *idle_each_hour: list[str]) -> list[list[str]]:
    """The pages of each hourly run of one day, the endpoints idle in it as given."""
    activity = Some()
    fleet, clock, channels = _fleet(activity, threshold)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    pages: list[list[str]] = []
    for idle in idle_each_hour:
        activity.idle = set(idle)
        before = len(channels["json"].items)
        fleet.handle({"action": "idle-endpoints"})
        pages.append(_pages(channels)[before:])
        clock.now += HOUR
    return pages


def test_given_a_storm_alert_then_fewer_idle_an_hour_later_are_not_paged_again() -> None:
    assert _hourly(3, ["e0", "e1", "e2", "e3", "e4"], ["e0", "e1"]) == [["e0+e1+e2+e3+e4"], []]


def test_given_a_storm_alert_then_more_idle_later_the_new_ones_are_paged_in_one_alert() -> None:
    pages = _hourly(3, ["e0", "e1", "e2", "e3"], ["e0", "e1", "e2", "e3", "e4", "e5"], ["e0"])
    assert pages == [["e0+e1+e2+e3"], ["e4", "e5"], []]  # within the day's alone pages


def test_given_the_days_alone_pages_spent_then_newly_idle_ones_share_one_alert() -> None:
    idle = [ENDPOINTS[:n] for n in (2, 4, 5, 6, 8)]
    pages = _hourly(3, *idle)
    # the third alone page, then one endpoint shown as one even past the threshold
    assert pages == [["e0", "e1"], ["e2+e3"], ["e4"], ["e5"], ["e6+e7"]]


def test_given_storm_control_off_then_each_endpoint_is_paged_once_a_day() -> None:
    assert _hourly(0, ["e0", "e1", "e2"], ["e0", "e1", "e2", "e3"]) == [["e0", "e1", "e2"], ["e3"]]


def test_given_a_new_utc_day_then_an_endpoint_still_idle_is_paged_again() -> None:
    activity = Some()
    fleet, clock, channels = _fleet(activity, 3)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    activity.idle = {"e0"}
    fleet.handle({"action": "idle-endpoints"})
    clock.now += 11 * HOUR  # 2026-11-22 00:00 UTC
    fleet.handle(_snapshot(clock.now, ENDPOINTS))
    fleet.handle({"action": "idle-endpoints"})
    assert _pages(channels) == ["e0", "e0"]


def _throttled(*args: Any) -> Any:
    raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")


def _retried(threshold: int, first: set[str], retry: set[str], failing: str) -> list[str]:
    """An hourly run finds `first` idle and fails at the table's `failing` write; Lambda retries
    it a minute later, when the findings have moved on (`retry` idle); then the next hour's."""
    activity = Some()
    fleet, clock, channels = _fleet(activity, threshold)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    table: Any = fleet.table
    activity.idle = first
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(table, failing, _throttled)
        with pytest.raises(RetryableError):  # the account is checked again
            fleet.handle({"action": "idle-endpoints"})
    clock.now += 60
    activity.idle = retry
    fleet.handle({"action": "idle-endpoints"})
    clock.now += HOUR
    fleet.handle({"action": "idle-endpoints"})
    return _pages(channels)


@pytest.mark.parametrize(
    ("threshold", "first", "retry", "pages"),
    [
        (3, ENDPOINTS[:4], ENDPOINTS[:5], ["e0+e1+e2+e3", "e4"]),
        (3, ENDPOINTS[:4], ENDPOINTS[:3], ["e0+e1+e2+e3"]),
        (3, ENDPOINTS[:2], ENDPOINTS[:4], ["e0", "e1", "e2+e3"]),
        (1, ENDPOINTS[:2], ENDPOINTS[:2], ["e0+e1"]),
    ],
)
def test_given_alerts_sent_but_not_marked_when_retried_on_other_findings_then_none_twice(
    threshold: int, first: list[str], retry: list[str], pages: list[str]
) -> None:
    assert _retried(threshold, set(first), set(retry), "idle_alerts_sent") == pages


def test_given_the_decision_unrecorded_when_retried_then_decided_on_the_retrys_findings() -> None:
    # nothing was sent: the retry decides afresh
    assert _retried(3, set(ENDPOINTS[:4]), set(ENDPOINTS[:2]), "plan_idle_alerts") == ["e0", "e1"]


def test_given_a_decided_alert_unsent_then_the_next_run_sends_it_though_no_longer_idle() -> None:
    activity = Some()
    fleet, clock, channels = _fleet(activity, 3)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    activity.idle = {"e0"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(channels["chat"], "publish", _throttled)
        with pytest.raises(RetryableError):
            fleet.handle({"action": "idle-endpoints"})
    activity.idle = set()  # it served a request since
    fleet.handle({"action": "idle-endpoints"})

    assert _pages(channels) == ["e0"]
    assert len(channels["chat"].items) == 1  # the topic it missed, once


def test_given_another_run_deciding_meanwhile_then_this_one_is_retried_not_sent() -> None:
    activity = Some()
    fleet, clock, channels = _fleet(activity, 3)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    table: Any = fleet.table
    read = table.idle_alerted

    def then_another_run(account: str, region: str, day: str) -> Any:
        seen = read(account, region, day)
        if day == "2026-11-21":  # today's record, read to decide on
            plan = IdlePlan("alone-x", frozenset({"e7"}), True, clock.now)
            assert table.plan_idle_alerts(account, region, day, plan, seen.version, 2**31)
        return seen

    activity.idle = {"e0"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(table, "idle_alerted", then_another_run)
        with pytest.raises(RetryableError, match="unchecked for accounts 111122223333"):
            fleet.handle({"action": "idle-endpoints"})
    fleet.handle({"action": "idle-endpoints"})  # the retry, which also sends the other's plan

    assert sorted(_pages(channels)) == ["e0", "e7"]


class Flaky(Some):
    """As `Some`, but GetMetricData throttled for the accounts in `failing`."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()

    def invocations(
        self, account: str, endpoints: Mapping[str, Sequence[str]], start: datetime, end: datetime
    ) -> dict[str, float | None]:
        if account in self.failing:
            raise ClientError({"Error": {"Code": "Throttling"}}, "GetMetricData")
        return super().invocations(account, endpoints, start, end)


def _unsent(fleet: Fleet, channels: dict[str, Recorder], *topics: str) -> None:
    """One run whose alerts fail on `topics` (every one if none is named)."""
    with pytest.MonkeyPatch.context() as patch:
        for topic in topics or channels:
            patch.setattr(channels[topic], "publish", _throttled)
        with pytest.raises(RetryableError):
            fleet.handle({"action": "idle-endpoints"})


def test_given_a_plan_unsent_before_midnight_then_the_retry_after_midnight_sends_it() -> None:
    activity = Some()
    fleet, clock, channels = _fleet(activity, 3)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    clock.now = T0 + 36 * HOUR - 30  # 2026-11-21 23:59:30 UTC
    activity.idle = {"e0"}
    _unsent(fleet, channels)
    clock.now += 90  # Lambda's retry, the next UTC day
    activity.idle = set()  # it served a request at midnight
    fleet.handle({"action": "idle-endpoints"})

    documents = [json.loads(m["message"]) for m in channels["json"].items]
    assert [(d["name"], d["incident"].split("|")[-1]) for d in documents] == [("e0", "2026-11-21")]


def test_given_a_plan_unsent_then_it_is_sent_though_the_accounts_metrics_now_fail() -> None:
    activity = Flaky()
    fleet, clock, channels = _fleet(activity, 3)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    activity.idle = {"e0"}
    _unsent(fleet, channels)
    clock.now += HOUR
    activity.failing = {ACCOUNT}
    with pytest.raises(RetryableError):  # its metrics: checked again
        fleet.handle({"action": "idle-endpoints"})

    assert _pages(channels) == ["e0"]


def test_given_a_run_retried_for_another_account_then_a_storm_pages_once_an_hour() -> None:
    activity = Flaky()
    fleet, clock, channels = _fleet(activity, 1)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS),
                      lambda at: _snapshot(at, ["svc"], account=HOSTILE))  # fmt: skip
    activity.failing = {HOSTILE}
    for idle, later in ((ENDPOINTS[:3], 60), (ENDPOINTS[:6], 120), (ENDPOINTS[:8], HOUR)):
        activity.idle = set(idle)  # the storm goes on
        with pytest.raises(RetryableError):  # the run, then Lambda's two retries
            fleet.handle({"action": "idle-endpoints"})
        clock.now += later
    with pytest.raises(RetryableError):  # the next hourly run
        fleet.handle({"action": "idle-endpoints"})

    assert _pages(channels) == ["e0+e1+e2", "e3+e4+e5+e6+e7"]


def test_given_a_plan_resent_after_its_endpoint_was_deleted_then_no_cost_is_made_up() -> None:
    activity = Some()
    fleet, clock, channels = _fleet(activity, 3)
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ENDPOINTS))
    activity.idle = {"e0"}
    _unsent(fleet, channels, "chat")
    clock.now += HOUR / 2
    fleet.handle(_snapshot(clock.now, ENDPOINTS[1:]))  # e0 deleted
    clock.now += HOUR / 2
    fleet.handle({"action": "idle-endpoints"})

    chat = channels["chat"].items[0]["message"]
    assert "$0.00" not in chat
    assert "no longer listed in its account's inventory" in chat
    assert "$0.12" in channels["email"].items[0]["message"]  # sent when it was decided


def test_given_another_accounts_idle_endpoints_then_this_accounts_pages_are_its_own() -> None:
    activity = Some()
    fleet, clock, channels = _fleet(activity, 2)
    _a_day_in_service(
        fleet,
        clock,
        lambda at: _snapshot(at, ["svc"]),
        lambda at: _snapshot(at, ENDPOINTS, account=HOSTILE),
    )
    activity.idle = {"svc", *ENDPOINTS}

    fleet.handle({"action": "idle-endpoints"})

    assert sorted(_pages(channels)) == ["e0+e1+e2+e3+e4+e5+e6+e7", "svc"]


def _idle_days(store: FleetStore) -> list[Any]:
    """What a store keeps of the days' idle alerts, read back after each write."""
    day = "2026-11-21"
    seen: list[Any] = [store.idle_alerted(ACCOUNT, "us-east-1", day)]

    def then(written: Any, read_day: str = day) -> None:
        seen.append((written, store.idle_alerted(ACCOUNT, "us-east-1", read_day)))

    def plan(plan_id: str, names: set[str], alone: bool = True) -> IdlePlan:
        return IdlePlan(plan_id, frozenset(names), alone, 1_000.5)

    then(store.plan_idle_alerts(ACCOUNT, "us-east-1", day, plan("alone-a", {"e1", "e0"}), 0, 9))
    then(store.plan_idle_alerts(ACCOUNT, "us-east-1", day, plan("alone-b", {"e2"}), 0, 9))  # stale
    group = plan("group-c", {"e3", "e4"}, alone=False)
    then(store.plan_idle_alerts(ACCOUNT, "us-east-1", day, group, 1, 9))
    then(store.idle_alerts_sent(ACCOUNT, "us-east-1", day, "alone-a"))
    then(store.idle_alerts_sent(ACCOUNT, "us-east-1", day, "alone-a"))  # a retry
    then(store.plan_idle_alerts(HOSTILE, "us-east-1", day, plan("alone-d", {"x"}), 0, 9))
    then(store.idle_alerts_sent(ACCOUNT, "us-east-1", "2026-11-22", "alone-e"), "2026-11-22")
    return seen


@pytest.mark.integration  # moto
def test_given_the_dynamodb_fleet_table_then_the_days_idle_alerts_kept_as_in_memory(
    fleet_dynamodb: Any,
) -> None:
    on_dynamodb = _idle_days(FleetTable("fleet", fleet_dynamodb))
    in_memory = _idle_days(MemoryFleetTable())

    assert on_dynamodb == in_memory
    first = IdleAlerted(frozenset({"e0", "e1"}), frozenset({"e0", "e1"}),
                        {"alone-a": frozenset({"e0", "e1"})}, 1)  # fmt: skip
    both = IdleAlerted(frozenset({"e0", "e1", "e3", "e4"}), first.alone,
                       {**first.pending, "group-c": frozenset({"e3", "e4"})}, 2,
                       1_000.5)  # fmt: skip
    sent = replace(both, pending={"group-c": frozenset({"e3", "e4"})})
    assert in_memory == [
        IdleAlerted(), (True, first), (False, first), (True, both), (None, sent), (None, sent),
        (True, sent), (None, IdleAlerted()),
    ]  # fmt: skip


class Strict:
    """A DynamoDB client that refuses a set naming a value twice, as DynamoDB does ("Input
    collection contains duplicates"); moto keeps one."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_item(self, **request: Any) -> Any:
        for value in request.get("ExpressionAttributeValues", {}).values():
            if len(set(value.get("SS", ()))) != len(value.get("SS", ())):
                raise ClientError({"Error": {"Code": "ValidationException"}}, "UpdateItem")
        return self.client.update_item(**request)


@pytest.mark.integration  # moto
def test_given_a_snapshot_naming_an_endpoint_twice_then_it_counts_once_and_every_run_ends(
    fleet_dynamodb: Any,
) -> None:
    twice = _snapshot(T0, ["x", "x"], account=HOSTILE)
    assert [e.name for e in parse_snapshot(twice).endpoints] == ["x"]
    assert "'x' listed twice" in str(parse_snapshot(twice).errors)
    activity = Some()
    fleet, clock, channels = _fleet(activity, 1)
    fleet.table = FleetTable("fleet", Strict(fleet_dynamodb))
    _a_day_in_service(fleet, clock, lambda at: _snapshot(at, ["svc"]),
                      lambda at: _snapshot(at, ["x", "x"], account=HOSTILE))  # fmt: skip
    activity.idle = {"svc", "x"}
    for _ in range(3):  # hourly runs: none raises (each would be retried, then dead-lettered)
        fleet.handle({"action": "idle-endpoints"})
        clock.now += HOUR

    assert sorted(_pages(channels)) == ["svc", "x"]
