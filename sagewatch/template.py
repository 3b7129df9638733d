"""Read template.yaml (with its CloudFormation tags) so the embedded AWS and the tests use the
template's own rule patterns and settings, never a copy of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
WORKLOAD_TEMPLATE = ROOT / "workload-template.yaml"
EVENTS = ROOT / "events"


class _CfnLoader(yaml.SafeLoader):
    """`!Ref X` → {"Ref": "X"}, `!GetAtt A.B` → {"Fn::GetAtt": ["A", "B"]}, `!Sub` → {"Fn::Sub"}…"""


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


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as stream:
        document = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return document


@dataclass(frozen=True)
class BusRule:
    logical_id: str
    pattern: dict[str, Any]
    targets: tuple[str, ...]  # logical ids of the target resources


def _target_id(arn: Any) -> str:
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    if isinstance(arn, dict) and "Ref" in arn:
        return str(arn["Ref"])
    raise ValueError(f"unsupported target Arn {arn!r}")


def resolve(value: Any, refs: dict[str, str], template: dict[str, Any] | None = None) -> Any:
    """Replace `{"Ref": name}` with refs[name] (KeyError if unknown), resolve `Fn::FindInMap`,
    `Fn::Join`, `Fn::Split`, `Fn::Select` and `Fn::If`, and `Fn::GetAtt` and `Fn::Sub` where
    refs know every name ("Resource.Attribute" for an attribute), everywhere in value."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return refs[value["Ref"]]
        if set(value) == {"Fn::FindInMap"}:
            mapping, key, attribute = value["Fn::FindInMap"]
            return (template or load())["Mappings"][mapping][key][attribute]
        if set(value) == {"Fn::Sub"}:
            text, variables = (
                value["Fn::Sub"] if isinstance(value["Fn::Sub"], list) else (value["Fn::Sub"], {})
            )
            names = refs | {k: str(resolve(v, refs, template)) for k, v in variables.items()}
            wanted = re.findall(r"\$\{([^}!]+)\}", text)
            if not all(name in names for name in wanted):
                return value  # left as is unless refs know every name
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(names[m[1]]), text)
        if set(value) == {"Fn::GetAtt"}:  # left as is unless refs know it
            return refs.get(".".join(value["Fn::GetAtt"]), value)
        if set(value) == {"Fn::Join"}:
            separator, items = value["Fn::Join"]
            items = resolve(items, refs, template)  # a list parameter's ref is its text
            return separator.join(items.split(",") if isinstance(items, str) else map(str, items))
        if set(value) == {"Fn::Split"}:
            separator, text = value["Fn::Split"]
            text = resolve(text, refs, template)
            return text.split(separator) if isinstance(text, str) else value
        if set(value) == {"Fn::Select"}:
            index, items = value["Fn::Select"]
            items = resolve(items, refs, template)
            return items[int(index)] if isinstance(items, list) else value
        if set(value) == {"Fn::If"}:
            condition, when_true, when_false = value["Fn::If"]
            chosen = when_true if _condition(condition, refs, template or load()) else when_false
            return resolve(chosen, refs, template)
        return {k: resolve(v, refs, template) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs, template) for v in value]
    return value


def _condition(name: str, refs: dict[str, str], template: dict[str, Any]) -> bool:
    return holds(template["Conditions"][name], refs, template)


def holds(expression: Any, refs: dict[str, str], template: dict[str, Any] | None = None) -> bool:
    """A condition or rule assertion built from Equals, Not, And, Or and Condition over
    parameters."""
    document = template or load()

    def evaluate(node: Any) -> Any:
        if isinstance(node, dict):
            ((function, argument),) = node.items()
            if function == "Fn::Equals":
                left, right = (evaluate(a) for a in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not evaluate(argument[0])
            if function == "Fn::And":
                return all(evaluate(a) for a in argument)
            if function == "Fn::Or":
                return any(evaluate(a) for a in argument)
            if function == "Condition":
                return evaluate(document["Conditions"][argument])
            if function == "Fn::Join":
                separator, items = argument
                return separator.join(str(i) for i in evaluate(items))
            return resolve(node, refs, document)
        return node

    return bool(evaluate(expression))


def failed_rules(parameters: dict[str, str], template: dict[str, Any] | None = None) -> list[str]:
    """The AssertDescription of every template rule these parameter values break (CloudFormation
    refuses such a deploy with that text)."""
    document = template or load()
    refs = parameter_defaults(document) | parameters
    return [
        assertion["AssertDescription"]
        for rule in document.get("Rules", {}).values()
        if "RuleCondition" not in rule or holds(rule["RuleCondition"], refs, document)
        for assertion in rule["Assertions"]
        if not holds(assertion["Assert"], refs, document)
    ]


def bus_rules(account: str, template: dict[str, Any] | None = None) -> list[BusRule]:
    """Rules on the sagewatch bus, patterns resolved for `account`, with their target resources."""
    resources = (template or load())["Resources"]
    rules = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        props = resource["Properties"]
        if props.get("EventBusName") != {"Ref": "EventBus"}:
            continue
        targets = tuple(_target_id(t["Arn"]) for t in props.get("Targets", []))
        pattern = resolve(props["EventPattern"], {"AWS::AccountId": account})
        rules.append(BusRule(logical_id, pattern, targets))
    return rules


def parameter_defaults(template: dict[str, Any] | None = None) -> dict[str, str]:
    params = (template or load())["Parameters"]
    return {name: str(spec.get("Default", "")) for name, spec in params.items()}


def function_environment(
    logical_id: str, refs: dict[str, str], template: dict[str, Any] | None = None
) -> dict[str, str]:
    """A function's environment (Globals merged), references resolved with `refs`."""
    document = template or load()
    merged = dict(
        document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    merged.update(
        document["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    )
    return {name: str(resolve(value, refs, document)) for name, value in merged.items()}


def handler_of(logical_id: str, template: dict[str, Any] | None = None) -> str:
    return str((template or load())["Resources"][logical_id]["Properties"]["Handler"])
