"""`sagewatch redrive`: move dead-lettered events back to where they came from, after a fix.

Three dead-letter queues, three kinds of entries:
* enrichment DLQ: finished-job events the enricher parked (reason in message attributes), or that
  SQS moved after too many deliveries (no reason: the function crashed or timed out) → the
  enrichment queue.
* summary DLQ: burst windows whose summary could not be sent → the summary queue.
* target DLQ: the alerter's on-failure records (Lambda destination: the event and the error) →
  the alerter again, asynchronously; and events EventBridge could not deliver to a rule target
  (attributes RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE) → that target.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ENRICHMENT_DLQ, SUMMARY_DLQ, TARGET_DLQ = "enrichment-dlq", "summary-dlq", "target-dlq"
RUNNING_JOBS_DLQ = "running-jobs-dlq"
DEAD_LETTER_QUEUES = (ENRICHMENT_DLQ, SUMMARY_DLQ, TARGET_DLQ, RUNNING_JOBS_DLQ)


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str
    receipt_handle: str
    event_id: str | None
    reason: str
    # "enrichment", "summary", "running-jobs", "function:<arn>", or "" when it cannot move
    destination: str
    body: str  # what is sent back

    def summary(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "event_id": self.event_id,
            "reason": self.reason,
            "destination": self.destination or "not redriven",
        }


def _attribute(message: Mapping[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name, {})
    return value.get("StringValue") if isinstance(value, Mapping) else None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # a parked body can be anything, nested at any depth
        return None


def describe(
    queue: str,
    message: Mapping[str, Any],
    max_receives: int,
    destinations: Mapping[str, str] | None = None,
) -> DeadLetter:
    """What a dead-letter message is, why it failed, and where it would go back to
    (`destinations`: the queues a rule delivers to, by kind → URL)."""
    body, parsed = str(message["Body"]), _json(str(message["Body"]))
    common = {
        "queue": queue,
        "message_id": message["MessageId"],
        "receipt_handle": message["ReceiptHandle"],
    }
    event_id = parsed.get("id") if isinstance(parsed, dict) else None
    if queue == ENRICHMENT_DLQ:
        reason = _attribute(message, "reason") or (
            f"no reason recorded: moved by SQS after {max_receives} deliveries "
            "(the enricher crashed or timed out each time)"
        )
        return DeadLetter(
            **common, event_id=event_id, reason=reason, destination="enrichment", body=body
        )
    if queue == SUMMARY_DLQ:
        bucket = parsed.get("bucket") if isinstance(parsed, dict) else None
        # The summarizer parks a malformed message with its reason; SQS moves the rest.
        reason = _attribute(message, "reason") or "summary not sent after repeated attempts"
        return DeadLetter(
            **common, event_id=bucket, reason=reason, destination="summary", body=body
        )
    if queue == RUNNING_JOBS_DLQ:
        reason = _attribute(message, "reason") or (
            "no reason recorded: moved by SQS after repeated deliveries (the fleet function "
            "failed each time)"
        )
        return DeadLetter(
            **common, event_id=event_id, reason=reason, destination="running-jobs", body=body
        )
    if isinstance(parsed, dict) and "requestPayload" in parsed:  # Lambda on-failure record
        context, response = parsed.get("requestContext", {}), parsed.get("responsePayload") or {}
        request = parsed["requestPayload"]
        error = f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}".strip()
        return DeadLetter(
            **common,
            event_id=request.get("id") if isinstance(request, dict) else None,
            reason=f"{context.get('condition', 'failed')} after "
            f"{context.get('approximateInvokeCount', '?')} attempts: {error}",
            destination=f"function:{context.get('functionArn', '')}",
            body=json.dumps(request),
        )
    target = _attribute(message, "TARGET_ARN") or ""
    code = _attribute(message, "ERROR_CODE") or "undeliverable"
    reason = f"{code}: {_attribute(message, 'ERROR_MESSAGE') or ''}"
    service = target.split(":")[2] if target.count(":") >= 5 else ""
    destination = {"sqs": _queue_of(target, destinations or {}), "lambda": f"function:{target}"}
    return DeadLetter(
        **common,
        event_id=event_id,
        reason=reason.strip(),
        destination=destination.get(service, ""),
        body=body,
    )


def _queue_of(arn: str, destinations: Mapping[str, str]) -> str:
    """The kind of the queue a rule could not deliver to (its URL ends with the ARN's name);
    "" (not redriven) for a queue this stack does not know."""
    name = arn.rsplit(":", 1)[-1]
    return next((kind for kind, url in destinations.items() if url.endswith(f"/{name}")), "")


class Redriver:
    def __init__(
        self,
        sqs: Any,
        dead_letter_queues: Mapping[str, str],
        destination_queues: Mapping[str, str],
        invoke_async: Callable[[str, str], object],
        max_receives: int,
    ) -> None:
        self.sqs = sqs
        self.dead_letter_queues = dead_letter_queues  # kind → URL
        self.destination_queues = destination_queues  # "enrichment", "summary"... → URL
        self.invoke_async = invoke_async  # (function ARN, payload JSON)
        self.max_receives = max_receives

    def letters(self) -> list[DeadLetter]:
        """Every dead letter, left in place."""
        found = []
        for kind, url in self.dead_letter_queues.items():
            messages = self.receive_all(url)
            found += [
                describe(kind, m, self.max_receives, self.destination_queues) for m in messages
            ]
            self.release(url, messages)
        return found

    def redrive(self, letters: Iterable[DeadLetter]) -> dict[str, int]:
        moved = kept = 0
        for letter in letters:
            if not letter.destination:
                kept += 1
                continue
            if letter.destination.startswith("function:"):
                self.invoke_async(letter.destination.removeprefix("function:"), letter.body)
            else:
                self.sqs.send_message(
                    QueueUrl=self.destination_queues[letter.destination], MessageBody=letter.body
                )
            self._delete(letter)
            moved += 1
        return {"moved": moved, "kept": kept}

    def receive_all(self, url: str) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=120,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                return list(seen.values())
            seen.update((m["MessageId"], m) for m in fresh)

    def release(self, url: str, messages: Iterable[Mapping[str, Any]]) -> None:
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    def _delete(self, letter: DeadLetter) -> None:
        self.sqs.delete_message(
            QueueUrl=self.dead_letter_queues[letter.queue], ReceiptHandle=letter.receipt_handle
        )


def stack_outputs(stack: str, region: str | None = None) -> dict[str, str]:
    import boto3

    cloudformation = boto3.session.Session(region_name=region).client("cloudformation")
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def from_stack(stack: str, region: str | None = None) -> Redriver:
    """A Redriver for a deployed monitoring stack, from its outputs."""
    import boto3

    from sagewatch import template as cfn

    outputs = stack_outputs(stack, region)
    session = boto3.session.Session(region_name=region)
    lambda_client = session.client("lambda")
    return Redriver(
        session.client("sqs"),
        {
            ENRICHMENT_DLQ: outputs["EnrichmentDeadLetterQueueUrl"],
            SUMMARY_DLQ: outputs["SummaryDeadLetterQueueUrl"],
            TARGET_DLQ: outputs["TargetDeadLetterQueueUrl"],
            RUNNING_JOBS_DLQ: outputs["RunningJobsDeadLetterQueueUrl"],
        },
        {
            "enrichment": outputs["EnrichmentQueueUrl"],
            "summary": outputs["SummaryQueueUrl"],
            "running-jobs": outputs["RunningJobsQueueUrl"],
        },
        lambda arn, body: lambda_client.invoke(
            FunctionName=arn, InvocationType="Event", Payload=body.encode()
        ),
        int(cfn.load()["Mappings"]["Limits"]["Enrichment"]["MaxReceives"]),
    )
