"""What a workload account is: its Project and Environment, as its workload stack labels its
heartbeats (the fleet table keeps the latest per account and Region). Every alert about an
account carries them, and its Environment sets how loud the alert is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

UNKNOWN = "unknown"  # what a workload stack without the parameter sends
CACHED_SECONDS = 300  # labels change with a stack update: minutes of staleness are harmless
CACHED_ACCOUNTS = 1_000


@dataclass(frozen=True, slots=True)
class Labels:
    project: str | None = None
    environment: str | None = None

    @classmethod
    def of(cls, project: str | None, environment: str | None) -> Labels:
        def known(value: str | None) -> str | None:
            value = (value or "").strip()
            return None if not value or value == UNKNOWN else value[:64]

        return cls(known(project), known(environment))


class AccountLabels(Protocol):
    """An account's labels in one Region (`adapters.dynamodb.FleetTable`: its heartbeat record);
    None when it never sent a heartbeat there."""

    def labels(self, account: str, region: str) -> Labels | None: ...


class CachedLabels:
    """Labels read at most once per account, Region and CACHED_SECONDS (a lookup per alert
    otherwise; a storm is many alerts about one account)."""

    kept: dict[tuple[str, str], tuple[float, Labels]]

    def __init__(self, source: AccountLabels, clock: Callable[[], float]) -> None:
        self.source, self.clock = source, clock
        self.kept = {}

    def labels(self, account: str, region: str) -> Labels | None:
        now = self.clock()
        found = self.kept.get((account, region))
        if found is not None and found[0] > now:
            return found[1]
        if len(self.kept) >= CACHED_ACCOUNTS:
            self.kept.clear()
        labels = self.source.labels(account, region)
        if labels is not None:  # an account not heard yet may be any minute: asked again
            self.kept[(account, region)] = (now + CACHED_SECONDS, labels)
        return labels
