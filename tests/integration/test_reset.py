"""EmbeddedAws.reset, on which the tests of a module share one stack: after a reset the stack is
what a new one would be. Nothing a test did (messages, items, metrics, the archive, rules it
added or broke, queues it deleted, the environment, faults, the clock, what the functions were
seen doing) reaches the next test."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from sagewatch.embedded import (
    FLEET_TABLE,
    TABLE,
    EmbeddedAws,
    Observations,
    load_events,
    replay_clock,
)
from sagewatch.template import EVENTS
from shared.platform.clock import FixedClock

pytestmark = pytest.mark.integration

# A failure alerted, a job enriched into a report, a heartbeat, a snapshot, an unroutable event.
EVENTS_ = load_events(
    [
        EVENTS / f"{name}.json"
        for name in (
            "training-failed", "endpoint-failed", "training-completed-gpu", "heartbeat",
            "inventory-snapshot", "unknown-detail-type",
        )
    ]
)  # fmt: skip
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _replayed(aws: EmbeddedAws, metrics: dict[str, Any]) -> dict[str, Any]:
    aws.seed_metrics(metrics)
    for event in EVENTS_:
        aws.deliver(event)
    aws.run()
    return aws.summary()


def _comparable(summary: dict[str, Any]) -> str:
    """The summary with moto's random ids masked, lists in a stable order."""
    stable = {
        key: sorted(json.dumps(item, sort_keys=True) for item in value)
        if isinstance(value, list)
        else value
        for key, value in summary.items()
    }
    return _UUID.sub("<uuid>", json.dumps(stable, sort_keys=True, indent=1))


def _rules(aws: EmbeddedAws) -> list[str]:
    listed = aws.client("events").list_rules(EventBusName=aws.bus_name)["Rules"]
    return sorted(rule["Name"] for rule in listed)


def test_given_a_used_and_broken_stack_when_reset_then_it_replays_as_a_new_stack_does(
    demo_metrics: dict[str, Any],
) -> None:
    with EmbeddedAws(clock=replay_clock(EVENTS_)) as new:
        expected = _replayed(new, demo_metrics)
    assert all(expected[part] for part in ("alerts", "reports", "metrics", "archived", "calls"))

    unset = "SAGEWATCH_RESET_PROBE"
    assert unset not in os.environ
    with EmbeddedAws(faults="sns.Publish=5xx", clock=replay_clock(EVENTS_)) as aws:
        provisioned = _rules(aws)
        _replayed(aws, demo_metrics)  # alerts parked, items, metrics, an archive
        events, sqs = aws.client("events"), aws.client("sqs")
        events.put_rule(
            Name="added-by-a-test",
            EventBusName=aws.bus_name,
            EventPattern=json.dumps({"source": ["anything"]}),
        )
        broken = provisioned[0]
        targets = events.list_targets_by_rule(Rule=broken, EventBusName=aws.bus_name)["Targets"]
        events.remove_targets(
            Rule=broken, EventBusName=aws.bus_name, Ids=[t["Id"] for t in targets]
        )
        sqs.delete_queue(QueueUrl=aws.queues["email-capture"])
        aws._set_env({unset: "1", "AWS_REGION": "eu-west-1"})
        clock = aws.clock
        assert isinstance(clock, FixedClock)
        clock.advance(86_400)

        reset = aws.reset(clock=replay_clock(EVENTS_))

        assert reset is aws
        assert aws.observed == Observations()
        assert aws.injector.faults == []
        assert aws.clock() == replay_clock(EVENTS_)()
        assert unset not in os.environ
        assert os.environ["AWS_REGION"] == "us-east-1"
        assert _rules(aws) == provisioned
        assert aws.archived() == []
        assert aws.alerts() == []
        assert aws.dead_letters() == []
        for table in (TABLE, FLEET_TABLE):
            assert aws.client("dynamodb").scan(TableName=table)["Items"] == []
        assert aws.client("cloudwatch").list_metrics()["Metrics"] == []
        assert _comparable(_replayed(aws, demo_metrics)) == _comparable(expected)
    assert unset not in os.environ


def test_given_a_stack_left_when_reset_then_it_refuses() -> None:
    aws = EmbeddedAws()
    with pytest.raises(RuntimeError, match="entered"):
        aws.reset()
    with aws:
        pass
    with pytest.raises(RuntimeError, match="entered"):
        aws.reset()
