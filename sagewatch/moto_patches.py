"""Every patch sagewatch makes to moto's internals, in one place, each with its reason.

Each function below replaces one attribute of one moto class for the whole process, once
(calling it again does nothing); `install()` applies them all, and the embedded AWS calls it
before it starts moto. The originals are kept: `unpatched()` puts them back for a while, so
that tests/integration/test_moto_patches.py can show the pinned moto still needs each patch.
That test fails the day a moto upgrade makes a patch unnecessary; the patch can then go.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.awsrequest import AWSResponse


class BeforeSend(Protocol):
    """Answers a request before moto does (a response), or lets moto answer it (None)."""

    def before_send(self, request: Any, *, event_name: str) -> AWSResponse | None: ...


# Consulted before moto's stubber, the last pushed first (`faults.injecting` pushes here).
BEFORE_MOTO: list[BeforeSend] = []

TargetRoute = Callable[[Any, dict[str, Any], dict[str, Any]], None]  # rule, target, event
# Rule targets (by ARN) that sagewatch delivers to instead of moto (the workload's hop).
TARGET_ROUTES: dict[str, TargetRoute] = {}


@dataclass(frozen=True)
class _Applied:
    owner: Any
    attribute: str
    original: Any  # as found in the class's __dict__ (a staticmethod stays one)
    patched: Any


_APPLIED: dict[str, _Applied] = {}  # patch function name → what it replaced


def _replace(patch: str, owner: Any, attribute: str, make: Callable[[Any], Any]) -> None:
    """Set `owner.attribute` to `make(current value)`, once per process."""
    if patch in _APPLIED:
        return
    original = owner.__dict__[attribute]
    setattr(owner, attribute, make(getattr(owner, attribute)))
    _APPLIED[patch] = _Applied(owner, attribute, original, owner.__dict__[attribute])


def install() -> None:
    """Apply every patch below (idempotent)."""
    index_metric_data()
    deliver_events_whole()
    answer_before_moto()
    route_event_targets()
    search_tags_that_exist()


@contextlib.contextmanager
def unpatched(*patches: Callable[[], None]) -> Iterator[None]:
    """moto as pinned, without the given patches (all by default) that were applied."""
    names = [p.__name__ for p in patches] if patches else list(_APPLIED)
    applied = [_APPLIED[name] for name in names if name in _APPLIED]
    for patch in applied:
        setattr(patch.owner, patch.attribute, patch.original)
    try:
        yield
    finally:
        for patch in applied:
            setattr(patch.owner, patch.attribute, patch.patched)


STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Average": lambda v: sum(v) / len(v),
    "Sum": sum,
    "Minimum": min,
    "Maximum": max,
    "SampleCount": lambda v: float(len(v)),
}


def index_metric_data() -> None:
    """GetMetricData, indexed (CloudWatchBackend.get_metric_data).

    moto 5.2 scans every datapoint in the window for every query and every period: quadratic in
    a fleet day. It also matches metrics loosely: a query without dimensions takes every
    dimension set of the metric, one with dimensions ignores the namespace. CloudWatch
    identifies a metric by namespace, name and exact dimension set.
    sagewatch's enricher asks for hundreds of series over a day of seeded datapoints.
    For plain MetricStat queries (the statistics below; Unit is not filtered, our queries name
    none; statistic sets are not read, we put none): one pass indexes the window's datapoints
    by metric, buckets are periods from StartTime. Anything else is moto's own.
    """
    from moto.cloudwatch.models import CloudWatchBackend

    def make(original: Callable[..., list[dict[str, Any]]]) -> Callable[..., Any]:
        def get_metric_data(
            self: Any, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime,
            scan_by: str = "TimestampAscending",
        ) -> list[dict[str, Any]]:  # fmt: skip
            if any(q.get("MetricStat", {}).get("Stat") not in STATISTICS for q in queries):
                return original(self, queries, start_time, end_time, scan_by)
            start, end = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
            if start >= end:
                return original(self, queries, start_time, end_time, scan_by)  # moto's errors
            index: dict[MetricKey, list[tuple[datetime, float]]] = {}
            for datum in self.get_all_metrics():
                if hasattr(datum, "value") and start <= datum.timestamp < end:
                    dims = tuple(sorted((d.name, d.value) for d in datum.dimensions))
                    key = (datum.namespace, datum.name, dims)
                    index.setdefault(key, []).append((datum.timestamp, float(datum.value)))
            return metric_data(queries, lambda key: index.get(key, []), start, end, scan_by)

        return get_metric_data

    _replace("index_metric_data", CloudWatchBackend, "get_metric_data", make)


MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, name, sorted dimensions


def metric_data(
    queries: Iterable[Mapping[str, Any]],
    points: Callable[[MetricKey], Iterable[tuple[datetime, float]]],
    start: datetime,
    end: datetime,
    scan_by: str,
) -> list[dict[str, Any]]:
    """GetMetricData's results (moto's backend keys) for plain MetricStat queries over the
    datapoints `points` gives per metric: buckets are periods from `start`, ordered by `scan_by`.
    The moto patch above and the in-memory CloudWatch (embedded/memory.py) both answer with it."""
    results = []
    for query in queries:
        stat, metric = query["MetricStat"], query["MetricStat"]["Metric"]
        dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
        period = int(stat["Period"])
        buckets: dict[int, list[float]] = {}
        for at, value in points((metric["Namespace"], metric["MetricName"], dims)):
            if start <= at < end:
                buckets.setdefault(int((at - start).total_seconds()) // period, []).append(value)
        slots = sorted(buckets, reverse=scan_by == "TimestampDescending")
        if query.get("ReturnData", True):
            results.append({
                "id": query["Id"],
                "label": query.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
                "values": [STATISTICS[stat["Stat"]](buckets[slot]) for slot in slots],
                "timestamps": [start + timedelta(seconds=slot * period) for slot in slots],
                "status_code": "Complete",
            })  # fmt: skip
    return results


def deliver_events_whole() -> None:
    """Rule targets without an input transformer get the event whole (EventTemplateParser.parse).

    moto 5.2 renders the event for such a target through a default template that drops the
    envelope's "account" (and builds a JSONPath parser per field and event). EventBridge
    delivers the event itself. sagewatch's archive, queues and reports read the account.
    Templates and input paths that a target does set are still moto's to render.
    """
    from moto.events.utils import EventTemplateParser

    def make(original: Callable[..., dict[str, Any]]) -> Any:
        def parse(
            input_template: Any, input_paths_map: Any, event: dict[str, Any]
        ) -> dict[str, Any]:
            if input_template is None and not input_paths_map:
                return {k: v for k, v in event.items() if k != "ingestion-time"}
            return original(input_template, input_paths_map, event)

        return staticmethod(parse)

    _replace("deliver_events_whole", EventTemplateParser, "parse", make)


def answer_before_moto() -> None:
    """The last of BEFORE_MOTO answers requests ahead of moto's stubber (BotocoreStubber.__call__).

    moto answers every request of every client in the process from one `before-send` handler,
    added to botocore's built-in handlers when moto is imported; botocore takes the first
    answer, so moto's wins over any process-wide handler added later; and moto has no way to
    fail a call. AWS throttles, fails with 5xx and drops connections, and the SDK retries.
    sagewatch's `--faults` must answer in moto's place for every client, the functions' own
    included, so that botocore's retries see the fault as they would see AWS's.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    def make(moto_call: Callable[..., AWSResponse | None]) -> Callable[..., Any]:
        def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
            if BEFORE_MOTO:
                response = BEFORE_MOTO[-1].before_send(request, event_name=event_name)
                if response is not None:
                    return response
            return moto_call(self, event_name, request, **kwargs)

        return call

    _replace("answer_before_moto", BotocoreStubber, "__call__", make)


def route_event_targets() -> None:
    """Rule targets in TARGET_ROUTES are delivered by sagewatch (events Rule.send_to_targets).

    moto 5.2 delivers a rule's cross-account event-bus target itself, as a new PutEvents on the
    other bus: the event gets a new id, the receiving account and the current time, and neither
    the target's role nor the bus policy is checked; a Lambda function target raises
    NotImplementedError. EventBridge hands the other bus the same event (id, account, time) if
    the role may put events there and the bus policy lets the account in, else the event goes
    to the rule's dead-letter queue; and it invokes a function target. sagewatch's embedded
    workload account plays that hop, its inventory collector, and its default bus receiving.
    A rule with no routed target is moto's as before (one with a routed target delivers to its
    routed targets only: the workload's rules have one target each).
    """
    from moto.events.models import Rule

    def make(original: Callable[..., None]) -> Callable[..., None]:
        def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
            hops = [t for t in self.targets if t["Arn"] in TARGET_ROUTES]
            if not hops:
                original(self, event, transform_input)
            elif self.event_pattern.matches_event(event):
                for target in hops:
                    TARGET_ROUTES[target["Arn"]](self, target, dict(event))

        return send_to_targets

    _replace("route_event_targets", Rule, "send_to_targets", make)


def search_tags_that_exist() -> None:
    """SageMaker Search understands the `Exists` operator on a tag (SageMakerModelBackend.search).

    moto 5.2 reads a `Tags.<key>` filter's Value whatever its operator, so `Exists` (which takes
    none) fails with a KeyError. SageMaker returns the resources that carry the tag. The
    inventory collector finds who owns each endpoint and pipeline with it. Filters other than
    `Exists` on a tag are still moto's to apply.
    """
    from moto.sagemaker.models import SageMakerModelBackend

    def make(original: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
        def search(self: Any, resource: Any = None, search_expression: Any = None) -> Any:
            filters = (search_expression or {}).get("Filters") or []
            tags = [
                f for f in filters if f.get("Operator") == "Exists" and f["Name"][:5] == "Tags."
            ]
            if not tags:
                return original(self, resource, search_expression)
            rest = [f for f in filters if f not in tags]
            found = original(self, resource, {**search_expression, "Filters": rest})
            exists = [f["Name"][5:] for f in tags]
            found["Results"] = [
                record
                for record in found["Results"]
                if all(
                    any(tag["Key"] == key for tag in value.get("Tags") or [])
                    for value in record.values()
                    for key in exists
                )
            ]
            return found

        return search

    _replace("search_tags_that_exist", SageMakerModelBackend, "search", make)


__all__ = [
    "BEFORE_MOTO",
    "STATISTICS",
    "TARGET_ROUTES",
    "BeforeSend",
    "TargetRoute",
    "answer_before_moto",
    "deliver_events_whole",
    "index_metric_data",
    "install",
    "metric_data",
    "route_event_targets",
    "search_tags_that_exist",
    "unpatched",
]
