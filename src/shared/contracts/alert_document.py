"""The alert document: the one allow-list of what may leave the monitoring account in an alert
(SNS: email, chat, queues, HTTPS). Anything not listed is dropped."""

from __future__ import annotations

from typing import Any, TypedDict


class AlertDocument(TypedDict):
    """The `sagewatch.alert/v1` document: every field that may leave the account in an alert
    (docs/alert.schema.json lists the same, a test holds them equal). Nothing else passes."""

    schema: str
    incident: str
    update: bool  # an update of an incident already alerted (same incident, same thread)
    thread_id: str
    kind: str
    severity: str
    account: str
    region: str
    resource_type: str
    name: str
    status: str
    headline: str
    reason: str | None
    team: str | None
    project: str | None  # the account's labels, from its workload stack (None: unknown)
    environment: str | None
    account_name: str | None  # the account's alias, from its inventory snapshots
    instance_type: str | None
    instance_count: int | None
    duration_seconds: float | None
    ended_at: str | None
    utilization: dict[str, float | None]
    waste: dict[str, Any] | None
    context: dict[str, str]
    links: dict[str, str]
    next_step: str
    subject: str
    text: str
    attributes: dict[str, str]


ALERT_FIELDS = frozenset(AlertDocument.__annotations__)
