"""SQS: dead letters, and the delayed message that wakes the summarizer."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.adapters.boto import Adapter
from shared.contracts.storm_window import StormWindow
from shared.platform.idempotency import RETRYABLE

if TYPE_CHECKING:
    from shared.ports import DeadLetters


class DeadLetterQueue(Adapter):
    """Where a function parks what it cannot process, with the reason as message attributes
    (`sagewatch redrive --dry-run` shows them)."""

    service = "sqs"
    # What SQS refuses in a message attribute (it accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
    # #x10000-#x10FFFF); a reason may quote the event's own characters. Written as the small set
    # refused, not as the negation of the large one accepted: the same characters, and compiling
    # it takes every cold start under 0.5 ms instead of 11 (docs/decisions.md).
    _UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        super().__init__(sqs)
        self.queue_url = queue_url

    def send(self, body: str, reason: str, event_id: str | None, error_type: str) -> None:
        attributes = {
            "reason": reason[:1000],
            "error_type": error_type,
            "event_id": str(event_id or "")[:256],
        }
        self.api.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": self._UNSENDABLE.sub("?", value)}
                for name, value in attributes.items()
                if value
            },
        )


class SummaryQueue(Adapter):
    """Wakes the summarizer when a burst window has closed (the queue's delay is the window)."""

    service = "sqs"

    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        super().__init__(sqs)
        self.queue_url = queue_url

    def schedule(self, window: StormWindow) -> None:
        self.api.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(window.message()))


def park(
    dead_letters: DeadLetters | None,
    record: Mapping[str, Any],
    reason: str,
    error: Exception,
    event_id: str | None = None,
) -> bool:
    """An SQS record that cannot be processed as it is, parked with its reason; False when
    there is no dead-letter queue or it could not be reached (the queue's redrive policy is then
    the backstop)."""
    if dead_letters is None:
        return False
    try:
        dead_letters.send(str(record.get("body")), reason, event_id, type(error).__name__)
    except RETRYABLE:
        return False
    return True
