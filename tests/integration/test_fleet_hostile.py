"""The fleet function against hostile workload accounts: a snapshot is the account's own claim,
so it is bounded and validated, and nothing one account sends keeps another account's idle
endpoints from being checked and alerted."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagewatch.embedded import EmbeddedAws
from sagewatch.template import EVENTS
from sagewatch.workload import EmbeddedWorkload
from shared.adapters.cloudwatch import EndpointActivity
from shared.config import FleetSettings
from shared.contracts.inventory import MAX_ENDPOINTS, parse_snapshot
from shared.fleet.service import Fleet
from shared.platform.clock import FixedClock
from shared.platform.errors import RetryableError
from tests.integration.conftest import Stacks
from tests.integration.test_refresh_round_trip import _heard_from

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SINK = "arn:aws:oam:us-east-1:123456789012:sink/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
HOSTILE, VICTIM = "666666666666", "777788889999"
SNS_LIMIT = 262_144


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0.timestamp())


@pytest.fixture
def aws(stacks: Stacks, clock: FixedClock) -> EmbeddedAws:
    return stacks.reset(clock=clock)


class CountingActivity(EndpointActivity):
    """The real adapter on moto, counting GetMetricData calls; one account's metrics may fail."""

    def __init__(self, failing: str | None = None) -> None:
        super().__init__()
        self.calls = 0
        self.failing = failing

    def invocations(
        self, account: str, endpoints: Mapping[str, Sequence[str]], start: datetime, end: datetime
    ) -> dict[str, float | None]:
        if account == self.failing:
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "boom"}}, "GMD")
        original = self.api.get_metric_data

        def counted(**kwargs: Any) -> Any:
            self.calls += 1
            return original(**kwargs)

        self.api.get_metric_data = counted
        try:
            return super().invocations(account, endpoints, start, end)
        finally:
            self.api.get_metric_data = original


def _fleet(aws: EmbeddedAws, clock: FixedClock, activity: EndpointActivity | None = None) -> Fleet:
    aws._set_env(aws.function_env["fleet"] | {"OAM_SINK_ARN": SINK})
    return Fleet(FleetSettings.from_env(), activity=activity, clock=clock)


def _snapshot(account: str, endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "inventory-snapshot.json").read_text())
    event["account"] = account
    event["time"] = T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    event["detail"]["collected_at"] = T0.isoformat()
    event["detail"]["kpis"]["endpoints_in_service"] = {"count": len(endpoints), "items": endpoints}
    return event


def _endpoint(name: str, variants: int = 1, instance_type: str = "ml.m5.large") -> dict[str, Any]:
    return {
        "name": name,
        "variants": [
            {"name": f"v{i}", "instance_type": instance_type, "instance_count": 1}
            for i in range(variants)
        ],
    }


def _idle_alerts(aws: EmbeddedAws, account: str) -> list[dict[str, Any]]:
    return [
        a for a in aws.alerts() if a["json"]["kind"] == "idle" and a["json"]["account"] == account
    ]


def test_given_an_endpoint_with_500_long_variant_names_when_parsed_then_dropped_with_a_reason() -> (
    None
):
    forged = _endpoint("x" * 60, variants=1)
    forged["variants"] = [
        {"name": "v" * 250 + str(i), "instance_type": "ml.p4d.24xlarge", "instance_count": 1}
        for i in range(500)
    ]
    snapshot = parse_snapshot(_snapshot(HOSTILE, [forged, _endpoint("honest")]))

    assert [e.name for e in snapshot.endpoints] == ["honest"]
    assert "1 endpoints rejected" in snapshot.errors["endpoints_in_service"]


@pytest.mark.parametrize(
    "variant",
    [
        {"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": "2"},
        {"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": [1]},
        {"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": 10**30},
        {"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": True},
        {"name": "AllTraffic", "instance_type": "\x1b[31mml.m5.large", "instance_count": 1},
        {"name": "All\u202eTraffic", "instance_type": "ml.m5.large", "instance_count": 1},
        {"name": {"a": 1}, "instance_type": "ml.m5.large", "instance_count": 1},
        "AllTraffic",
    ],
)
def test_given_a_variant_of_the_wrong_type_when_parsed_then_its_endpoint_is_rejected_not_a_crash(
    variant: Any,
) -> None:
    item = {"name": "forged", "variants": [variant]}

    snapshot = parse_snapshot(_snapshot(HOSTILE, [item]))

    assert snapshot.endpoints == ()
    assert "rejected" in snapshot.errors["endpoints_in_service"]


def test_given_hostile_counts_labels_and_errors_when_parsed_then_bounded() -> None:
    event = _snapshot(HOSTILE, [])
    event["detail"]["kpis"]["running_training_jobs"] = {"count": 10**40}
    event["detail"]["kpis"]["studio_apps_in_service"] = {"count": -1}
    event["detail"]["project"] = "\x1b]8;;http://evil\x07team\u202e" + "p" * 500
    event["detail"]["errors"] = {f"kpi{i}": "e" * 10_000 for i in range(1_000)}
    event["detail"]["collected_at"] = "9999-12-31T23:59:59Z"  # would win over every later one

    snapshot = parse_snapshot(event)

    assert "running_training_jobs" not in snapshot.counts
    assert "studio_apps_in_service" not in snapshot.counts
    assert len(snapshot.project) <= 64
    assert snapshot.project.isprintable()
    assert "\x1b" not in snapshot.project
    assert "\u202e" not in snapshot.project
    assert len(snapshot.errors) <= 20
    assert all(len(v) <= 200 for v in snapshot.errors.values())
    assert snapshot.at == T0


def test_given_2500_endpoints_when_checked_then_few_calls_one_alert_and_others_still_alerted(
    aws: EmbeddedAws, clock: FixedClock
) -> None:
    activity = CountingActivity()
    fleet = _fleet(aws, clock, activity)
    fleet.handle(_snapshot(HOSTILE, [_endpoint(f"idle-{i}") for i in range(2_500)]))
    fleet.handle(_snapshot(VICTIM, [_endpoint("victim-idle")]))
    clock.now += 25 * 3600

    result = fleet.handle({"action": "idle-endpoints"})

    assert result["endpoints_checked"] == MAX_ENDPOINTS + 1
    assert activity.calls <= MAX_ENDPOINTS // 500 + 1 + 1  # 500 queries a call, per account
    hostile = _idle_alerts(aws, HOSTILE)
    assert len(hostile) == 1  # storm control: one alert names them all
    assert "and 980 more" in hostile[0]["json"]["context"]["endpoints"]
    assert all(len(json.dumps(a["json"]).encode()) < SNS_LIMIT for a in aws.alerts())
    assert [a["json"]["name"] for a in _idle_alerts(aws, VICTIM)] == ["victim-idle"]


def test_given_one_accounts_metrics_failing_when_checked_then_the_others_are_alerted_then_retried(
    aws: EmbeddedAws, clock: FixedClock
) -> None:
    fleet = _fleet(aws, clock, CountingActivity(failing=HOSTILE))
    fleet.handle(_snapshot(HOSTILE, [_endpoint("a")]))
    fleet.handle(_snapshot(VICTIM, [_endpoint("victim-idle")]))
    clock.now += 25 * 3600

    with pytest.raises(RetryableError, match=HOSTILE):
        fleet.handle({"action": "idle-endpoints"})

    assert [a["json"]["name"] for a in _idle_alerts(aws, VICTIM)] == ["victim-idle"]


def test_given_three_idle_endpoints_when_checked_then_alerted_one_by_one(
    aws: EmbeddedAws, clock: FixedClock
) -> None:
    fleet = _fleet(aws, clock)
    fleet.handle(_snapshot(VICTIM, [_endpoint(f"idle-{i}") for i in range(3)]))
    clock.now += 25 * 3600

    fleet.handle({"action": "idle-endpoints"})
    fleet.handle({"action": "idle-endpoints"})

    names = sorted(a["json"]["name"] for a in _idle_alerts(aws, VICTIM))
    assert names == ["idle-0", "idle-1", "idle-2"]  # BurstThreshold 3: not yet a storm


def test_given_a_forged_refresh_request_from_a_workload_account_then_no_account_is_asked(
    wired: tuple[EmbeddedAws, EmbeddedWorkload],
) -> None:
    aws, workload = wired
    _heard_from(aws, workload)
    aws.invoke("fleet", {"action": "refresh"})  # the rules now name the workload's bus
    aws.run()
    asked = len(workload.collected)

    aws.deliver(
        {
            "version": "0",
            "id": "forged-refresh",
            "source": "sagewatch.monitoring",
            "detail-type": "Inventory Refresh Requested",
            "account": HOSTILE,
            "time": "2026-11-20T12:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {"request_id": "forged"},
        }
    )
    aws.run()

    assert asked == 1  # the monitoring account's own request reached it
    assert len(workload.collected) == asked  # the forged one reached nobody
