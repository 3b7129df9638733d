"""EventBridge: reports onto the sagewatch bus, refresh requests to workload accounts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.adapters.boto import Adapter
from shared.platform.errors import PublishError

PUT_EVENTS_MAX_ENTRIES = 10


class EventPublisher(Adapter):
    service = "events"

    def __init__(self, bus_name: str, events: Any = None) -> None:
        super().__init__(events)
        self.bus_name = bus_name

    def put(
        self,
        source: str,
        detail_type: str,
        details: Sequence[Mapping[str, Any]],
        at: datetime | None = None,
    ) -> list[int]:
        """PutEvents in chunks of ten, stamped `at` (the caller's clock; EventBridge's own when
        None); returns the indexes of entries that were not accepted."""
        stamp = {"Time": at} if at else {}
        failed: list[int] = []
        for offset in range(0, len(details), PUT_EVENTS_MAX_ENTRIES):
            chunk = details[offset : offset + PUT_EVENTS_MAX_ENTRIES]
            response = self.api.put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail, separators=(",", ":")),
                        "EventBusName": self.bus_name,
                    }
                    | stamp
                    for detail in chunk
                ]
            )
            if response.get("FailedEntryCount", 0):
                failed += [
                    offset + i
                    for i, entry in enumerate(response.get("Entries", []))
                    if entry.get("ErrorCode")
                ]
        return failed


class RefreshRequester(Adapter):
    """Asks workload accounts for a fresh inventory. EventBridge delivers to another account's
    bus through rule targets (with a role), not through PutEvents naming that bus: so this keeps
    rules on our own bus whose targets are the known accounts' default buses (five per rule, the
    EventBridge limit), then puts one request on our bus. Each workload's bus policy lets this
    account put exactly that event."""

    service = "events"
    TARGETS_PER_RULE = 5

    def __init__(self, bus_name: str, role_arn: str, rule_prefix: str, events: Any = None) -> None:
        super().__init__(events)
        self.bus_name, self.role_arn, self.rule_prefix = bus_name, role_arn, rule_prefix
        self.account = role_arn.split(":")[4]  # this (the monitoring) account: the role's own

    def request(
        self, targets: Sequence[tuple[str, str]], detail: Mapping[str, Any], source: str, kind: str
    ) -> None:
        # `account`: a workload account may put any event on our bus, and must not be able to
        # fan a forged request out to every other account.
        pattern = {"source": [source], "detail-type": [kind], "account": [self.account]}
        self._sync(sorted(targets), pattern)
        response = self.api.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": kind,
                    "Detail": json.dumps(dict(detail)),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise PublishError(f"refresh request not accepted: {response.get('Entries')}")

    def _sync(self, targets: Sequence[tuple[str, str]], pattern: dict[str, list[str]]) -> None:
        """Rules <prefix>-000, -001, ... with the targets in order; surplus rules removed."""
        chunks = [
            targets[i : i + self.TARGETS_PER_RULE]
            for i in range(0, len(targets), self.TARGETS_PER_RULE)
        ]
        for index, chunk in enumerate(chunks):
            name = f"{self.rule_prefix}-{index:03d}"
            self.api.put_rule(
                Name=name, EventBusName=self.bus_name, EventPattern=json.dumps(pattern)
            )
            wanted = {f"{account}-{region}": (account, region) for account, region in chunk}
            current = self.api.list_targets_by_rule(Rule=name, EventBusName=self.bus_name)
            stale = [t["Id"] for t in current.get("Targets", []) if t["Id"] not in wanted]
            if stale:
                self.api.remove_targets(Rule=name, EventBusName=self.bus_name, Ids=stale)
            response = self.api.put_targets(
                Rule=name,
                EventBusName=self.bus_name,
                Targets=[
                    {
                        "Id": target_id,
                        "Arn": default_bus_arn(account, region),
                        "RoleArn": self.role_arn,
                        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 900},
                    }
                    for target_id, (account, region) in wanted.items()
                ],
            )
            if response.get("FailedEntryCount"):  # reported, not raised, by PutTargets
                raise PublishError(f"refresh targets rejected: {response.get('FailedEntries')}")
        index = len(chunks)
        while True:  # fewer accounts than before: drop the rules no longer needed
            name = f"{self.rule_prefix}-{index:03d}"
            try:
                current = self.api.list_targets_by_rule(Rule=name, EventBusName=self.bus_name)
            except self.api.exceptions.ResourceNotFoundException:
                return
            ids = [t["Id"] for t in current.get("Targets", [])]
            if ids:
                self.api.remove_targets(Rule=name, EventBusName=self.bus_name, Ids=ids)
            self.api.delete_rule(Name=name, EventBusName=self.bus_name)
            index += 1


def default_bus_arn(account: str, region: str) -> str:
    partition = (
        "aws-cn"
        if region.startswith("cn-")
        else "aws-us-gov"
        if region.startswith("us-gov-")
        else "aws"
    )
    return f"arn:{partition}:events:{region}:{account}:event-bus/default"
