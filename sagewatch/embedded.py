"""An embedded AWS (moto, in-process) provisioned as the monitoring account from template.yaml.

Real APIs throughout: the bus's rules are created from template.yaml's own patterns and targets;
rule targets deliver to a log group and SQS queues; the enricher's PutEvents, GetMetricData and
ListMetrics, the alerter's SNS and DynamoDB calls all hit moto. Two hops moto cannot play are
emulated here, and only these:

* Cross-account forwarding: EventBridge keeps the original envelope (account, id, time) when a
  workload account's rule forwards to this bus; moto's PutEvents would rewrite them. `deliver`
  hands the envelope to the bus's rules through moto's own pattern matching and targets.
* Lambda: functions run in-process. Rule targets that are functions deliver into a stand-in SQS
  queue; the runner invokes the function from it with Lambda's async retry and on-failure
  destination. The enrichment queue is drained in batches as Lambda's SQS poller would, with
  partial batch responses and the queue's real redrive policy, without waiting for its delay.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient

from sagewatch import moto_patches
from sagewatch import template as cfn
from sagewatch.faults import FaultInjector, injecting, parse_spec
from sagewatch.redrive import ENRICHMENT_DLQ, SUMMARY_DLQ, TARGET_DLQ, Redriver
from shared.contracts.report import REPORT_DETAIL_TYPE, SAGEWATCH_SOURCE
from shared.domain.parser import parse_time
from shared.platform.clock import Clock, FixedClock, system_clock

ACCOUNT = "123456789012"  # moto's default account plays the monitoring account
REGION = "us-east-1"
ARCHIVE_LOG_GROUP = "/aws/events/sagewatch-archive"
TABLE = "sagewatch-idempotency"
FLEET_TABLE = "sagewatch-fleet"
STACK = DASHBOARD = "sagewatch"  # the embedded stack's name (and its dashboard's)
MOTO_CREDENTIALS = dict.fromkeys(
    ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"), "testing"
)  # moto's default account
MOTO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}  # what the functions' own clients find (moto's default account)
CHANNELS = ("email", "json", "chat")  # the alert renderings, one SNS topic each
ENRICHER_BATCH_SIZE = 100
MAX_ROUNDS = 10_000  # a safety stop: each round moves at least one message

FUNCTIONS = {
    "enricher": "EnricherFunction",
    "alerter": "AlerterFunction",
    "summarizer": "SummarizerFunction",
    "fleet": "FleetFunction",
}
ASYNC_FUNCTIONS = ("alerter", "fleet")  # invoked by rules: Lambda's async retries apply


@dataclass
class Observations:
    """Everything the functions did, in the shape of `sagewatch replay --json`."""

    events: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    invocations: Counter[str] = field(default_factory=Counter)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    results: list[dict[str, Any]] = field(default_factory=list)


class FakeLambdaContext:
    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "embedded"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class EmbeddedAws:
    def __init__(
        self,
        parameters: Mapping[str, str] | None = None,
        faults: str | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """`clock` is the functions' time and the bus's (tests pass a `FixedClock`)."""
        self.parameters = cfn.parameter_defaults() | dict(parameters or {})
        self.clock = clock
        self.observed = Observations()
        self.injector = FaultInjector(parse_spec(faults or ""))
        self._saved_env: dict[str, str | None] = {}
        self._entered_env: dict[str, str] = {}  # os.environ just after entering (for reset)
        self._mock: Any = None
        self._clients: dict[str, Any] = {}

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedAws:
        from moto import mock_aws

        moto_patches.install()
        self._set_env(MOTO_ENVIRONMENT)
        self._mock = mock_aws()
        self._mock.start()
        self._reset_function_caches(self.clock)
        self._provision()
        self._entered_env = dict(os.environ)
        return self

    def __exit__(self, *exc: object) -> None:
        self._mock.stop()
        self._mock = None
        self._reset_function_caches(system_clock)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def reset(self, faults: str | None = None, clock: Clock = system_clock) -> EmbeddedAws:
        """This stack as a new `EmbeddedAws(parameters, faults, clock)` would be just entered,
        without leaving moto (tests share one stack per module and reset it for each test).

        moto drops everything it holds, in every account (what a test put, added or broke), and
        the stack is provisioned again with the same clients; what the functions did is
        forgotten and their services are built anew on their next invocation; the environment
        is as just after entering. Moto's patches and this stack's clients stay as they are."""
        from moto.core.base_backend import BackendDict
        from moto.core.model_instances import reset_model_data

        if self._mock is None:
            raise RuntimeError("reset() is for an entered EmbeddedAws")
        BackendDict.reset()  # what moto's own start does, without restarting its patches
        reset_model_data()
        for name in self._saved_env:  # every variable set since: as it was after entering
            value = self._entered_env.get(name)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.clock = clock
        self.observed = Observations()
        self.injector = FaultInjector(parse_spec(faults or ""))
        self._reset_function_caches(clock)
        self._provision()
        return self

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    @staticmethod
    def _reset_function_caches(clock: Clock) -> None:
        """Services are built anew on the next invocation, with `clock` where they take one."""
        from shared.adapters.boto import client

        client.cache_clear()
        for logical_id in FUNCTIONS.values():
            module = importlib.import_module(cfn.handler_of(logical_id).rsplit(".", 1)[0])
            if "clock" in vars(module):  # the handlers' seam
                vars(module)["clock"] = clock
            for cached in vars(module).values():
                if hasattr(cached, "cache_clear"):
                    cached.cache_clear()

    def client(self, service: str) -> Any:
        """A client of the monitoring account, whatever credentials the environment holds (an
        embedded workload account's code may be running)."""
        if service not in self._clients:  # one each: clients are costly to make
            self._clients[service] = sdk_client(service, MOTO_CREDENTIALS)
        return self._clients[service]

    # ---- provisioning from template.yaml ---------------------------------------------------
    def _provision(self) -> None:
        events, sqs, sns, logs = (self.client(s) for s in ("events", "sqs", "sns", "logs"))
        self.bus_name = self.parameters["EventBusName"]
        self.bus_arn = events.create_event_bus(Name=self.bus_name)["EventBusArn"]
        allowed = [a for a in self.parameters["WorkloadAccountIds"].split(",") if a.strip()]
        if allowed:  # BusPolicyAccounts
            statement = {
                "Sid": "sagewatch-workload-accounts",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a.strip()}:root" for a in allowed]},
                "Action": "events:PutEvents",
                "Resource": self.bus_arn,
            }
            events.put_permission(
                EventBusName=self.bus_name,
                Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
            )
        logs.create_log_group(logGroupName=ARCHIVE_LOG_GROUP)

        resources = cfn.load()["Resources"]
        self.queues = {
            name: sqs.create_queue(QueueName=name)["QueueUrl"]
            for name in (
                "enrichment-dlq", "summary-dlq", "target-dlq",
                *(f"{function}-invocations" for function in ASYNC_FUNCTIONS),
                *(f"{channel}-capture" for channel in CHANNELS),
            )
        }  # fmt: skip
        # DelaySeconds left at 0: the embedded run does not wait (summaries run when all is idle).
        for queue, logical_id, dlq in (
            ("enrichment", "EnrichmentQueue", "enrichment-dlq"),
            ("summary", "SummaryQueue", "summary-dlq"),
        ):
            redrive = cfn.resolve(resources[logical_id]["Properties"]["RedrivePolicy"], {})
            self.queues[queue] = sqs.create_queue(
                QueueName=queue,
                Attributes={
                    "RedrivePolicy": json.dumps(
                        {
                            "deadLetterTargetArn": self._queue_arn(dlq),
                            "maxReceiveCount": str(redrive["maxReceiveCount"]),
                        }
                    )
                },
            )["QueueUrl"]
        self.enrichment_max_receives = int(
            cfn.resolve(resources["EnrichmentQueue"]["Properties"]["RedrivePolicy"], {})[
                "maxReceiveCount"
            ]
        )
        invoke_config = resources["AlerterFunction"]["Properties"]["EventInvokeConfig"]
        self.async_attempts = 1 + int(invoke_config["MaximumRetryAttempts"])

        # One topic per rendering; a queue subscribed to each receives what a subscriber would.
        self.topics = {
            channel: sns.create_topic(Name=f"sagewatch-{channel}")["TopicArn"]
            for channel in CHANNELS
        }
        for channel, topic in self.topics.items():
            sns.subscribe(
                TopicArn=topic, Protocol="sqs", Endpoint=self._queue_arn(f"{channel}-capture")
            )
        for name, logical_id in ((TABLE, "IdempotencyTable"), (FLEET_TABLE, "FleetTable")):
            table = resources[logical_id]["Properties"]
            self.client("dynamodb").create_table(
                TableName=name,
                KeySchema=table["KeySchema"],
                AttributeDefinitions=table["AttributeDefinitions"],
                BillingMode=table["BillingMode"],
            )

        arns = {
            "ArchiveLogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{ARCHIVE_LOG_GROUP}",
            "EnrichmentQueue": self._queue_arn("enrichment"),
            **{FUNCTIONS[f]: self._queue_arn(f"{f}-invocations") for f in ASYNC_FUNCTIONS},
        }
        for rule in cfn.bus_rules(ACCOUNT):
            events.put_rule(
                Name=rule.logical_id,
                EventBusName=self.bus_name,
                EventPattern=json.dumps(rule.pattern),
            )
            events.put_targets(
                Rule=rule.logical_id,
                EventBusName=self.bus_name,
                Targets=[{"Id": t, "Arn": arns[t]} for t in rule.targets],
            )
        refs = self.parameters | {
            "EventBus": self.bus_name,
            **{f"{channel.capitalize()}Topic": arn for channel, arn in self.topics.items()},
            "Dashboard": DASHBOARD,
            "IdempotencyTable": TABLE,
            "FleetTable": FLEET_TABLE,
            "RefreshRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/sagewatch-refresh",
            "AWS::StackName": STACK,
            "EnrichmentDeadLetterQueue": self.queues["enrichment-dlq"],
            "SummaryQueue": self.queues["summary"],
            "SummaryDeadLetterQueue": self.queues["summary-dlq"],
        }
        self.function_env = {
            name: cfn.function_environment(logical_id, refs)
            for name, logical_id in FUNCTIONS.items()
        }

    def outputs(self) -> dict[str, str]:
        """The monitoring stack's outputs, for this embedded stack (no OAM sink: moto has none)."""
        return {
            "EventBusArn": self.bus_arn,
            "EventBusName": self.bus_name,
            "WorkloadParameterOverrides": f"MonitoringBusArn={self.bus_arn}",
            **{f"{c.capitalize()}TopicArn": arn for c, arn in self.topics.items()},
            "ArchiveLogGroupName": ARCHIVE_LOG_GROUP,
            "FleetTableName": FLEET_TABLE,
        }

    def _queue_arn(self, name: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    # ---- host metrics ----------------------------------------------------------------------
    def seed_metrics(self, document: Mapping[str, Any]) -> int:
        """Datapoints from the documented `--metrics` format (see docs/metrics-format.md)."""
        cloudwatch = self.client("cloudwatch")
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for series in document.get("series", []):
            start, end = parse_time(series["start"]), parse_time(series["end"])
            if start is None or end is None:
                raise ValueError(f"series {series.get('dimensions')} needs ISO start and end")
            step = timedelta(seconds=int(series.get("every_seconds", 60)))
            dimensions = [{"Name": k, "Value": v} for k, v in series["dimensions"].items()]
            values = series["value"] if isinstance(series["value"], list) else [series["value"]]
            at, i = start, 0
            while at < end:
                by_namespace.setdefault(series["namespace"], []).append(
                    {
                        "MetricName": series["metric"],
                        "Dimensions": dimensions,
                        "Timestamp": at,
                        "Value": float(values[i % len(values)]),
                        "Unit": "Percent",
                    }
                )
                at, i = at + step, i + 1
        count = 0
        for namespace, data in by_namespace.items():
            for offset in range(0, len(data), 500):
                chunk = data[offset : offset + 500]
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk)
                count += len(chunk)
        return count

    # ---- the event path --------------------------------------------------------------------
    def deliver(self, raw: Any) -> None:
        """Put one event on the bus as a workload account's forwarding rule would."""
        self.observed.events += 1
        if not isinstance(raw, dict):
            self.observed.rejected.append(
                {"event_id": None, "reason": f"not a JSON object ({type(raw).__name__})"}
            )
            return
        from moto.events.models import events_backends

        envelope: dict[str, Any] = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "account": ACCOUNT,
            "region": REGION,
            "resources": [],
        } | raw
        now = self.clock()
        when = parse_time(raw.get("time")) or datetime.fromtimestamp(now, UTC)
        envelope["time"] = when.timestamp()  # moto's targets render it back as ISO-8601
        envelope["ingestion-time"] = now  # moto's targets expect it
        bus: Any = events_backends[ACCOUNT][REGION].event_buses[self.bus_name]
        for rule in list(bus.rules.values()):
            rule.send_to_targets(
                envelope, transform_input=False
            )  # moto's default transform drops "account"

    def run(self) -> None:
        """Invoke functions until no queue has work left. Summaries of burst windows run when
        everything else is idle: that is when the (not waited for) window has passed."""
        for _ in range(MAX_ROUNDS):
            if sum(map(self._drain_async, ASYNC_FUNCTIONS)) + self._drain_enrichment():
                continue
            if not self._drain_batches("summary", "summarizer", 10):
                return
        raise RuntimeError(f"still busy after {MAX_ROUNDS} rounds")

    def _receive(self, queue: str, limit: int) -> list[dict[str, Any]]:
        sqs, messages = self.client("sqs"), list[dict[str, Any]]()
        while len(messages) < limit:
            batch = sqs.receive_message(
                QueueUrl=self.queues[queue],
                MaxNumberOfMessages=min(10, limit - len(messages)),
                VisibilityTimeout=60,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages += batch
        return messages

    def _drain_enrichment(self) -> int:
        return self._drain_batches("enrichment", "enricher", ENRICHER_BATCH_SIZE)

    def _drain_batches(self, queue: str, function: str, batch_size: int) -> int:
        """One batch as Lambda's SQS poller delivers it, with partial batch responses."""
        messages = self._receive(queue, batch_size)
        if not messages:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": self._queue_arn(queue),
                "awsRegion": REGION,
            }
            for m in messages
        ]
        try:
            response = self.invoke(function, {"Records": records})
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # the whole batch returns to the queue, as with Lambda
            failed = {m["MessageId"] for m in messages}
        sqs = self.client("sqs")
        for message in messages:
            if message["MessageId"] in failed:  # visible again now instead of after the timeout
                sqs.change_message_visibility(
                    QueueUrl=self.queues[queue],
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
            else:
                sqs.delete_message(
                    QueueUrl=self.queues[queue], ReceiptHandle=message["ReceiptHandle"]
                )
        return len(messages)

    def _drain_async(self, function: str) -> int:
        queue = f"{function}-invocations"
        messages = self._receive(queue, 10)
        sqs = self.client("sqs")
        for message in messages:
            self._invoke_async(function, json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=self.queues[queue], ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _invoke_async(self, function: str, event: dict[str, Any]) -> None:
        """Lambda's async invocation: retries, then the on-failure destination (an SQS DLQ)."""
        error: Exception | None = None
        for _ in range(self.async_attempts):
            try:
                self.invoke(function, event)
                return
            except Exception as caught:
                error = caught
        record = {
            "version": "1.0",
            "timestamp": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": FakeLambdaContext(function).invoked_function_arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": self.async_attempts,
            },
            "requestPayload": event,
            "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
        }
        self.client("sqs").send_message(
            QueueUrl=self.queues["target-dlq"], MessageBody=json.dumps(record)
        )

    # ---- invoking a function in-process ----------------------------------------------------
    def invoke(self, function: str, event: Any) -> Any:
        handler = _handler(function)
        self.observed.invocations[function] += 1
        self._set_env(self.function_env[function])
        with (
            _captured_output() as output,
            _counted_calls(self.observed.calls),
            injecting(self.injector),
        ):
            try:
                result = handler(event, FakeLambdaContext(f"sagewatch-{function}"))
            finally:
                self._collect(function, output.getvalue())
        self.observed.results.append({"function": function, "result": result})
        return result

    def _collect(self, function: str, text: str) -> None:
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if "_aws" in record:
                self.observed.metrics += emf_metrics(record)
            else:
                self.observed.logs.append({"function": function} | record)

    # ---- what happened ---------------------------------------------------------------------
    def archived(self) -> list[dict[str, Any]]:
        logs, events = self.client("logs"), []
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=ARCHIVE_LOG_GROUP
        ):
            events += [json.loads(e["message"]) for e in page.get("events", [])]
        return events

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert in its three renderings, as the subscribers of each topic receive them."""
        received = {channel: self._received(f"{channel}-capture") for channel in CHANNELS}
        chats = {
            chat["metadata"]["additionalContext"]["incident"]: chat
            for chat in (json.loads(m["Message"]) for m in received["chat"])
        }
        emails: dict[str, list[dict[str, Any]]] = {}
        for message in received["email"]:  # the same subject twice: in publishing order
            emails.setdefault(message["Subject"], []).append(message)
        alerts = []
        for message in received["json"]:
            document = json.loads(message["Message"])
            email = (emails.get(message["Subject"]) or [{}]).pop(0)
            alerts.append(
                {
                    "subject": message["Subject"],
                    "attributes": {
                        k: v.get("Value") for k, v in message.get("MessageAttributes", {}).items()
                    },
                    "email": {"subject": email.get("Subject"), "body": email.get("Message")},
                    "chat": chats.get(document["incident"]),
                    "json": document,
                }
            )
        return alerts

    def _received(self, queue: str) -> list[dict[str, Any]]:
        """The SNS notifications an SQS subscriber got (non-raw delivery: the SNS envelope)."""
        return [json.loads(message["Body"]) for message in self._peek(queue)]

    def reports(self, archived: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in (self.archived() if archived is None else archived)
            if e.get("source") == SAGEWATCH_SOURCE and e.get("detail-type") == REPORT_DETAIL_TYPE
        ]

    def redriver(self) -> Redriver:
        """`sagewatch redrive` wired to the embedded queues (functions: their stand-in queue)."""
        sqs = self.client("sqs")
        return Redriver(
            sqs,
            {kind: self.queues[kind] for kind in (ENRICHMENT_DLQ, SUMMARY_DLQ, TARGET_DLQ)},
            {"enrichment": self.queues["enrichment"], "summary": self.queues["summary"]},
            lambda arn, body: sqs.send_message(
                QueueUrl=self.queues[
                    f"{arn.rsplit(':', 1)[-1].removeprefix('sagewatch-')}-invocations"
                ],
                MessageBody=body,
            ),
            self.enrichment_max_receives,
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        rejected = [dict(r, queue="bus") for r in self.observed.rejected]
        return rejected + [letter.summary() for letter in self.redriver().letters()]

    def _peek(self, queue: str) -> list[dict[str, Any]]:
        """All messages of a queue, left in place."""
        redriver = self.redriver()
        messages = redriver.receive_all(self.queues[queue])
        redriver.release(self.queues[queue], messages)
        return messages

    def summary(self) -> dict[str, Any]:
        archived = self.archived()
        return {
            "events": self.observed.events,
            "archived": len(archived),
            "invocations": dict(self.observed.invocations),
            "alerts": self.alerts(),
            "reports": self.reports(archived),
            "dead_letters": self.dead_letters(),
            "metrics": self.observed.metrics,
            "calls": dict(sorted(self.observed.calls.items())),
        }


@cache
def _sdk_session() -> boto3.session.Session:
    """One SDK session for every embedded client: a new session reads the SDK's data files (the
    service models, endpoints) again, which was most of what provisioning a stack cost. Made on
    first use, after moto's import has registered its stubber with the sessions made from then."""
    import moto.core.models  # noqa: F401

    return boto3.session.Session(region_name=REGION)


def sdk_client(service: str, credentials: Mapping[str, str], region: str = REGION) -> Any:
    """A client of the account `credentials` belong to (on moto: the access key's account)."""
    session: Any = _sdk_session()
    return session.client(service, region_name=region, **credentials)


def _handler(function: str) -> Callable[[Any, Any], Any]:
    module_name, attr = cfn.handler_of(FUNCTIONS[function]).rsplit(".", 1)
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attr)
    return handler


def invoke_real(function: str, event: Any) -> dict[str, Any]:
    """Run a handler against real AWS with the caller's credentials and environment variables
    (the function fails fast naming any setting that is missing)."""
    calls: Counter[str] = Counter()
    with _counted_calls(calls):
        result = _handler(function)(event, FakeLambdaContext(f"sagewatch-{function}"))
    return {"result": result, "calls": dict(calls)}


def replay(
    events: Iterable[Any],
    metrics: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
    duplicates: int = 1,
    faults: str | None = None,
    run_every: int | None = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Deliver every event `duplicates` times (each copy under its own event id, as SageMaker's
    repeated deliveries are) with `faults` injected, run everything, and report. `run_every`
    lets the functions work between deliveries (as in a long day) instead of once at the end
    (as in a burst). The clock defaults to the events' own time (`replay_clock`)."""
    events = list(events)
    with EmbeddedAws(parameters, faults, clock or replay_clock(events)) as aws:
        if metrics:
            aws.seed_metrics(metrics)
        for index, event in enumerate(events, 1):
            for copy in range(duplicates):
                aws.deliver(_redelivered(event, copy))
            if progress:
                progress(index)
            if run_every and index % run_every == 0:
                aws.run()
        aws.run()
        return aws.summary() | {"faults_injected": dict(aws.injector.injected)}


# How long after the last event the functions run: past the enricher's wait for late datapoints.
SETTLE_SECONDS = 600


def replay_clock(events: Iterable[Any]) -> Clock:
    """The functions run just after the latest event, as they would have then, so a replay
    gives the same result on any day: CloudWatch's retention tiers, storm windows and heartbeat
    ages all read the clock. Events without a time run on the wall clock."""
    times = (parse_time(e.get("time")) for e in events if isinstance(e, dict))
    latest = max((t for t in times if t is not None), default=None)
    return FixedClock(latest.timestamp() + SETTLE_SECONDS) if latest else system_clock


def _redelivered(event: Any, copy: int) -> Any:
    if copy == 0 or not isinstance(event, dict):
        return event
    return event | {"id": f"{event.get('id', 'event')}-redelivery-{copy}"}


def emf_metrics(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """EMF → [{name, unit, value, dimensions}] as CloudWatch would extract them."""
    out = []
    for directive in record["_aws"].get("CloudWatchMetrics", []):
        dimension_names = {name for group in directive.get("Dimensions", []) for name in group}
        dimensions = {name: record.get(name) for name in sorted(dimension_names)}
        for metric in directive.get("Metrics", []):
            value = record.get(metric["Name"])
            for single in value if isinstance(value, list) else [value]:
                out.append(
                    {
                        "namespace": directive.get("Namespace"),
                        "name": metric["Name"],
                        "unit": metric.get("Unit"),
                        "value": single,
                        "dimensions": dimensions,
                    }
                )
    return out


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


@contextlib.contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    """Function stdout (EMF) and the Powertools logger's stream, as CloudWatch Logs gets them."""
    from shared.platform.observability import logger

    buffer = io.StringIO()
    handler: Any = logger.registered_handler
    previous = handler.stream  # set directly: setStream() would flush a stream that may be closed
    handler.stream = buffer
    try:
        with contextlib.redirect_stdout(buffer):
            yield buffer
    finally:
        handler.stream = sys.stdout if getattr(previous, "closed", False) else previous


@contextlib.contextmanager
def _counted_calls(calls: Counter[str]) -> Iterator[None]:
    """Count every AWS API call made while a function runs ("service.Operation")."""
    base: Any = BaseClient
    original = base._make_api_call

    def counting(client: Any, operation: str, params: Any) -> Any:
        calls[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return original(client, operation, params)

    base._make_api_call = counting
    try:
        yield
    finally:
        base._make_api_call = original


__all__ = ["EmbeddedAws", "Path", "emf_metrics", "load_events", "replay"]
