"""What a workload account is: its Project and Environment, as its workload stack labels its
heartbeats (the fleet table keeps the latest per account and Region), its name, and which team
owns its endpoints and pipelines. Every alert about an account carries them, and its Environment
sets how loud the alert is."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

UNKNOWN = "unknown"  # what a workload stack without the parameter sends

# The resources whose owning team an inventory snapshot names (their events carry no tags, or
# none arrive: pipelines, idle endpoints, the ML platform's automation); at most MAX_OWNED of
# each kind.
OWNED_KINDS = ("endpoint", "pipeline", "state-machine", "codepipeline", "codebuild")
MAX_OWNED = 100


def owned(kind: str, name: str) -> str:
    """The key of a resource's team (SageMaker names are unique whatever their case, and its
    endpoint ARNs lower-case; two automation resources whose names differ only in case share
    theirs)."""
    return f"{kind}/{name.lower()}"


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

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Labels:
        """From the account's heartbeat record in the fleet table."""
        return cls.of(record.get("project"), record.get("environment"), record.get("account_name"))


def teams_from_record(text: Any) -> dict[str, str]:
    """Teams as the inventory record keeps them (JSON text, validated when written); {} if
    unreadable."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
