"""`sagewatch onboard`: the exact command that deploys workload-template.yaml in one workload
account (no Organizations), built from the monitoring stack's outputs."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Onboarding:
    command: str
    parameters: dict[str, str]
    notes: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"command": self.command, "parameters": self.parameters, "notes": self.notes}


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


def _account_of(arn: str) -> str:
    return arn.split(":")[4]


def onboarding(
    outputs: Mapping[str, str],
    region: str,
    stack_name: str = "sagewatch-workload",
    labels: Mapping[str, str] | None = None,
    account: str | None = None,
    allowed_accounts: frozenset[str] | None = None,
) -> Onboarding:
    """The `sam deploy` command for a workload account in `region`, and what else to check."""
    if "EventBusArn" not in outputs:
        raise ValueError("the monitoring stack has no EventBusArn output: is it a sagewatch stack?")
    bus = outputs["EventBusArn"]
    parameters = {"MonitoringBusArn": bus}
    notes = []
    sink = outputs.get("OamSinkArn")
    if sink and _region_of(sink) == region:
        parameters["OamSinkIdentifier"] = sink
    elif sink:
        notes.append(
            f"no metrics link: the OAM sink is in {_region_of(sink)} and a link reaches a sink in "
            f"its own Region only (deploy a monitoring stack in {region} for utilization there)"
        )
    else:
        notes.append("no metrics link: the monitoring stack has no OAM sink (CreateOamSink)")
    if outputs.get("TeamTagKey"):  # the workload's inventory names endpoint and pipeline teams
        parameters["TeamTagKey"] = outputs["TeamTagKey"]
    parameters |= {key: value for key, value in (labels or {}).items() if value}
    if account and allowed_accounts is not None and account not in allowed_accounts:
        notes.append(
            f"account {account} is not in the monitoring stack's WorkloadAccountIds: add it (or "
            "its OU path to OrganizationPaths) and deploy the monitoring stack again first"
        )
    overrides = " ".join(shlex.quote(f"{key}={value}") for key, value in parameters.items())
    command = (
        f"sam deploy --template-file workload-template.yaml --stack-name {shlex.quote(stack_name)} "
        f"--region {shlex.quote(region)} --capabilities CAPABILITY_IAM "
        f"--no-fail-on-empty-changeset --parameter-overrides {overrides}"
    )
    notes.append(f"events go to {bus} (account {_account_of(bus)}, {_region_of(bus)})")
    return Onboarding(command, parameters, notes)


def allowed_by_bus_policy(policy_text: str | None) -> frozenset[str]:
    """Account ids a bus policy names as PutEvents principals (organization statements aside)."""
    accounts: set[str] = set()
    for statement in json.loads(policy_text or "{}").get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not {"events:PutEvents", "events:*"} & set(
            actions
        ):
            continue
        principal = statement.get("Principal", {})
        names = principal.get("AWS", []) if isinstance(principal, Mapping) else []
        for name in [names] if isinstance(names, str) else names:
            account = name.split(":")[4] if name.startswith("arn:") else name
            if account.isdigit():
                accounts.add(account)
    return frozenset(accounts)
