"""The in-memory stack's parts where they answer for moto (sagewatch/embedded/memory.py): its rule
matching keeps moto's answers, its queues moto's order and redrive, its do-once records the
DynamoDB adapter's conditions and requests. The whole stack is held to moto's replay in
tests/integration/test_replay_engines.py."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import boto3
import pytest
from moto.events.models import EventPattern

from sagewatch import template as cfn
from sagewatch.embedded.memory import MemoryAws, MemoryOnce, MemoryQueue, _rule
from sagewatch.embedded.provision import ACCOUNT
from sagewatch.template import EVENTS
from shared.platform.clock import FixedClock
from shared.ports import Progress

FAILED = json.loads((EVENTS / "training-failed.json").read_text())


def _variants() -> list[dict[str, Any]]:
    """Events whose fields a memo could misread: dotted keys moto flattens into the field, a
    list, an object, a number or true where a string is expected, a field missing."""
    cases: list[dict[str, Any]] = [copy.deepcopy(FAILED) for _ in range(9)]
    cases[1]["detail.TrainingJobStatus"] = "Completed"
    cases[2]["detail"]["TrainingJobStatus"] = ["Failed", "Completed"]
    cases[3]["detail"]["TrainingJobStatus"] = {"Failed": 1}
    cases[4]["detail"]["TrainingJobStatus"] = 1
    cases[5]["detail"]["TrainingJobStatus"] = True
    del cases[6]["detail"]["TrainingJobStatus"]
    cases[7]["detail"] = "Failed"
    cases[8]["detail"]["SecondaryStatus"] = "MaxRuntimeExceeded"
    cases[8]["detail"]["TrainingJobStatus"] = "Stopped"
    return cases


@pytest.mark.parametrize("rule", cfn.bus_rules(ACCOUNT), ids=lambda rule: rule.logical_id)
def test_given_tricky_events_when_matched_twice_then_moto_answers_each_time(
    rule: cfn.BusRule,
) -> None:
    memoised = _rule(rule.logical_id, rule.pattern)
    moto: Any = EventPattern.load(json.dumps(rule.pattern))
    for event in _variants() * 2:  # the second time from the memo
        assert memoised.matches(event) == bool(moto.matches_event(event)), event


def test_given_failed_messages_when_received_again_then_in_place_and_redriven_after_max() -> None:
    dlq = MemoryQueue("dlq")
    queue = MemoryQueue("q", dlq, max_receives=2)
    for body in ("a", "b", "c"):
        queue.send(body, {}, 0.0)

    first = queue.receive(2)
    assert [m.body for m in first] == ["a", "b"]
    assert [m.body for m in queue.receive(10)] == ["c"]  # a and b are in flight
    for message in list(queue.messages.values()):
        queue.release(message.message_id)
    again = queue.receive(2)
    assert [m.body for m in again] == ["a", "b"]  # in the order sent, before c
    for message in again:
        queue.release(message.message_id)

    # a and b were received twice: moved when a receive reaches them; c (once) is received
    assert [m.body for m in queue.receive(1)] == ["c"]
    assert [m.body for m in dlq.messages.values()] == ["a", "b"]


def test_given_a_key_when_claimed_then_the_once_table_conditions_and_requests() -> None:
    calls: Counter[str] = Counter()
    once = MemoryOnce(calls)

    assert once.claim("k", now=100, lease_until=160, expires_at=1000) == Progress()
    assert once.claim("k", now=110, lease_until=170, expires_at=1000) is None  # held
    once.settle("k", Progress(outcome="alerted", sent={"email": "m-1"}))  # failed: released
    resumed = once.claim("k", now=120, lease_until=180, expires_at=1000)
    assert resumed == Progress(outcome="alerted", sent={"email": "m-1"})
    once.settle("k", Progress(done=True, outcome="alerted", sent={"email": "m-1"}))
    assert once.claim("k", now=130, lease_until=190, expires_at=1000) == Progress(
        done=True, outcome="alerted", sent={"email": "m-1"}
    )
    assert calls == Counter({"dynamodb.UpdateItem": 6})

    assert once.claim("k", now=1001, lease_until=1060, expires_at=2000) == Progress()  # expired
    assert calls == Counter({"dynamodb.UpdateItem": 8}), "the claim, and its progress cleared"


def test_given_an_adapter_that_calls_aws_when_run_in_memory_then_refused_and_named() -> None:
    with MemoryAws(clock=FixedClock(1_795_168_800)) as aws:
        client = boto3.client("sqs", region_name="us-east-1")
        with pytest.raises(RuntimeError, match=r"sqs\.ListQueues"):
            client.list_queues()
        with pytest.raises(RuntimeError, match=r"sqs\.ListQueues"):
            aws.run()
