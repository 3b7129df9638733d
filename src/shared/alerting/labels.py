"""An account's labels, read at most once per account, Region and a few minutes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shared.contracts.labels import Labels
from shared.ports import AccountLabels

CACHED_SECONDS = 300  # labels change with a stack update: minutes of staleness are harmless
CACHED_ACCOUNTS = 1_000


class CachedLabels:
    """Labels read at most once per account, Region and CACHED_SECONDS (a lookup per alert
    otherwise; a storm is many alerts about one account)."""

    kept: dict[tuple[str, str], tuple[float, Labels]]
    kept_teams: dict[tuple[str, str], tuple[float, Mapping[str, str]]]

    def __init__(self, source: AccountLabels, clock: Callable[[], float]) -> None:
        self.source, self.clock = source, clock
        self.kept, self.kept_teams = {}, {}

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

    def teams(self, account: str, region: str) -> Mapping[str, str]:
        """Read only for alerts about endpoints and pipelines (their events carry no team)."""
        now = self.clock()
        found = self.kept_teams.get((account, region))
        if found is not None and found[0] > now:
            return found[1]
        if len(self.kept_teams) >= CACHED_ACCOUNTS:
            self.kept_teams.clear()
        teams = self.source.teams(account, region)
        self.kept_teams[(account, region)] = (now + CACHED_SECONDS, teams)
        return teams
