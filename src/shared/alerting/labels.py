"""An account's labels, read at most once per account, Region and a few minutes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from shared.contracts.labels import Labels
from shared.ports import AccountLabels

CACHED_SECONDS = 300  # labels change with a stack update: minutes of staleness are harmless
CACHED_ACCOUNTS = 1_000

Value = TypeVar("Value")


class _Kept(Generic[Value]):
    """Values per account and Region, each kept CACHED_SECONDS (at most CACHED_ACCOUNTS)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.kept: dict[tuple[str, str], tuple[float, Value]] = {}

    def get(
        self, key: tuple[str, str], read: Callable[[], Value], keep: Callable[[Value], bool]
    ) -> Value:
        now = self.clock()
        found = self.kept.get(key)
        if found is not None and found[0] > now:
            return found[1]
        if len(self.kept) >= CACHED_ACCOUNTS:
            self.kept.clear()
        value = read()
        if keep(value):
            self.kept[key] = (now + CACHED_SECONDS, value)
        return value


class CachedLabels:
    """Labels read at most once per account, Region and CACHED_SECONDS (a lookup per alert
    otherwise; a storm is many alerts about one account)."""

    def __init__(self, source: AccountLabels, clock: Callable[[], float]) -> None:
        self.source = source
        self.kept_labels: _Kept[Labels | None] = _Kept(clock)
        self.kept_teams: _Kept[Mapping[str, str]] = _Kept(clock)

    def labels(self, account: str, region: str) -> Labels | None:
        # An account not heard yet may be any minute: asked again.
        return self.kept_labels.get(
            (account, region), lambda: self.source.labels(account, region), lambda v: v is not None
        )

    def teams(self, account: str, region: str) -> Mapping[str, str]:
        """Read only for alerts about endpoints and pipelines (their events carry no team)."""
        return self.kept_teams.get(
            (account, region), lambda: self.source.teams(account, region), lambda _: True
        )
