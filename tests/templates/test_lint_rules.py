"""The project's cfn-lint rules (lint/rules) fire on what they forbid and pass the templates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from sagewatch.template import ROOT, TEMPLATE, WORKLOAD_TEMPLATE

RULES = str(ROOT / "lint" / "rules")
QUEUE = {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}}
FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {
        "Runtime": "python3.11",
        "Handler": "index.handler",
        "Role": "arn:aws:iam::123456789012:role/r",
        "Code": {"ZipFile": "def handler(event, context): pass"},
    },
}
ALARM = {
    "Type": "AWS::CloudWatch::Alarm",
    "Properties": {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Dead", "QueueName"]}}],
        "Statistic": "Maximum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
    },
}


def _rule(target: dict[str, object]) -> dict[str, object]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {"EventPattern": {"source": ["aws.sagemaker"]}, "Targets": [target]},
    }


def _ours(resources: dict[str, object]) -> set[str]:
    """The ids of this project's rules (E91xx) that fire on a template of these resources."""
    text = yaml.safe_dump({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
    found = lint(text, config=ManualArgs(append_rules=[RULES], regions=["us-east-1"]))
    return {m.rule.id for m in found if m.rule.id.startswith("E91")}


@pytest.mark.parametrize("template", [TEMPLATE, WORKLOAD_TEMPLATE], ids=lambda p: p.name)
def test_given_the_templates_when_linted_then_no_invariant_is_broken(template: Path) -> None:
    found = lint(template.read_text(), config=ManualArgs(append_rules=[RULES]))
    assert [str(m) for m in found if m.rule.id.startswith("E91")] == []


def test_given_a_rule_target_without_retry_or_dead_letters_then_e9101() -> None:
    target = {"Id": "q", "Arn": {"Fn::GetAtt": ["Dead", "Arn"]}}
    kept = target | {
        "RetryPolicy": {"MaximumRetryAttempts": 3},
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dead", "Arn"]}},
    }
    assert "E9101" in _ours({"Dead": QUEUE, "Alarm": ALARM, "Rule": _rule(target)})
    assert "E9101" not in _ours({"Dead": QUEUE, "Alarm": ALARM, "Rule": _rule(kept)})


def test_given_a_function_a_rule_invokes_without_on_failure_then_e9102() -> None:
    rule = _rule({"Id": "f", "Arn": {"Fn::GetAtt": ["Function", "Arn"]}})
    config = {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {
            "FunctionName": {"Ref": "Function"},
            "Qualifier": "$LATEST",
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Dead", "Arn"]}}},
        },
    }
    base = {"Dead": QUEUE, "Alarm": ALARM, "Function": FUNCTION, "Rule": rule}
    assert "E9102" in _ours(base)
    assert "E9102" not in _ours(base | {"Config": config})


def test_given_a_queue_nobody_watches_or_unencrypted_then_e9103() -> None:
    redriven = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["Dead", "Arn"]},
                "maxReceiveCount": 5,
            },
        },
    }
    assert "E9103" in _ours({"Dead": QUEUE})  # no alarm
    assert "E9103" not in _ours({"Dead": QUEUE, "Alarm": ALARM, "Work": redriven})
    unencrypted = {"Type": "AWS::SQS::Queue", "Properties": {}}
    assert "E9103" in _ours({"Dead": unencrypted, "Alarm": ALARM})


def test_given_a_log_group_without_retention_or_key_then_e9104() -> None:
    group = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}}
    keyed = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"RetentionInDays": 30, "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k"},
    }
    assert "E9104" in _ours({"Logs": group})
    assert "E9104" not in _ours({"Logs": keyed})
