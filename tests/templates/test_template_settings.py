"""template.yaml's settings and the code's must not drift apart."""

from __future__ import annotations

import json

from sagewatch.template import function_environment, load, parameter_defaults
from shared.config import AlerterSettings, EnricherSettings
from shared.utilization import Thresholds


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
        "IdempotencyTable": "t", "EnrichmentDeadLetterQueue": "https://q/dlq",
        "SummaryQueue": "https://q/summary",
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

    from sagewatch.template import TEMPLATE
    from tests.templates.policy_eval import sam_rendered

    matches = lint(json.dumps(sam_rendered(TEMPLATE)), config=ManualArgs(regions=["us-east-1"]))

    assert [f"{m.rule.id} {m.message}" for m in matches] == []
