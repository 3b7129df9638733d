"""`sagewatch doctor` on the embedded AWS: a healthy workload account passes every check, and
each piece of wiring broken on purpose gets its own diagnosis and fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from sagewatch.cli import app
from sagewatch.doctor import Doctor, Finding
from sagewatch.embedded import EmbeddedAws
from sagewatch.workload import EmbeddedWorkload
from tests.integration.conftest import WORKLOAD_ACCOUNT

pytestmark = pytest.mark.integration

ACCOUNT = WORKLOAD_ACCOUNT
SINK = "arn:aws:oam:us-east-1:123456789012:sink/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"


def _diagnose(
    aws: EmbeddedAws, workload: EmbeddedWorkload, outputs: dict[str, str] | None = None
) -> dict[str, Finding]:
    doctor = Doctor(
        outputs or aws.outputs(), ACCOUNT, aws.client, workload.client, wait=lambda: None,
        probe_attempts=1,
    )  # fmt: skip
    return {finding.check: finding for finding in doctor.run()}


def test_given_healthy_wiring_when_diagnosed_then_every_check_passes_and_the_probe_arrives(
    wired: tuple[EmbeddedAws, EmbeddedWorkload],
) -> None:
    aws, workload = wired

    findings = _diagnose(aws, workload)

    assert {c: f.status for c, f in findings.items()} == {
        "monitoring stack": "ok", "bus policy": "ok", "forwarding rules": "ok",
        "forwarding role": "ok", "heartbeat": "ok", "metrics link": "skip", "probe event": "ok",
    }  # fmt: skip
    assert workload.forwarded  # the probe really travelled the hop


BREAKS: dict[str, tuple[Callable[[EmbeddedAws, EmbeddedWorkload], Any], str, str, str]] = {
    "account not in the bus policy": (
        lambda aws, w: aws.client("events").remove_permission(
            EventBusName=aws.bus_name, StatementId="sagewatch-workload-accounts"
        ),
        "bus policy",
        "does not let account 444455556666",
        "WorkloadAccountIds",
    ),
    "forwarding rule disabled": (
        lambda aws, w: w.client("events").disable_rule(
            Name="SageMakerServiceEventsRule", EventBusName="default"
        ),
        "forwarding rules",
        "SageMakerServiceEventsRule is DISABLED",
        "deploy workload-template",
    ),
    "target without a role": (
        lambda aws, w: w.client("events").put_targets(
            Rule="SagewatchEventsRule",
            EventBusName="default",
            Targets=[
                {
                    "Id": "SagewatchMonitoringBus",
                    "Arn": aws.bus_arn,
                    "DeadLetterConfig": {"Arn": w.dead_letter_arn},
                }
            ],
        ),
        "forwarding rules",
        "SagewatchEventsRule has no RoleArn",
        "MonitoringBusArn=",
    ),
    "no rule targets the bus": (
        lambda aws, w: [
            w.client("events").remove_targets(
                Rule=rule, EventBusName="default", Ids=["SagewatchMonitoringBus"]
            )
            for rule in (
                "SageMakerServiceEventsRule",
                "SageMakerApiCallsRule",
                "SagewatchEventsRule",
                "MlAutomationRule",
            )
        ],
        "forwarding rules",
        "no rule sends events to",
        "sagewatch onboard",
    ),
    "role lost its policy": (
        lambda aws, w: [
            w.client("iam").delete_role_policy(RoleName="sagewatch-forwarding", PolicyName=name)
            for name in w.client("iam").list_role_policies(RoleName="sagewatch-forwarding")[
                "PolicyNames"
            ]
        ],
        "forwarding role",
        "may not call events:PutEvents",
        "deploy workload-template",
    ),
    "heartbeat schedule deleted": (
        lambda aws, w: w.client("scheduler").delete_schedule(Name="sagewatch-heartbeat"),
        "heartbeat",
        "no heartbeat schedule",
        "deploy workload-template",
    ),
}


@pytest.mark.parametrize("broken", sorted(BREAKS))
def test_given_broken_wiring_when_diagnosed_then_that_check_fails_with_its_fix(
    broken: str, wired: tuple[EmbeddedAws, EmbeddedWorkload]
) -> None:
    aws, workload = wired
    breaking, check, detail, fix = BREAKS[broken]
    breaking(aws, workload)

    findings = _diagnose(aws, workload)

    assert findings[check].status == "fail", findings[check]
    assert detail in findings[check].detail
    assert fix in findings[check].fix
    assert findings["probe event"].status == "skip"  # not sent while something is known broken


def test_given_a_broken_bus_policy_when_probed_then_the_probe_does_not_arrive_and_is_dead_lettered(
    wired: tuple[EmbeddedAws, EmbeddedWorkload],
) -> None:
    aws, workload = wired
    aws.client("events").remove_permission(
        EventBusName=aws.bus_name, StatementId="sagewatch-workload-accounts"
    )
    doctor = Doctor(aws.outputs(), ACCOUNT, aws.client, workload.client, wait=lambda: None,
                    probe_attempts=2)  # fmt: skip

    finding = doctor.probe()

    assert finding.status == "fail"
    assert "dead-letter queue" in finding.fix
    assert "does not allow account 444455556666" in workload.dead_letters[0]["reason"]


def test_given_missing_outputs_when_diagnosed_then_stops_at_the_stack_check(
    wired: tuple[EmbeddedAws, EmbeddedWorkload],
) -> None:
    aws, workload = wired

    findings = _diagnose(aws, workload, {"EventBusArn": aws.bus_arn})

    assert list(findings) == ["monitoring stack"]
    assert "EventBusName, ArchiveLogGroupName missing" in findings["monitoring stack"].detail


def _oam(links: list[dict[str, Any]]) -> Any:
    oam = boto3.client("oam", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip
    stubber = Stubber(oam)
    stubber.add_response("list_links", {"Items": [{"Arn": link["Arn"]} for link in links]})
    for link in links:
        stubber.add_response("get_link", link)
    stubber.activate()
    return oam


@pytest.mark.parametrize(
    ("links", "status", "detail"),
    [
        ([{"Arn": "arn:aws:oam:us-east-1:444455556666:link/1", "SinkArn": SINK,
           "ResourceTypes": ["AWS::CloudWatch::Metric"]}], "ok", "linked to"),
        ([{"Arn": "arn:aws:oam:us-east-1:444455556666:link/1", "SinkArn": SINK + "0",
           "ResourceTypes": ["AWS::CloudWatch::Metric"]}], "fail", "no OAM link to"),
        ([{"Arn": "arn:aws:oam:us-east-1:444455556666:link/1", "SinkArn": SINK,
           "ResourceTypes": ["AWS::Logs::LogGroup"]}], "fail", "does not share metrics"),
        ([], "fail", "no OAM link to"),
    ],
    ids=["linked", "linked-elsewhere", "no-metrics", "no-link"],
)  # fmt: skip
def test_given_oam_links_when_diagnosed_then_the_metrics_link_check_reads_them(
    links: list[dict[str, Any]], status: str, detail: str
) -> None:
    oam = _oam(links)
    doctor = Doctor({"OamSinkArn": SINK, "EventBusArn": "arn:aws:events:us-east-1:1:event-bus/s"},
                    ACCOUNT, lambda s: None, lambda s: oam)  # fmt: skip

    finding = doctor.metrics_link()

    assert finding.status == status
    assert detail in finding.detail


def test_given_the_cli_when_doctor_runs_embedded_then_json_findings_and_exit_0() -> None:
    result = CliRunner().invoke(app, ["doctor", "--json"])

    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert [f["check"] for f in findings][-1] == "probe event"
    assert findings[-1]["status"] == "ok"
