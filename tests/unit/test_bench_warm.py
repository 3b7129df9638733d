"""The warm-path measures (`make bench`, `python -m bench.warm`) time the alerter's whole path:
every event they feed it is a new incident, alerted to its three topics."""

from __future__ import annotations

import json

from bench.warm import alerter_workload, quiet


def test_given_the_warm_workload_then_each_event_is_an_alert_sent_to_three_topics() -> None:
    raw, _, alerter = alerter_workload(5)
    handle = alerter().handle

    with quiet():
        results = [handle(json.loads(text)) for text in raw]

    assert [result["outcome"] for result in results] == ["alerted"] * 5
    assert [len(result["message_ids"]) for result in results] == [3] * 5
    assert len({result["incident"] for result in results}) == 5
