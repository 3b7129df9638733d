"""Storm control against moto's DynamoDB: the burst ledger and the summarizer never lose a
held-back failure (an expired window, a failure counted mid-summary, a window of thousands), and
the summarizer parks a malformed message with its reason while the rest of its batch goes on."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from sagewatch import template as cfn
from sagewatch.embedded import REGION, TABLE, EmbeddedAws
from shared.adapters.dynamodb import BurstLedger
from shared.adapters.sqs import DeadLetterQueue
from shared.alerting.service import Alerter, Summarizer
from shared.config import AlerterSettings
from shared.platform.clock import FixedClock
from tests.fakes import MemoryOnce, Recorder
from tests.integration.conftest import sample

pytestmark = pytest.mark.integration

ACCOUNT = "777788889999"  # training-failed.json's
WINDOW_SECONDS = 600
START = 1_795_168_800  # a window's start (a multiple of its length)
NOW = START + 300
BUCKET = f"burst|{ACCOUNT}|{REGION}|training|{START}"
WINDOW = {
    "bucket": BUCKET, "account": ACCOUNT, "region": REGION, "resource": "training",
    "window_start": START, "window_seconds": WINDOW_SECONDS,
}  # fmt: skip
SETTINGS = AlerterSettings(
    topics={c: f"arn:aws:sns:{REGION}:123456789012:{c}" for c in ("email", "json", "chat")},
    idempotency_table=TABLE, team_tag_key="team", dedup_seconds=3600, burst_threshold=3,
    burst_window_seconds=WINDOW_SECONDS, summary_queue_url="unused", region=REGION,
)  # fmt: skip


def _channels() -> dict[str, Recorder]:
    return {channel: Recorder() for channel in ("email", "json", "chat")}


def _failure(n: int) -> dict[str, Any]:
    event = sample("training-failed")
    detail = dict(event["detail"], TrainingJobName=f"storm-job-{n:02d}")
    return dict(event, id=f"storm-{n}", detail=detail)


def _alerter(ledger: BurstLedger, sns: dict[str, Recorder], summaries: Recorder) -> Alerter:
    return Alerter(
        SETTINGS, publishers=sns, ledger=ledger, summaries=summaries,
        clock=FixedClock(NOW), records=MemoryOnce(),
    )  # fmt: skip


def _summarizer(ledger: BurstLedger, sns: dict[str, Recorder], **dead_letters: Any) -> Summarizer:
    return Summarizer(
        SETTINGS, publishers=sns, ledger=ledger, records=MemoryOnce(), **dead_letters,
    )  # fmt: skip


def _documents(sns: dict[str, Recorder]) -> list[dict[str, Any]]:
    return [json.loads(message["message"]) for message in sns["json"].items]


def test_given_failure_counted_when_recorded_then_its_window_outlives_the_summary_dead_letters(
    aws: EmbeddedAws,
) -> None:
    summaries = Recorder()
    _alerter(BurstLedger(TABLE, aws.client("dynamodb")), _channels(), summaries).handle(_failure(0))

    item = aws.client("dynamodb").get_item(TableName=TABLE, Key={"id": {"S": BUCKET}})["Item"]
    queue = cfn.load()["Resources"]["SummaryDeadLetterQueue"]["Properties"]
    # A summary message is parked at most this long after it was sent (within its window).
    assert int(item["expiration"]["N"]) >= START + WINDOW_SECONDS + queue["MessageRetentionPeriod"]


def test_given_summary_redriven_after_its_window_expired_when_summarized_then_alerts_saying_so(
    aws: EmbeddedAws,
) -> None:
    sns = _channels()
    message = WINDOW | {"failures": 9}  # the window's record is gone (TTL)

    failed = _summarizer(BurstLedger(TABLE, aws.client("dynamodb")), sns).run(
        [{"messageId": "redriven", "body": json.dumps(message)}]
    )

    assert failed == []
    [summary] = _documents(sns)
    assert summary["incident"] == BUCKET
    assert summary["name"] == "9 training jobs"
    assert "expired" in summary["context"]["jobs"]
    assert summary["context"]["summarized here"] == "6"
    assert len(sns["email"].items) == len(sns["chat"].items) == 1


def test_given_failure_counted_between_summary_read_and_mark_when_alerted_then_never_lost(
    aws: EmbeddedAws,
) -> None:
    sns, summaries = _channels(), Recorder()
    alerter = _alerter(BurstLedger(TABLE, aws.client("dynamodb")), sns, summaries)
    for n in range(5):  # 3 alerted one by one, 2 held back for the summary
        alerter.handle(_failure(n))
    # The summarizer's ledger has its own client: right after its first call on the window (the
    # read, or the read-and-mark), one more failure of the window is counted.
    own = BurstLedger(TABLE, boto3.client("dynamodb", region_name=REGION))
    counted: list[dict[str, Any]] = []

    def late_failure(**_: Any) -> None:
        if not counted:
            counted.append(alerter.handle(_failure(99)))

    own.api.meta.events.register("after-call.dynamodb", late_failure)
    _summarizer(own, sns).run([{"messageId": "m", "body": json.dumps(summaries.items[0])}])

    assert counted
    documents = _documents(sns)
    alone = [d for d in documents if d["name"] == "storm-job-99"]
    summarized = [d for d in documents if "storm-job-99" in d["context"].get("jobs", "")]
    assert len(alone) + len(summarized) == 1, "the late failure is in no alert, or in two"


def test_given_thousand_failures_in_one_window_when_counted_then_summary_says_and_n_more(
    aws: EmbeddedAws,
) -> None:
    ledger = BurstLedger(TABLE, aws.client("dynamodb"))
    long = "x" * 230  # job names up to 256 characters (pipelines)
    counts = []
    for n in range(1000):  # unbounded, the window's record passes 400 KB at ~750
        name = f"{long}-{n:04d}"
        counts.append(ledger.add(BUCKET, f"{ACCOUNT}|{REGION}|training|{name}|failed", name, 0))
    first = f"{long}-0000"
    again = ledger.add(BUCKET, f"{ACCOUNT}|{REGION}|training|{first}|failed", first, 0)

    sns = _channels()
    _summarizer(ledger, sns).run([{"messageId": "m", "body": json.dumps(WINDOW)}])

    assert counts[-1] == (1000, False)
    assert again == (1000, False), "a retried incident is counted once"
    [summary] = _documents(sns)
    assert summary["name"] == "1000 training jobs"
    assert summary["context"]["summarized here"] == "997"
    listed, _, more = summary["context"]["jobs"].rpartition(" and ")
    assert listed.startswith(first)
    assert len(listed.split(", ")) + int(more.removesuffix(" more")) == 1000


def test_given_batch_with_malformed_windows_when_summarized_then_each_parked_with_its_reason(
    aws: EmbeddedAws,
) -> None:
    ledger, sns = BurstLedger(TABLE, aws.client("dynamodb")), _channels()
    for n in range(5):
        ledger.add(BUCKET, f"incident-{n}", f"storm-job-{n:02d}", 0)
    queue = aws.queues["summary-dlq"]
    summarizer = _summarizer(ledger, sns, dead_letters=DeadLetterQueue(queue, aws.client("sqs")))
    bodies = {
        "not-json": "{oops",
        "deep": "[" * 100_000 + "]" * 100_000,
        "wrong-type": json.dumps(WINDOW | {"window_start": "soon"}),
        "not-an-object": json.dumps(["a", "list"]),
    }
    records = [{"messageId": key, "body": body} for key, body in bodies.items()]

    failed = summarizer.run([*records, {"messageId": "good", "body": json.dumps(WINDOW)}])

    assert failed == []
    parked = aws.client("sqs").receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    reasons = {m["Body"]: m["MessageAttributes"]["reason"]["StringValue"] for m in parked}
    assert reasons.keys() == set(bodies.values())
    assert "not JSON" in reasons[bodies["not-json"]]
    assert "nested too deeply" in reasons[bodies["deep"]]
    assert "window_start" in reasons[bodies["wrong-type"]]
    assert "is a list" in reasons[bodies["not-an-object"]]
    [summary] = _documents(sns)
    assert summary["name"] == "5 training jobs"


def test_given_malformed_message_in_a_batch_when_summarizer_invoked_then_the_rest_summarized(
    aws: EmbeddedAws,
) -> None:
    """With DEAD_LETTER_QUEUE_URL the function parks the message itself; without, it leaves it
    to the summary queue's redrive policy (a batch item failure). Either way, only it."""
    ledger = BurstLedger(TABLE, aws.client("dynamodb"))
    for n in range(5):
        ledger.add(BUCKET, f"incident-{n}", f"storm-job-{n:02d}", 0)
    records = [
        {"messageId": "bad", "body": "{oops"},
        {"messageId": "good", "body": json.dumps(WINDOW)},
    ]

    response = aws.invoke("summarizer", {"Records": records})

    parks = "DEAD_LETTER_QUEUE_URL" in aws.function_env["summarizer"]
    assert response == {"batchItemFailures": [] if parks else [{"itemIdentifier": "bad"}]}
    [summary] = [alert["json"] for alert in aws.alerts()]
    assert summary["name"] == "5 training jobs"
    assert any(
        log.get("message_id") == "bad" and "not JSON" in log.get("reason", "")
        for log in aws.observed.logs
    )
