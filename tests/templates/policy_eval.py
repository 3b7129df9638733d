"""Helpers for the template security tests: render a template for given parameter values, walk
its policy documents, and decide resource-policy requests with IAM semantics.

The template evaluator is sagewatch.template's `Resolver` (one for sagewatch and its tests). It
evaluates only the intrinsics and condition operators the templates use, and the IAM evaluation
here only the operators the policies use: anything else raises `Unsupported`, so a template change
neither can follow fails the tests loudly instead of being evaluated wrongly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagewatch.template import (
    NO_VALUE,
    Resolver,
    Unsupported,
    deployed,
    intrinsic,
    parameter_values,
    placeholder,
    pseudo_parameters,
)

MONITORING_ACCOUNT = "999999999999"
REGION = "us-east-1"
PSEUDO: dict[str, Any] = pseudo_parameters(MONITORING_ACCOUNT, REGION)
__all__ = ["NO_VALUE", "Unsupported", "placeholder"]  # the evaluator's, re-exported for tests


def sam_rendered(path: Path) -> dict[str, Any]:
    """The template as CloudFormation deploys it: SAM resources expanded by the real translator
    (generated function roles, policy templates, event source rules and permissions). A fresh
    copy."""
    return deployed(path)


class Rendered(Resolver):
    """A template deployed with these parameter values (defaults for the rest) in account
    MONITORING_ACCOUNT: sagewatch.template's evaluator, the one every part of sagewatch uses."""

    def __init__(
        self, template: dict[str, Any], parameters: Mapping[str, str | Sequence[str]] | None = None
    ) -> None:
        super().__init__(template, PSEUDO | parameter_values(template, parameters))


# ---- policy documents ------------------------------------------------------------------------


def as_document(value: Any) -> dict[str, Any]:
    """A rendered policy document; JSON text (e.g. built with Fn::Sub) is parsed."""
    document = json.loads(value) if isinstance(value, str) else value
    if not isinstance(document, dict):
        raise Unsupported(f"not a policy document: {value!r}")
    return document


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """Condition keys a statement tests, lower-case (IAM compares key names case-insensitively)."""
    block = statement.get("Condition") or {}
    return {key.lower() for keys in block.values() if isinstance(keys, dict) for key in keys}


def principal_is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in as_strings(principal.get("AWS"))


def alternatives(value: Any) -> list[Any]:
    """Every value an unrendered template expression can take: both branches of each Fn::If
    (AWS::NoValue dropped), list items flattened. Other intrinsics are returned as they are."""
    found = intrinsic(value)
    if found is not None and found[0] == "Fn::If":
        _, when_true, when_false = found[1]
        return alternatives(when_true) + alternatives(when_false)
    if found is not None and found == ("Ref", "AWS::NoValue"):
        return []
    if isinstance(value, list):
        return [option for item in value for option in alternatives(item)]
    return [value]


# ---- evaluating requests ---------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """An IAM principal of some account, optionally in an AWS Organizations OU."""

    account: str
    org_path: str | None = None  # e.g. "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111"
    name: str = "role/sagewatch-forwarder"

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:{self.name}"

    def context(self) -> dict[str, str | list[str]]:
        values: dict[str, str | list[str]] = {
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalArn": self.arn,
            "aws:PrincipalType": "AssumedRole",
            "aws:SecureTransport": "true",
        }
        if self.org_path:
            values["aws:PrincipalOrgID"] = self.org_path.split("/")[0]
            # As IAM reports it: the full path from the organization down, "/"-terminated.
            values["aws:PrincipalOrgPaths"] = [self.org_path.rstrip("/") + "/"]
        return values


@dataclass(frozen=True)
class Request:
    caller: Caller
    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)

    def value(self, key: str) -> str | list[str] | None:
        merged = {k.lower(): v for k, v in (self.caller.context() | dict(self.context)).items()}
        return merged.get(key.lower())


def _glob(pattern: str, *, case_sensitive: bool = True) -> re.Pattern[str]:
    """IAM wildcards: * any run of characters (including "/" and ":"), ? one character."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE)


def like(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return _glob(pattern, case_sensitive=case_sensitive).match(value) is not None


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        raise Unsupported(f"Principal {principal!r}")
    unknown = set(principal) - {"AWS", "Service", "Federated", "CanonicalUser"}
    if unknown:
        raise Unsupported(f"Principal keys {sorted(unknown)}")
    for entry in as_strings(principal.get("AWS")):
        if entry == "*" or entry == caller.arn:
            return True
        # An account id, or the account's root ARN, names every principal of that account.
        if entry in (caller.account, f"arn:aws:iam::{caller.account}:root"):
            return True
    return False  # service, federated and canonical-user principals are never an IAM caller


def _operator_matches(operator: str, policy_value: str, value: str) -> bool:
    if operator in ("StringEquals",):
        return policy_value == value
    if operator == "StringEqualsIgnoreCase":
        return policy_value.lower() == value.lower()
    if operator == "StringLike":
        return like(policy_value, value)
    # ArnEquals and ArnLike behave the same: wildcards allowed in every ARN segment.
    if operator in ("ArnEquals", "ArnLike"):
        return like(policy_value, value)
    if operator == "Bool":
        return policy_value.lower() == value.lower()
    raise Unsupported(f"condition operator {operator}")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, policy_values: list[str], request: Request) -> bool:
    value = request.value(key)
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base == "Null":
        return (value is None) == (policy_values[0].lower() == "true")
    negated = base in _NEGATED
    base = _NEGATED.get(base, base)
    values = [] if value is None else [value] if isinstance(value, str) else list(value)

    def matches(v: str) -> bool:
        hit = any(_operator_matches(base, p, v) for p in policy_values)
        return not hit if negated else hit

    if qualifier == "ForAnyValue":
        return any(matches(v) for v in values)  # no values: false
    if qualifier == "ForAllValues":
        return all(matches(v) for v in values)  # no values: true (IAM's documented trap)
    if qualifier:
        raise Unsupported(f"set operator {qualifier}")
    if value is None:
        return if_exists or negated
    if len(values) != 1:
        raise Unsupported(f"single-valued operator {operator} on multi-valued key {key}")
    return matches(values[0])


def _statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Principal" in statement:
        principal_hit = _principal_matches(statement["Principal"], request.caller)
    elif "NotPrincipal" in statement:
        principal_hit = not _principal_matches(statement["NotPrincipal"], request.caller)
    else:
        raise Unsupported("a resource policy statement without Principal")
    if not principal_hit:
        return False
    if "Action" in statement:
        actions = as_strings(statement["Action"])
        action_hit = any(like(a, request.action, case_sensitive=False) for a in actions)
    else:
        actions = as_strings(statement.get("NotAction"))
        action_hit = not any(like(a, request.action, case_sensitive=False) for a in actions)
    if not action_hit:
        return False
    if "Resource" in statement:
        resource_hit = any(like(r, request.resource) for r in as_strings(statement["Resource"]))
    elif "NotResource" in statement:
        resource_hit = not any(
            like(r, request.resource) for r in as_strings(statement["NotResource"])
        )
    else:
        resource_hit = True  # e.g. an EventBusPolicy statement may leave Resource out
    if not resource_hit:
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, policy_values in keys.items():
            if not _condition_holds(operator, key, as_strings(policy_values), request):
                return False
    return True


def is_allowed(policy_statements: Sequence[Mapping[str, Any]], request: Request) -> bool:
    """The resource policy's decision: an explicit Deny wins, then any Allow; else denied."""
    applying = [s for s in policy_statements if _statement_applies(s, request)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return False
    return any(s.get("Effect") == "Allow" for s in applying)
