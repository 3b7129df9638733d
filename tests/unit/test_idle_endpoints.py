"""The idle-endpoint check on in-memory fakes: what an inventory snapshot may name, and which
endpoints hold hardware that can sit idle."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.config import FleetSettings
from shared.contracts.inventory import parse_snapshot
from shared.fleet.service import Fleet
from shared.platform.clock import FixedClock
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
