"""The inventory refresh round trip on the embedded AWS: the monitoring account's fleet function
asks every account it heard from, the request reaches the workload account's default bus through
a rule target, the workload's refresh rule runs the collector (the template's inline code), and
its snapshot comes back through the forwarding rule, answering that request."""

from __future__ import annotations

import json

import pytest

from sagewatch import spoke
from sagewatch.embedded import FLEET_TABLE, EmbeddedAws
from sagewatch.workload import EmbeddedWorkload
from tests.integration.conftest import WORKLOAD_ACCOUNT

pytestmark = pytest.mark.integration

ACCOUNT = WORKLOAD_ACCOUNT


def _heard_from(aws: EmbeddedAws, workload: EmbeddedWorkload) -> None:
    workload.client("events").put_events(
        Entries=[
            {
                "Source": spoke.HEARTBEAT_SOURCE,
                "DetailType": spoke.HEARTBEAT_DETAIL_TYPE,
                "Detail": json.dumps(spoke.heartbeat_detail(project="nlp")),
                "EventBusName": "default",
            }
        ]
    )
    aws.run()


def test_given_a_known_account_when_refresh_requested_then_its_snapshot_answers_the_request(
    wired: tuple[EmbeddedAws, EmbeddedWorkload],
) -> None:
    aws, workload = wired
    _heard_from(aws, workload)

    result = aws.invoke("fleet", {"action": "refresh"})
    aws.run()

    assert result["refresh_requested"] == 1
    assert [run["trigger"] for run in workload.collected] == ["refresh"]
    assert workload.collected[0]["request_id"] == result["request_id"]
    snapshots = [e for e in aws.archived() if e.get("detail-type") == spoke.INVENTORY_DETAIL_TYPE]
    assert [s["account"] for s in snapshots] == [ACCOUNT]
    assert snapshots[0]["detail"]["request_id"] == result["request_id"]
    recorded = aws.client("dynamodb").get_item(
        TableName=FLEET_TABLE, Key={"id": {"S": f"inventory|{ACCOUNT}|us-east-1"}}
    )
    assert "Item" in recorded  # the fleet function took the answer in


def test_given_refresh_rules_when_accounts_come_and_go_then_five_targets_a_rule_and_no_leftovers(
    wired: tuple[EmbeddedAws, EmbeddedWorkload],
) -> None:
    aws, _ = wired
    from shared.adapters.eventbridge import RefreshRequester

    events = aws.client("events")
    requester = RefreshRequester(
        aws.bus_name, "arn:aws:iam::123456789012:role/r", "t-refresh", events
    )
    accounts = [(f"{n:012d}", "us-east-1") for n in range(1, 13)]

    requester.request(
        accounts, {"request_id": "a"}, "sagewatch.monitoring", "Inventory Refresh Requested"
    )
    many = {
        rule["Name"]: len(
            events.list_targets_by_rule(Rule=rule["Name"], EventBusName=aws.bus_name)["Targets"]
        )
        for rule in events.list_rules(EventBusName=aws.bus_name, NamePrefix="t-refresh")["Rules"]
    }
    requester.request(
        accounts[:3], {"request_id": "b"}, "sagewatch.monitoring", "Inventory Refresh Requested"
    )
    few = [
        r["Name"]
        for r in events.list_rules(EventBusName=aws.bus_name, NamePrefix="t-refresh")["Rules"]
    ]

    assert many == {"t-refresh-000": 5, "t-refresh-001": 5, "t-refresh-002": 2}
    assert few == ["t-refresh-000"]
    targets = events.list_targets_by_rule(Rule="t-refresh-000", EventBusName=aws.bus_name)[
        "Targets"
    ]
    assert sorted(t["Arn"] for t in targets) == [
        f"arn:aws:events:us-east-1:{a}:event-bus/default" for a, _ in accounts[:3]
    ]
