"""template.yaml's settings and the code's must not drift apart."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagewatch.template import (
    TEMPLATE,
    WORKLOAD_TEMPLATE,
    deployed,
    function_environment,
    load,
    parameter_defaults,
)
from shared.config import AlerterSettings, EnricherSettings
from shared.domain.utilization import Thresholds


def test_given_template_defaults_when_compared_then_equal_to_the_code_thresholds() -> None:
    defaults = parameter_defaults()
    assert float(defaults["UnderUsedThresholdPercent"]) == Thresholds().under_used_percent
    assert float(defaults["IdleThresholdPercent"]) == Thresholds().idle_percent
    assert int(defaults["MinJobDurationSeconds"]) == Thresholds().min_duration_seconds


def test_given_template_ranges_when_compared_then_idle_can_never_reach_under_used() -> None:
    params = load()["Parameters"]
    assert (
        params["IdleThresholdPercent"]["MaxValue"] < params["UnderUsedThresholdPercent"]["MinValue"]
    )


def test_given_each_function_environment_when_parsed_then_settings_load_with_defaults() -> None:
    refs = parameter_defaults() | {
        "EventBus": "sagewatch", "EmailTopic": "arn:aws:sns:us-east-1:123456789012:e",
        "JsonTopic": "arn:aws:sns:us-east-1:123456789012:j",
        "ChatTopic": "arn:aws:sns:us-east-1:123456789012:c", "AWS::StackName": "sagewatch",
        "AWS::AccountId": "123456789012",
        "IdempotencyTable": "t", "EnrichmentDeadLetterQueue": "https://q/dlq",
        "SummaryQueue": "https://q/summary", "SummaryDeadLetterQueue": "https://q/summary-dlq",
    }  # fmt: skip
    enricher = function_environment("EnricherFunction", refs) | {"AWS_REGION": "us-east-1"}
    assert EnricherSettings.from_env(enricher).max_receives == int(
        load()["Mappings"]["Limits"]["Enrichment"]["MaxReceives"]
    )
    for function in ("AlerterFunction", "SummarizerFunction"):
        settings = AlerterSettings.from_env(
            function_environment(function, refs) | {"AWS_REGION": "us-east-1"}
        )
        assert settings.burst_threshold == int(refs["BurstThreshold"])


def test_given_lambda_requirements_when_compared_then_pinned_to_the_tested_versions() -> None:
    from sagewatch.template import ROOT

    def pins(path: str) -> dict[str, str]:
        lines = (ROOT / path).read_text().splitlines()
        pairs = (line.split("==") for line in lines if "==" in line and not line.startswith("#"))
        return {name.split("[")[0].lower().replace("_", "-"): version for name, version in pairs}

    bundle, tested = pins("src/requirements.txt"), pins("constraints.txt")
    assert bundle
    assert {name: tested.get(name) for name in bundle} == bundle


def test_given_the_template_after_the_sam_transform_when_linted_then_cfn_lint_finds_nothing() -> (
    None
):
    """What CloudFormation really receives: cycles (a function's environment naming a resource
    whose body names the function) and bad policies show only after the transform."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(json.dumps(deployed(TEMPLATE)), config=ManualArgs(regions=["us-east-1"]))

    assert [f"{m.rule.id} {m.message}" for m in matches] == []


FUNCTIONS = [
    logical_id
    for logical_id, resource in load()["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
]


def test_given_every_function_then_lambda_filters_its_log_lines_at_the_log_level_parameter() -> (
    None
):
    resources = deployed()["Resources"]  # Globals give the format and level, each its log group
    for function in FUNCTIONS:
        logging = resources[function]["Properties"]["LoggingConfig"]
        assert logging["LogFormat"] == "JSON", function
        assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}, function
        assert logging["LogGroup"] == {"Ref": function.replace("Function", "LogGroup")}
    assert set(load()["Parameters"]["LogLevel"]["AllowedValues"]) <= {
        "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"
    }  # fmt: skip


def test_given_every_function_then_no_setting_is_passed_that_nothing_reads() -> None:
    for function in FUNCTIONS:
        variables = load()["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert "POWERTOOLS_METRICS_NAMESPACE" not in variables, function  # emf.py names it
    assert "POWERTOOLS_LOG_LEVEL" not in load()["Globals"]["Function"]["Environment"]["Variables"]


def test_given_every_function_then_what_no_retry_delivers_reaches_a_dead_letter_queue() -> None:
    """The alarms watch lost and late work only (dead letters, enrichment lag), so every
    function's failures must end in a dead-letter queue: the on-failure destination of an
    asynchronously invoked function, the redrive target of an SQS-fed one's queue."""
    resources = load()["Resources"]
    for name in FUNCTIONS:
        props = resources[name]["Properties"]
        queues = [
            event["Properties"]["Queue"]["Fn::GetAtt"][0]
            for event in props.get("Events", {}).values()
            if event["Type"] == "SQS"
        ]
        if queues:
            for queue in queues:
                redrive = resources[queue]["Properties"]["RedrivePolicy"]
                assert "Fn::GetAtt" in redrive["deadLetterTargetArn"], (name, queue)
        else:
            on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
            assert on_failure["Type"] == "SQS", name


def _queues_holding_failures(template: dict[str, Any]) -> set[str]:
    """Dead-letter queues: redrive targets, rule-target DLQs and on-failure destinations."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("deadLetterTargetArn", "Arn", "Destination"):
                arn = node.get(key)
                if isinstance(arn, dict) and "Fn::GetAtt" in arn and arn["Fn::GetAtt"][1] == "Arn":
                    name = arn["Fn::GetAtt"][0]
                    if template["Resources"].get(name, {}).get("Type") == "AWS::SQS::Queue":
                        found.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        walk(props.get("RedrivePolicy"))
        for target in props.get("Targets", []):
            walk(target.get("DeadLetterConfig"))
        walk(props.get("EventInvokeConfig"))
    return found


@pytest.mark.parametrize("path", [TEMPLATE, WORKLOAD_TEMPLATE], ids=lambda p: p.name)
def test_given_every_dead_letter_queue_then_an_alarm_fires_on_its_first_message(path: Any) -> None:
    template = deployed(path)  # with the rules SAM writes for the functions' events
    watched = set()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::CloudWatch::Alarm" or props["Threshold"] != 1:
            continue
        metrics = [props] + [
            q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q
        ]
        watched |= {
            m["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
            for m in metrics
            if m.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        }
    queues = _queues_holding_failures(template)

    assert queues
    assert queues <= watched


def test_given_the_stores_of_data_then_they_outlive_the_stack_like_the_key() -> None:
    resources = load()["Resources"]
    kept = {"ArchiveLogGroup", "FleetTable", *_queues_holding_failures(deployed())}
    for name in kept:
        assert resources[name].get("DeletionPolicy") == "Retain", name
        assert resources[name].get("UpdateReplacePolicy") == "Retain", name
    assert resources["EncryptionKey"]["DeletionPolicy"] == "Retain"
