"""`sagewatch onboard`: the deploy command for one workload account, from the stack's outputs."""

from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

from sagewatch.cli import app
from sagewatch.onboard import allowed_by_bus_policy, onboarding
from sagewatch.template import WORKLOAD_TEMPLATE, load

BUS = "arn:aws:events:us-east-1:111122223333:event-bus/sagewatch"
SINK = "arn:aws:oam:us-east-1:111122223333:sink/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"


def _overrides(command: str) -> dict[str, str]:
    words = shlex.split(command)
    start = words.index("--parameter-overrides") + 1
    return dict(word.split("=", 1) for word in words[start:])


def test_given_outputs_with_a_sink_in_the_same_region_when_onboarding_then_both_parameters() -> (
    None
):
    plan = onboarding(
        {"EventBusArn": BUS, "OamSinkArn": SINK, "TeamTagKey": "owner"},
        "us-east-1",
        labels={"Project": "nlp", "Environment": "prod"},
    )

    assert _overrides(plan.command) == {
        "MonitoringBusArn": BUS,
        "OamSinkIdentifier": SINK,
        "TeamTagKey": "owner",  # the monitoring stack's: the same tag names teams on both sides
        "Project": "nlp",
        "Environment": "prod",
    }
    assert "--capabilities CAPABILITY_IAM" in plan.command
    assert "--region us-east-1" in plan.command


def test_given_every_parameter_when_compared_then_the_workload_template_declares_it() -> None:
    plan = onboarding(
        {"EventBusArn": BUS, "OamSinkArn": SINK, "TeamTagKey": "team"},
        "us-east-1",
        labels={"Project": "x", "Environment": "y"},
    )

    assert set(plan.parameters) <= set(load(WORKLOAD_TEMPLATE)["Parameters"])


def test_given_another_region_when_onboarding_then_no_metrics_link_and_a_note_why() -> None:
    plan = onboarding({"EventBusArn": BUS, "OamSinkArn": SINK}, "eu-west-1")

    assert "OamSinkIdentifier" not in _overrides(plan.command)
    assert any("own Region" in note for note in plan.notes)


def test_given_an_account_the_bus_policy_does_not_name_when_onboarding_then_a_note_says_so() -> (
    None
):
    policy = json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
                        "Action": "events:PutEvents", "Resource": BUS}]}
    )  # fmt: skip
    allowed = allowed_by_bus_policy(policy)

    named = onboarding(
        {"EventBusArn": BUS}, "us-east-1", account="444455556666", allowed_accounts=allowed
    )
    other = onboarding(
        {"EventBusArn": BUS}, "us-east-1", account="777788889999", allowed_accounts=allowed
    )

    assert allowed == {"444455556666"}
    assert not any("WorkloadAccountIds" in note for note in named.notes)
    assert any("777788889999 is not in" in note for note in other.notes)


def test_given_outputs_of_another_stack_when_onboarding_then_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no EventBusArn output"):
        onboarding({"Something": "else"}, "us-east-1")


@pytest.mark.integration  # onboard reads the embedded stack's outputs (moto)
def test_given_the_embedded_stack_when_onboard_runs_then_json_has_the_command() -> None:
    result = CliRunner().invoke(app, ["onboard", "--json", "--project", "nlp"])

    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert _overrides(plan["command"])["MonitoringBusArn"].endswith(":event-bus/sagewatch")
    assert plan["parameters"]["Project"] == "nlp"


def test_given_a_bad_account_id_when_onboard_runs_then_exit_2_with_a_reason() -> None:
    result = CliRunner().invoke(app, ["onboard", "--account", "12345"])

    assert result.exit_code == 2
    assert "not a 12-digit account id" in result.output
