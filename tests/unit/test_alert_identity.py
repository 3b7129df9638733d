"""An alert's identity (its incident) survives what makes its text safe to show: two incidents
whose shown keys are alike stay two, and text no encoding takes cannot stop an alert."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.alerting.alerts import LINE_LIMIT, _key, failure_alert
from shared.domain.parser import parse_event
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
