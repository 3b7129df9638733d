"""How many workload accounts `WorkloadAccountIds` can name, computed from the template as
deployed against the AWS limits it meets first; README's *Limits* states the same numbers."""

from __future__ import annotations

import json
import re
from typing import Any

from sagewatch.template import ROOT, Resolver, deployed, parameter_values

TEMPLATE = deployed()
README = (ROOT / "README.md").read_text()
PARAMETER_BYTES = 4_096  # a CloudFormation parameter value
ENVIRONMENT_BYTES = 4_096  # a Lambda function's variables, names and values together
BUS_POLICY_CHARACTERS = 10_240  # EventBridge's default quota (adjustable)
# Stand-in for what the stack assigns (table names, ARNs, URLs): longer than any of them gets,
# so the numbers below are safe lower bounds.
NAME = "x" * 100


def _accounts(n: int) -> list[str]:
    return [f"{100_000_000_000 + i:012d}" for i in range(n)]


def _resolved(value: Any, n: int) -> Any:
    values = parameter_values(TEMPLATE, {"WorkloadAccountIds": ",".join(_accounts(n)) or ""})
    values |= {"AWS::AccountId": "123456789012", "AWS::Region": "ap-southeast-2",
               "AWS::StackName": "sagewatch", "AWS::Partition": "aws"}  # fmt: skip
    rendered = json.dumps(Resolver(TEMPLATE, values).resolve(value))
    return json.loads(re.sub(r"\{\{[^}]*\}\}", NAME, rendered))


def _fleet_environment_bytes(n: int) -> int:
    function = next(
        r for r in TEMPLATE["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and "WORKLOAD_ACCOUNT_IDS" in r["Properties"].get("Environment", {}).get("Variables", {})
    )  # fmt: skip
    variables = _resolved(function["Properties"]["Environment"]["Variables"], n)
    return sum(len(k) + len(str(v)) for k, v in variables.items())


def _bus_policy_characters(n: int) -> int:
    """The statement as EventBridge keeps it: each account id becomes its root principal ARN."""
    policy = TEMPLATE["Resources"]["BusPolicyAccounts"]["Properties"]
    statement = _resolved(policy["Statement"], n) | {"Sid": policy["StatementId"]}
    statement["Principal"] = {"AWS": [f"arn:aws:iam::{a}:root" for a in _accounts(n)]}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return len(json.dumps(document, separators=(",", ":")))


def _most(fits: Any) -> int:
    n = 1
    while fits(n + 1):
        n += 1
    return n


def test_the_limits_on_workload_account_ids_are_those_readme_states() -> None:
    parameter = _most(lambda n: len(",".join(_accounts(n))) <= PARAMETER_BYTES)
    environment = _most(lambda n: _fleet_environment_bytes(n) <= ENVIRONMENT_BYTES)
    bus_policy = _most(lambda n: _bus_policy_characters(n) <= BUS_POLICY_CHARACTERS)

    assert parameter == 315
    stated = re.search(
        r"`WorkloadAccountIds` can name at most (\d+) accounts: the fleet function's 4 KB "
        r"environment \(the bus policy's 10,240 characters hold (\d+), the parameter's 4,096 "
        r"bytes (\d+)\)",
        " ".join(README.split()),
    )
    assert stated is not None
    assert [int(g) for g in stated.groups()] == [environment, bus_policy, parameter]
    assert environment < bus_policy < parameter
