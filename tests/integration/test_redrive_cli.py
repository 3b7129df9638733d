"""`sagewatch redrive` against a stack's queues (moto's SQS; the stack's outputs are given)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from sagewatch.cli import app
from sagewatch.template import EVENTS

pytestmark = pytest.mark.integration

QUEUES = {
    "EnrichmentQueue": "EnrichmentQueueUrl",
    "SummaryQueue": "SummaryQueueUrl",
    "EnrichmentDlq": "EnrichmentDeadLetterQueueUrl",
    "SummaryDlq": "SummaryDeadLetterQueueUrl",
    "TargetDlq": "TargetDeadLetterQueueUrl",
    "RunningJobsQueue": "RunningJobsQueueUrl",
    "RunningJobsDlq": "RunningJobsDeadLetterQueueUrl",
}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        sqs = boto3.client("sqs")
        outputs = {
            output: sqs.create_queue(QueueName=name)["QueueUrl"] for name, output in QUEUES.items()
        }

        def stack_outputs(stack: str, region: str | None = None) -> dict[str, str]:
            if stack != "sagewatch":  # as DescribeStacks answers for a stack that does not exist
                raise ValueError(f"Stack with id {stack} does not exist")
            return outputs

        monkeypatch.setattr("sagewatch.redrive.stack_outputs", stack_outputs)
        yield outputs


def test_given_parked_job_when_redrive_dry_run_then_listed_with_reason_and_left_in_place(
    stack: dict[str, str],
) -> None:
    sqs = boto3.client("sqs")
    event = json.loads((EVENTS / "training-failed.json").read_text())
    sqs.send_message(
        QueueUrl=stack["EnrichmentDeadLetterQueueUrl"],
        MessageBody=json.dumps(event),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": "Throttling, 5 times"}},
    )

    dry = CliRunner().invoke(app, ["redrive", "--stack", "sagewatch", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["dead_letters"] == [
        {"queue": "enrichment-dlq", "event_id": event["id"], "reason": "Throttling, 5 times",
         "destination": "enrichment"}
    ]  # fmt: skip
    assert report["moved"] == 0

    real = CliRunner().invoke(app, ["redrive", "--stack", "sagewatch", "--json"])
    assert json.loads(real.stdout)["moved"] == 1
    moved = sqs.receive_message(QueueUrl=stack["EnrichmentQueueUrl"])["Messages"]
    assert json.loads(moved[0]["Body"])["id"] == event["id"]
    assert "Messages" not in sqs.receive_message(QueueUrl=stack["EnrichmentDeadLetterQueueUrl"])


def test_given_no_such_stack_when_redrive_then_exit_2_with_reason(stack: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["redrive", "--stack", "nope", "--dry-run"])
    assert result.exit_code == 2
    assert "nope" in result.stderr
