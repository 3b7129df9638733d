"""The fleet function on the embedded monitoring account: the silent-account watchdog with a
controllable clock, idle endpoints, and what heartbeats and snapshots leave in the table."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sagewatch.embedded import FLEET_TABLE, EmbeddedAws
from sagewatch.template import EVENTS, ROOT
from shared.config import FleetSettings
from shared.fleet.service import Fleet
from tests.integration.conftest import Stacks

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MINUTE = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = T0.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * MINUTE


def _event(name: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    detail = changes.pop("detail", {})
    event.update(changes)
    event["detail"].update(detail)
    return event


def _heartbeat(account: str, at: datetime, region: str = "eu-west-1") -> dict[str, Any]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _event("heartbeat", account=account, region=region, time=stamp, id=f"hb-{stamp}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aws(stacks: Stacks, clock: Clock) -> EmbeddedAws:
    return stacks.reset({"WorkloadAccountIds": "999988887777"}, clock=clock)


SINK = "arn:aws:oam:us-east-1:123456789012:sink/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
ALERT_SCHEMA = Draft202012Validator(json.loads((ROOT / "docs" / "alert.schema.json").read_text()))


@pytest.fixture
def fleet(aws: EmbeddedAws, clock: Clock) -> Fleet:
    aws._set_env(aws.function_env["fleet"] | {"OAM_SINK_ARN": SINK})
    return Fleet(FleetSettings.from_env(), clock=clock)


def _valid(aws: EmbeddedAws) -> None:
    """Fleet alerts keep to the published JSON Schema like every other alert."""
    for alert in aws.alerts():
        assert list(ALERT_SCHEMA.iter_errors(alert["json"])) == [], alert["subject"]


def _ops(aws: EmbeddedAws) -> list[tuple[str, str]]:
    return [
        (a["json"]["account"] + "/" + a["json"]["region"], a["json"]["status"])
        for a in aws.alerts()
        if a["json"]["kind"] == "ops"
    ]


def test_given_an_account_that_stops_sending_when_watched_then_one_silent_and_one_recovered_alert(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle(_heartbeat("444455556666", T0))
    fleet.handle(_heartbeat("999988887777", T0))  # the configured account, heard
    clock.advance(29)
    fleet.handle(_heartbeat("999988887777", T0 + timedelta(minutes=29)))

    assert fleet.handle({"action": "watch"})["silent"] == []  # 29 min: under two intervals
    clock.advance(2)
    first = fleet.handle({"action": "watch"})
    again = fleet.handle({"action": "watch"})
    clock.advance(10)
    fleet.handle(_heartbeat("444455556666", T0 + timedelta(minutes=41)))
    back = fleet.handle({"action": "watch"})

    assert first["silent"] == ["444455556666/eu-west-1"]
    assert again["silent"] == []  # alerted once, not every 5 minutes
    assert back["recovered"] == ["444455556666/eu-west-1"]
    assert _ops(aws) == [
        ("444455556666/eu-west-1", "silent"),
        ("444455556666/eu-west-1", "recovered"),
    ]
    silent = aws.alerts()[0]
    assert (
        silent["subject"] == "[sagewatch] OPS account 444455556666 silent (444455556666 eu-west-1)"
    )
    assert "31 minutes without a heartbeat" in silent["email"]["body"]
    assert silent["attributes"]["kind"] == "ops"
    assert silent["chat"]["metadata"]["threadId"] == aws.alerts()[1]["chat"]["metadata"]["threadId"]
    _valid(aws)


def test_given_a_configured_account_never_heard_when_its_grace_ends_then_alerted_once_until_heard(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    deployed = fleet.handle({"action": "watch"})  # minutes after the monitoring stack's deploy
    clock.advance(24 * 60 - 5)
    within_grace = fleet.handle({"action": "watch"})
    clock.advance(5)  # NeverHeardGraceHours is 24
    first = fleet.handle({"action": "watch"})
    clock.advance(5)
    again = fleet.handle({"action": "watch"})
    fleet.handle(_heartbeat("999988887777", T0 + timedelta(days=1), region="us-east-1"))
    heard = fleet.handle({"action": "watch"})

    assert deployed["silent"] == within_grace["silent"] == []
    assert first["silent"] == ["999988887777/*"]
    assert again["silent"] == []
    assert heard["recovered"] == ["999988887777/*"]
    assert "last heartbeat: never" in aws.alerts()[0]["email"]["body"].lower()
    _valid(aws)


def test_given_a_configured_account_onboarded_within_its_grace_then_never_alerted(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle({"action": "watch"})
    clock.advance(6 * 60)
    fleet.handle(_heartbeat("999988887777", T0 + timedelta(hours=6), region="us-east-1"))
    onboarded = fleet.handle({"action": "watch"})
    clock.advance(30 * 60)
    fleet.handle(_heartbeat("999988887777", T0 + timedelta(hours=36), region="us-east-1"))
    later = fleet.handle({"action": "watch"})

    assert onboarded["silent"] == onboarded["recovered"] == later["recovered"] == []
    assert aws.alerts() == []


def test_given_an_unconfigured_account_silent_for_longer_than_the_memory_then_no_alert(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle(_heartbeat("999988887777", T0))
    fleet.handle(_heartbeat("111122223333", T0))
    clock.advance(8 * 24 * 60)  # ForgetSilentAfterDays is 7
    fleet.handle(_heartbeat("999988887777", T0 + timedelta(days=8)))

    result = fleet.handle({"action": "watch"})

    assert result["silent"] == []  # a closed account stops being expected


def test_given_heartbeats_out_of_order_when_recorded_then_the_latest_is_kept(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle(_heartbeat("444455556666", T0 + timedelta(minutes=20)))
    fleet.handle(_heartbeat("444455556666", T0))  # late delivery of an older one
    clock.advance(45)
    silent = fleet.handle({"action": "watch"})["silent"]

    assert "444455556666/eu-west-1" not in silent  # 25 min since the latest


def _snapshot(at: datetime) -> dict[str, Any]:
    snapshot = _event("inventory-snapshot", time=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    snapshot["detail"]["collected_at"] = at.isoformat()
    return snapshot


def _seed_invocations(aws: EmbeddedAws, endpoint: str, at: datetime, value: float) -> None:
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": at,
                "Value": value,
                "Unit": "None",
            }
        ],
    )


def test_given_endpoints_in_service_when_one_served_nothing_for_a_day_then_it_alone_alerts_once(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    snapshot = _snapshot(T0)
    fleet.handle(snapshot)
    clock.advance(60)
    too_young = fleet.handle({"action": "idle-endpoints"})
    clock.advance(25 * 60)
    _seed_invocations(aws, "forecasting-demand-realtime", T0 + timedelta(hours=20), 42)
    later = copy.deepcopy(snapshot)
    later["detail"]["collected_at"] = (T0 + timedelta(hours=26)).isoformat()
    fleet.handle(later)  # a newer snapshot keeps when each endpoint was first seen

    checked = fleet.handle({"action": "idle-endpoints"})
    again = fleet.handle({"action": "idle-endpoints"})

    assert too_young["endpoints_checked"] == 0  # in service for less than 24 hours
    assert checked["idle_endpoints"] == ["forecasting-whatif-sandbox"]
    assert again["idle_endpoints"] == ["forecasting-whatif-sandbox"]
    idle = [a for a in aws.alerts() if a["json"]["kind"] == "idle"]
    assert len(idle) == 1  # once per endpoint and day
    document = idle[0]["json"]
    assert document["resource_type"] == "endpoint"
    assert document["context"]["hourly cost"].startswith("$0.")  # one ml.m5.large
    assert document["waste"]["wasted_instance_hours"] == 24
    assert "Shadow" not in document["context"]["variants"]  # serverless: no idle hardware
    _valid(aws)


def test_given_no_oam_sink_when_idle_endpoints_checked_then_skipped_with_the_reason(
    aws: EmbeddedAws, clock: Clock
) -> None:
    aws._set_env(aws.function_env["fleet"] | {"OAM_SINK_ARN": ""})
    fleet = Fleet(FleetSettings.from_env(), clock=clock)

    result = fleet.handle({"action": "idle-endpoints"})

    assert "no OAM sink" in result["idle_endpoints_skipped"]


def test_given_a_stale_inventory_when_idle_endpoints_checked_then_its_endpoints_are_not(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    snapshot = _snapshot(T0)
    fleet.handle(snapshot)
    clock.advance(3 * 24 * 60)  # the collector stopped reporting three days ago

    result = fleet.handle({"action": "idle-endpoints"})

    assert result["endpoints_checked"] == 0


def _reporting(hour: int, dead_letters: int | None) -> dict[str, Any]:
    at = f"2026-11-{20 + hour // 24}T{hour % 24:02d}:00:03Z"
    detail = {"collected_at": at, "forwarding_dead_letters": dead_letters}
    return _event("inventory-snapshot", id=f"snap-{hour}", time=at, detail=detail)


def test_given_snapshots_reporting_dead_letters_when_recorded_then_one_ops_alert_per_episode(
    aws: EmbeddedAws, fleet: Fleet
) -> None:
    fleet.handle(_reporting(8, 0))
    fleet.handle(_reporting(9, 3))  # events start to wait: an incident
    fleet.handle(_reporting(9, 3))  # delivered again
    fleet.handle(_reporting(10, 5))  # still waiting: the same incident
    fleet.handle(_reporting(7, 0))  # late and older: changes nothing
    fleet.handle(_reporting(11, 0))  # drained
    fleet.handle(_reporting(12, None))  # unknown (the collector could not read the queue)
    fleet.handle(_reporting(13, 1))  # waiting again, the same day: no second page
    fleet.handle(_reporting(14, 0))
    fleet.handle(_reporting(24 + 9, 2))  # the next day: a new incident

    assert _ops(aws) == [("777788889999/us-east-1", "dead-letters")] * 2
    first = aws.alerts()[0]["json"]
    assert (
        first["headline"] == "workload account 777788889999 could not forward 3 events in us-east-1"
    )
    assert "ForwardingDeadLetterQueue" in first["next_step"]
    _valid(aws)


def test_given_a_snapshot_when_recorded_then_stored_and_archived_without_a_metric_per_account(
    aws: EmbeddedAws,
) -> None:
    aws.deliver(_event("inventory-snapshot"))
    aws.run()

    # A custom metric per account costs every hour; the dashboard reads the archive instead.
    assert aws.observed.metrics == []
    [archived] = [e for e in aws.archived() if e["source"] == "sagewatch.inventory"]
    assert archived["detail"]["kpis"]["endpoints_in_service"]["count"] == 2
    item = aws.client("dynamodb").get_item(
        TableName=FLEET_TABLE, Key={"id": {"S": "inventory|777788889999|us-east-1"}}
    )["Item"]
    assert json.loads(item["endpoints"]["S"])[0]["name"] == "forecasting-demand-realtime"


def test_given_an_unknown_action_when_invoked_then_a_clear_error(fleet: Fleet) -> None:
    from shared.platform.errors import InvalidEvent

    with pytest.raises(InvalidEvent, match="unknown action 'nap'"):
        fleet.handle({"action": "nap"})


def test_given_the_documented_ops_sample_when_reproduced_then_the_watchdog_sends_exactly_it(
    aws: EmbeddedAws, fleet: Fleet, clock: Clock
) -> None:
    fleet.handle(_heartbeat("444455556666", T0))
    clock.advance(47)
    fleet.handle({"action": "watch"})
    body = next(a for a in aws.alerts() if a["json"]["account"] == "444455556666")["email"]["body"]

    for doc in ("README.md", "docs/alerts.md"):
        text = (ROOT / doc).read_text()
        sample = text.split("OPS account 444455556666 silent", 1)[1].split("```\n", 1)[1]
        assert sample.split("\n```", 1)[0] == body, doc
