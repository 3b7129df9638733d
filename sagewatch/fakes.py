"""In-memory stand-ins for the AWS adapters, for fuzz tests and the benchmark."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from shared.aws import Fetched
from shared.utilization import Call


class MemoryStore(BasePersistenceLayer):
    """Powertools idempotency records in a dict, with the DynamoDB layer's put condition."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        if existing is not None and not existing.is_expired:
            in_progress_expired = (
                existing.status == "INPROGRESS"
                and existing.in_progress_expiry_timestamp is not None
                and existing.in_progress_expiry_timestamp < int(time.time() * 1000)
            )
            if not in_progress_expired:
                raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


class NoMetrics:
    """A CloudWatch with no datapoints (and transform hosts never found)."""

    def __init__(self) -> None:
        self.calls = 0

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        self.calls += len(calls)
        return Fetched({query: [] for call in calls for query in call.queries}, set())

    def hosts(self, account: str, namespace: str, prefixes: Any) -> dict[str, list[str]]:
        return {}


class Recorder:
    """Accepts everything and remembers it: PutEvents, SNS, a dead-letter queue, SQS."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(self, source: str, detail_type: str, details: Sequence[Mapping[str, Any]]) -> list[int]:
        self.items += list(details)
        return []

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> str:
        self.items.append({"subject": subject, "message": message, "attributes": attributes})
        return f"message-{len(self.items)}"

    def send(self, body: str, reason: str, event_id: str | None, error_type: str) -> None:
        self.items.append({"body": body, "reason": reason, "event_id": event_id})

    def schedule(self, burst: Mapping[str, Any]) -> None:
        self.items.append(dict(burst))


class MemoryLedger:
    """BurstLedger semantics (string sets) in a dict."""

    def __init__(self) -> None:
        self.windows: dict[str, dict[str, Any]] = {}

    def add(self, bucket: str, incident: str, name: str, expires_at: int) -> tuple[int, bool]:
        window = self.windows.setdefault(
            bucket, {"incidents": set(), "names": set(), "summarized": False}
        )
        window["incidents"].add(incident)
        window["names"].add(name)
        return len(window["incidents"]), window["summarized"]

    def get(self, bucket: str) -> tuple[list[str], bool] | None:
        window = self.windows.get(bucket)
        return None if window is None else (sorted(window["names"]), window["summarized"])

    def mark_summarized(self, bucket: str) -> None:
        self.windows[bucket]["summarized"] = True
