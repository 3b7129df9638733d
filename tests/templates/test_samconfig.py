"""Every named environment of samconfig.toml deploys template.yaml as shipped: its parameter
values meet the template's constraints, its stack and bus names do not collide with another
environment's, and what it leaves to the user is asked for with the template's own words."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from sagewatch import template as cfn

CONFIG = tomllib.loads((cfn.ROOT / "samconfig.toml").read_text())
ENVIRONMENTS = sorted(name for name in CONFIG if isinstance(CONFIG[name], dict))
PARAMETERS: dict[str, Any] = cfn.load()["Parameters"]


def overrides(environment: str) -> dict[str, str]:
    text = CONFIG[environment].get("deploy", {}).get("parameters", {}).get("parameter_overrides")
    return dict(item.split("=", 1) for item in shlex.split(text or ""))


def violations(name: str, value: str) -> list[str]:
    """What CloudFormation would reject in `value` for parameter `name`."""
    if name not in PARAMETERS:
        return [f"{name} is not a parameter of template.yaml"]
    spec = PARAMETERS[name]
    items = value.split(",") if spec["Type"] == "CommaDelimitedList" else [value]
    problems = []
    for item in items:
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, item):
            problems.append(f"{name}={item!r} does not match {pattern}")
        if "AllowedValues" in spec and item not in map(str, spec["AllowedValues"]):
            problems.append(f"{name}={item!r} is not one of {spec['AllowedValues']}")
        if spec["Type"] == "Number" and not (
            spec.get("MinValue", float("-inf")) <= float(item) <= spec.get("MaxValue", float("inf"))
        ):
            problems.append(f"{name}={item} is outside its range")
        if len(item) > spec.get("MaxLength", 4096):
            problems.append(f"{name} is longer than {spec['MaxLength']}")
    return problems


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_given_an_environment_when_its_parameters_are_checked_then_the_template_accepts_them(
    environment: str,
) -> None:
    problems = [p for k, v in overrides(environment).items() for p in violations(k, v)]

    assert problems == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_given_an_environment_without_accounts_when_deployed_then_refused_with_a_clear_word(
    environment: str,
) -> None:
    values = overrides(environment)

    assert "WorkloadAccountIds" not in values  # left to "sam deploy --guided"
    (refusal,) = cfn.failed_rules(values)
    assert "WorkloadAccountIds" in refusal
    assert "--guided" in refusal
    assert cfn.failed_rules(values | {"WorkloadAccountIds": "111122223333"}) == []
    assert cfn.failed_rules(values | {"OrganizationPaths": "o-a1b2c3d4e5/r-ab12"}) == []


def test_given_all_environments_then_stack_and_bus_names_are_their_own() -> None:
    stacks = [CONFIG[e]["global"]["parameters"]["stack_name"] for e in ENVIRONMENTS]
    default_bus = PARAMETERS["EventBusName"]["Default"]
    buses = [overrides(e).get("EventBusName", default_bus) for e in ENVIRONMENTS]

    assert len(set(stacks)) == len(stacks) == len(ENVIRONMENTS) >= 2
    assert len(set(buses)) == len(buses)


def test_given_a_bad_value_when_checked_then_the_check_says_so() -> None:
    assert violations("OrganizationPaths", "o-example/r-example")  # what prod once shipped
    assert violations("LogLevel", "WARNING")
    assert violations("NoSuchParameter", "x")
    assert violations("IdleEndpointHours", "0")
