"""Small AWS adapters, one per port of `shared.ports` (which they satisfy structurally). Each takes
an injectable client; the default is created lazily and cached, so importing this module needs no
credentials and tests can pass a stub or a moto-backed client."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from shared.errors import PublishError, RetryableError
from shared.ports import Fetched
from shared.utilization import Call, JobKey, Query

PUT_EVENTS_MAX_ENTRIES = 10


@cache
def client(service: str) -> Any:
    import boto3  # deferred: keeps handler import (cold start) cheap
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.client(service, config=config)  # type: ignore[call-overload]


class _Adapter:
    """Holds an injected client, or creates the shared one on first use."""

    service = ""

    def __init__(self, injected: Any = None) -> None:
        self._client = injected

    @property
    def api(self) -> Any:
        if self._client is None:
            self._client = client(self.service)
        return self._client


class MetricsReader(_Adapter):
    service = "cloudwatch"

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        """Run planned calls, following NextToken; each query's datapoints, and the jobs whose
        account does not share its metrics with this one (StatusCode Forbidden)."""
        series: dict[Query, list[tuple[datetime, float]]] = {}
        forbidden: set[JobKey] = set()
        for call in calls:
            by_id = {query.id: query for query in call.queries}
            kwargs: dict[str, Any] = {
                "MetricDataQueries": [query.to_api() for query in call.queries],
                "StartTime": call.start,
                "EndTime": call.end,
                "ScanBy": "TimestampAscending",
            }
            while True:
                response = self.api.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    query = by_id[result["Id"]]
                    status = result.get("StatusCode", "Complete")
                    if status == "Forbidden":
                        forbidden.add(query.job)
                    elif status == "InternalError":
                        raise RetryableError(f"GetMetricData: {result.get('Messages') or status}")
                    points = zip(
                        result.get("Timestamps", []), result.get("Values", []), strict=False
                    )
                    series.setdefault(query, []).extend(points)
                token = response.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
            for query in call.queries:
                series.setdefault(query, [])
        return Fetched(series, forbidden)

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        """Hosts whose `Host` value starts with `<prefix>/` (transform hosts end in an instance id).

        The slash keeps `job-1` from matching `job-10`. One paginated ListMetrics per account."""
        wanted = {prefix: f"{prefix}/" for prefix in prefixes}
        found: dict[str, set[str]] = {prefix: set() for prefix in wanted}
        paginator = self.api.get_paginator("list_metrics")
        pages = paginator.paginate(
            Namespace=namespace,
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "Host"}],
            IncludeLinkedAccounts=True,
            OwningAccount=account,
        )
        for page in pages:
            for metric in page.get("Metrics", []):
                for dimension in metric.get("Dimensions", []):
                    if dimension.get("Name") != "Host":
                        continue
                    for prefix, with_slash in wanted.items():
                        if dimension["Value"].startswith(with_slash):
                            found[prefix].add(dimension["Value"])
        return {prefix: sorted(hosts) for prefix, hosts in found.items()}


class EventPublisher(_Adapter):
    service = "events"

    def __init__(self, bus_name: str, events: Any = None) -> None:
        super().__init__(events)
        self.bus_name = bus_name

    def put(
        self,
        source: str,
        detail_type: str,
        details: Sequence[Mapping[str, Any]],
        at: datetime | None = None,
    ) -> list[int]:
        """PutEvents in chunks of ten, stamped `at` (the caller's clock; EventBridge's own when
        None); returns the indexes of entries that were not accepted."""
        stamp = {"Time": at} if at else {}
        failed: list[int] = []
        for offset in range(0, len(details), PUT_EVENTS_MAX_ENTRIES):
            chunk = details[offset : offset + PUT_EVENTS_MAX_ENTRIES]
            response = self.api.put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail, separators=(",", ":")),
                        "EventBusName": self.bus_name,
                    }
                    | stamp
                    for detail in chunk
                ]
            )
            if response.get("FailedEntryCount", 0):
                failed += [
                    offset + i
                    for i, entry in enumerate(response.get("Entries", []))
                    if entry.get("ErrorCode")
                ]
        return failed


class AlertPublisher(_Adapter):
    service = "sns"

    def __init__(self, topic_arn: str, sns: Any = None) -> None:
        super().__init__(sns)
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> str:
        """A plain (String-structured) message: SNS delivers message attributes, which filter
        policies match, only with those."""
        response = self.api.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=message,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
                if value  # SNS rejects empty attribute values
            },
        )
        message_id = response.get("MessageId")
        if not message_id:
            raise PublishError("SNS returned no MessageId")
        return str(message_id)


class DeadLetterQueue(_Adapter):
    """Where a function parks what it cannot process, with the reason as message attributes
    (`sagewatch redrive --dry-run` shows them)."""

    service = "sqs"
    # What SQS accepts in a message attribute; a reason may quote the event's own characters.
    _UNSENDABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

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


class BurstLedger(_Adapter):
    """Failure incidents per (account, Region, job type, time window), in the idempotency table.

    One item per window, bounded (DynamoDB items hold at most 400 KB): the first `LISTED`
    incidents are kept as short digests, with their job names, so a retry never counts one twice;
    past that only a counter grows (a retry may then count twice: only "and N more" changes)."""

    service = "dynamodb"
    LISTED = 500  # ≤ 500 × (16-character digest + job name ≤ 256 characters) ≈ 140 KB

    def __init__(self, table: str, dynamodb: Any = None) -> None:
        super().__init__(dynamodb)
        self.table = table

    def add(self, bucket: str, incident: str, name: str, expires_at: int) -> tuple[int, bool]:
        """Record one incident; returns how many the window holds and whether it was summarized."""
        digest = hashlib.sha256(incident.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        expires = {":e": {"N": str(expires_at)}}
        try:
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": bucket}},
                UpdateExpression=(
                    "ADD incidents :i, job_names :n SET expiration = if_not_exists(expiration, :e)"
                ),
                ConditionExpression=(
                    "attribute_not_exists(incidents) OR size(incidents) < :listed"
                    " OR contains(incidents, :d)"
                ),
                ExpressionAttributeValues={
                    ":i": {"SS": [digest]},
                    ":d": {"S": digest},
                    ":n": {"SS": [name]},
                    ":listed": {"N": str(self.LISTED)},
                    **expires,
                },
                ReturnValues="ALL_NEW",
            )
        except self.api.exceptions.ConditionalCheckFailedException:  # the list is full
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": bucket}},
                UpdateExpression="ADD unlisted :one SET expiration = if_not_exists(expiration, :e)",
                ExpressionAttributeValues={":one": {"N": "1"}, **expires},
                ReturnValues="ALL_NEW",
            )
        item = response["Attributes"]
        return self._count(item), "summarized" in item

    def summarize(self, bucket: str) -> tuple[int, list[str]] | None:
        """Marks the window summarized and returns its count and job names, in one atomic write:
        a failure counted before is in them, one counted after sees the mark and alerts alone.
        None once the window expired."""
        try:
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": bucket}},
                UpdateExpression="SET summarized = :t",
                ConditionExpression="attribute_exists(id)",  # never recreate an expired window
                ExpressionAttributeValues={":t": {"BOOL": True}},
                ReturnValues="ALL_NEW",
            )
        except self.api.exceptions.ConditionalCheckFailedException:
            return None
        item = response["Attributes"]
        return self._count(item), sorted(item.get("job_names", {}).get("SS", []))

    @staticmethod
    def _count(item: Mapping[str, Any]) -> int:
        listed = len(item.get("incidents", {}).get("SS", []))
        return listed + int(item.get("unlisted", {}).get("N", "0"))


class SummaryQueue(_Adapter):
    """Wakes the summarizer when a burst window has closed (the queue's delay is the window)."""

    service = "sqs"

    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        super().__init__(sqs)
        self.queue_url = queue_url

    def schedule(self, window: Mapping[str, Any]) -> None:
        """`window` is a serialized `shared.alerting.StormWindow`."""
        self.api.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(dict(window)))


class FleetTable(_Adapter):
    """Per workload account and Region: the last heartbeat, whether its silence was alerted, and
    the endpoints of its last inventory snapshot (with when each was first seen)."""

    service = "dynamodb"

    def __init__(self, table: str, dynamodb: Any = None) -> None:
        super().__init__(dynamodb)
        self.table = table

    def put_heartbeat(
        self, account: str, region: str, at: float, interval: int, labels: Mapping[str, str]
    ) -> None:
        """Later heartbeats win (deliveries come out of order); the silence mark is kept."""
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.update_item(  # an older heartbeat arriving late changes nothing
                TableName=self.table,
                Key={"id": {"S": f"source|{account}|{region}"}},
                UpdateExpression=("SET #a = :a, #r = :r, #t = :t, #i = :i, #p = :p, #e = :e"),
                ConditionExpression="attribute_not_exists(#t) OR #t < :t",
                ExpressionAttributeNames={
                    "#a": "account",
                    "#r": "region",
                    "#t": "last_seen",
                    "#i": "interval_minutes",
                    "#p": "project",
                    "#e": "environment",
                },
                ExpressionAttributeValues={
                    ":a": {"S": account},
                    ":r": {"S": region},
                    ":t": {"N": str(at)},
                    ":i": {"N": str(interval)},
                    ":p": {"S": labels.get("project", "unknown")},
                    ":e": {"S": labels.get("environment", "unknown")},
                },
            )

    def sources(self) -> tuple[list[dict[str, Any]], dict[str, tuple[float, bool]]]:
        """Every source's record, and the configured accounts not heard from yet: since when
        they were missed, and whether that was alerted."""
        sources: list[dict[str, Any]] = []
        never_heard: dict[str, tuple[float, bool]] = {}
        for item in self._scan():
            key = item["id"]["S"]
            if key.startswith("source|"):
                sources.append(
                    {
                        "account": item["account"]["S"],
                        "region": item["region"]["S"],
                        "last_seen": float(item["last_seen"]["N"]),
                        "interval_minutes": int(item["interval_minutes"]["N"]),
                        "silent_since": float(item["silent_since"]["N"])
                        if "silent_since" in item
                        else None,
                    }
                )
            elif key.startswith("expected|"):
                never_heard[key.split("|", 1)[1]] = (
                    float(item["since"]["N"]),
                    item.get("alerted", {"BOOL": True})["BOOL"],  # older marks were alerts
                )
        return sources, never_heard

    def expect(self, account: str, since: float) -> None:
        """A configured account missed for the first time: its grace starts (no alert yet)."""
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"expected|{account}"},
                    "since": {"N": str(since)},
                    "alerted": {"BOOL": False},
                },
                ConditionExpression="attribute_not_exists(id)",
            )

    def mark(self, account: str, region: str | None, silent_since: float | None) -> None:
        """Record (or clear) the silence a change alerted about."""
        if region is None:
            key = {"id": {"S": f"expected|{account}"}}
            if silent_since is None:
                self.api.delete_item(TableName=self.table, Key=key)
            else:
                self.api.put_item(
                    TableName=self.table,
                    Item=key | {"since": {"N": str(silent_since)}, "alerted": {"BOOL": True}},
                )
            return
        key = {"id": {"S": f"source|{account}|{region}"}}
        if silent_since is None:
            self.api.update_item(
                TableName=self.table, Key=key, UpdateExpression="REMOVE silent_since"
            )
        else:
            self.api.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="SET silent_since = :s",
                ExpressionAttributeValues={":s": {"N": str(silent_since)}},
            )

    def put_inventory(
        self, account: str, region: str, at: float, endpoints: str, first_seen: str, expires: int
    ) -> None:
        """Later snapshots win (a late, older one changes nothing); expires with TTL."""
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"inventory|{account}|{region}"},
                    "account": {"S": account},
                    "region": {"S": region},
                    "collected_at": {"N": str(at)},
                    "endpoints": {"S": endpoints},
                    "first_seen": {"S": first_seen},
                    "expiration": {"N": str(expires)},
                },
                ConditionExpression="attribute_not_exists(collected_at) OR collected_at < :t",
                ExpressionAttributeValues={":t": {"N": str(at)}},
            )

    def inventory(self, account: str, region: str) -> dict[str, Any] | None:
        item = self.api.get_item(
            TableName=self.table, Key={"id": {"S": f"inventory|{account}|{region}"}}
        ).get("Item")
        return None if not item else {k: next(iter(v.values())) for k, v in item.items()}

    def inventories(self) -> list[dict[str, Any]]:
        return [
            {k: next(iter(v.values())) for k, v in item.items()}
            for item in self._scan()
            if item["id"]["S"].startswith("inventory|")
        ]

    def _scan(self) -> Iterable[dict[str, Any]]:
        for page in self.api.get_paginator("scan").paginate(
            TableName=self.table, ConsistentRead=True
        ):
            yield from page.get("Items", [])


class EndpointActivity(_Adapter):
    """Invocations of endpoint variants in linked accounts (GetMetricData with AccountId)."""

    service = "cloudwatch"
    MAX_QUERIES = 500  # per GetMetricData call
    MAX_POINTS = 100_800  # per GetMetricData call
    PERIOD = 3600

    def invocations(
        self,
        account: str,
        endpoints: Mapping[str, Sequence[str]],
        start: datetime,
        end: datetime,
    ) -> dict[str, float | None]:
        """Invocations per endpoint, summed over its variants and the window, in as few calls as
        the API's limits allow; None for all when the account does not share its metrics."""
        pairs = [(name, variant) for name, variants in endpoints.items() for variant in variants]
        points = max(1, int((end - start).total_seconds()) // self.PERIOD + 1)
        per_call = max(1, min(self.MAX_QUERIES, self.MAX_POINTS // points))
        totals: dict[str, float | None] = dict.fromkeys(endpoints, 0.0)
        for offset in range(0, len(pairs), per_call):
            chunk = pairs[offset : offset + per_call]
            queries = [
                _invocations_query(f"q{i}", account, name, variant)
                for i, (name, variant) in enumerate(chunk)
            ]
            kwargs: dict[str, Any] = {
                "MetricDataQueries": queries,
                "StartTime": start,
                "EndTime": end,
            }
            while True:
                response = self.api.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    status = result.get("StatusCode", "Complete")
                    if status == "Forbidden":
                        return dict.fromkeys(endpoints)
                    if status == "InternalError":  # a missing count is not zero: never "idle"
                        raise RetryableError(f"GetMetricData: {result.get('Messages') or status}")
                    name = chunk[int(result["Id"][1:])][0]
                    totals[name] = (totals[name] or 0.0) + sum(result.get("Values", []))
                if not response.get("NextToken"):
                    break
                kwargs["NextToken"] = response["NextToken"]
        return totals


def _invocations_query(query_id: str, account: str, endpoint: str, variant: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": EndpointActivity.PERIOD,
            "Stat": "Sum",
        },
        "AccountId": account,
    }


class RefreshRequester(_Adapter):
    """Asks workload accounts for a fresh inventory. EventBridge delivers to another account's
    bus through rule targets (with a role), not through PutEvents naming that bus: so this keeps
    rules on our own bus whose targets are the known accounts' default buses (five per rule, the
    EventBridge limit), then puts one request on our bus. Each workload's bus policy lets this
    account put exactly that event."""

    service = "events"
    TARGETS_PER_RULE = 5

    def __init__(self, bus_name: str, role_arn: str, rule_prefix: str, events: Any = None) -> None:
        super().__init__(events)
        self.bus_name, self.role_arn, self.rule_prefix = bus_name, role_arn, rule_prefix
        self.account = role_arn.split(":")[4]  # this (the monitoring) account: the role's own

    def request(
        self, targets: Sequence[tuple[str, str]], detail: Mapping[str, Any], source: str, kind: str
    ) -> None:
        # `account`: a workload account may put any event on our bus, and must not be able to
        # fan a forged request out to every other account.
        pattern = {"source": [source], "detail-type": [kind], "account": [self.account]}
        self._sync(sorted(targets), pattern)
        response = self.api.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": kind,
                    "Detail": json.dumps(dict(detail)),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise PublishError(f"refresh request not accepted: {response.get('Entries')}")

    def _sync(self, targets: Sequence[tuple[str, str]], pattern: dict[str, list[str]]) -> None:
        """Rules <prefix>-000, -001, ... with the targets in order; surplus rules removed."""
        chunks = [
            targets[i : i + self.TARGETS_PER_RULE]
            for i in range(0, len(targets), self.TARGETS_PER_RULE)
        ]
        for index, chunk in enumerate(chunks):
            name = f"{self.rule_prefix}-{index:03d}"
            self.api.put_rule(
                Name=name, EventBusName=self.bus_name, EventPattern=json.dumps(pattern)
            )
            wanted = {f"{account}-{region}": (account, region) for account, region in chunk}
            current = self.api.list_targets_by_rule(Rule=name, EventBusName=self.bus_name)
            stale = [t["Id"] for t in current.get("Targets", []) if t["Id"] not in wanted]
            if stale:
                self.api.remove_targets(Rule=name, EventBusName=self.bus_name, Ids=stale)
            response = self.api.put_targets(
                Rule=name,
                EventBusName=self.bus_name,
                Targets=[
                    {
                        "Id": target_id,
                        "Arn": default_bus_arn(account, region),
                        "RoleArn": self.role_arn,
                        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 900},
                    }
                    for target_id, (account, region) in wanted.items()
                ],
            )
            if response.get("FailedEntryCount"):  # reported, not raised, by PutTargets
                raise PublishError(f"refresh targets rejected: {response.get('FailedEntries')}")
        index = len(chunks)
        while True:  # fewer accounts than before: drop the rules no longer needed
            name = f"{self.rule_prefix}-{index:03d}"
            try:
                current = self.api.list_targets_by_rule(Rule=name, EventBusName=self.bus_name)
            except self.api.exceptions.ResourceNotFoundException:
                return
            ids = [t["Id"] for t in current.get("Targets", [])]
            if ids:
                self.api.remove_targets(Rule=name, EventBusName=self.bus_name, Ids=ids)
            self.api.delete_rule(Name=name, EventBusName=self.bus_name)
            index += 1


def default_bus_arn(account: str, region: str) -> str:
    partition = (
        "aws-cn"
        if region.startswith("cn-")
        else "aws-us-gov"
        if region.startswith("us-gov-")
        else "aws"
    )
    return f"arn:{partition}:events:{region}:{account}:event-bus/default"
