"""cfn-lint rules for sagewatch's own invariants (`.cfnlintrc` appends them to every run).

What the generator does not write, these hold: nothing the stacks receive can be lost unseen,
nothing they keep is kept unencrypted or forever, and the one key is the same at every use. They
read the template as CloudFormation receives it (cfn-lint runs SAM's transform first), so they see
the rules and permissions SAM writes for the functions' events.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch


def _props(resource: Any) -> dict[str, Any]:
    props = resource.get("Properties", {}) if isinstance(resource, dict) else {}
    return props if isinstance(props, dict) else {}


def _target(arn: Any) -> str | None:
    """The logical id an ARN refers to (`!GetAtt X.Arn`, `!Ref X`), if any."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        value = arn["Fn::GetAtt"]
        return str(value[0] if isinstance(value, list) else value.split(".")[0])
    if isinstance(arn, dict) and "Ref" in arn:
        return str(arn["Ref"])
    return None


# SAM function events that become an EventBridge rule targeting the function (SAM writes the rule
# <function><event> and its permission). cfn-lint merges SAM's Globals but checks SAM resources as
# written, so the rules below read these events as well as rule resources.
PATTERN_EVENTS = ("EventBridgeRule", "CloudWatchEvent")
RULE_EVENTS = (*PATTERN_EVENTS, "Schedule")


def _function_events(cfn: Any, types: tuple[str, ...]) -> list[tuple[str, str, dict[str, Any]]]:
    """(function, event, event properties) of every SAM function event of these types."""
    found = []
    for function, resource in cfn.get_resources(["AWS::Serverless::Function"]).items():
        events = _props(resource).get("Events", {})
        for event, spec in (events if isinstance(events, dict) else {}).items():
            if isinstance(spec, dict) and spec.get("Type") in types:
                found.append((function, event, _props(spec)))
    return found


class BusTargetsRetryAndDeadLetter(CloudFormationLintRule):
    """An event a rule cannot deliver is retried for a day and then kept, never dropped."""

    id = "E9101"
    shortdesc = "Event rule targets retry and keep dead letters"
    description = (
        "Every target of an event-pattern rule (a rule resource or a SAM function's "
        "EventBridgeRule event) has a RetryPolicy and a DeadLetterConfig"
    )
    tags = ["sagewatch", "events"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for name, rule in cfn.get_resources(["AWS::Events::Rule"]).items():
            props = _props(rule)
            if "EventPattern" not in props:  # a schedule: its next tick does the work again
                continue
            for index, target in enumerate(props.get("Targets", [])):
                for key in ("RetryPolicy", "DeadLetterConfig"):
                    if key not in target:
                        path = ["Resources", name, "Properties", "Targets", index]
                        matches.append(RuleMatch(path, f"{name} target {index} has no {key}"))
        for function, event, props in _function_events(cfn, PATTERN_EVENTS):
            for key in ("RetryPolicy", "DeadLetterConfig"):
                if key not in props:
                    path = ["Resources", function, "Properties", "Events", event, "Properties"]
                    matches.append(RuleMatch(path, f"{function} event {event} has no {key}"))
        return matches


def _keeps_failures(config: Any) -> bool:
    destination = _props(config).get("DestinationConfig", {})
    return isinstance(destination, dict) and bool(destination.get("OnFailure"))


class AsyncFunctionsKeepFailures(CloudFormationLintRule):
    """A function EventBridge invokes (asynchronously) sends what it fails on somewhere."""

    id = "E9102"
    shortdesc = "Asynchronously invoked functions have an on-failure destination"
    description = (
        "Every function an event rule targets (or a SAM function with rule events) has an "
        "EventInvokeConfig with OnFailure"
    )
    tags = ["sagewatch", "lambda"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        kept = {
            _target(_props(config).get("FunctionName")) or _props(config).get("FunctionName")
            for config in cfn.get_resources(["AWS::Lambda::EventInvokeConfig"]).values()
            if _keeps_failures(config)
        }
        kept |= {
            name
            for name, function in cfn.get_resources(["AWS::Serverless::Function"]).items()
            if _keeps_failures({"Properties": _props(function).get("EventInvokeConfig", {})})
        }
        functions = cfn.get_resources(["AWS::Lambda::Function", "AWS::Serverless::Function"])
        invoked = [
            (_target(target.get("Arn")), name)
            for name, rule in cfn.get_resources(["AWS::Events::Rule"]).items()
            for target in _props(rule).get("Targets", [])
        ]
        invoked += [(f, f"its event {e}") for f, e, _ in _function_events(cfn, RULE_EVENTS)]
        matches = []
        for function, by in invoked:
            if function in functions and function not in kept:
                message = f"{function} is invoked by {by} but keeps no failures (OnFailure)"
                matches.append(RuleMatch(["Resources", function], message))
        return matches


class QueuesWatchedAndEncrypted(CloudFormationLintRule):
    """No message waits unseen: a queue is alarmed, or redrives to a queue that is; and every
    queue is encrypted with the stack's key."""

    id = "E9103"
    shortdesc = "Queues alarmed (or redriven to an alarmed queue) and encrypted"
    description = "Every SQS queue is encrypted and alarmed (itself or its dead-letter queue)"
    tags = ["sagewatch", "sqs"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        alarmed = set()
        for alarm in cfn.get_resources(["AWS::CloudWatch::Alarm"]).values():
            props = _props(alarm)
            dimensions = list(props.get("Dimensions", []))
            for metric in props.get("Metrics", []):
                dimensions += metric.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
            alarmed |= {_target(d.get("Value")) for d in dimensions if d.get("Name") == "QueueName"}
        matches = []
        for name, queue in cfn.get_resources(["AWS::SQS::Queue"]).items():
            props = _props(queue)
            redrive = _target(props.get("RedrivePolicy", {}).get("deadLetterTargetArn"))
            if name not in alarmed and redrive not in alarmed:
                message = f"{name}: no alarm watches it or its dead-letter queue"
                matches.append(RuleMatch(["Resources", name], message))
            if "KmsMasterKeyId" not in props and props.get("SqsManagedSseEnabled") is not True:
                message = f"{name} is not encrypted (KmsMasterKeyId or SqsManagedSseEnabled)"
                matches.append(RuleMatch(["Resources", name], message))
        return matches


class LogGroupsRetainedAndEncrypted(CloudFormationLintRule):
    """Logs are kept for a stated time, encrypted with the stack's key."""

    id = "E9104"
    shortdesc = "Log groups have a retention and a KMS key"
    description = "Every log group sets RetentionInDays and KmsKeyId"
    tags = ["sagewatch", "logs"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for name, group in cfn.get_resources(["AWS::Logs::LogGroup"]).items():
            for key in ("RetentionInDays", "KmsKeyId"):
                if key not in _props(group):
                    matches.append(RuleMatch(["Resources", name], f"{name} has no {key}"))
        return matches


# Where each resource type names the KMS key it encrypts with.
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
    "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
    "AWS::Lambda::Function": ("KmsKeyArn",),  # its environment variables
    "AWS::Serverless::Function": ("KmsKeyArn",),  # cfn-lint has merged SAM's Globals into it
}


def _dig(props: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = props
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _kms_statements(role: Any) -> list[tuple[list[Any], Any]]:
    """(path, Resource) of every Allow statement of a role's inline policies that grants a KMS
    action."""
    found = []
    for index, policy in enumerate(_props(role).get("Policies", [])):
        document = policy.get("PolicyDocument", {}) if isinstance(policy, dict) else {}
        statements = document.get("Statement", [])
        for number, statement in enumerate(statements if isinstance(statements, list) else []):
            actions = statement.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            if statement.get("Effect") == "Allow" and any(
                str(action).startswith("kms:") for action in actions
            ):
                path = ["Policies", index, "PolicyDocument", "Statement", number, "Resource"]
                found.append((path, statement.get("Resource")))
    return found


class OneKeyEverywhere(CloudFormationLintRule):
    """CloudFormation has no variables, so the stack's key (`!If [MakeKey, !GetAtt
    EncryptionKey.Arn, !Ref KmsKeyArn]` in template.yaml) is written wherever it is used. This
    rule makes those copies one thing to review: once a template names a key, every queue, topic,
    log group, table and function names the same expression, and every function role's KMS
    statement grants that key alone."""

    id = "E9105"
    shortdesc = "One KMS key, the same expression at every use"
    description = (
        "Every key a template names (encryption properties and roles' KMS statements) is one "
        "expression, and every queue, topic, log group, table and function is encrypted with it"
    )
    tags = ["sagewatch", "kms"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        uses: list[tuple[list[Any], Any]] = []
        unkeyed: list[list[Any]] = []
        for kind, path in KEY_PROPERTIES.items():
            for name, resource in cfn.get_resources([kind]).items():
                where = ["Resources", name, "Properties", *path]
                value = _dig(_props(resource), path)
                if value is None:
                    unkeyed.append(where)
                else:
                    uses.append((where, value))
        for name, role in cfn.get_resources(["AWS::IAM::Role"]).items():
            uses += [
                (["Resources", name, "Properties", *path], value)
                for path, value in _kms_statements(role)
            ]
        if not uses:
            return []  # no customer-managed key here (E9103, E9104 decide what must have one)
        texts = [json.dumps(value, sort_keys=True) for _, value in uses]
        key, count = Counter(texts).most_common(1)[0]
        matches = [
            RuleMatch(
                where,
                f"{'/'.join(map(str, where))} names {text}, not the key {count} other "
                f"uses name: {key}",
            )
            for (where, _), text in zip(uses, texts, strict=True)
            if text != key
        ]
        matches += [
            RuleMatch(where, f"{'/'.join(map(str, where))} is missing: not encrypted with {key}")
            for where in unkeyed
        ]
        return matches
