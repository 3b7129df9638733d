"""The alerter handler against moto: SNS and the DynamoDB idempotency store for real."""

from __future__ import annotations

from typing import Any

import pytest

from sagewatch.embedded import EmbeddedAws
from shared.platform.clock import FixedClock
from shared.platform.errors import InvalidEvent
from tests.integration.conftest import Stacks, sample

pytestmark = pytest.mark.integration


@pytest.fixture
def aws(stacks: Stacks) -> EmbeddedAws:
    """The monitoring stack on a fixed clock: storm-control windows never depend on the run."""
    return stacks.reset(clock=FixedClock(1_795_168_800 + 300))


def test_given_failed_job_delivered_twice_when_alerted_then_one_sns_message(
    aws: EmbeddedAws,
) -> None:
    first = sample("training-failed")
    again = dict(first, id="another-delivery-id", time="2026-11-20T10:00:09Z")

    results = [aws.invoke("alerter", first), aws.invoke("alerter", again)]

    assert [r["outcome"] for r in results] == ["alerted", "duplicate"]
    alerts = aws.alerts()
    assert len(alerts) == 1
    assert alerts[0]["attributes"]["kind"] == "failure"
    assert alerts[0]["attributes"]["account"] == "777788889999"
    assert alerts[0]["json"]["schema"] == "sagewatch.alert/v1"
    assert aws.observed.calls["sns.Publish"] == 3  # once per rendering: email, JSON, chat
    assert alerts[0]["email"]["subject"] == alerts[0]["subject"]
    assert alerts[0]["chat"]["metadata"]["threadId"] == alerts[0]["json"]["thread_id"]


def test_given_tuning_child_failure_when_alerted_then_skipped(aws: EmbeddedAws) -> None:
    assert aws.invoke("alerter", sample("tuning-child-training-failed")) == {"outcome": "skipped"}
    assert aws.alerts() == []


def test_given_unknown_event_when_alerted_then_unrouted_not_an_error(aws: EmbeddedAws) -> None:
    assert aws.invoke("alerter", sample("unknown-detail-type")) == {"outcome": "unrouted"}


def test_given_event_with_list_detail_when_alerted_then_typed_error_and_log_line(
    aws: EmbeddedAws,
) -> None:
    event = dict(sample("training-failed"), detail="not an object")
    with pytest.raises(InvalidEvent, match="detail is a str"):
        aws.invoke("alerter", event)
    assert any(
        log.get("event_id") == event["id"] and "detail is a str" in log.get("reason", "")
        for log in aws.observed.logs
    )


def test_given_sns_publish_fails_when_alerted_then_retry_can_still_alert(
    aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.adapters.sns import AlertPublisher

    original = AlertPublisher.publish
    monkeypatch.setattr(
        AlertPublisher, "publish", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("SNS 500"))
    )
    with pytest.raises(RuntimeError):
        aws.invoke("alerter", sample("endpoint-failed"))
    monkeypatch.setattr(AlertPublisher, "publish", original)

    assert aws.invoke("alerter", sample("endpoint-failed"))["outcome"] == "alerted"
    assert len(aws.alerts()) == 1


def test_given_event_id_not_a_string_when_alerted_then_typed_error_logged_with_a_text_id(
    aws: EmbeddedAws,
) -> None:
    event = dict(sample("training-failed"), id={"nested": ["id"]})

    with pytest.raises(InvalidEvent, match="envelope field 'id'"):
        aws.invoke("alerter", event)
    assert any(
        log.get("message") == "poison event" and log.get("event_id") == "<dict>"
        for log in aws.observed.logs
    )


def test_given_end_time_out_of_range_in_utc_when_alerted_then_alerted_without_an_end_time(
    aws: EmbeddedAws,
) -> None:
    event = sample("training-failed")
    event["detail"]["TrainingEndTime"] = "9999-12-31T23:59:59-01:00"

    assert aws.invoke("alerter", event)["outcome"] == "alerted"
    assert len(aws.alerts()) == 1


def test_given_event_nested_deeper_than_any_event_when_alerted_then_invalid_event(
    aws: EmbeddedAws,
) -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    event = dict(sample("training-failed"), **{"detail-type": deep})

    with pytest.raises(InvalidEvent, match="nests deeper than"):
        aws.invoke("alerter", event)
