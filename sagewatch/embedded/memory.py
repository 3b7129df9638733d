"""The monitoring account in memory: `sagewatch replay` at the speed of the functions.

On moto (stack.py) every request crosses botocore's client pipeline and moto's models: about 50
events a second on a fleet day, nine tenths of the time not ours. Here the functions run as they
do there, with moto off the hot path:

* the handlers (`handlers.*`) run in-process, each serving a service built once here
  (`build_services`), invoked by the same `LambdaPoller` as on moto: SQS batches with partial
  batch responses and the queues' redrive policies, Lambda's async retries and on-failure
  destination, the summary queue drained when all else is idle;
* the bus holds template.yaml's rules, matched with moto's own `EventPattern` (a pure
  function), and delivers to the archive and the queues what moto's targets deliver (the same
  envelope, the same rendering of its time);
* SNS, EventBridge, SQS and CloudWatch: the real adapters (`shared.adapters`) over in-memory
  clients that answer as moto does (GetMetricData from an index built once, not on each call);
  DynamoDB (do-once records, storm ledger, fleet table): in-memory stores with those tables'
  conditions. Each request the real adapters would send is counted (`calls`).

moto stays for `--faults` (injected in botocore's requests, where moto answers) and for the
tests that hold this stack to the moto one (tests/integration/test_replay_engines.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from sagewatch import template as cfn
from sagewatch.embedded.inputs import HostSeries, host_series
from sagewatch.embedded.observe import (
    Observations,
    assemble_alerts,
    dead_letter_summaries,
    is_report,
    summarize,
)
from sagewatch.embedded.provision import (
    ACCOUNT,
    ARCHIVE_TARGET,
    ASYNC_FUNCTIONS,
    CHANNELS,
    FUNCTIONS,
    MOTO_ENVIRONMENT,
    REDRIVEN,
    REDRIVEN_QUEUES,
    REGION,
    TARGET_QUEUES,
    event_bus_arn,
    function_environments,
    invocations_queue,
    limits,
    queue_url,
    topic_arn,
)
from sagewatch.embedded.runtime import (
    LambdaPoller,
    Queues,
    forwarded,
    handler_module,
    invoke_in_process,
    reset_function_caches,
)
from sagewatch.faults import FaultInjector
from sagewatch.moto_patches import metric_data
from sagewatch.redrive import DEAD_LETTER_QUEUES, DeadLetter, describe
from shared.contracts.labels import Labels, teams_from_record
from shared.domain.health import Breach
from shared.platform.clock import Clock, system_clock
from shared.ports import FleetStore, IdleAlerted, IdlePlan, OnceStore, Progress, StormLedger

SQS_MAX_MESSAGE = 1_048_576  # characters of a message's body (moto's limit, and SQS's 1 MiB)
SNS_MAX_MESSAGE = 262_144  # characters (moto's limit, and SNS's 256 KB)
LIST_METRICS_PAGE = 500  # ListMetrics answers 500 metrics a page
SCAN_PAGE_BYTES = 1_000_000  # a Scan page holds at most 1 MB (moto: its item sizes)


def _error(code: str, message: str, operation: str) -> ClientError:
    """An AWS error as botocore raises it."""
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def _iso_seconds(timestamp: float) -> str:
    """How moto's rule targets render an event's time: ISO-8601, whole seconds, UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- SQS ----------------------------------------------------------------------------------------
# (The in-memory clients' methods are boto3's, with botocore's parameter names: the adapters call
# them as they call a client.)


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, dict[str, str]]  # message attributes (a parked letter's reason)
    sent_ms: int
    receives: int = 0


class MemoryQueue:
    """A standard queue as moto keeps one: messages in the order sent; a received message is in
    flight until deleted or released; a message received `max_receives` times goes to the
    dead-letter queue at the next receive that reaches it (the redrive policy)."""

    def __init__(
        self, name: str, dead_letter: MemoryQueue | None = None, max_receives: int = 0
    ) -> None:
        self.name = name
        self.dead_letter = dead_letter
        self.max_receives = max_receives
        self.messages: dict[str, _Message] = {}
        self.in_flight: set[str] = set()

    def send(self, body: str, attributes: dict[str, dict[str, str]], now: float) -> str:
        if len(body) > SQS_MAX_MESSAGE:
            raise ValueError(  # moto's words; on AWS the rule target's delivery would fail
                "One or more parameters are invalid. Reason: Message must be shorter than "
                f"{SQS_MAX_MESSAGE} bytes."
            )
        message = _Message(str(uuid.uuid4()), body, attributes, int(now * 1000))
        self.messages[message.message_id] = message
        return message.message_id

    def receive(self, limit: int) -> list[_Message]:
        taken: list[_Message] = []
        spent: list[_Message] = []
        for message in self.messages.values():
            if len(taken) >= limit:
                break
            if message.message_id in self.in_flight:
                continue
            if self.dead_letter is not None and message.receives >= self.max_receives:
                spent.append(message)
                continue
            message.receives += 1
            taken.append(message)
        for message in spent:
            del self.messages[message.message_id]
            assert self.dead_letter is not None
            self.dead_letter.messages[message.message_id] = message
        self.in_flight.update(message.message_id for message in taken)
        return taken

    def delete(self, message_id: str) -> None:
        self.messages.pop(message_id, None)
        self.in_flight.discard(message_id)

    def release(self, message_id: str) -> None:
        self.in_flight.discard(message_id)


class MemoryQueues(Queues):
    """The stack's queues for Lambda's poller, answering as moto's ReceiveMessage does."""

    def __init__(self, queues: Mapping[str, MemoryQueue], clock: Clock) -> None:
        self.queues = queues
        self.clock = clock

    def receive(self, queue: str, limit: int) -> list[dict[str, Any]]:
        return [
            {
                "MessageId": m.message_id,
                "ReceiptHandle": m.message_id,
                "MD5OfBody": hashlib.md5(m.body.encode(), usedforsecurity=False).hexdigest(),
                "Body": m.body,
                "Attributes": {
                    "SentTimestamp": str(m.sent_ms),
                    "ApproximateReceiveCount": str(m.receives),
                },
            }
            for m in self.queues[queue].receive(limit)
        ]

    def delete(self, queue: str, message: Mapping[str, Any]) -> None:
        self.queues[queue].delete(message["ReceiptHandle"])

    def release(self, queue: str, message: Mapping[str, Any]) -> None:
        self.queues[queue].release(message["ReceiptHandle"])

    def send(self, queue: str, body: str) -> None:
        self.queues[queue].send(body, {}, self.clock())


class MemorySqs:
    """The SQS client the functions' adapters get (DeadLetterQueue, SummaryQueue)."""

    def __init__(
        self, queues: Mapping[str, MemoryQueue], calls: Counter[str], clock: Clock
    ) -> None:
        self.by_url = {queue_url(name): queue for name, queue in queues.items()}
        self.calls = calls
        self.clock = clock

    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        MessageAttributes: Mapping[str, dict[str, str]] | None = None,
    ) -> dict[str, str]:
        self.calls["sqs.SendMessage"] += 1
        queue = self.by_url.get(QueueUrl)
        if queue is None:
            raise _error("AWS.SimpleQueueService.NonExistentQueue", QueueUrl, "SendMessage")
        try:
            message_id = queue.send(MessageBody, dict(MessageAttributes or {}), self.clock())
        except ValueError as error:
            raise _error("InvalidParameterValue", str(error), "SendMessage") from None
        return {"MessageId": message_id}


# ---- SNS ----------------------------------------------------------------------------------------


class MemorySns:
    """The SNS client of the alert publishers. Each topic's subscriber gets what an SQS
    subscriber of it would (the notification's Subject, Message and MessageAttributes)."""

    def __init__(self, topics: Mapping[str, str], calls: Counter[str]) -> None:
        self.channels = {arn: channel for channel, arn in topics.items()}
        self.received: dict[str, list[dict[str, Any]]] = {channel: [] for channel in topics}
        self.calls = calls

    def publish(
        self,
        TopicArn: str,
        Message: str,
        Subject: str | None = None,
        MessageAttributes: Mapping[str, Mapping[str, str]] | None = None,
    ) -> dict[str, str]:
        self.calls["sns.Publish"] += 1
        channel = self.channels.get(TopicArn)
        if channel is None:
            raise _error("NotFound", "Topic does not exist", "Publish")
        if Subject is not None and len(Subject) > 100:
            raise _error("InvalidParameter", "Subject must be less than 100 characters", "Publish")
        if len(Message) > SNS_MAX_MESSAGE:
            raise _error("InvalidParameterValue", "Message too long", "Publish")
        attributes = {
            name: {"Type": value["DataType"], "Value": value["StringValue"]}
            for name, value in (MessageAttributes or {}).items()
        }
        notification = {"Subject": Subject, "Message": Message, "MessageAttributes": attributes}
        self.received[channel].append(notification)
        return {"MessageId": str(uuid.uuid4())}


# ---- EventBridge --------------------------------------------------------------------------------


class ResourceNotFoundException(ClientError):
    """EventBridge's modeled error, as `client.exceptions` names it."""


_SCALARS = (str, int, float, bool, type(None))
_MISSING = ("missing",)
MEMO_LIMIT = 50_000  # answers kept per rule (most events share a few: source, type, status)


@dataclass(frozen=True)
class _Field:
    """A field a pattern reads, as a path; and at each depth of it, the keys with dots that moto
    would read as (part of) it (it flattens the event into dotted keys: "detail.x")."""

    path: tuple[str, ...]
    dotted: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, path: tuple[str, ...]) -> _Field:
        dotted = tuple(
            frozenset(".".join(path[i:j]) for j in range(i + 2, len(path) + 1))
            for i in range(len(path))
        )
        return cls(path, dotted)


@dataclass
class _Rule:
    """A rule as moto matches it (its `EventPattern`), answering faster: moto's answer depends
    only on the event's values at the pattern's fields, so it is kept per those values."""

    name: str
    matcher: Any  # moto.events.models.EventPattern
    plain: dict[str, frozenset[str]]  # "source"/"detail-type" when the pattern lists strings
    fields: tuple[_Field, ...] | None  # what the pattern reads (None: always ask moto)
    targets: dict[str, str] = field(default_factory=dict)  # id → ARN (or a template target)
    memo: dict[tuple[Any, ...], bool] = field(default_factory=dict)

    def matches(self, event: Mapping[str, Any]) -> bool:
        for name, wanted in self.plain.items():  # a string outside the list: moto says no
            value = event.get(name)
            if isinstance(value, str) and value not in wanted:
                return False
        values = None if self.fields is None else _values_at(event, self.fields)
        if values is None:  # values moto reads its own way (lists of objects, dotted keys...)
            return bool(self.matcher.matches_event(event))
        found = self.memo.get(values)
        if found is None:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            found = bool(self.matcher.matches_event(event))
            self.memo[values] = found
        return found


def _rule(name: str, pattern: Mapping[str, Any]) -> _Rule:
    from moto.events.models import EventPattern

    plain = {
        key: frozenset(values)
        for key in ("source", "detail-type")
        if isinstance(values := pattern.get(key), list)
        and values
        and all(isinstance(v, str) for v in values)
    }
    paths = sorted(_fields(pattern))
    # A name JSON could also spell from a number, true, false or null (moto reads the event
    # after a JSON round trip): this rule's answers are not kept.
    spelled = any(n in ("true", "false", "null") or _is_number(n) for p in paths for n in p)
    fields = None if spelled else tuple(_Field.of(path) for path in paths)
    return _Rule(name, EventPattern.load(json.dumps(pattern)), plain, fields)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fields(pattern: Mapping[str, Any], path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for key, value in pattern.items():
        if key == "$or":
            for alternative in value:
                found |= _fields(alternative, path)
        elif isinstance(value, dict):
            found |= _fields(value, (*path, key))
        else:
            found.add((*path, key))
    return found


def _values_at(event: Mapping[str, Any], fields: Iterable[_Field]) -> tuple[Any, ...] | None:
    """The event's values at `fields`, typed (moto's matcher compares 1 and True alike, not this);
    None where moto would read the event otherwise than by walking its objects: a key with a
    dot that it would read as the field, an object or a list of them as the value."""
    values: list[Any] = []
    for each in fields:
        node: Any = event
        for name, dotted in zip(each.path, each.dotted, strict=True):
            if not isinstance(node, dict) or (dotted and not node.keys().isdisjoint(dotted)):
                return None
            if name not in node:
                node = _MISSING
                break
            node = node[name]
        if node is _MISSING:
            values.append(node)
        elif isinstance(node, _SCALARS):
            values.append((type(node), node))
        elif isinstance(node, list) and all(isinstance(item, _SCALARS) for item in node):
            values.append((list, tuple((type(item), item) for item in node)))
        else:
            return None
    return tuple(values)


class MemoryBus:
    """The sagewatch bus: template.yaml's rules, then any the functions put (refresh requests).
    A match delivers the event, rendered once as moto's targets render it, to the archive or
    a queue; targets on other accounts' buses (the workload accounts) are not played here."""

    def __init__(self, name: str, queues: Mapping[str, MemoryQueue], clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self.queues = queues
        # The archive log group's events, in delivery order, as delivered (rendered as JSON
        # when read: most are never read again).
        self.archive: list[dict[str, Any]] = []
        self.rules: dict[str, _Rule] = {}
        for rule in cfn.bus_rules(ACCOUNT):
            self.rules[rule.logical_id] = _rule(rule.logical_id, rule.pattern)
            self.rules[rule.logical_id].targets = {t: t for t in rule.targets}

    def put(self, event: dict[str, Any], whole: bool) -> None:
        """`whole`: as forwarded from a workload account (moto's targets get the envelope as
        it is); else as PutEvents made it (its "ingestion-time" left out)."""
        targets = [t for rule in self.rules.values() if rule.matches(event) for t in rule.targets]
        if not targets:
            return
        delivered = (
            dict(event) if whole else {k: v for k, v in event.items() if k != "ingestion-time"}
        )
        if "time" in delivered:
            delivered["time"] = _iso_seconds(float(delivered["time"]))
        body = ""
        for target in targets:
            if target == ARCHIVE_TARGET:
                self.archive.append(delivered)
            elif target in TARGET_QUEUES:
                body = body or json.dumps(delivered)
                self.queues[TARGET_QUEUES[target]].send(body, {}, self.clock())

    def archived(self, wanted: Callable[[Mapping[str, Any]], bool] = lambda _: True) -> list[Any]:
        """The archive's events (those `wanted`), as read back from the log group's JSON."""
        return [json.loads(json.dumps(event)) for event in self.archive if wanted(event)]


class MemoryEvents:
    """The EventBridge client of the enricher's publisher and the fleet's refresh requests."""

    exceptions = SimpleNamespace(ResourceNotFoundException=ResourceNotFoundException)

    def __init__(self, bus: MemoryBus, calls: Counter[str], clock: Clock) -> None:
        self.bus = bus
        self.calls = calls
        self.clock = clock

    def _bus(self, name: str | None, operation: str) -> MemoryBus:
        if name in (None, "default"):  # this account's default bus: no rules here
            raise _error(
                "ResourceNotFoundException", "Event bus default does not exist.", operation
            )
        if name not in (self.bus.name, event_bus_arn(self.bus.name)):
            raise _error(
                "ResourceNotFoundException", f"Event bus {name} does not exist.", operation
            )
        return self.bus

    def put_events(self, Entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        self.calls["events.PutEvents"] += 1
        if len(Entries) > 10:
            raise _error("ValidationException", "Member must have length <= 10", "PutEvents")
        answers: list[dict[str, str]] = []
        for entry in Entries:
            problem = _entry_problem(entry)
            if problem:
                answers.append({"ErrorCode": problem[0], "ErrorMessage": problem[1]})
                continue
            bus = self._bus(entry.get("EventBusName"), "PutEvents")
            event_id = str(uuid.uuid4())
            answers.append({"EventId": event_id})
            at = entry.get("Time")
            if isinstance(at, datetime) and at.tzinfo is None:  # botocore reads naive as UTC
                at = at.replace(tzinfo=UTC)
            now = self.clock()
            event = {
                "version": "0",
                "id": event_id,
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": ACCOUNT,
                # The bus's own time when none is given: this stack's clock (moto: the wall's).
                "time": at.timestamp() if isinstance(at, datetime) else now,
                "region": REGION,
                "resources": list(entry.get("Resources", [])),
                "detail": json.loads(entry["Detail"]),
                "ingestion-time": now,
            }
            try:
                bus.put(event, whole=False)
            except ValueError as error:  # a target refused it (moto answers with the error)
                raise _error("InvalidParameterValue", str(error), "PutEvents") from None
        failed = sum(1 for answer in answers if "ErrorCode" in answer)
        return {"FailedEntryCount": failed, "Entries": answers}

    def put_rule(self, Name: str, EventBusName: str, EventPattern: str) -> dict[str, str]:
        self.calls["events.PutRule"] += 1
        bus = self._bus(EventBusName, "PutRule")
        targets = bus.rules[Name].targets if Name in bus.rules else {}
        bus.rules[Name] = _rule(Name, json.loads(EventPattern))
        bus.rules[Name].targets = targets
        return {"RuleArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus.name}/{Name}"}

    def _rule(self, name: str, bus_name: str, operation: str) -> _Rule:
        rule = self._bus(bus_name, operation).rules.get(name)
        if rule is None:
            raise ResourceNotFoundException(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"Rule {name}"}},
                operation,
            )
        return rule

    def list_targets_by_rule(self, Rule: str, EventBusName: str) -> dict[str, Any]:
        self.calls["events.ListTargetsByRule"] += 1
        rule = self._rule(Rule, EventBusName, "ListTargetsByRule")
        return {"Targets": [{"Id": i, "Arn": arn} for i, arn in rule.targets.items()]}

    def put_targets(
        self,
        Rule: str,
        EventBusName: str,
        Targets: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        self.calls["events.PutTargets"] += 1
        rule = self._rule(Rule, EventBusName, "PutTargets")
        rule.targets |= {target["Id"]: target["Arn"] for target in Targets}
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def remove_targets(self, Rule: str, EventBusName: str, Ids: Sequence[str]) -> dict[str, Any]:
        self.calls["events.RemoveTargets"] += 1
        rule = self._rule(Rule, EventBusName, "RemoveTargets")
        for target_id in Ids:
            rule.targets.pop(target_id, None)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def delete_rule(self, Name: str, EventBusName: str) -> None:
        self.calls["events.DeleteRule"] += 1
        self._bus(EventBusName, "DeleteRule").rules.pop(Name, None)


def _entry_problem(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why PutEvents refuses an entry (moto's checks), if it does."""
    for name in ("Source", "DetailType", "Detail"):
        if not entry.get(name):
            return "InvalidArgument", f"Parameter {name} is not valid."
    try:
        json.loads(entry["Detail"])
    except ValueError:
        return "MalformedDetail", "Detail is malformed."
    return None


# ---- CloudWatch ---------------------------------------------------------------------------------

Dimensions = tuple[tuple[str, str], ...]


# moto's backend keys as the API spells them
_API_KEYS = {"id": "Id", "label": "Label", "values": "Values", "timestamps": "Timestamps",
             "status_code": "StatusCode"}  # fmt: skip


class MemoryCloudWatch:
    """The CloudWatch client of the metrics reader and the endpoint activity: the seeded
    datapoints, indexed once by metric (namespace, name, exact dimensions). GetMetricData is
    moto's as sagewatch patches it (moto_patches.index_metric_data); like moto, it reads every
    account's metrics as this one's (`AccountId` and `OwningAccount` are not filtered)."""

    def __init__(self, calls: Counter[str]) -> None:
        self.calls = calls
        self.points: dict[tuple[str, str, Dimensions], list[tuple[datetime, float]]] = {}
        # (namespace, name) → its dimension sets, in the order first put (ListMetrics' order)
        self.metrics: dict[tuple[str, str], dict[Dimensions, None]] = {}

    def seed(self, document: Mapping[str, Any]) -> int:
        """The datapoints PutMetricData would put, in the same order (no NaN, as moto says)."""
        by_namespace: dict[str, list[HostSeries]] = {}
        for series in host_series(document):  # put namespace by namespace, as on moto
            by_namespace.setdefault(series.namespace, []).append(series)
        count = 0
        for namespace, group in by_namespace.items():
            for series in group:
                if any(math.isnan(value) for _, value in series.points):
                    raise ValueError(f"The value NaN for {series.metric} is invalid.")
                dims = tuple(sorted(series.dimensions.items()))
                self.points.setdefault((namespace, series.metric, dims), []).extend(series.points)
                if series.points:
                    self.metrics.setdefault((namespace, series.metric), {})[dims] = None
                count += len(series.points)
        return count

    def get_metric_data(
        self,
        MetricDataQueries: Sequence[Mapping[str, Any]],
        StartTime: datetime,
        EndTime: datetime,
        ScanBy: str = "TimestampDescending",
    ) -> dict[str, Any]:
        self.calls["cloudwatch.GetMetricData"] += 1
        start, end = StartTime.replace(microsecond=0), EndTime.replace(microsecond=0)
        if start >= end:
            raise _error("ValidationError", "EndTime must be after StartTime.", "GetMetricData")
        found = metric_data(
            MetricDataQueries, lambda key: self.points.get(key, []), start, end, ScanBy
        )
        return {"MetricDataResults": [{_API_KEYS[k]: v for k, v in r.items()} for r in found]}

    def get_paginator(self, operation: str) -> Any:
        if operation != "list_metrics":  # the only paginated call sagewatch makes to CloudWatch
            raise NotImplementedError(f"in-memory CloudWatch pages list_metrics only: {operation}")
        return SimpleNamespace(paginate=self._list_metrics)

    def _list_metrics(
        self,
        Namespace: str,
        MetricName: str,
        Dimensions: Sequence[Mapping[str, str]] = (),
        **_: Any,  # IncludeLinkedAccounts, OwningAccount: one account here, as on moto
    ) -> Iterator[dict[str, Any]]:
        """ListMetrics' pages: each metric once (an exact dimension set), 500 a page."""
        metrics = [
            {
                "Namespace": Namespace,
                "MetricName": MetricName,
                "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
            }
            for dims in self.metrics.get((Namespace, MetricName), {})
            if all(
                any(n == d["Name"] and d.get("Value") in (None, v) for n, v in dims)
                for d in Dimensions
            )
        ]
        for offset in range(0, max(len(metrics), 1), LIST_METRICS_PAGE):
            self.calls["cloudwatch.ListMetrics"] += 1
            yield {"Metrics": metrics[offset : offset + LIST_METRICS_PAGE]}


# ---- DynamoDB: the tables' items as their adapters read them ------------------------------------


class MemoryOnce(OnceStore):
    """`OnceTable` in memory, its items as the table keeps them: a claim is one conditional
    UpdateItem (one more when it finds an expired record, whose progress it clears), a settle
    one UpdateItem. The unit tests' and the bench's store too (tests/fakes.py, bench/adapters.py);
    tests/integration/test_once.py holds it to `OnceTable` on moto case by case."""

    def __init__(self, calls: Counter[str] | None = None) -> None:
        self.calls = Counter[str]() if calls is None else calls
        self.items: dict[str, dict[str, Any]] = {}

    def claim(self, key: str, now: float, lease_until: float, expires_at: int) -> Progress | None:
        self.calls["dynamodb.UpdateItem"] += 1
        old = self.items.get(key)
        claimable = (
            old is None or old["expiration"] < now or (not old["done"] and old["lease_until"] < now)
        )
        if not claimable:
            assert old is not None
            return _progress(old) if old["done"] else None
        fresh = old is None or old["expiration"] < now
        self.items[key] = (old or {}) | {
            "lease_until": lease_until,
            "expiration": expires_at,
            "done": False,
        }
        if fresh:
            if old is not None:  # an expired record's progress belongs to an earlier incident
                self.settle(key, Progress())
            return Progress()
        assert old is not None
        return _progress(old)

    def settle(self, key: str, progress: Progress) -> None:
        self.calls["dynamodb.UpdateItem"] += 1
        item = self.items.setdefault(key, {"expiration": 0})
        item |= {"done": progress.done, "sent": dict(progress.sent), "lease_until": 0}
        if progress.outcome:
            item["outcome"] = progress.outcome
        else:
            item.pop("outcome", None)


def _progress(item: Mapping[str, Any]) -> Progress:
    return Progress(item.get("done", False), item.get("outcome"), dict(item.get("sent", {})))


class MemoryLedger(StormLedger):
    """`BurstLedger` in memory: one UpdateItem per incident (a second when the window's list is
    full: the first fails its condition), one per summary."""

    def __init__(self, calls: Counter[str], listed: int) -> None:
        self.calls = calls
        self.listed = listed
        self.windows: dict[str, dict[str, Any]] = {}

    def add(self, bucket: str, incident: str, name: str, expires_at: int) -> tuple[int, bool]:
        self.calls["dynamodb.UpdateItem"] += 1
        window = self.windows.setdefault(
            bucket, {"incidents": set(), "names": set(), "unlisted": 0, "summarized": False}
        )
        if incident in window["incidents"] or len(window["incidents"]) < self.listed:
            window["incidents"].add(incident)
            window["names"].add(name)
        else:
            self.calls["dynamodb.UpdateItem"] += 1
            window["unlisted"] += 1
        return len(window["incidents"]) + window["unlisted"], window["summarized"]

    def summarize(self, bucket: str) -> tuple[int, list[str]] | None:
        self.calls["dynamodb.UpdateItem"] += 1
        window = self.windows.get(bucket)
        if window is None:
            return None
        window["summarized"] = True
        return len(window["incidents"]) + window["unlisted"], sorted(window["names"])


class FleetItemsInMemory:
    """`FleetTable`'s running jobs and account labels over a dict of items (values as DynamoDB
    gives them back: numbers as text). For the in-memory stack and the tests' fake alike:
    `_count` notes a request, `_items` reads the whole table (a Scan)."""

    items: dict[str, dict[str, Any]]

    def _count(self, api: str) -> None: ...

    def _items(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self.items.items())

    def labels(self, account: str, region: str) -> Labels | None:
        self._count("dynamodb.GetItem")
        item = self.items.get(f"source|{account}|{region}")
        if item is None:
            return None
        return Labels.from_record(item)

    def name_account(self, account: str, region: str, at: float, alias: str) -> None:
        self._count("dynamodb.UpdateItem")
        item = self.items.get(f"source|{account}|{region}")
        if item is None or "last_seen" not in item:  # beside a heartbeat record only
            return
        if "named_at" in item and not float(item["named_at"]) < at:
            return  # a later snapshot named it already
        item["named_at"], item["account_name"] = str(at), alias

    def teams(self, account: str, region: str) -> Mapping[str, str]:
        self._count("dynamodb.GetItem")
        item = self.items.get(f"inventory|{account}|{region}") or {}
        return teams_from_record(item.get("teams"))

    def idle_alerted(self, account: str, region: str, day: str) -> IdleAlerted:
        self._count("dynamodb.GetItem")
        item = self.items.get(f"idle|{account}|{region}|{day}", {})
        return IdleAlerted(
            frozenset(item.get("alerted", ())),
            frozenset(item.get("alone", ())),
            {plan: frozenset(names) for plan, names in item.get("pending", {}).items()},
            int(item.get("version", "0")),
            float(item.get("grouped_at", "0")),
        )

    def plan_idle_alerts(
        self, account: str, region: str, day: str, plan: IdlePlan, version: int, expires: int
    ) -> bool:
        self._count("dynamodb.UpdateItem")
        key = f"idle|{account}|{region}|{day}"
        if int(self.items.get(key, {}).get("version", "0")) != version:
            return False  # another run decided meanwhile
        item = self.items.setdefault(key, {"id": key, "expiration": str(expires), "pending": {}})
        for listed in ("alerted", "alone") if plan.alone else ("alerted",):
            item[listed] = set(item.get(listed, ())) | plan.names
        item["pending"][plan.id] = set(plan.names)
        item["version"] = str(version + 1)
        if not plan.alone:
            item["grouped_at"] = str(plan.decided_at)
        return True

    def idle_alerts_sent(self, account: str, region: str, day: str, plan_id: str) -> None:
        self._count("dynamodb.UpdateItem")
        item = self.items.get(f"idle|{account}|{region}|{day}")
        if item is not None:
            item["pending"].pop(plan_id, None)

    def put_running(self, key: str, job: str, at: float, expires: int) -> None:
        self._count("dynamodb.UpdateItem")
        item = self.items.get(key, {})
        if "ended_at" in item or ("at" in item and not float(item["at"]) < at):
            return  # ended, or a later state change is already kept
        self.items[key] = item | {"id": key, "job": job, "at": str(at), "expiration": str(expires)}

    def end_running(self, key: str, at: float, status: str, expires: int) -> dict[str, Any]:
        self._count("dynamodb.UpdateItem")
        item = self.items.setdefault(key, {"id": key})
        item.setdefault("ended_at", str(at))
        item.setdefault("ended_status", status)
        item["expiration"] = str(expires)
        return dict(item)

    def running_jobs(self) -> list[dict[str, Any]]:
        return [
            dict(item)
            for key, item in self._items()
            if key.startswith("running|") and "ended_at" not in item
        ]

    def open_episode(self, key: str, since: float, percent: float) -> int | None:
        self._count("dynamodb.UpdateItem")
        item = self.items.get(key)
        if item is None or "job" not in item or "ended_at" in item or "idle_since" in item:
            return None
        episode = int(item.get("episode", "0")) + 1
        item.update(
            idle_since=str(since), idle_percent=str(percent), episode=str(episode), alerted=False
        )
        return episode

    def episode_alerted(self, key: str, episode: int) -> dict[str, Any] | None:
        self._count("dynamodb.UpdateItem")
        item = self._open(key, episode)
        if item is None:
            return None
        item["alerted"] = True
        return dict(item)

    def close_episode(self, key: str, episode: int) -> bool:
        self._count("dynamodb.UpdateItem")
        item = self._open(key, episode)
        if item is None or "ended_at" in item:
            return False
        for name in ("idle_since", "idle_percent", "alerted"):
            item.pop(name, None)
        return True

    def health_episodes(self) -> list[dict[str, Any]]:
        return [
            dict(item)
            for key, item in self._items()
            if key.startswith("health|") and "unhealthy_since" in item
        ]

    def open_unhealthy(self, key: str, breach: Breach, expires: int) -> int | None:
        self._count("dynamodb.UpdateItem")
        item = self.items.setdefault(key, {"id": key})
        if "unhealthy_since" in item:
            return None
        episode = int(item.get("episode", "0")) + 1
        item.update(
            unhealthy_since=str(breach.since), value=str(breach.value), limit=str(breach.limit),
            requests=str(breach.requests), alone=breach.alone, batch=breach.batch, alerted=False,
            expiration=str(expires), episode=str(episode),
        )  # fmt: skip
        return episode

    def unhealthy_alerted(self, key: str, episode: int) -> bool:
        self._count("dynamodb.UpdateItem")
        item = self._unhealthy(key, episode)
        if item is not None:
            item["alerted"] = True
        return item is not None

    def keep_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        self._count("dynamodb.UpdateItem")
        item = self._unhealthy(key, episode)
        if item is not None:
            item["expiration"] = str(expires)
        return item is not None

    def close_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        self._count("dynamodb.UpdateItem")
        item = self._unhealthy(key, episode)
        if item is None:
            return False
        for name in ("unhealthy_since", "alerted", "alone", "requests", "batch"):
            item.pop(name, None)
        item["expiration"] = str(expires)
        return True

    def _unhealthy(self, key: str, episode: int) -> dict[str, Any] | None:
        item = self.items.get(key)
        if item is None or "unhealthy_since" not in item or item.get("episode") != str(episode):
            return None
        return item

    def _open(self, key: str, episode: int) -> dict[str, Any] | None:
        """The job's item if episode `episode` is its open one."""
        item = self.items.get(key)
        if item is None or "idle_since" not in item or item.get("episode") != str(episode):
            return None
        return item


class MemoryFleetTable(FleetItemsInMemory, FleetStore):
    """`FleetTable` in memory, item by item as DynamoDB keeps them (in the order written, as
    a Scan reads them), read back as the adapter returns them."""

    def __init__(self, calls: Counter[str]) -> None:
        self.calls = calls
        self.items: dict[str, dict[str, Any]] = {}

    def _count(self, api: str) -> None:
        self.calls[api] += 1

    def _items(self) -> list[tuple[str, dict[str, Any]]]:
        return self._scan()

    def put_heartbeat(
        self, account: str, region: str, at: float, interval: int, labels: Mapping[str, str]
    ) -> None:
        self.calls["dynamodb.UpdateItem"] += 1
        item = self.items.get(f"source|{account}|{region}")
        if item is not None and "last_seen" in item and not item["last_seen"] < at:
            return  # an older heartbeat arriving late changes nothing
        self.items.setdefault(f"source|{account}|{region}", {}).update(
            account=account,
            region=region,
            last_seen=at,
            interval_minutes=interval,
            project=labels.get("project", "unknown"),
            environment=labels.get("environment", "unknown"),
        )

    def _scan(self) -> list[tuple[str, dict[str, Any]]]:
        pages, size = 1, 0
        for key, item in self.items.items():
            # map and sum run in C: every tick scans every item
            item_size = len(key) + sum(map(len, item)) + sum(map(len, map(str, item.values())))
            if size + item_size > SCAN_PAGE_BYTES:
                pages, size = pages + 1, 0
            size += item_size
        self.calls["dynamodb.Scan"] += pages
        return list(self.items.items())

    def sources(self) -> tuple[list[dict[str, Any]], dict[str, tuple[float, bool]]]:
        sources: list[dict[str, Any]] = []
        never_heard: dict[str, tuple[float, bool]] = {}
        for key, item in self._scan():
            if key.startswith("source|"):
                sources.append(
                    {
                        "account": item["account"],
                        "region": item["region"],
                        "last_seen": float(item["last_seen"]),
                        "interval_minutes": int(item["interval_minutes"]),
                        "silent_since": item.get("silent_since"),
                    }
                )
            elif key.startswith("expected|"):
                never_heard[key.split("|", 1)[1]] = (
                    float(item["since"]),
                    item.get("alerted", True),
                )
        return sources, never_heard

    def expect(self, account: str, since: float) -> None:
        self.calls["dynamodb.PutItem"] += 1
        self.items.setdefault(f"expected|{account}", {"since": since, "alerted": False})

    def mark(self, account: str, region: str | None, silent_since: float | None) -> None:
        if region is None:
            key = f"expected|{account}"
            if silent_since is None:
                self.calls["dynamodb.DeleteItem"] += 1
                self.items.pop(key, None)
            else:
                self.calls["dynamodb.PutItem"] += 1
                self.items[key] = {"since": silent_since, "alerted": True}
            return
        self.calls["dynamodb.UpdateItem"] += 1
        item = self.items.setdefault(f"source|{account}|{region}", {})
        if silent_since is None:
            item.pop("silent_since", None)
        else:
            item["silent_since"] = silent_since

    def put_inventory(self, record: Mapping[str, Any], expires: int) -> None:
        self.calls["dynamodb.PutItem"] += 1
        key = f"inventory|{record['account']}|{record['region']}"
        at = record["collected_at"]
        stored = self.items.get(key, {})
        if "collected_at" in stored and not float(stored["collected_at"]) < float(at):
            return  # a late, older snapshot changes nothing
        # As DynamoDB gives them back: every value as text (numbers too).
        self.items[key] = {
            "id": key,
            "account": record["account"],
            "region": record["region"],
            "collected_at": str(at),
            "endpoints": record["endpoints"],
            "first_seen": record["first_seen"],
            "dead_letters": str(record["dead_letters"]),
            "teams": record["teams"],
            "endpoints_complete": record["endpoints_complete"],
            "expiration": str(expires),
        }

    def inventory(self, account: str, region: str) -> dict[str, Any] | None:
        self.calls["dynamodb.GetItem"] += 1
        item = self.items.get(f"inventory|{account}|{region}")
        return None if item is None else dict(item)

    def inventories(self) -> list[dict[str, Any]]:
        return [dict(item) for key, item in self._scan() if key.startswith("inventory|")]


# ---- the functions' services --------------------------------------------------------------------


@dataclass
class Clients:
    """The in-memory AWS the functions' adapters are given, and the tables."""

    sqs: MemorySqs
    sns: MemorySns
    events: MemoryEvents
    cloudwatch: MemoryCloudWatch
    calls: Counter[str]


def build_services(
    environments: Mapping[str, Mapping[str, str]], aws: Clients, clock: Clock
) -> dict[str, Any]:
    """Every function's service (by function name), as its handler builds it from its
    environment, with the in-memory AWS: the real adapters over the in-memory clients, and the
    tables in memory. One idempotency table (the do-once records and the storm ledger) for all,
    as deployed."""
    from shared.adapters.cloudwatch import EndpointActivity, MetricsReader
    from shared.adapters.dynamodb import BurstLedger
    from shared.adapters.eventbridge import EventPublisher, RefreshRequester
    from shared.adapters.sns import AlertPublisher
    from shared.adapters.sqs import DeadLetterQueue, SummaryQueue
    from shared.alerting.service import Alerter, Summarizer
    from shared.config import AlerterSettings, EnricherSettings, FleetSettings
    from shared.enrichment.service import Enricher
    from shared.fleet.service import Fleet

    records = MemoryOnce(aws.calls)
    ledger = MemoryLedger(aws.calls, BurstLedger.LISTED)
    fleet_table = MemoryFleetTable(aws.calls)  # also the accounts' labels, for every alert

    def publishers(topics: Mapping[str, str]) -> dict[str, AlertPublisher]:
        return {channel: AlertPublisher(arn, aws.sns) for channel, arn in topics.items()}

    enricher = EnricherSettings.from_env(environments["enricher"])
    alerter = AlerterSettings.from_env(environments["alerter"])
    summarizer = AlerterSettings.from_env(environments["summarizer"])
    fleet = FleetSettings.from_env(environments["fleet"])
    summary_dlq = summarizer.dead_letter_queue_url
    return {
        "enricher": Enricher(
            enricher,
            metrics=MetricsReader(aws.cloudwatch),
            publisher=EventPublisher(enricher.event_bus_name, aws.events),
            dead_letters=DeadLetterQueue(enricher.dead_letter_queue_url, aws.sqs),
            records=records,
            clock=clock,
        ),
        "alerter": Alerter(
            alerter,
            publishers=publishers(alerter.topics),
            ledger=ledger,
            summaries=SummaryQueue(alerter.summary_queue_url, aws.sqs),
            clock=clock,
            records=records,
            labels=fleet_table,
        ),
        "summarizer": Summarizer(
            summarizer,
            publishers=publishers(summarizer.topics),
            ledger=ledger,
            records=records,
            dead_letters=DeadLetterQueue(summary_dlq, aws.sqs) if summary_dlq else None,
            clock=clock,
            labels=fleet_table,
        ),
        "fleet": Fleet(
            fleet,
            table=fleet_table,
            activity=EndpointActivity(aws.cloudwatch),
            refresher=RefreshRequester(
                fleet.event_bus_name, fleet.refresh_role_arn, fleet.refresh_rule_prefix, aws.events
            ),
            publishers=publishers(fleet.topics),
            records=records,
            clock=clock,
            metrics=MetricsReader(aws.cloudwatch),
            dead_letters=DeadLetterQueue(fleet.dead_letter_queue_url, aws.sqs),
        ),
    }


def _service_factory(module: ModuleType) -> str:
    """The handler module's cached service factory (its one `functools.cache` of its own)."""
    names = [
        name
        for name, value in vars(module).items()
        if hasattr(value, "cache_clear") and getattr(value, "__module__", None) == module.__name__
    ]
    if len(names) != 1:
        raise RuntimeError(f"{module.__name__}: expected one cached service factory, not {names}")
    return names[0]


@contextlib.contextmanager
def _no_aws(stray: list[str]) -> Iterator[None]:
    """A request to AWS from here is a bug (an adapter left unreplaced): it fails, instead of
    reaching the network, and is noted in `stray` (the run then raises, naming it)."""
    base: Any = BaseClient
    original = base._make_api_call

    def refuse(client: Any, operation: str, params: Any) -> Any:
        stray.append(f"{client.meta.service_model.service_name}.{operation}")
        raise RuntimeError(f"the in-memory stack called AWS: {stray[-1]}")

    base._make_api_call = refuse
    try:
        yield
    finally:
        base._make_api_call = original


# ---- the stack ----------------------------------------------------------------------------------


class MemoryAws:
    """The monitoring stack in memory, with `EmbeddedAws`'s replay interface (`seed_metrics`,
    `deliver`, `run`, `invoke`, `summary`). No faults: they are injected where moto answers."""

    def __init__(self, parameters: Mapping[str, str] | None = None, clock: Clock = system_clock):
        self.parameters = cfn.parameter_defaults() | dict(parameters or {})
        self.clock = clock
        self.observed = Observations()
        self.injector = FaultInjector()  # none, and none reported
        self.limits = limits()
        bus_name = self.parameters["EventBusName"]
        names = [
            *(dlq for _, _, dlq in REDRIVEN),
            "target-dlq",
            *map(invocations_queue, ASYNC_FUNCTIONS),
        ]
        self.queues = {name: MemoryQueue(name) for name in names}
        for queue, _, dlq in REDRIVEN:
            self.queues[queue] = MemoryQueue(
                queue, self.queues[dlq], self.limits.max_receives[queue]
            )
        topics = {channel: topic_arn(channel) for channel in CHANNELS}
        urls = {name: queue_url(name) for name in self.queues}
        self.function_env = function_environments(self.parameters, bus_name, urls, topics)
        self.bus = MemoryBus(bus_name, self.queues, clock)
        calls = self.observed.calls
        self.aws = Clients(
            sqs=MemorySqs(self.queues, calls, clock),
            sns=MemorySns(topics, calls),
            events=MemoryEvents(self.bus, calls, clock),
            cloudwatch=MemoryCloudWatch(calls),
            calls=calls,
        )
        self._saved_env: dict[str, str | None] = {}
        self._factories: list[tuple[ModuleType, str, Any]] = []
        self._exit = contextlib.ExitStack()
        self._stray: list[str] = []  # requests to AWS that were made (and refused)

    def __enter__(self) -> MemoryAws:
        self._set_env(MOTO_ENVIRONMENT)  # as on moto: no real credentials within reach
        try:
            environments = {
                function: dict(os.environ) | env for function, env in self.function_env.items()
            }
            services = build_services(environments, self.aws, self.clock)
            for function, service in services.items():  # each handler serves its service
                module, _ = handler_module(FUNCTIONS[function])
                name = _service_factory(module)
                self._factories.append((module, name, getattr(module, name)))
                setattr(module, name, lambda service=service: service)
            self._exit.enter_context(_no_aws(self._stray))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()
        for module, name, factory in self._factories:
            setattr(module, name, factory)
        self._factories.clear()
        reset_function_caches(system_clock)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    # ---- what goes in ----------------------------------------------------------------------
    def seed_metrics(self, document: Mapping[str, Any]) -> int:
        """Datapoints from the documented `--metrics` format (see docs/metrics-format.md)."""
        return self.aws.cloudwatch.seed(document)

    def deliver(self, raw: Any) -> None:
        """Put one event on the bus as a workload account's forwarding rule would."""
        envelope = forwarded(raw, self.clock, self.observed)
        if envelope is not None:
            self.bus.put(envelope, whole=True)

    # ---- the functions ---------------------------------------------------------------------
    def run(self) -> None:
        """Invoke functions until no queue has work left (summaries last, when all is idle)."""
        queues = MemoryQueues(self.queues, self.clock)
        LambdaPoller(queues, self.limits.async_attempts, self.invoke, self.clock).run()
        if self._stray:
            raise RuntimeError(f"the in-memory stack called AWS: {sorted(set(self._stray))}")

    def schedule(self, function: str, event: Any) -> None:
        """A schedule's invocation: asynchronous, as EventBridge invokes the function (Lambda's
        retries, then its on-failure destination), on the next `run`."""
        MemoryQueues(self.queues, self.clock).send(invocations_queue(function), json.dumps(event))

    def invoke(self, function: str, event: Any) -> Any:
        """One invocation, in the function's environment (as on moto)."""
        self._set_env(self.function_env[function])
        return invoke_in_process(function, event, self.observed, self.injector)

    # ---- what happened ---------------------------------------------------------------------
    def letters(self) -> list[DeadLetter]:
        max_receives = self.limits.max_receives["enrichment"]
        return [
            describe(
                kind,
                {
                    "Body": m.body,
                    "MessageId": m.message_id,
                    "ReceiptHandle": m.message_id,
                    "MessageAttributes": m.attributes,
                },
                max_receives,
                {queue: queue_url(queue) for queue in REDRIVEN_QUEUES},
            )
            for kind in DEAD_LETTER_QUEUES
            for m in self.queues[kind].messages.values()
        ]

    def archived(self) -> list[dict[str, Any]]:
        return self.bus.archived()

    def summary(self) -> dict[str, Any]:
        # Only the reports are read back (their source and type, strings, are the same before
        # and after JSON).
        reports = self.bus.archived(is_report)
        return summarize(
            self.observed,
            len(self.bus.archive),
            assemble_alerts(self.aws.sns.received),
            reports,
            dead_letter_summaries(self.observed, self.letters()),
        )
