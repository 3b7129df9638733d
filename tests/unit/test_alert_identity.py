"""An alert's identity (its incident) survives what makes its text safe to show: two incidents
whose shown keys are alike stay two, and text no encoding takes cannot stop an alert."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.alerting.alerts import LINE_LIMIT, JobSays, _key, failure_alert
from shared.alerting.render import document
from shared.domain.health import Limits, Signal
from shared.domain.parser import parse_event
from shared.fleet.health import Episode, recovered_alert, unhealthy_alert
from shared.platform.clock import FixedClock
from tests.fakes import MemoryLedger, Recorder
from tests.unit.conftest import read_event
from tests.unit.test_services_with_fakes import CHANNELS, START, _alerter, _documents, _failure


def test_given_a_plain_key_then_it_is_shown_as_it_is() -> None:
    plain = "111122223333|us-east-1|training|churn-2026-11-20|failed"
    assert _key(plain) == plain


@pytest.mark.parametrize(
    "names",
    [
        # the SageMaker SDK's names: a base name, then a timestamp; `sk-` and 20 more is a token
        ("churn-sk-2026-11-20-10-00-00-123", "churn-sk-2026-11-20-11-30-00-456"),
        ("a" * 2_000 + "x", "a" * 2_000 + "y"),  # alike up to the cut
    ],
    ids=["masked", "cut"],
)
def test_given_keys_shown_alike_then_they_stay_two_bounded_incidents(
    names: tuple[str, str],
) -> None:
    keys = [_key(f"111122223333|us-east-1|training|{name}|failed") for name in names]
    assert keys[0] != keys[1]
    assert all(len(key) <= LINE_LIMIT for key in keys)
    assert all("sk-2026" not in key for key in keys)  # the masked part is still not shown


def test_given_two_jobs_whose_names_are_masked_alike_when_they_fail_then_each_alerts() -> None:
    channels = {c: Recorder() for c in CHANNELS}
    alerter = _alerter(channels, MemoryLedger(), Recorder(), FixedClock(START))
    first, second = _failure(1), _failure(2)
    first["detail"]["TrainingJobName"] = "churn-sk-2026-11-20-10-00-00-123"
    second["detail"]["TrainingJobName"] = "churn-sk-2026-11-20-11-30-00-456"

    outcomes = [alerter.handle(first)["outcome"], alerter.handle(second)["outcome"]]

    assert outcomes == ["alerted", "alerted"]
    assert len({document["incident"] for document in _documents(channels)}) == 2


def test_given_a_lone_surrogate_in_a_schedule_name_when_alerted_then_the_alert_is_sent() -> None:
    # As the Lambda runtime decodes it: JSON's "\ud800" escape is a lone surrogate in Python.
    text = json.dumps(read_event("processing-monitor-violations")).replace(
        '"sagemaker_monitoring_schedule_name": "', '"sagemaker_monitoring_schedule_name": "\\ud800'
    )
    raw = json.loads(text)
    assert "\ud800" in json.dumps(raw, ensure_ascii=False)
    channels = {c: Recorder() for c in CHANNELS}

    result = _alerter(channels, MemoryLedger(), Recorder(), FixedClock(START)).handle(raw)

    assert result["outcome"] == "alerted"
    assert len(_documents(channels)) == 1


def test_given_an_update_of_an_incident_whose_key_was_masked_then_it_names_that_incident() -> None:
    raw = "111122223333|us-east-1|training|churn-sk-2026-11-20-10-00-00-123|idle"
    first = failure_alert(parse_event(read_event("training-failed")), "team")
    original = replace(first, incident=raw)
    update = replace(first, incident=f"{raw}|ended", follows=raw)

    assert update.follows == original.incident
    assert _key(original.incident) == original.incident  # a key, keyed again, is the same


@pytest.mark.parametrize(
    "raw",
    [
        "111122223333|us-east-1|state-machine|nightly+token=abc",  # a masked value at the end
        '111122223333|us-east-1|state-machine|run password="abc',  # a quote left open
        "111122223333|us-east-1|training|" + "token=abc " * 150,  # cut inside a masked value
        "111122223333|us-east-1|training|churn-sk-2026-11-20-10-00-00-123|failed",
    ],
    ids=["bare", "quoted", "cut", "name"],
)
def test_given_a_key_when_keyed_again_then_it_is_the_same(raw: str) -> None:
    key = _key(raw)
    assert _key(key) == key  # an alert copied with `replace` keys its incident again
    assert len(key) <= LINE_LIMIT
    assert "abc" not in key


def test_given_a_masked_endpoint_name_then_its_recovery_follows_the_incident_it_paged() -> None:
    episode = Episode(
        "111122223333", "us-east-1", "churn-sk-2026-11-20-10-00-00-123", "AllTraffic",
        Signal.ERRORS, 1, START, 30.0, 5.0, alerted=True, alone=True, requests=100, batch="b",
    )  # fmt: skip
    paged = unhealthy_alert(episode, 15, Limits(5.0, None), JobSays())
    recovered = recovered_alert(episode, None, START + 3600, JobSays())

    assert recovered.follows == paged.incident
    assert document(recovered, None)["incident"] == document(paged, None)["incident"]


def test_given_a_held_back_failure_delivered_again_then_only_topics_in_its_message_ids() -> None:
    summaries = Recorder()
    alerter = _alerter({c: Recorder() for c in CHANNELS}, MemoryLedger(), summaries,
                       FixedClock(START + 300))  # fmt: skip
    for n in range(3):
        alerter.handle(_failure(n))
    assert alerter.handle(_failure(3))["outcome"] == "suppressed"

    again = alerter.handle(_failure(3, event_id="redelivered"))

    assert again["outcome"] == "duplicate"
    assert "message_ids" not in again  # what storm control noted is not a published message
