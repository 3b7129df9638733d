"""sagewatch.redrive.describe: what a parked message is and why, from the message alone."""

from __future__ import annotations

import json
from typing import Any

from sagewatch.redrive import ENRICHMENT_DLQ, SUMMARY_DLQ, describe

WINDOW = {"bucket": "burst|444455556666|us-east-1|training|1795168800"}


def _message(body: Any, reason: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": json.dumps(body),
    }
    if reason is not None:
        message["MessageAttributes"] = {"reason": {"StringValue": reason, "DataType": "String"}}
    return message


def test_given_a_summary_the_summarizer_parked_when_described_then_its_reason_is_shown() -> None:
    parked = describe(SUMMARY_DLQ, _message(WINDOW, "invalid summary: window_start missing"), 5)

    assert parked.reason == "invalid summary: window_start missing"
    assert (parked.event_id, parked.destination) == (WINDOW["bucket"], "summary")


def test_given_a_summary_sqs_moved_when_described_then_repeated_attempts_are_the_reason() -> None:
    moved = describe(SUMMARY_DLQ, _message(WINDOW), 5)

    assert moved.reason == "summary not sent after repeated attempts"


def test_given_a_job_sqs_moved_when_described_then_the_receive_count_explains_it() -> None:
    moved = describe(ENRICHMENT_DLQ, _message({"id": "e-1"}), 7)

    assert moved.event_id == "e-1"
    assert "after 7 deliveries" in moved.reason
