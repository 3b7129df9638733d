"""The workload account's event paths on moto's EventBridge, with workload-template.yaml's own rule
patterns: a refresh request put on the default bus reaches the collector (and is never forwarded
back), the collector's snapshot lands on the default bus and is forwarded with the trigger and the
request id; a scheduled run says so. SQS queues stand in for the targets moto cannot run (the
Lambda function, the monitoring bus in another account)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sagewatch import moto_patches, spoke
from sagewatch.template import WORKLOAD_TEMPLATE, load, resolve
from tests.integration.test_workload_collector import seed

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account plays the workload account
FORWARDING_RULES = ("SageMakerServiceEventsRule", "SageMakerApiCallsRule", "SagewatchEventsRule")


class Account:
    """One workload account's default bus on moto, with the template's rules."""

    def __init__(self, monitoring_account: str = ACCOUNT) -> None:
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.collector_queue = self._queue("collector-stand-in")
        self.monitoring_queue = self._queue("monitoring-bus-stand-in")
        resources = load(WORKLOAD_TEMPLATE)["Resources"]
        rules = {"InventoryRefreshRule": self.collector_queue}
        rules |= dict.fromkeys(FORWARDING_RULES, self.monitoring_queue)
        for rule, (_, arn) in rules.items():
            pattern = resolve(
                resources[rule]["Properties"]["EventPattern"],
                {
                    "AWS::AccountId": ACCOUNT,
                    "MonitoringBusArn": f"arn:aws:events:{REGION}:{monitoring_account}"
                    ":event-bus/sagewatch",
                },
            )
            self.events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
            self.events.put_targets(Rule=rule, Targets=[{"Id": "stand-in", "Arn": arn}])

    def _queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def received(self, queue: tuple[str, str]) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=queue[0], MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": REGION, "SAGEWATCH_PROJECT": "vision",
                        "SAGEWATCH_ENVIRONMENT": "prod",
                        "TEAM_TAG_KEY": "team"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    moto_patches.install()  # SageMaker Search's `Exists` on a tag, as the collector asks
    with mock_aws():
        created = Account()
        # The stack's forwarding dead-letter queue, empty: the snapshot reports 0 waiting.
        dlq = created.sqs.create_queue(QueueName="forwarding-dlq")["QueueUrl"]
        monkeypatch.setenv("FORWARDING_DEAD_LETTER_QUEUE_URL", dlq)
        yield created


@pytest.fixture
def collector(account: Account) -> ModuleType:
    module = spoke.load_collector()
    seed(module.client("sagemaker"))  # the handler's own (cached) client
    return module


def test_given_a_refresh_request_when_it_travels_the_default_bus_then_the_snapshot_answers_it(
    account: Account, collector: ModuleType
) -> None:
    # The monitoring account asks (here: put on the bus of the account itself).
    account.events.put_events(Entries=[spoke.refresh_request("req-2026-11-20T09:41:00Z-1")])
    (request,) = account.received(account.collector_queue)
    assert account.received(account.monitoring_queue) == []  # never forwarded back

    result = collector.handler(request, None)

    # Forwarded by SagewatchEventsRule, whose pattern requires account ACCOUNT (moto leaves the
    # account out of the body it delivers to SQS).
    (snapshot,) = account.received(account.monitoring_queue)
    assert (snapshot["source"], snapshot["detail-type"]) == (
        spoke.INVENTORY_SOURCE,
        spoke.INVENTORY_DETAIL_TYPE,
    )
    detail = snapshot["detail"]
    assert {k: v for k, v in detail.items() if k not in ("kpis", "collected_at")} == {
        "schema_version": 1,
        "project": "vision",
        "environment": "prod",
        "trigger": "refresh",
        "request_id": "req-2026-11-20T09:41:00Z-1",
        "errors": {},
        "forwarding_dead_letters": 0,
        "account_alias": None,  # moto's account has none
        "teams": {"endpoint": {}, "pipeline": {}},  # nothing tagged with a team
    }
    assert tuple(detail["kpis"]) == spoke.KPI_NAMES
    assert detail["kpis"]["endpoints_in_service"]["count"] == 3
    collected = datetime.strptime(detail["collected_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - collected).total_seconds()) < 60
    assert result["trigger"] == "refresh"
    assert result["counts"]["notebook_instances_in_service"] == 5
    assert account.received(account.collector_queue) == []  # the snapshot does not loop back


def test_given_a_refresh_request_from_another_account_than_the_monitoring_one_then_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        account = Account(monitoring_account="210987654321")
        # Put by this account itself: not the monitoring account, so not a request to answer.
        account.events.put_events(Entries=[spoke.refresh_request("forged")])

        assert account.received(account.collector_queue) == []


def test_given_the_schedule_when_it_invokes_then_the_snapshot_says_schedule_and_no_request(
    account: Account, collector: ModuleType
) -> None:
    scheduled_input = json.loads(
        load(WORKLOAD_TEMPLATE)["Resources"]["InventorySchedule"]["Properties"]["Target"]["Input"]
    )

    collector.handler(scheduled_input, None)

    (snapshot,) = account.received(account.monitoring_queue)
    assert snapshot["detail"]["trigger"] == "schedule"
    assert snapshot["detail"]["request_id"] is None
    assert account.received(account.collector_queue) == []


def test_given_a_heartbeat_on_the_default_bus_when_rules_match_then_it_is_forwarded(
    account: Account,
) -> None:
    schedule = load(WORKLOAD_TEMPLATE)["Resources"]["HeartbeatSchedule"]["Properties"]["Target"]
    parameters = schedule["EventBridgeParameters"]
    detail = {"interval_minutes": 15, "project": "vision", "environment": "prod",
              "stack": "sagewatch-workload", "template_version": "2"}  # fmt: skip

    entry = {
        "Source": parameters["Source"],
        "DetailType": parameters["DetailType"],
        "Detail": json.dumps(detail),
    }
    account.events.put_events(Entries=[entry])

    (heartbeat,) = account.received(account.monitoring_queue)
    assert (heartbeat["source"], heartbeat["detail-type"]) == (
        spoke.HEARTBEAT_SOURCE,
        spoke.HEARTBEAT_DETAIL_TYPE,
    )
    assert heartbeat["detail"] == detail
    assert account.received(account.collector_queue) == []


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"source": spoke.REFRESH_SOURCE, "detail-type": spoke.REFRESH_DETAIL_TYPE,
          "detail": {"request_id": "r-1"}}, ("refresh", "r-1")),
        ({"source": spoke.REFRESH_SOURCE, "detail-type": spoke.REFRESH_DETAIL_TYPE,
          "detail": {"request_id": 'x", "trigger": "schedule'}}, ("refresh", None)),
        ({"source": spoke.REFRESH_SOURCE, "detail-type": spoke.REFRESH_DETAIL_TYPE,
          "detail": {"request_id": "r" * 129}}, ("refresh", None)),
        ({"source": spoke.REFRESH_SOURCE, "detail-type": spoke.REFRESH_DETAIL_TYPE},
         ("refresh", None)),
        ({"source": spoke.REFRESH_SOURCE, "detail-type": "Something Else",
          "detail": {"request_id": "r-1"}}, ("schedule", None)),
        ({"trigger": "schedule"}, ("schedule", None)),
        (None, ("schedule", None)),
    ],
    ids=["refresh", "injected-id", "long-id", "no-detail", "other-type", "schedule", "none"],
)  # fmt: skip
def test_given_an_invocation_event_when_read_then_trigger_and_request_id_are_safe(
    event: Any, expected: tuple[str, str | None]
) -> None:
    assert spoke.load_collector().trigger_of(event) == expected


def test_given_put_events_rejects_the_snapshot_when_published_then_the_run_fails(
    account: Account,
) -> None:
    collector = spoke.load_collector()
    events = boto3.client("events", region_name=REGION)
    with Stubber(events) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1,
             "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
        )  # fmt: skip
        with pytest.raises(RuntimeError, match="InternalFailure"):
            collector.publish(events, {"schema_version": 1})
