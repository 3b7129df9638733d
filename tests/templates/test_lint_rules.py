"""The project's cfn-lint rules (lint/rules) fire on what they forbid and pass the templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from sagewatch.template import ROOT, TEMPLATE, WORKLOAD_TEMPLATE, deployed

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


# ---- SAM functions' events: cfn-lint merges SAM's Globals but checks SAM resources as written --

SAM_FUNCTION = {
    "Type": "AWS::Serverless::Function",
    "Properties": {
        "Runtime": "python3.11",
        "Handler": "index.handler",
        "CodeUri": "s3://bucket/code.zip",
        "Role": "arn:aws:iam::123456789012:role/r",
    },
}
BUS_EVENT = {
    "Type": "EventBridgeRule",
    "Properties": {"Pattern": {"source": ["aws.sagemaker"]}},
}
KEPT = {
    "RetryPolicy": {"MaximumRetryAttempts": 3},
    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dead", "Arn"]}},
}
ON_FAILURE = {
    "MaximumRetryAttempts": 2,
    "DestinationConfig": {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Dead", "Arn"]}}
    },
}


def _sam(event: dict[str, object], **props: object) -> dict[str, object]:
    function = json.loads(json.dumps(SAM_FUNCTION))
    function["Properties"] |= {"Events": {"Jobs": event}, **props}
    return {"Dead": QUEUE, "Alarm": ALARM, "Function": function}


def _ours_sam(resources: dict[str, object]) -> set[str]:
    text = yaml.safe_dump(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": resources,
        }
    )
    found = lint(text, config=ManualArgs(append_rules=[RULES], regions=["us-east-1"]))
    return {m.rule.id for m in found if m.rule.id.startswith("E91")}


def test_given_a_functions_bus_event_without_retry_or_dead_letters_then_e9101() -> None:
    kept = {**BUS_EVENT, "Properties": BUS_EVENT["Properties"] | KEPT}
    assert "E9101" in _ours_sam(_sam(BUS_EVENT, EventInvokeConfig=ON_FAILURE))
    assert "E9101" not in _ours_sam(_sam(kept, EventInvokeConfig=ON_FAILURE))


def test_given_a_function_with_rule_events_without_on_failure_then_e9102() -> None:
    kept = {**BUS_EVENT, "Properties": BUS_EVENT["Properties"] | KEPT}
    schedule = {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}}
    assert "E9102" in _ours_sam(_sam(kept))
    assert "E9102" in _ours_sam(_sam(schedule))
    assert "E9102" not in _ours_sam(_sam(kept, EventInvokeConfig=ON_FAILURE))


# ---- one key --------------------------------------------------------------------------------

KEY = {"Fn::GetAtt": ["Key", "Arn"]}
KMS_KEY = {
    "Type": "AWS::KMS::Key",
    "Properties": {
        "KeyPolicy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    },
}


def _keyed_queue(key: object) -> dict[str, object]:
    return {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": key}}


def _role(key: object) -> dict[str, object]:
    statement = {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "p",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                }
            ],
        },
    }


def test_given_one_key_at_every_use_then_no_e9105_and_given_another_or_none_then_e9105() -> None:
    base = {"Key": KMS_KEY, "Alarm": ALARM, "Dead": _keyed_queue(KEY), "Other": _keyed_queue(KEY)}
    assert "E9105" not in _ours(base | {"Role": _role(KEY)})
    assert "E9105" in _ours(base | {"Role": _role("*")})  # a role's KMS grant on any key
    assert "E9105" in _ours(base | {"Other": _keyed_queue("arn:aws:kms:us-east-1:1:key/k")})
    assert "E9105" in _ours(base | {"Other": QUEUE})  # SQS-managed where the stack has a key
    assert "E9105" not in _ours({"Dead": QUEUE, "Alarm": ALARM})  # no key anywhere: not its call


def test_given_template_yaml_then_every_encrypted_resource_and_grant_names_the_stack_key() -> None:
    """The review the rule stands for: the one expression, and where it is (as deployed)."""
    key = {"Fn::If": ["MakeKey", {"Fn::GetAtt": ["EncryptionKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}
    resources = deployed()["Resources"]
    paths = {
        "AWS::SQS::Queue": ("KmsMasterKeyId",),
        "AWS::SNS::Topic": ("KmsMasterKeyId",),
        "AWS::Logs::LogGroup": ("KmsKeyId",),
        "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
        "AWS::Lambda::Function": ("KmsKeyArn",),
    }
    uses: dict[str, object] = {}
    for name, resource in resources.items():
        if resource["Type"] in paths:
            value = resource["Properties"]
            for step in paths[resource["Type"]]:
                value = value[step]
            uses[name] = value
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if any(str(a).startswith("kms:") for a in statement["Action"]):
                    uses[f"{name} {statement['Sid']}"] = statement["Resource"]

    assert {json.dumps(v) for v in uses.values()} == {json.dumps(key)}
    assert len(uses) == 26  # 7 queues, 4 topics, 5 log groups, 2 tables, 4 functions, 4 roles


def test_given_the_template_as_deployed_when_linted_then_no_invariant_is_broken() -> None:
    """The same rules over SAM's translation: the rules and permissions SAM writes for the
    functions' events, the function resources, the event invoke configurations."""
    found = lint(json.dumps(deployed()), config=ManualArgs(append_rules=[RULES]))
    assert [str(m) for m in found if m.rule.id.startswith("E91")] == []
