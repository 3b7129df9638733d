"""Helpers for the template security tests: render a template for given parameter values, walk
its policy documents, and decide resource-policy requests with IAM semantics.

Deliberately small. It evaluates only the intrinsics and condition operators the templates use;
anything else raises `Unsupported`, so a template change the evaluator cannot follow fails the
tests loudly instead of being evaluated wrongly.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

from sagewatch.template import load

MONITORING_ACCOUNT = "999999999999"
REGION = "us-east-1"
PSEUDO: dict[str, Any] = {
    "AWS::AccountId": MONITORING_ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "sagewatch",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{MONITORING_ACCOUNT}:stack/sagewatch/id",
    "AWS::NotificationARNs": [],
}


class Unsupported(Exception):
    """The template uses something this evaluator does not implement."""


# ---- SAM -------------------------------------------------------------------------------------


class _NoManagedPolicyLookups:
    """samtranslator's ManagedPolicyLoader without IAM calls: its bundled map names every AWS
    managed policy, so nothing has to be fetched."""

    def load(self) -> dict[str, str]:
        return {}


_ARTIFACT_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")


def _packaged(template: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` would upload: local artifact paths become S3 URIs, which is all the
    translator checks about them."""
    document = copy.deepcopy(template)
    sections = [document.get("Globals", {}).get("Function", {})]
    sections += [r.get("Properties", {}) for r in document.get("Resources", {}).values()]
    for props in sections:
        for key in _ARTIFACT_PROPERTIES:
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = "s3://sagewatch-artifacts/package.zip"
    return document


@cache
def _sam_rendered(path: Path) -> str:
    template = load(path)
    if "Transform" not in template:
        return json.dumps(template)
    with pytest.MonkeyPatch.context() as patch:
        # The translator needs a Region for ARNs (partition "aws"); nothing is called.
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        rendered = transform(_packaged(template), {}, _NoManagedPolicyLookups())
    return json.dumps(rendered)


def sam_rendered(path: Path) -> dict[str, Any]:
    """The template as CloudFormation deploys it: SAM resources expanded by the real translator
    (generated function roles, policy templates, event source permissions). A fresh copy."""
    document: dict[str, Any] = json.loads(_sam_rendered(path))
    return document


# ---- rendering CloudFormation with parameter values -----------------------------------------


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" or key.startswith("Fn::"):
            return key, argument
    return None


def placeholder(logical_id: str, attribute: str | None = None) -> str:
    """What a resource reference renders to: stands in for an ARN/name the stack assigns."""
    return f"{{{{{logical_id}.{attribute}}}}}" if attribute else f"{{{{{logical_id}}}}}"


@dataclass
class Rendered:
    """A template with parameter values: decides conditions and resolves intrinsics."""

    template: dict[str, Any]
    parameters: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values: dict[str, Any] = dict(PSEUDO)
        for name, spec in self.template.get("Parameters", {}).items():
            given = self.parameters.get(name, spec.get("Default"))
            if given is None:
                raise KeyError(f"parameter {name} has no value and no default")
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                items = given.split(",") if isinstance(given, str) else [str(i) for i in given]
                self.values[name] = items or [""]  # CloudFormation: "" is one empty item
            elif not isinstance(given, str | int | float):
                raise TypeError(f"parameter {name} is a {kind}, got {given!r}")
            else:
                self.values[name] = str(given)
        unknown = set(self.parameters) - set(self.template.get("Parameters", {}))
        if unknown:
            raise KeyError(f"unknown parameters {sorted(unknown)}")
        self._conditions: dict[str, bool] = {}

    # -- conditions --

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._decide(self.template["Conditions"][name])
        return self._conditions[name]

    def _decide(self, expression: Any) -> bool:
        if isinstance(expression, dict) and set(expression) in ({"Condition"}, {"Fn::Condition"}):
            # `!Condition X` is {"Condition": "X"}; sagewatch.template.load spells it Fn::Condition.
            return self.condition(next(iter(expression.values())))
        found = _intrinsic(expression)
        if found is None:
            raise Unsupported(f"not a condition: {expression!r}")
        function, argument = found
        if function == "Fn::Equals":
            left, right = (self.resolve(a) for a in argument)
            return bool(_as_text(left) == _as_text(right))
        if function == "Fn::Not":
            return not self._decide(argument[0])
        if function == "Fn::And":
            return all(self._decide(a) for a in argument)
        if function == "Fn::Or":
            return any(self._decide(a) for a in argument)
        raise Unsupported(f"condition function {function}")

    def deployed(self, logical_id: str) -> bool:
        name = self.template["Resources"][logical_id].get("Condition")
        return name is None or self.condition(name)

    def resources(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Deployed resources of these types, in template order."""
        for logical_id, resource in self.template.get("Resources", {}).items():
            if resource.get("Type") in types and self.deployed(logical_id):
                yield logical_id, resource

    # -- values --

    def resolve(self, value: Any) -> Any:
        """value with every intrinsic evaluated; AWS::NoValue removes list items and keys."""
        found = _intrinsic(value)
        if found is not None:
            return self._evaluate(*found)
        if isinstance(value, dict):
            pairs = ((k, self.resolve(v)) for k, v in value.items())
            return {k: v for k, v in pairs if v is not NO_VALUE}
        if isinstance(value, list):
            items = (self.resolve(v) for v in value)
            return [v for v in items if v is not NO_VALUE]
        return value

    def _evaluate(self, function: str, argument: Any) -> Any:
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = (
                argument.split(".", 1) if isinstance(argument, str) else argument
            )
            return placeholder(logical_id, self.resolve(attribute))
        if function == "Fn::If":
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(name) else when_false)
        if function == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(_as_text(i) for i in _as_list(self.resolve(items)))
        if function == "Fn::Split":
            delimiter, text = argument
            return _as_text(self.resolve(text)).split(delimiter)
        if function == "Fn::Select":
            index, items = argument
            return _as_list(self.resolve(items))[int(self.resolve(index))]
        if function == "Fn::Sub":
            return self._sub(argument)
        if function == "Fn::FindInMap":
            mapping, first, second = (self.resolve(a) for a in argument[:3])
            return self.template["Mappings"][mapping][first][second]
        if function == "Fn::Base64":
            return base64.b64encode(_as_text(self.resolve(argument)).encode()).decode()
        if function == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        if function == "Fn::Length":
            return len(_as_list(self.resolve(argument)))
        raise Unsupported(f"intrinsic function {function}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.values:
            return self.values[name]
        if name in self.template.get("Resources", {}):
            return placeholder(name)
        raise KeyError(f"Ref to unknown {name}")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, raw = argument
            variables = {k: self.resolve(v) for k, v in raw.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stays ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_text(variables[name])
            if name in self.values:
                return _as_text(self.values[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return placeholder(logical_id, attribute)
            if name in self.template.get("Resources", {}):
                return placeholder(name)
            raise KeyError(f"Fn::Sub variable {name} is unknown")

        return _SUB_VARIABLE.sub(substitute, text)


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        raise Unsupported(f"a list where CloudFormation needs a string: {value!r}")
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Unsupported(f"a {type(value).__name__} where CloudFormation needs a list")
    return value


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
    found = _intrinsic(value)
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
