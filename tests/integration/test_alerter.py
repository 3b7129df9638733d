"""The alerter handler against moto: SNS and the DynamoDB idempotency store for real."""

from __future__ import annotations

import pytest

from sagewatch.embedded import EmbeddedAws
from shared.errors import InvalidEvent
from tests.integration.conftest import sample

pytestmark = pytest.mark.integration


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
    from shared.aws import AlertPublisher

    original = AlertPublisher.publish
    monkeypatch.setattr(
        AlertPublisher, "publish", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("SNS 500"))
    )
    with pytest.raises(RuntimeError):
        aws.invoke("alerter", sample("endpoint-failed"))
    monkeypatch.setattr(AlertPublisher, "publish", original)

    assert aws.invoke("alerter", sample("endpoint-failed"))["outcome"] == "alerted"
    assert len(aws.alerts()) == 1
