"""sagewatch.template's Resolver, the one evaluator of the templates (the embedded AWS, the
dashboard preview, the generator and these tests use it): CloudFormation's semantics where the
templates rely on them, and a loud failure where it cannot follow."""

from __future__ import annotations

from typing import Any

import pytest

from sagewatch.template import (
    NO_VALUE,
    Resolver,
    Unsupported,
    function_environment,
    parameter_defaults,
    parameter_values,
    placeholder,
    substitute,
)

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Accounts": {"Type": "CommaDelimitedList", "Default": ""},
        "Name": {"Type": "String", "Default": "bus"},
        "Required": {"Type": "String"},
    },
    "Conditions": {
        "HasAccounts": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "Accounts"}]}, ""]}]},
        "Both": {"Fn::And": [{"Condition": "HasAccounts"}, {"Fn::Equals": [{"Ref": "Name"}, "x"]}]},
    },
    "Mappings": {"Limits": {"Queue": {"MaxReceives": 5}}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
}


def test_given_a_list_parameter_as_text_or_as_a_list_then_it_is_the_same_list() -> None:
    for given in ("1,2", ["1", "2"]):
        resolver = Resolver(TEMPLATE, {"Accounts": given})
        assert resolver.resolve({"Fn::Join": ["+", {"Ref": "Accounts"}]}) == "1+2"
        assert resolver.condition("HasAccounts")
    assert not Resolver(TEMPLATE, {"Accounts": ""}).condition("HasAccounts")  # one empty item
    assert Resolver(TEMPLATE, {"Accounts": "1", "Name": "x"}).condition("Both")


def test_given_parameter_values_then_defaults_fill_in_and_unknown_or_missing_ones_fail() -> None:
    values = parameter_values(TEMPLATE, {"Required": "r"})
    assert values == {"Accounts": [""], "Name": "bus", "Required": "r"}
    with pytest.raises(KeyError, match="Required has no value"):
        parameter_values(TEMPLATE)
    with pytest.raises(KeyError, match="unknown parameters"):
        parameter_values(TEMPLATE, {"Required": "r", "Typo": "x"})


def test_given_a_resource_without_a_value_then_a_placeholder_or_when_strict_an_error() -> None:
    lenient, strict = Resolver(TEMPLATE, {}), Resolver(TEMPLATE, {}, strict=True)
    arn = {"Fn::GetAtt": ["Queue", "Arn"]}
    assert lenient.resolve(arn) == placeholder("Queue", "Arn") == "{{Queue.Arn}}"
    assert lenient.resolve({"Ref": "Queue"}) == "{{Queue}}"
    assert Resolver(TEMPLATE, {"Queue.Arn": "arn:q"}, strict=True).resolve(arn) == "arn:q"
    with pytest.raises(KeyError):
        strict.resolve(arn)
    with pytest.raises(KeyError):  # a parameter without a value is never a placeholder
        lenient.resolve({"Ref": "Name"})


def test_given_fn_sub_then_variables_attributes_and_literals_as_cloudformation_does() -> None:
    resolver = Resolver(TEMPLATE, {"Name": "bus", "AWS::Region": "eu-west-1"})
    text = "${Name}/${Queue.QueueName}/${!Literal}/${Local}@${AWS::Region}"
    assert resolver.resolve({"Fn::Sub": [text, {"Local": {"Ref": "Name"}}]}) == (
        "bus/{{Queue.QueueName}}/${Literal}/bus@eu-west-1"
    )
    with pytest.raises(KeyError, match="Fn::Sub variable Nothing"):
        resolver.resolve({"Fn::Sub": "${Nothing}"})
    with pytest.raises(KeyError):
        substitute({"Fn::Sub": "${Queue.QueueName}"}, {}, TEMPLATE)  # strict: the dashboard's


def test_given_if_with_no_value_then_the_item_or_key_is_dropped() -> None:
    resolver = Resolver(TEMPLATE, {"Accounts": ""})
    value = {
        "List": ["a", {"Fn::If": ["HasAccounts", "b", {"Ref": "AWS::NoValue"}]}],
        "Key": {"Fn::If": ["HasAccounts", "c", {"Ref": "AWS::NoValue"}]},
        "Max": {"Fn::FindInMap": ["Limits", "Queue", "MaxReceives"]},
    }
    assert resolver.resolve(value) == {"List": ["a"], "Max": 5}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_given_an_intrinsic_it_does_not_implement_then_unsupported() -> None:
    with pytest.raises(Unsupported):
        Resolver(TEMPLATE, {}).resolve({"Fn::GetAZs": ""})
    with pytest.raises(Unsupported):
        Resolver(TEMPLATE, {}).decide({"Fn::Contains": [["a"], "a"]})


def test_given_a_function_then_its_environment_is_the_deployed_one_with_globals() -> None:
    refs = parameter_defaults() | {"EventBus": "bus", "AWS::StackName": "s"}
    refs |= {"IdempotencyTable": "t", "EnrichmentDeadLetterQueue": "https://q/dlq"}
    environment = function_environment("EnricherFunction", refs)
    assert environment["POWERTOOLS_SERVICE_NAME"] == "sagewatch"  # from Globals
    assert environment["POWERTOOLS_TRACE_DISABLED"] == "true"  # EnableTracing "false"
    assert environment["MAX_RECEIVES"] == "5"  # FindInMap
    assert environment["EVENT_BUS_NAME"] == "bus"
