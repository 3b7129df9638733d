"""The ML platform's automation outside SageMaker (issue 16, part 1): Step Functions executions,
CodePipeline executions and CodeBuild builds that failed, as their events tell it, forwarded by
name prefix from each workload account and alerted once per execution or build."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.events.models import EventPattern

from sagewatch.template import WORKLOAD_TEMPLATE, load
from shared.alerting.service import Alerter
from shared.config import AlerterSettings
from shared.domain.automation import AutomationRun
from shared.domain.vocabulary import ResourceKind
from shared.platform.errors import InvalidEvent
from tests.fakes import MemoryLedger, MemoryOnce, Recorder
from tests.templates.test_workload_spoke import WORKLOAD, forwarding_rules, render
from tests.unit.conftest import read_event
from tests.unit.test_labels import ENV  # the alerter's settings, as the labels' tests set them

SAMPLES = (
    "stepfunctions-execution-failed",
    "codepipeline-action-failed",
    "codepipeline-execution-failed",
    "codebuild-build-failed",
)
CANARY = "ghp_canarySecretValue0123456789"  # a build's environment variable, in the sample


def _alerter() -> tuple[Alerter, dict[str, Recorder]]:
    channels = {c: Recorder() for c in ("email", "json", "chat")}
    alerter = Alerter(
        AlerterSettings.from_env(ENV), publishers=channels, ledger=MemoryLedger(),
        summaries=Recorder(), records=MemoryOnce(),
    )  # fmt: skip
    return alerter, channels


# ---- what the events say ---------------------------------------------------------------------


def test_given_a_failed_execution_then_its_machine_run_and_times_are_read() -> None:
    run = AutomationRun.parse(read_event("stepfunctions-execution-failed"))

    assert (run.kind, run.name, run.run, run.status) == (
        ResourceKind.STATE_MACHINE_EXECUTION, "ml-vision-retrain-and-deploy",
        "nightly-20261120", "FAILED",
    )  # fmt: skip
    assert run.started_at == datetime(2026, 11, 20, 6, 0, 0, 512_000, tzinfo=UTC)
    assert run.ended_at == datetime(2026, 11, 20, 7, 31, 12, 44_000, tzinfo=UTC)
    assert run.reason is None  # AWS's samples carry no error or cause
    assert run.failed


def test_given_an_execution_with_error_and_cause_then_both_are_the_reason() -> None:
    raw = read_event("stepfunctions-execution-failed")
    raw["detail"] |= {"error": "States.TaskFailed", "cause": "Training job failed: exit 1"}

    assert AutomationRun.parse(raw).reason == "States.TaskFailed: Training job failed: exit 1"


def test_given_a_failed_build_then_its_failed_phase_reason_and_duration_are_read() -> None:
    run = AutomationRun.parse(read_event("codebuild-build-failed"))

    assert run.run == "ml-forecasting-eval-image:0f3c9a6e-2b7d-4e1a-9c55-6d8e7f901a2b"
    assert run.where == (("failed phase", "BUILD"),)
    assert run.reason is not None
    assert run.reason.startswith("COMMAND_EXECUTION_ERROR")
    assert run.started_at is not None
    assert run.ended_at is not None
    assert (run.ended_at - run.started_at).total_seconds() == 336  # the phases' seconds


def test_given_a_failed_action_then_its_stage_action_and_summary_are_read() -> None:
    run = AutomationRun.parse(read_event("codepipeline-action-failed"))

    assert run.where == (("failed stage", "Build"), ("failed action", "ServingImage"))
    assert run.reason == "Build terminated with state: FAILED"
    assert run.run == "6e1f0c2a-8d4b-4f3e-a1b2-c3d4e5f6a7b8"


def _with(sample: str, **detail: Any) -> dict[str, Any]:
    raw = copy.deepcopy(read_event(sample))
    for key, value in detail.items():
        key = key.replace("_", "-") if sample.startswith("code") else key
        if value is None:
            raw["detail"].pop(key, None)
        else:
            raw["detail"][key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (_with("stepfunctions-execution-failed", stateMachineArn=None), "stateMachineArn"),
        (_with("stepfunctions-execution-failed", name=42), "detail.name"),
        (_with("stepfunctions-execution-failed", status=" "), "detail.status"),
        (_with("codepipeline-action-failed", stage=None), "detail.stage"),
        (_with("codepipeline-execution-failed", execution_id=["x"]), "execution-id"),
        (_with("codebuild-build-failed", project_name=None), "project-name"),
        (_with("codebuild-build-failed", build_id={}), "build-id"),
        ({**read_event("codebuild-build-failed"), "detail-type": "CodeBuild Build Phase Change"},
         "not an automation event"),
        ({**read_event("codebuild-build-failed"), "detail": "FAILED"}, "detail is a str"),
    ],
)  # fmt: skip
def test_given_a_malformed_event_then_a_specific_error(raw: dict[str, Any], error: str) -> None:
    with pytest.raises(InvalidEvent, match=error):
        AutomationRun.parse(raw)


@pytest.mark.parametrize(
    "phases",
    [
        "BUILD",
        [1, None, "x", {"phase-type": "BUILD", "phase-status": "FAILED", "phase-context": "x"}],
        [{"duration-in-seconds": True}, {"duration-in-seconds": -5}, {"duration-in-seconds": 1e12}],
        [{"phase-status": "FAILED", "phase-context": [7, {"a": 1}, "why"] * 1000}],
    ],
)
def test_given_hostile_phases_then_the_build_still_parses_bounded(phases: Any) -> None:
    raw = read_event("codebuild-build-failed")
    raw["detail"]["additional-information"]["phases"] = phases

    run = AutomationRun.parse(raw)

    assert run.started_at is None  # no plausible seconds: how long it ran is unknown
    assert run.reason is None or len(run.reason) <= 2_000


def test_given_a_long_name_then_it_is_cut_to_its_services_limit() -> None:
    raw = _with("codepipeline-execution-failed", pipeline="p" * 10_000)

    assert len(AutomationRun.parse(raw).name) == 100


# ---- the alerts --------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES)
def test_given_each_failure_then_one_alert_with_its_console_link(sample: str) -> None:
    alerter, channels = _alerter()

    results = [alerter.handle(read_event(sample)) for _ in range(3)]

    assert [r["outcome"] for r in results] == ["alerted", "duplicate", "duplicate"]
    [published] = channels["json"].items
    document = json.loads(published["message"])
    assert document["kind"] == "failure"
    assert document["links"]["console"].startswith("https://us-east-1.console.aws.amazon.com/")
    for channel in channels.values():
        assert CANARY not in json.dumps(channel.items)


def test_given_an_action_and_its_execution_then_one_incident() -> None:
    alerter, channels = _alerter()

    first = alerter.handle(read_event("codepipeline-action-failed"))
    second = alerter.handle(read_event("codepipeline-execution-failed"))

    assert (first["outcome"], second["outcome"]) == ("alerted", "duplicate")
    assert first["incident"] == second["incident"]
    text = channels["email"].items[0]["message"]
    assert "failed at Build / ServingImage" in text


def test_given_a_build_then_its_logs_link_filters_its_own_stream() -> None:
    alerter, channels = _alerter()

    alerter.handle(read_event("codebuild-build-failed"))

    links = json.loads(channels["json"].items[0]["message"])["links"]
    assert "codebuild$252Fml-forecasting-eval-image" in links["logs"]
    assert links["logs"].endswith("0f3c9a6e-2b7d-4e1a-9c55-6d8e7f901a2b")
    assert "/build/ml-forecasting-eval-image%3A0f3c9a6e" in links["console"]


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        ("stepfunctions-execution-failed", "SUCCEEDED"),
        ("stepfunctions-execution-failed", "ABORTED"),  # someone's StopExecution
        ("codepipeline-execution-failed", "SUCCEEDED"),
        ("codepipeline-execution-failed", "STOPPED"),  # someone stopped it: not a failure
        ("codepipeline-execution-failed", "SUPERSEDED"),
        ("codebuild-build-failed", "SUCCEEDED"),
        ("codebuild-build-failed", "STOPPED"),
    ],
)
def test_given_a_run_that_did_not_fail_then_no_alert(sample: str, status: str) -> None:
    raw = read_event(sample)
    key = {"stepfunctions": "status", "codepipeline": "state", "codebuild": "build-status"}
    raw["detail"][key[sample.split("-")[0]]] = status
    alerter, channels = _alerter()

    assert alerter.handle(raw)["outcome"] == "skipped"
    assert channels["json"].items == []


@pytest.mark.parametrize(
    ("status", "headline"),
    [("TIMED_OUT", "timed out")],
)
def test_given_other_endings_then_the_headline_says_how(status: str, headline: str) -> None:
    raw = read_event("stepfunctions-execution-failed")
    raw["detail"]["status"] = status
    alerter, channels = _alerter()

    alerter.handle(raw)

    assert f"of ml-vision-retrain-and-deploy {headline}" in channels["email"].items[0]["message"]


# ---- the workload stack forwards only the ML platform's ----------------------------------------


def _forwarded_by(sample: dict[str, Any], **parameters: str) -> set[str]:
    rules = forwarding_rules(render(**parameters))
    return {
        rule
        for rule, properties in rules.items()
        if EventPattern.load(json.dumps(properties["EventPattern"])).matches_event(sample)
    }


def _in_workload(sample: str) -> dict[str, Any]:
    """The sample as the workload account's default bus has it (the test stack's account)."""
    text = json.dumps(read_event(sample))
    raw: dict[str, Any] = json.loads(
        text.replace(read_event(sample)["account"], WORKLOAD).replace(
            read_event(sample)["region"], "us-east-1"
        )
    )
    return raw


@pytest.mark.parametrize("sample", SAMPLES)
def test_given_the_ml_platforms_run_then_its_rule_forwards_it_and_others_never(sample: str) -> None:
    raw = _in_workload(sample)
    assert _forwarded_by(raw) == {"MlAutomationRule"}
    assert _forwarded_by(raw, MlAutomationPrefix="") == set()  # turned off
    other = json.loads(json.dumps(raw).replace("ml-", "web-"))  # another team's pipeline
    assert _forwarded_by(other) == set()
    assert _forwarded_by(other, MlAutomationPrefix="web-") == {"MlAutomationRule"}
    # A success is forwarded too (the dashboard's last success), except an action's.
    succeeded = json.loads(json.dumps(raw).replace('"FAILED"', '"SUCCEEDED"'))
    action = raw["detail-type"] == "CodePipeline Action Execution State Change"
    assert _forwarded_by(succeeded) == (set() if action else {"MlAutomationRule"})


def test_given_the_monitoring_bus_policy_then_it_admits_what_the_workload_forwards() -> None:
    workload = load(WORKLOAD_TEMPLATE)["Resources"]
    rules = [
        r["Properties"]["EventPattern"]
        for r in workload.values()
        if "EventPattern" in r.get("Properties", {})
    ]
    patterns = [p for rule in rules for p in (rule, *rule.get("$or", []))]
    forwarded = {
        source
        for pattern in patterns
        for source in pattern.get("source", [])
        if isinstance(source, str) and source.startswith("aws.")
    }
    monitoring = load(WORKLOAD_TEMPLATE.parent / "template.yaml")["Resources"]
    for policy in ("BusPolicyAccounts", "BusPolicyOrganization"):
        condition = monitoring[policy]["Properties"]["Statement"]["Condition"]
        admitted = set(condition["ForAllValues:StringEquals"]["events:source"])
        assert forwarded <= admitted, policy
    assert forwarded == {"aws.sagemaker", "aws.states", "aws.codepipeline", "aws.codebuild"}


def test_given_a_redriven_execution_that_fails_again_then_a_second_alert() -> None:
    alerter, _ = _alerter()
    first = read_event("stepfunctions-execution-failed")
    again = copy.deepcopy(first) | {"id": "another-delivery"}
    again["detail"]["redriveCount"] = 1  # same name and ARN: a redrive keeps them

    results = [alerter.handle(e)["outcome"] for e in (first, again, again)]

    assert results == ["alerted", "alerted", "duplicate"]


def test_given_a_retried_stage_that_fails_again_then_a_second_alert() -> None:
    alerter, _ = _alerter()
    action, execution = (read_event(s) for s in ("codepipeline-action-failed",
                                                 "codepipeline-execution-failed"))  # fmt: skip
    retried = [copy.deepcopy(e) for e in (action, execution)]
    for event in retried:
        event["detail"]["pipeline-execution-attempt"] = 2.0

    results = [alerter.handle(e)["outcome"] for e in (action, execution, *retried)]

    assert results == ["alerted", "duplicate", "alerted", "duplicate"]


def test_given_a_start_before_year_one_then_an_invalid_event_not_a_crash() -> None:
    raw = read_event("codebuild-build-failed") | {"time": "0001-01-01T00:00:00Z"}

    with pytest.raises(InvalidEvent, match="unreadable CodeBuild Build State Change"):
        AutomationRun.parse(raw)


def test_given_a_qualified_state_machine_arn_then_the_machine_is_its_name() -> None:
    raw = read_event("stepfunctions-execution-failed")
    raw["detail"]["stateMachineArn"] += ":PROD"  # an alias, if one ever appears here

    assert AutomationRun.parse(raw).name == "ml-vision-retrain-and-deploy"


@pytest.mark.parametrize(
    ("initiator", "forwarded"),
    [
        ("codepipeline/ml-forecasting-deploy", False),  # its pipeline pages, not the build
        ("codepipeline/web-storefront", True),  # a pipeline that is not the ML platform's
        ("forecasting-ml-engineer", True),
        (None, True),
    ],
)
def test_given_a_build_an_ml_pipeline_started_then_only_its_pipeline_pages(
    initiator: str | None, forwarded: bool
) -> None:
    raw = _in_workload("codebuild-build-failed")
    information = raw["detail"]["additional-information"]
    if initiator is None:
        information.pop("initiator")
    else:
        information["initiator"] = initiator

    assert _forwarded_by(raw) == ({"MlAutomationRule"} if forwarded else set())


def test_given_a_run_id_of_dots_then_its_console_link_stays_on_the_runs_page() -> None:
    """A browser resolves `..` in a path: a hostile execution id must not open another page."""
    alerter, channels = _alerter()

    alerter.handle(_with("codepipeline-execution-failed", execution_id=".."))

    console = json.loads(channels["json"].items[0]["message"])["links"]["console"]
    assert "/executions/%2E%2E/timeline" in console
