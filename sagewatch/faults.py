"""Fault injection for the embedded AWS: `--faults SPEC`.

Faults are injected at the HTTP layer, in front of moto (its `before-send` stubber), so the
request never reaches the fake service and the SDK's own retry logic sees the fault exactly as it
would see AWS's: a throttle or a 5xx is retried with backoff by botocore, and only what is left
after the SDK's attempts reaches our code.

SPEC is a comma-separated list of `TARGET=KIND[:COUNT][@AFTER]`:
  TARGET  `service` or `service.Operation`, named as in `replay --json` "calls"
          (e.g. `cloudwatch.GetMetricData`, `sns.Publish`, `dynamodb`, `events.PutEvents`)
  KIND    `throttle` (400 Throttling), `5xx` (500 InternalFailure), `unavailable` (connection
          closed), `crash` (the function dies at that call, as on a timeout or OOM),
          `partial` (PutEvents answers 200 with every entry failed: FailedEntryCount)
  COUNT   how many HTTP attempts fail before the service recovers (default: every attempt)
  AFTER   how many attempts succeed before the faults start (default 0)
Example: `cloudwatch.GetMetricData=throttle:3,sns.Publish=5xx:7,events.PutEvents=crash:1@2`
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ConnectionClosedError
from moto.core.botocore_stubber import MockRawResponse

from sagewatch import moto_patches

KINDS = ("throttle", "5xx", "unavailable", "crash", "partial")
# `before-send` events name services by their hyphenized service id, not the client name.
_SERVICE_IDS = {"events": "eventbridge", "logs": "cloudwatch-logs"}


class InjectedCrash(RuntimeError):
    """The function died mid-invocation (timeout, out of memory)."""


@dataclass
class Fault:
    service: str
    operation: str | None
    kind: str
    remaining: int | None  # None: fails on every attempt
    after: int = 0  # attempts that still succeed first

    def matches(self, service_id: str, operation: str) -> bool:
        return service_id == _SERVICE_IDS.get(self.service, self.service) and (
            self.operation is None or self.operation == operation
        )

    def strikes(self) -> bool:
        """Called for each matching attempt: does this one fail?"""
        if self.after > 0:
            self.after -= 1
            return False
        if self.remaining == 0:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


def parse_spec(spec: str) -> list[Fault]:
    faults = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        target, sep, rest = item.partition("=")
        rest, _, after = rest.partition("@")
        kind, _, count = rest.partition(":")
        if not sep or not target or kind not in KINDS:
            kinds = ", ".join(KINDS)
            raise ValueError(
                f"bad fault {item!r}: expected TARGET=KIND[:COUNT], KIND one of {kinds}"
            )
        if count and (not count.isdigit() or int(count) < 1):
            raise ValueError(f"bad fault {item!r}: COUNT must be a positive whole number")
        if after and not after.isdigit():
            raise ValueError(f"bad fault {item!r}: AFTER must be a whole number")
        service, _, operation = target.partition(".")
        remaining = int(count) if count else None
        faults.append(Fault(service.lower(), operation or None, kind, remaining, int(after or 0)))
    return faults


@dataclass
class FaultInjector:
    faults: list[Fault] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)

    def before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        parts = [*event_name.split("."), "", ""]
        service_id, operation = parts[1], parts[2]
        for fault in self.faults:
            if fault.matches(service_id, operation) and fault.strikes():
                self.injected[f"{fault.service}.{operation}={fault.kind}"] += 1
                return _respond(fault.kind, request)
        return None


def _respond(kind: str, request: Any) -> AWSResponse:
    if kind == "unavailable":
        raise ConnectionClosedError(endpoint_url=request.url)
    if kind == "crash":
        raise InjectedCrash(f"injected crash at {request.url}")
    if kind == "partial":  # PutEvents' own partial-failure answer
        entries = json.dumps(
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}],
            }
        )
        return AWSResponse(
            request.url,
            200,
            _headers({"Content-Type": "application/x-amz-json-1.1"}),
            MockRawResponse(entries),
        )
    status, code = (400, "Throttling") if kind == "throttle" else (500, "InternalFailure")
    body, headers = _error_body(request, code)
    return AWSResponse(request.url, status, _headers(headers), MockRawResponse(body))


def _headers(values: dict[str, str]) -> HTTPHeaders:
    headers = HTTPHeaders()
    for name, value in values.items():
        headers[name] = value
    return headers


def _error_body(request: Any, code: str) -> tuple[bytes, dict[str, str]]:
    """An error in the protocol the request used, so botocore parses the code as from AWS."""
    raw_type = request.headers.get("Content-Type", "")
    content_type = raw_type.decode() if isinstance(raw_type, bytes) else str(raw_type)
    message = "injected by sagewatch --faults"
    if "cbor" in content_type or request.headers.get("smithy-protocol"):
        pairs = (("__type", code), ("message", message))
        body = bytes([0xA0 + len(pairs)]) + b"".join(
            _cbor_text(k) + _cbor_text(v) for k, v in pairs
        )
        return body, {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    if "json" in content_type:
        return json.dumps({"__type": code, "message": message}).encode(), {
            "Content-Type": content_type,
            "x-amzn-ErrorType": code,
        }
    xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
    )
    return xml.encode(), {"Content-Type": "text/xml"}


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 24:
        return bytes([0x60 + len(raw)]) + raw
    return bytes([0x78, len(raw)]) + raw


# The active injector answers before moto: see moto_patches.answer_before_moto.
_ACTIVE = moto_patches.BEFORE_MOTO


@contextlib.contextmanager
def injecting(injector: FaultInjector) -> Iterator[FaultInjector]:
    """Faults on, and the SDK's retry back-off sleeps skipped (embedded time does not pass)."""
    import botocore.endpoint

    endpoint: Any = botocore.endpoint

    class _NoSleep:
        def __getattr__(self, name: str) -> Any:
            import time

            return (lambda seconds: None) if name == "sleep" else getattr(time, name)

    real_time = endpoint.time
    endpoint.time = _NoSleep()
    _ACTIVE.append(injector)
    try:
        yield injector
    finally:
        _ACTIVE.remove(injector)
        endpoint.time = real_time
