"""The two hops moto cannot play, played in-process, and only these:

* Cross-account forwarding: EventBridge keeps the original envelope (account, id, time) when a
  workload account's rule forwards to this bus; moto's PutEvents would rewrite them.
  `forward_to_bus` hands the envelope to the bus's rules through moto's own pattern matching
  and targets.
* Lambda: functions run in-process. Rule targets that are functions deliver into a stand-in SQS
  queue; `LambdaPoller` invokes the function from it with Lambda's async retry and on-failure
  destination. The enrichment queue is drained in batches as Lambda's SQS poller would, with
  partial batch responses and the queue's real redrive policy, without waiting for its delay.
  The poller works on `Queues`: moto's (`SqsQueues`) or the in-memory stack's (memory.py).
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Protocol

from sagewatch import template as cfn
from sagewatch.embedded.observe import Observations, captured_output, counted_calls
from sagewatch.embedded.provision import (
    ACCOUNT,
    ASYNC_FUNCTIONS,
    FUNCTIONS,
    REGION,
    invocations_queue,
    queue_arn,
)
from sagewatch.faults import FaultInjector, injecting
from shared.domain.parser import parse_time
from shared.platform.clock import Clock

ENRICHER_BATCH_SIZE = 100
FLEET_BATCH_SIZE = 100  # the running jobs' queue
SUMMARIZER_BATCH_SIZE = 10
MAX_ROUNDS = 10_000  # a safety stop: each round moves at least one message


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


def handler_module(logical_id: str) -> tuple[ModuleType, str]:
    """The module of a function's handler, imported, and the handler's name in it."""
    module_name, name = cfn.handler_of(logical_id).rsplit(".", 1)
    return importlib.import_module(module_name), name


def _handler(function: str) -> Callable[[Any], Any]:
    """The function's handler as template.yaml names it, called with a context as Lambda's."""
    module, name = handler_module(FUNCTIONS[function])
    handler = getattr(module, name)
    return lambda event: handler(event, FakeLambdaContext(f"sagewatch-{function}"))


def reset_function_caches(clock: Clock) -> None:
    """Services are built anew on the next invocation, with `clock` where they take one."""
    from shared.adapters.boto import client

    client.cache_clear()
    for logical_id in FUNCTIONS.values():
        module, _ = handler_module(logical_id)
        if "clock" in vars(module):  # the handlers' seam
            vars(module)["clock"] = clock
        for cached in vars(module).values():
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()


def invoke_in_process(
    function: str, event: Any, observed: Observations, injector: FaultInjector
) -> Any:
    """One invocation in-process with `injector`'s faults, seen in `observed`: its output (EMF
    metrics, logs), its AWS calls and its result. The caller sets the function's environment."""
    handler = _handler(function)
    observed.invocations[function] += 1
    with captured_output() as output, counted_calls(observed.calls), injecting(injector):
        try:
            result = handler(event)
        finally:
            observed.collect(function, output.getvalue())
    observed.results.append({"function": function, "result": result})
    return result


def invoke_real(function: str, event: Any) -> dict[str, Any]:
    """Run a handler against real AWS with the caller's credentials and environment variables
    (the function fails fast naming any setting that is missing)."""
    calls: Counter[str] = Counter()
    with counted_calls(calls):
        result = _handler(function)(event)
    return {"result": result, "calls": dict(calls)}


def forwarded(raw: Any, clock: Clock, observed: Observations) -> dict[str, Any] | None:
    """The envelope a workload account's forwarding rule puts on the bus for `raw` (its own id,
    account and time kept), as moto's rules take it; None if the bus refuses it."""
    observed.events += 1
    if not isinstance(raw, dict):
        observed.rejected.append(
            {"event_id": None, "reason": f"not a JSON object ({type(raw).__name__})"}
        )
        return None
    envelope: dict[str, Any] = {
        "version": "0",
        "id": raw["id"] if "id" in raw else str(uuid.uuid4()),  # raw's own is merged below
        "account": ACCOUNT,
        "region": REGION,
        "resources": [],
    } | raw
    now = clock()
    when = parse_time(raw.get("time")) or datetime.fromtimestamp(now, UTC)
    envelope["time"] = when.timestamp()  # moto's targets render it back as ISO-8601
    envelope["ingestion-time"] = now  # moto's targets expect it
    return envelope


def forward_to_bus(bus_name: str, raw: Any, clock: Clock, observed: Observations) -> None:
    """Put one event on the bus as a workload account's forwarding rule would."""
    envelope = forwarded(raw, clock, observed)
    if envelope is None:
        return
    from moto.events.models import events_backends

    bus: Any = events_backends[ACCOUNT][REGION].event_buses[bus_name]
    for rule in list(bus.rules.values()):
        rule.send_to_targets(envelope, transform_input=False)  # moto's default drops "account"


class Queues(Protocol):
    """The SQS requests Lambda's poller makes, on a stack's queues (by name). A message is a
    ReceiveMessage answer's (MessageId, ReceiptHandle, Body, Attributes with "All")."""

    def receive(self, queue: str, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` visible messages (ten a request), in flight until deleted or released."""
        ...

    def delete(self, queue: str, message: Mapping[str, Any]) -> None: ...

    def release(self, queue: str, message: Mapping[str, Any]) -> None:
        """Visible again now instead of after the visibility timeout."""
        ...

    def send(self, queue: str, body: str) -> None: ...


class SqsQueues(Queues):
    """The stack's queues in moto, through an SQS client."""

    def __init__(self, sqs: Any, urls: Mapping[str, str]) -> None:
        self.sqs = sqs
        self.urls = urls

    def receive(self, queue: str, limit: int) -> list[dict[str, Any]]:
        messages = list[dict[str, Any]]()
        while len(messages) < limit:
            batch = self.sqs.receive_message(
                QueueUrl=self.urls[queue],
                MaxNumberOfMessages=min(10, limit - len(messages)),
                VisibilityTimeout=60,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages += batch
        return messages

    def delete(self, queue: str, message: Mapping[str, Any]) -> None:
        self.sqs.delete_message(QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"])

    def release(self, queue: str, message: Mapping[str, Any]) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    def send(self, queue: str, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.urls[queue], MessageBody=body)


class LambdaPoller:
    """Lambda's side of the queues: the SQS poller's batches and the async invocations, each
    through `invoke(function, event)`. The same for moto's queues and the in-memory ones."""

    def __init__(
        self,
        queues: Queues,
        async_attempts: int,
        invoke: Callable[[str, Any], Any],
        clock: Clock,
    ) -> None:
        self.queues = queues
        self.async_attempts = async_attempts
        self.invoke = invoke
        self.clock = clock

    def run(self) -> None:
        """Invoke functions until no queue has work left. Summaries of burst windows run when
        everything else is idle: that is when the (not waited for) window has passed."""
        for _ in range(MAX_ROUNDS):
            if (
                sum(map(self._drain_async, ASYNC_FUNCTIONS))
                + self._drain_batches("running-jobs", "fleet", FLEET_BATCH_SIZE)
                + self._drain_batches("enrichment", "enricher", ENRICHER_BATCH_SIZE)
            ):
                continue
            if not self._drain_batches("summary", "summarizer", SUMMARIZER_BATCH_SIZE):
                return
        raise RuntimeError(f"still busy after {MAX_ROUNDS} rounds")

    def _drain_batches(self, queue: str, function: str, batch_size: int) -> int:
        """One batch as Lambda's SQS poller delivers it, with partial batch responses."""
        messages = self.queues.receive(queue, batch_size)
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
                "eventSourceARN": queue_arn(queue),
                "awsRegion": REGION,
            }
            for m in messages
        ]
        try:
            response = self.invoke(function, {"Records": records})
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # the whole batch returns to the queue, as with Lambda
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failed:  # visible again now instead of after the timeout
                self.queues.release(queue, message)
            else:
                self.queues.delete(queue, message)
        return len(messages)

    def _drain_async(self, function: str) -> int:
        queue = invocations_queue(function)
        messages = self.queues.receive(queue, 10)
        for message in messages:
            self._invoke_async(function, json.loads(message["Body"]))
            self.queues.delete(queue, message)
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
        self.queues.send("target-dlq", json.dumps(record))
