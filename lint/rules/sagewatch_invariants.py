"""cfn-lint rules for sagewatch's own invariants (`.cfnlintrc` appends them to every run).

What the generator does not write, these hold: nothing the stacks receive can be lost unseen,
and nothing they keep is kept unencrypted or forever.
"""

from __future__ import annotations

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


class BusTargetsRetryAndDeadLetter(CloudFormationLintRule):
    """An event a rule cannot deliver is retried for a day and then kept, never dropped."""

    id = "E9101"
    shortdesc = "Event rule targets retry and keep dead letters"
    description = "Every target of an event-pattern rule has a RetryPolicy and a DeadLetterConfig"
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
        return matches


class AsyncFunctionsKeepFailures(CloudFormationLintRule):
    """A function EventBridge invokes (asynchronously) sends what it fails on somewhere."""

    id = "E9102"
    shortdesc = "Asynchronously invoked functions have an on-failure destination"
    description = "Every function an event rule targets has an EventInvokeConfig with OnFailure"
    tags = ["sagewatch", "lambda"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        kept = {
            _target(_props(config).get("FunctionName")) or _props(config).get("FunctionName")
            for config in cfn.get_resources(["AWS::Lambda::EventInvokeConfig"]).values()
            if _props(config).get("DestinationConfig", {}).get("OnFailure")
        }
        functions = cfn.get_resources(["AWS::Lambda::Function"])
        matches = []
        for name, rule in cfn.get_resources(["AWS::Events::Rule"]).items():
            for target in _props(rule).get("Targets", []):
                function = _target(target.get("Arn"))
                if function in functions and function not in kept:
                    message = f"{function} is invoked by {name} but keeps no failures (OnFailure)"
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
