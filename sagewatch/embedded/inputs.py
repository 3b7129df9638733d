"""What a replay feeds the embedded AWS: events read from files, host metrics from the `--metrics`
document (docs/metrics-format.md), and the clock the events imply."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.domain.parser import parse_time
from shared.platform.clock import Clock, FixedClock, system_clock

# How long after the last event the functions run: past the enricher's wait for late datapoints.
SETTLE_SECONDS = 600


def load_events(paths: Iterable[Path]) -> list[Any]:
    """Events from files and folders (sorted, `*.json`); a file may hold one event or a list.
    A file without any event (`{}`, `[]`, an SQS batch) is an error naming it: replaying it
    would look like a quiet success."""
    events: list[Any] = []
    empty: list[str] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if not files:
            raise ValueError(f"{path}: no *.json files")
        for file in files:
            try:
                document = json.loads(file.read_text())
            except RecursionError:  # json's C parser recurses per nesting level
                raise ValueError(f"{file}: JSON nested too deeply") from None
            except (OSError, ValueError) as error:
                raise ValueError(f"{file}: {error}") from None
            items = document if isinstance(document, list) else [document]
            if not any(_is_event(item) for item in items):
                empty.append(str(file))
            events += items
    if empty:
        raise ValueError(
            f"no events in {', '.join(empty)} "
            '(an event is a JSON object with "source" and "detail-type")'
        )
    return events


def _is_event(item: Any) -> bool:
    return isinstance(item, dict) and "source" in item and "detail-type" in item


@dataclass(frozen=True)
class HostSeries:
    """One series of the `--metrics` document, its datapoints spelled out."""

    namespace: str
    metric: str
    dimensions: dict[str, Any]
    points: list[tuple[datetime, float]]


def host_series(document: Mapping[str, Any]) -> list[HostSeries]:
    """The series of the documented `--metrics` format, every one checked before any is used."""
    found = []
    for series in document.get("series", []):
        start, end = parse_time(series["start"]), parse_time(series["end"])
        if start is None or end is None:
            raise ValueError(f"series {series.get('dimensions')} needs ISO start and end")
        step = timedelta(seconds=int(series.get("every_seconds", 60)))
        values = series["value"] if isinstance(series["value"], list) else [series["value"]]
        points = []
        at, i = start, 0
        while at < end:
            points.append((at, float(values[i % len(values)])))
            at, i = at + step, i + 1
        found.append(
            HostSeries(series["namespace"], series["metric"], series["dimensions"], points)
        )
    return found


def host_datapoints(document: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Datapoints from the documented `--metrics` format, per namespace, as PutMetricData's
    MetricData (in the order they are put)."""
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for series in host_series(document):
        dimensions = [{"Name": k, "Value": v} for k, v in series.dimensions.items()]
        for at, value in series.points:
            by_namespace.setdefault(series.namespace, []).append(
                {
                    "MetricName": series.metric,
                    "Dimensions": dimensions,
                    "Timestamp": at,
                    "Value": value,
                    "Unit": "Percent",
                }
            )
    return by_namespace


def seed_host_metrics(cloudwatch: Any, document: Mapping[str, Any]) -> int:
    """Datapoints from the documented `--metrics` format, put into CloudWatch; how many."""
    count = 0
    for namespace, data in host_datapoints(document).items():
        for offset in range(0, len(data), 500):
            chunk = data[offset : offset + 500]
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk)
            count += len(chunk)
    return count


def replay_clock(events: Iterable[Any]) -> Clock:
    """The functions run just after the latest event, as they would have then, so a replay
    gives the same result on any day: CloudWatch's retention tiers, storm windows and heartbeat
    ages all read the clock. Events without a time run on the wall clock."""
    times = (parse_time(e.get("time")) for e in events if isinstance(e, dict))
    latest = max((t for t in times if t is not None), default=None)
    return FixedClock(latest.timestamp() + SETTLE_SECONDS) if latest else system_clock
