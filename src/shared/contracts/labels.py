"""What a workload account is: its Project and Environment, as its workload stack labels its
heartbeats (the fleet table keeps the latest per account and Region). Every alert about an
account carries them, and its Environment sets how loud the alert is."""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "unknown"  # what a workload stack without the parameter sends


@dataclass(frozen=True, slots=True)
class Labels:
    project: str | None = None
    environment: str | None = None
    account_name: str | None = None  # its IAM alias, from its inventory snapshots

    @classmethod
    def of(
        cls, project: str | None, environment: str | None, account_name: str | None = None
    ) -> Labels:
        def known(value: str | None) -> str | None:
            value = (value or "").strip()
            return None if not value or value == UNKNOWN else value[:64]

        return cls(known(project), known(environment), known(account_name))
