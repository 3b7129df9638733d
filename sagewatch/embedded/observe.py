"""What the functions did: captured while they run (their output, EMF metrics and logs, every AWS
call they make), and read back from the embedded AWS (the archive, the alerts each subscriber
received, the reports, the dead letters), in the shape of `sagewatch replay --json`."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from sagewatch.embedded.provision import (
    ARCHIVE_LOG_GROUP,
    CHANNELS,
    REDRIVEN_QUEUES,
    Resources,
    capture_queue,
    invocations_queue,
)
from sagewatch.redrive import DEAD_LETTER_QUEUES, DeadLetter, Redriver
from shared.contracts.report import REPORT_DETAIL_TYPE, SAGEWATCH_SOURCE


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

    def collect(self, function: str, text: str) -> None:
        """A function's output: EMF records become metrics, other JSON lines logs."""
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if "_aws" in record:
                self.metrics += emf_metrics(record)
            else:
                self.logs.append({"function": function} | record)


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


@contextlib.contextmanager
def captured_output() -> Iterator[io.StringIO]:
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
def counted_calls(calls: Counter[str]) -> Iterator[None]:
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


class Outcome:
    """What happened, read back from the stack's log group and queues as a user would."""

    def __init__(
        self, client: Callable[[str], Any], resources: Resources, observed: Observations
    ) -> None:
        self.client = client
        self.resources = resources
        self.observed = observed

    def archived(self) -> list[dict[str, Any]]:
        logs, events = self.client("logs"), []
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=ARCHIVE_LOG_GROUP
        ):
            events += [json.loads(e["message"]) for e in page.get("events", [])]
        return events

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert in its three renderings, as the subscribers of each topic receive them."""
        return assemble_alerts({c: self._received(capture_queue(c)) for c in CHANNELS})

    def _received(self, queue: str) -> list[dict[str, Any]]:
        """The SNS notifications an SQS subscriber got (non-raw delivery: the SNS envelope)."""
        return [json.loads(message["Body"]) for message in self._peek(queue)]

    def reports(self, archived: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return reports_in(self.archived() if archived is None else archived)

    def redriver(self) -> Redriver:
        """`sagewatch redrive` wired to the embedded queues (functions: their stand-in queue)."""
        sqs, queues = self.client("sqs"), self.resources.queues
        return Redriver(
            sqs,
            {kind: queues[kind] for kind in DEAD_LETTER_QUEUES},
            {kind: queues[kind] for kind in REDRIVEN_QUEUES},
            lambda arn, body: sqs.send_message(
                QueueUrl=queues[
                    invocations_queue(arn.rsplit(":", 1)[-1].removeprefix("sagewatch-"))
                ],
                MessageBody=body,
            ),
            self.resources.enrichment_max_receives,
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        return dead_letter_summaries(self.observed, self.redriver().letters())

    def _peek(self, queue: str) -> list[dict[str, Any]]:
        """All messages of a queue, left in place."""
        redriver, url = self.redriver(), self.resources.queues[queue]
        messages = redriver.receive_all(url)
        redriver.release(url, messages)
        return messages

    def summary(self) -> dict[str, Any]:
        archived = self.archived()
        return summarize(
            self.observed, len(archived), self.alerts(), self.reports(archived), self.dead_letters()
        )


# ---- the shape of `sagewatch replay --json`, whichever stack the replay ran on ----------------


def assemble_alerts(received: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Alerts from the SNS notifications each rendering's subscriber got (`Subject`, `Message`,
    `MessageAttributes`), in publishing order of the JSON rendering."""
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


def is_report(event: Mapping[str, Any]) -> bool:
    return (
        event.get("source") == SAGEWATCH_SOURCE and event.get("detail-type") == REPORT_DETAIL_TYPE
    )


def reports_in(archived: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in archived if is_report(e)]


def dead_letter_summaries(
    observed: Observations, letters: Iterable[DeadLetter]
) -> list[dict[str, Any]]:
    """What the bus refused, then every dead-letter queue's letters."""
    rejected = [dict(r, queue="bus") for r in observed.rejected]
    return rejected + [letter.summary() for letter in letters]


def summarize(
    observed: Observations,
    archived: int,
    alerts: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    dead_letters: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "events": observed.events,
        "archived": archived,
        "invocations": dict(observed.invocations),
        "alerts": alerts,
        "reports": reports,
        "dead_letters": dead_letters,
        "metrics": observed.metrics,
        "calls": dict(sorted(observed.calls.items())),
    }
