"""In-memory stand-ins for the AWS adapters, for unit and fuzz tests and the benchmark (the
do-once store is the embedded AWS's own, `sagewatch.embedded.memory.MemoryOnce`).

Each fake names the ports (`shared.ports`) it stands in for as its bases, and mypy checks this
module: a fake whose method no longer matches its port is a type error here, and one that misses
a method cannot be instantiated (also a type error, where it is). Time is `shared.clock`'s
`FixedClock`, not a fake: the replay tool runs on it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sagewatch.embedded.memory import FleetItemsInMemory
from sagewatch.embedded.memory import MemoryOnce as MemoryOnce  # the do-once store: one for all
from shared.adapters.dynamodb import BurstLedger
from shared.contracts.storm_window import StormWindow
from shared.domain.health import Minute, Signal
from shared.domain.utilization import Call
from shared.ports import (
    AlertChannel,
    DeadLetters,
    EventSink,
    Fetched,
    FleetStore,
    InvocationSource,
    MetricsSource,
    RefreshRequests,
    StormLedger,
    SummaryScheduler,
)


class NoMetrics(MetricsSource):
    """A CloudWatch with no datapoints (and transform hosts never found)."""

    def __init__(self) -> None:
        self.calls = 0

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        self.calls += len(calls)
        return Fetched({query: [] for call in calls for query in call.queries}, set())

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        return {}


class SteadyMetrics(MetricsSource):
    """A CloudWatch where every host reports `value` for every metric, once at the start of each
    query's window (transform hosts never found)."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls = 0

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        self.calls += len(calls)
        series = {query: [(query.start, self.value)] for call in calls for query in call.queries}
        return Fetched(series, set())

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        return {}


class FailingMetrics(MetricsSource):
    """A CloudWatch that answers every call with the AWS error `code`, as botocore raises it."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.calls = 0

    def _fail(self, operation: str) -> ClientError:
        self.calls += 1
        return ClientError({"Error": {"Code": self.code, "Message": "no"}}, operation)

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        raise self._fail("GetMetricData")

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        raise self._fail("ListMetrics")


class RefusingChannel(AlertChannel):
    """An SNS topic whose every Publish fails with the AWS error `code`."""

    def __init__(self, code: str) -> None:
        self.code = code

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> str:
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "Publish")


class Recorder(EventSink, AlertChannel, DeadLetters, SummaryScheduler, RefreshRequests):
    """Accepts everything and remembers it: PutEvents, SNS, a dead-letter queue, the summary
    queue, refresh requests."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(
        self,
        source: str,
        detail_type: str,
        details: Sequence[Mapping[str, Any]],
        at: datetime | None = None,
    ) -> list[int]:
        self.items += list(details)
        return []

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> str:
        self.items.append({"subject": subject, "message": message, "attributes": attributes})
        return f"message-{len(self.items)}"

    def send(self, body: str, reason: str, event_id: str | None, error_type: str) -> None:
        self.items.append({"body": body, "reason": reason, "event_id": event_id})

    def schedule(self, window: StormWindow) -> None:
        self.items.append(window.message())

    def request(
        self, targets: Sequence[tuple[str, str]], detail: Mapping[str, Any], source: str, kind: str
    ) -> None:
        self.items.append({"targets": list(targets), "detail": dict(detail), "kind": kind})


class MemoryLedger(StormLedger):
    """BurstLedger semantics in a dict: the first `LISTED` incidents with their names, then a
    count; `summarize` marks and reads in one step."""

    LISTED = BurstLedger.LISTED

    def __init__(self) -> None:
        self.windows: dict[str, dict[str, Any]] = {}

    def add(self, bucket: str, incident: str, name: str, expires_at: int) -> tuple[int, bool]:
        window = self.windows.setdefault(
            bucket, {"incidents": set(), "names": set(), "unlisted": 0, "summarized": False}
        )
        if incident in window["incidents"] or len(window["incidents"]) < self.LISTED:
            window["incidents"].add(incident)
            window["names"].add(name)
        else:
            window["unlisted"] += 1
        return self._count(window), window["summarized"]

    def summarize(self, bucket: str) -> tuple[int, list[str]] | None:
        window = self.windows.get(bucket)
        if window is None:
            return None
        window["summarized"] = True
        return self._count(window), sorted(window["names"])

    @staticmethod
    def _count(window: dict[str, Any]) -> int:
        return len(window["incidents"]) + int(window["unlisted"])


class NoInvocations(InvocationSource):
    """Endpoint metrics that show no request at all (every endpoint idle)."""

    def invocations(
        self,
        account: str,
        endpoints: Mapping[str, Sequence[str]],
        start: datetime,
        end: datetime,
    ) -> dict[str, float | None]:
        return dict.fromkeys(endpoints, 0.0)

    def health(
        self,
        account: str,
        variants: Mapping[tuple[str, str], Collection[Signal]],
        start: datetime,
        end: datetime,
        requests: bool = True,
    ) -> dict[tuple[str, str], list[Minute]]:
        return {pair: [] for pair in variants}  # no request: nothing to judge


class MemoryFleetTable(FleetItemsInMemory, FleetStore):
    """FleetTable semantics in a dict: later heartbeats and snapshots win; records read back
    as the DynamoDB adapter returns them."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_heartbeat(
        self, account: str, region: str, at: float, interval: int, labels: Mapping[str, str]
    ) -> None:
        item = self.items.setdefault(f"source|{account}|{region}", {})
        if item.get("last_seen", -math.inf) < at:
            item.update(
                account=account, region=region, last_seen=at, interval_minutes=interval,
                project=labels.get("project", "unknown"),
                environment=labels.get("environment", "unknown"),
            )  # fmt: skip

    def sources(self) -> tuple[list[dict[str, Any]], dict[str, tuple[float, bool]]]:
        fields = ("account", "region", "last_seen", "interval_minutes", "silent_since")
        sources = [
            {name: item.get(name) for name in fields}
            for key, item in self.items.items()
            if key.startswith("source|")
        ]
        expected = {
            key.split("|", 1)[1]: (item["since"], item["alerted"])
            for key, item in self.items.items()
            if key.startswith("expected|")
        }
        return sources, expected

    def expect(self, account: str, since: float) -> None:
        self.items.setdefault(f"expected|{account}", {"since": since, "alerted": False})

    def mark(self, account: str, region: str | None, silent_since: float | None) -> None:
        if region is None:
            key = f"expected|{account}"
            if silent_since is None:
                self.items.pop(key, None)
            else:
                self.items[key] = {"since": silent_since, "alerted": True}
            return
        self.items.setdefault(f"source|{account}|{region}", {})["silent_since"] = silent_since

    def put_inventory(self, record: Mapping[str, Any], expires: int) -> None:
        key = f"inventory|{record['account']}|{record['region']}"
        at = float(record["collected_at"])
        if float(self.items.get(key, {}).get("collected_at", -math.inf)) < at:
            # Numbers come back as text, as from DynamoDB.
            self.items[key] = dict(record) | {
                "id": key,
                "collected_at": str(at),
                "expiration": str(expires),
            }

    def inventory(self, account: str, region: str) -> dict[str, Any] | None:
        item = self.items.get(f"inventory|{account}|{region}")
        return None if item is None else dict(item)

    def inventories(self) -> list[dict[str, Any]]:
        return [dict(item) for key, item in self.items.items() if key.startswith("inventory|")]
