"""A storm-control window (version 1): the alerter counts failures of one kind per account and
Region in it, and hands it to the summarizer through the summary queue when the window fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from shared.domain.parser import load_body
from shared.domain.vocabulary import ResourceKind
from shared.platform.errors import InvalidEvent

_LAST_EPOCH_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last a datetime holds
SUMMARIZED_KINDS = ("failure", "unhealthy")  # the alert kinds storm control counts (AlertKind)


@dataclass(frozen=True, slots=True)
class StormWindow:
    """A storm-control window of one account, Region and kind of resource: the summary queue's
    message, and all a summary needs besides the window's record."""

    bucket: str  # the window's record in the ledger
    account: str
    region: str
    resource: ResourceKind
    window_start: int
    window_seconds: int
    failures: int = 0  # counted when this message was sent: "at least" that many failed
    version: int = 1
    scope: str = ""  # one resource's window (a HyperPod cluster's), not its kind's
    kind: str = "failure"  # the AlertKind its summary is

    @classmethod
    def of(
        cls,
        account: str,
        region: str,
        resource: ResourceKind,
        start: int,
        seconds: int,
        scope: str = "",
        kind: str = "failure",
    ) -> StormWindow:
        where = f"{resource.value}|{scope}" if scope else resource.value
        bucket = f"burst|{account}|{region}|{where}|{start}"
        return cls(bucket, account, region, resource, start, seconds, scope=scope, kind=kind)

    def message(self) -> dict[str, Any]:
        """The JSON object `parse` reads back (the summary queue's message body)."""
        return asdict(self) | {"resource": self.resource.value}

    @classmethod
    def parse(cls, raw: Any) -> StormWindow:
        """A message body (text) or its decoded object; `InvalidEvent` names what is wrong."""
        data = load_body(raw) if isinstance(raw, str) else raw
        if not isinstance(data, Mapping):
            raise InvalidEvent(f"storm window is a {type(data).__name__}, not an object")

        def number(key: str, low: int, high: int, default: int | None = None) -> int:
            value = data.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidEvent(f"storm window {key} is not a whole number {low}..{high}")
            return value

        def text(key: str, default: str | None = None) -> str:
            value = data.get(key, default)
            if not isinstance(value, str) or (not value and default is None) or len(value) > 1024:
                raise InvalidEvent(f"storm window {key} is missing or not a string")
            return value

        number("version", 1, 1, default=1)
        bucket, account = text("bucket"), text("account")
        if not bucket.startswith("burst|"):
            raise InvalidEvent("storm window bucket is not a burst window")
        try:
            resource = ResourceKind(text("resource"))
        except ValueError:
            raise InvalidEvent("storm window resource is not a kind of resource") from None
        kind = text("kind", default="failure")
        if kind not in SUMMARIZED_KINDS:
            raise InvalidEvent(f"storm window kind is not one of {', '.join(SUMMARIZED_KINDS)}")
        return cls(
            bucket=bucket,
            account=account,
            region=text("region"),
            resource=resource,
            window_start=number("window_start", 0, _LAST_EPOCH_SECOND),
            window_seconds=number("window_seconds", 1, 86_400),
            failures=number("failures", 0, 1_000_000, default=0),
            scope=text("scope", default=""),
            kind=kind,
        )
