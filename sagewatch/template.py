"""The one reader of the templates: load them (with their CloudFormation tags), expand SAM's
resources with SAM's own translator, and evaluate CloudFormation's conditions and intrinsics for
given values, so that the embedded AWS, the dashboard preview, the generator and the tests all use
the templates' own rules, patterns and settings, never a copy of them.

`Resolver` is the evaluator; the functions below it (`resolve`, `holds`, `bus_rules`,
`function_environment`, ...) are the questions the rest of sagewatch asks of it.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
WORKLOAD_TEMPLATE = ROOT / "workload-template.yaml"
EVENTS = ROOT / "events"


# ---- reading -----------------------------------------------------------------------------------


# A base chosen at import (PyYAML built without libyaml has no CSafeLoader): mypy cannot type it.
class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """`!Ref X` → {"Ref": "X"}, `!GetAtt A.B` → {"Fn::GetAtt": ["A", "B"]}, `!Sub` → {"Fn::Sub"}…
    (libyaml's parser where PyYAML has it: a tenth of the pure-Python one's time)"""


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":  # a condition reference inside Fn::And/Or/Not/If
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct)


def parse(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError("not a CloudFormation template")
    return document


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as written (SAM resources unexpanded). Shared: do not change it."""
    return parse(path.read_text())


# ---- SAM's translation -------------------------------------------------------------------------


class _NoManagedPolicyLookups:
    """samtranslator's ManagedPolicyLoader without IAM calls: its bundled map names every AWS
    managed policy, so nothing has to be fetched."""

    def load(self) -> dict[str, str]:
        return {}


_ARTIFACT_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")


def _packaged(template: Mapping[str, Any]) -> dict[str, Any]:
    """What `sam package` would upload: local artifact paths become S3 URIs, which is all the
    translator checks about them."""
    document = copy.deepcopy(dict(template))
    sections = [document.get("Globals", {}).get("Function", {})]
    sections += [r.get("Properties", {}) for r in document.get("Resources", {}).values()]
    for props in sections:
        for key in _ARTIFACT_PROPERTIES:
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = "s3://sagewatch-artifacts/package.zip"
    return document


@contextmanager
def _a_region() -> Iterator[None]:
    """The translator asks boto3 for a Region (to name the partition in ARNs); nothing is
    called. A process without one gets us-east-1 for the translation only."""
    unset = "AWS_DEFAULT_REGION" not in os.environ and "AWS_REGION" not in os.environ
    if unset:
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        yield
    finally:
        if unset:
            del os.environ["AWS_DEFAULT_REGION"]


def _translated(template: Mapping[str, Any]) -> str:
    if "Transform" not in template:
        return json.dumps(template)
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

    with _a_region():
        return json.dumps(transform(_packaged(template), {}, _NoManagedPolicyLookups()))


@cache
def _deployed_text(path: Path) -> str:
    return _translated(load(path))


def translate(template: Mapping[str, Any]) -> dict[str, Any]:
    """A loaded template as CloudFormation receives it: SAM's resources expanded by SAM's own
    translator (function events become rules and permissions, Globals are merged, roles and
    policy templates written). A template without the transform is returned as it is. A copy."""
    document: dict[str, Any] = json.loads(_translated(template))
    return document


def deployed(path: Path = TEMPLATE) -> dict[str, Any]:
    """`translate(load(path))`, translated once per process. A fresh copy each call."""
    document: dict[str, Any] = json.loads(_deployed_text(path))
    return document


@cache
def _deployed_view(path: Path) -> dict[str, Any]:
    """deployed(path), shared by the readers below, which never change it."""
    return deployed(path)


def _deployed_or(template: Mapping[str, Any] | None) -> dict[str, Any]:
    return _deployed_view(TEMPLATE) if template is None else translate(template)


# ---- the evaluator -----------------------------------------------------------------------------


class Unsupported(Exception):
    """The template uses something this evaluator does not implement: a change it cannot follow
    fails loudly instead of being evaluated wrongly."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """(function, argument) when value is one intrinsic function call (or a Ref)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" or key.startswith("Fn::"):
            return key, argument
    return None


def placeholder(logical_id: str, attribute: str | None = None) -> str:
    """What a resource reference renders to when no value is given for it: stands in for an
    ARN or name the stack assigns."""
    return f"{{{{{logical_id}.{attribute}}}}}" if attribute else f"{{{{{logical_id}}}}}"


def _typed(spec: Mapping[str, Any] | None, value: Any) -> Any:
    """A parameter's value as CloudFormation holds it: list types are lists of text ("" is one
    empty item), given as a list or as comma-separated text; other types are text."""
    if spec is None:
        return value  # not a parameter: a pseudo parameter, a resource or an attribute
    kind = str(spec.get("Type", "String"))
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
        return items or [""]
    if not isinstance(value, str | int | float):
        raise TypeError(f"a {kind} parameter, given {value!r}")
    return str(value)


def parameter_values(
    template: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every parameter's value as deployed with `given`: defaults for the rest; a parameter
    without either, or a given name the template does not declare, is a KeyError."""
    declared = template.get("Parameters", {})
    unknown = set(given or {}) - set(declared)
    if unknown:
        raise KeyError(f"unknown parameters {sorted(unknown)}")
    values = {}
    for name, spec in declared.items():
        value = (given or {}).get(name, spec.get("Default"))
        if value is None:
            raise KeyError(f"parameter {name} has no value and no default")
        values[name] = _typed(spec, value)
    return values


class Resolver:
    """A template with values: decides its conditions and evaluates its intrinsics.

    `values` name parameters, pseudo parameters (`AWS::AccountId`...), and any resource
    (`Logical`) or attribute (`Logical.Attribute`) the caller knows the value of. A reference to
    a resource without a value renders as its `placeholder` ({{Logical.Attribute}}), or is a
    KeyError when `strict`; a Ref to a parameter without a value always is."""

    def __init__(
        self, template: Mapping[str, Any], values: Mapping[str, Any], *, strict: bool = False
    ) -> None:
        self.template = template
        declared = template.get("Parameters", {})
        self.values: dict[str, Any] = {k: _typed(declared.get(k), v) for k, v in values.items()}
        self.strict = strict
        self._conditions: dict[str, bool] = {}

    # -- conditions --

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self.decide(self.template["Conditions"][name])
        return self._conditions[name]

    def decide(self, expression: Any) -> bool:
        """A condition (or a rule's assertion) built from Equals, Not, And, Or and Condition."""
        if isinstance(expression, dict) and set(expression) in ({"Condition"}, {"Fn::Condition"}):
            return self.condition(next(iter(expression.values())))
        found = intrinsic(expression)
        if found is None:
            raise Unsupported(f"not a condition: {expression!r}")
        function, argument = found
        if function == "Fn::Equals":
            left, right = (self.resolve(a) for a in argument)
            return bool(_as_text(left) == _as_text(right))
        if function == "Fn::Not":
            return not self.decide(argument[0])
        if function == "Fn::And":
            return all(self.decide(a) for a in argument)
        if function == "Fn::Or":
            return any(self.decide(a) for a in argument)
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
        found = intrinsic(value)
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
            return self._resource(logical_id, str(self.resolve(attribute)))
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
            return self._resource(name, None)
        raise KeyError(f"Ref to {name}, which has no value")

    def _resource(self, logical_id: str, attribute: str | None) -> Any:
        name = f"{logical_id}.{attribute}" if attribute else logical_id
        if name in self.values:
            return self.values[name]
        if self.strict:
            raise KeyError(f"{name} has no value")
        return placeholder(logical_id, attribute)

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
                return _as_text(self._resource(*name.split(".", 1)))
            if name in self.template.get("Resources", {}):
                return _as_text(self._resource(name, None))
            raise KeyError(f"Fn::Sub variable {name} has no value")

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


# ---- what sagewatch asks of the templates ------------------------------------------------------


def resolve(value: Any, refs: Mapping[str, Any], template: Mapping[str, Any] | None = None) -> Any:
    """value with its intrinsics evaluated, `refs` naming parameters, pseudo parameters,
    resources and attributes ("Resource.Attribute"); a resource not in refs renders as its
    placeholder, a Ref to anything else not in refs is a KeyError. Conditions and mappings are
    the template's (template.yaml by default)."""
    return Resolver(load() if template is None else template, refs).resolve(value)


def holds(
    expression: Any, refs: Mapping[str, Any], template: Mapping[str, Any] | None = None
) -> bool:
    """A condition or rule assertion built from Equals, Not, And, Or and Condition."""
    return Resolver(load() if template is None else template, refs).decide(expression)


def condition(
    name: str, refs: Mapping[str, Any], template: Mapping[str, Any] | None = None
) -> bool:
    """The template's condition `name` for these values."""
    return Resolver(load() if template is None else template, refs).condition(name)


def failed_rules(
    parameters: Mapping[str, str], template: Mapping[str, Any] | None = None
) -> list[str]:
    """The AssertDescription of every template rule these parameter values break (CloudFormation
    refuses such a deploy with that text)."""
    document = load() if template is None else template
    resolver = Resolver(document, parameter_defaults(document) | dict(parameters))
    return [
        assertion["AssertDescription"]
        for rule in document.get("Rules", {}).values()
        if "RuleCondition" not in rule or resolver.decide(rule["RuleCondition"])
        for assertion in rule["Assertions"]
        if not resolver.decide(assertion["Assert"])
    ]


def parameter_defaults(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    params = (load() if template is None else template)["Parameters"]
    return {name: str(spec.get("Default", "")) for name, spec in params.items()}


@dataclass(frozen=True)
class BusRule:
    logical_id: str  # as deployed: a rule SAM writes for a function's event is <Function><Event>
    pattern: dict[str, Any]
    targets: tuple[str, ...]  # logical ids of the target resources


def _target_id(arn: Any) -> str:
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    if isinstance(arn, dict) and "Ref" in arn:
        return str(arn["Ref"])
    raise ValueError(f"unsupported target Arn {arn!r}")


def bus_rules(account: str, template: Mapping[str, Any] | None = None) -> list[BusRule]:
    """The rules on the sagewatch bus as deployed (those written as resources and those SAM
    writes for the functions' EventBridgeRule events), patterns resolved for `account`, with
    their target resources."""
    document = _deployed_or(template)
    resolver = Resolver(document, {"AWS::AccountId": account})
    rules = []
    for logical_id, resource in document["Resources"].items():
        props = resource.get("Properties", {})
        on_the_bus = props.get("EventBusName") == {"Ref": "EventBus"}
        if resource["Type"] != "AWS::Events::Rule" or not on_the_bus:
            continue
        targets = tuple(_target_id(t["Arn"]) for t in props.get("Targets", []))
        rules.append(BusRule(logical_id, resolver.resolve(props["EventPattern"]), targets))
    return rules


def function_events(template: Mapping[str, Any] | None = None) -> dict[str, tuple[str, str]]:
    """The rules SAM writes for the functions' EventBridgeRule and Schedule events, by logical
    id, each with its (function, event): SAM names the rule <function><event> and its permission
    <function><event>Permission (tests/templates hold this against the translation)."""
    document = load() if template is None else template
    return {
        function + event: (function, event)
        for function, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event, spec in resource["Properties"].get("Events", {}).items()
        if spec["Type"] in ("EventBridgeRule", "Schedule")
    }


def function_environment(
    logical_id: str, refs: Mapping[str, Any], template: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """A function's environment as deployed (SAM merges Globals), resolved with `refs`."""
    document = _deployed_or(template)
    variables = document["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    resolver = Resolver(document, refs)
    return {name: str(resolver.resolve(value)) for name, value in variables.items()}


def handler_of(logical_id: str, template: Mapping[str, Any] | None = None) -> str:
    return str(_deployed_or(template)["Resources"][logical_id]["Properties"]["Handler"])


def substitute(
    value: Any, names: Mapping[str, Any], template: Mapping[str, Any] | None = None
) -> str:
    """A string property (text or Fn::Sub) with every variable from `names`; one without a
    value is a KeyError (the dashboard and the saved queries must name nothing unknown)."""
    text = Resolver(load() if template is None else template, names, strict=True).resolve(value)
    if not isinstance(text, str):
        raise Unsupported(f"expected a string or Fn::Sub, got {value!r}")
    return text


def pseudo_parameters(
    account: str, region: str, stack: str = "sagewatch", stack_id: str = "id"
) -> dict[str, Any]:
    return {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/{stack_id}",
        "AWS::NotificationARNs": [],
    }
