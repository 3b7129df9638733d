"""The monitoring account's own SageMaker jobs: template.yaml's rule on its default bus moves
them to the sagewatch bus, where they are archived and alerted like any workload account's."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from sagewatch import template as cfn
from sagewatch.embedded import ACCOUNT, EmbeddedAws
from tests.integration.conftest import sample, sample_clock

pytestmark = pytest.mark.integration


def _wire_default_bus(aws: EmbeddedAws) -> None:
    """MonitoringAccountEventsRule as template.yaml declares it (pattern and target)."""
    rule = cfn.load()["Resources"]["MonitoringAccountEventsRule"]["Properties"]
    events = aws.client("events")
    events.put_rule(
        Name="MonitoringAccountEventsRule",
        EventBusName=rule["EventBusName"],
        EventPattern=json.dumps(cfn.resolve(rule["EventPattern"], {"AWS::AccountId": ACCOUNT})),
    )
    events.put_targets(
        Rule="MonitoringAccountEventsRule",
        EventBusName=rule["EventBusName"],
        Targets=[{"Id": "sagewatch-bus", "Arn": aws.bus_arn}],
    )


def test_given_the_default_parameters_then_the_monitoring_account_is_watched() -> None:
    template = cfn.load()
    rule = template["Resources"]["MonitoringAccountEventsRule"]

    assert template["Parameters"]["WatchMonitoringAccount"]["Default"] == "true"
    assert rule["Condition"] == "WatchSelf"
    assert rule["Properties"]["EventBusName"] == "default"
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["EventBus", "Arn"]}


@pytest.mark.parametrize(("account", "moved"), [(ACCOUNT, True), ("444455556666", False)])
def test_given_a_sagemaker_event_on_the_default_bus_then_only_this_accounts_own_are_moved(
    account: str, moved: bool
) -> None:
    rule = cfn.load()["Resources"]["MonitoringAccountEventsRule"]["Properties"]
    pattern = cfn.resolve(rule["EventPattern"], {"AWS::AccountId": ACCOUNT})
    event = sample("training-failed") | {"account": account}
    assert EventPattern.load(json.dumps(pattern)).matches_event(event) is moved


def test_given_a_failed_job_in_the_monitoring_account_when_on_its_default_bus_then_alerted() -> (
    None
):
    failed = sample("training-failed")
    with EmbeddedAws({"WorkloadAccountIds": "444455556666"}, clock=sample_clock()) as aws:
        _wire_default_bus(aws)
        aws.client("events").put_events(
            Entries=[
                {
                    "Source": failed["source"],
                    "DetailType": failed["detail-type"],
                    "Detail": json.dumps(failed["detail"]),
                    "EventBusName": "default",
                }
            ]
        )
        aws.run()

        archived = [e for e in aws.archived() if e.get("source") == "aws.sagemaker"]
        alerts = [a["json"] for a in aws.alerts()]

    assert [e["account"] for e in archived] == [ACCOUNT]
    assert [(a["kind"], a["account"]) for a in alerts] == [("failure", ACCOUNT)]
