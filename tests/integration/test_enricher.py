"""The enricher handler against moto: GetMetricData, ListMetrics and PutEvents for real."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagewatch.embedded import EmbeddedAws
from tests.integration.conftest import sample

pytestmark = pytest.mark.integration


def _record(message_id: str, body: Any) -> dict[str, Any]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


def test_given_batch_with_poison_and_in_progress_when_enriched_then_poison_parked_with_reason(
    aws: EmbeddedAws, demo_metrics: dict[str, Any]
) -> None:
    aws.seed_metrics(demo_metrics)
    batch = {
        "Records": [
            _record("good", sample("training-completed-gpu")),
            _record("dup", sample("training-completed-gpu-duplicate")),
            _record("running", sample("training-in-progress")),
            _record("not-json", "{oops"),
            _record("bad-detail", dict(sample("training-completed-gpu"), detail=["x"])),
        ]
    }
    response = aws.invoke("enricher", batch)

    assert response["batchItemFailures"] == []
    letters = {letter["event_id"]: letter["reason"] for letter in aws.dead_letters()}
    bad_id = batch["Records"][4]["body"] and json.loads(batch["Records"][4]["body"])["id"]
    assert len(letters) == 2
    assert "detail is a list" in letters[bad_id]
    assert any("invalid event" in reason for reason in letters.values())
    reports = aws.reports()
    assert [r["detail"]["job"]["name"] for r in reports] == ["Vision-ResNet50-FT-20261120-0800"]
    assert reports[0]["detail"]["verdict"] == "under-used"
    assert reports[0]["detail"]["utilization"]["gpu_percent"] == pytest.approx(8.5, abs=1)
    # One call for the verdict, one for the under-used job's context (its alert shows memory).
    assert aws.observed.calls["cloudwatch.GetMetricData"] == 2
    assert reports[0]["detail"]["utilization"]["memory_percent"] is not None
    poison = [log for log in aws.observed.logs if log.get("message_id") == "bad-detail"]
    assert poison
    assert "detail is a list" in poison[0]["reason"]


def test_given_finished_jobs_when_enriched_then_emf_has_low_cardinality_dimensions(
    aws: EmbeddedAws, demo_metrics: dict[str, Any]
) -> None:
    aws.seed_metrics(demo_metrics)
    names = ["training-completed-gpu", "processing-completed", "training-heterogeneous-cluster"]
    aws.invoke("enricher", {"Records": [_record(n, sample(n)) for n in names]})

    jobs = [m for m in aws.observed.metrics if m["name"] == "Jobs"]
    assert len(jobs) == 3
    for metric in aws.observed.metrics:  # a handful of series whatever the fleet's size
        assert set(metric["dimensions"]) == {"JobType"}
        assert metric["namespace"] == "SageWatch"
    assert {m["name"] for m in aws.observed.metrics} <= {
        "Jobs", "FailedJobs", "UnderUsedJobs", "WastedInstanceHours", "EstimatedWasteUSD"
    }  # fmt: skip
    verdicts = {r["detail"]["job"]["name"]: r["detail"]["verdict"] for r in aws.reports()}
    assert verdicts == {
        "Vision-ResNet50-FT-20261120-0800": "under-used",
        "forecasting-feature-build-20261120-0700": "idle",
        "vision-hetero-tf-dataservice-20261120-0500": "ok",
    }


def test_given_transform_job_when_enriched_then_hosts_are_discovered_with_list_metrics(
    aws: EmbeddedAws,
) -> None:
    event = sample("transform-completed")
    event["region"] = "us-east-1"
    name = event["detail"]["TransformJobName"]
    start, end = "2026-11-20T04:00:00Z", "2026-11-20T05:00:00Z"
    series = [
        {"namespace": "/aws/sagemaker/TransformJobs", "metric": metric,
         "dimensions": {"Host": host}, "start": start, "end": end, "every_seconds": 300,
         "value": value}
        for host in (f"{name}/i-0abc", f"{name}0/i-0zzz")  # the second is another job's host
        for metric, value in (("CPUUtilization", 200.0), ("MemoryUtilization", 40.0))
    ]  # fmt: skip
    event["detail"]["TransformStartTime"] = start
    event["detail"]["TransformEndTime"] = end
    aws.seed_metrics({"series": series})

    aws.invoke("enricher", {"Records": [_record("t", event)]})

    report = aws.reports()[0]["detail"]
    assert aws.observed.calls["cloudwatch.ListMetrics"] == 1
    assert report["utilization"]["cpu_percent"] == pytest.approx(50.0)  # 200 of 4 vCPUs × 100
    assert report["utilization"]["disk_percent"] is None


def test_given_put_events_rejects_an_entry_when_enriched_then_that_job_is_retried(
    aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.adapters.eventbridge import EventPublisher

    monkeypatch.setattr(EventPublisher, "put", lambda *args: [0])
    response = aws.invoke("enricher", {"Records": [_record("a", sample("training-failed"))]})

    assert response["batchItemFailures"] == [{"itemIdentifier": "a"}]
    assert [m for m in aws.observed.metrics if m["name"] == "Jobs"] == []


def test_given_put_events_keeps_rejecting_when_last_delivery_then_parked_with_reason(
    aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.adapters.eventbridge import EventPublisher

    monkeypatch.setattr(EventPublisher, "put", lambda *args: [0])
    record = _record("a", sample("training-failed")) | {
        "attributes": {"ApproximateReceiveCount": str(aws.enrichment_max_receives)}
    }
    response = aws.invoke("enricher", {"Records": [record]})

    assert response["batchItemFailures"] == []
    [letter] = aws.dead_letters()
    assert "PutEvents did not accept" in letter["reason"]
    assert letter["destination"] == "enrichment"


def test_given_job_without_datapoints_when_enriched_then_waits_then_reports_insufficient(
    aws: EmbeddedAws,
) -> None:
    event = sample("training-completed-gpu")  # no metrics seeded
    for receive, waits in ((1, True), (2, True), (3, False)):
        record = _record("m", event) | {"attributes": {"ApproximateReceiveCount": str(receive)}}
        response = aws.invoke("enricher", {"Records": [record]})
        assert (response["batchItemFailures"] != []) is waits
    [report] = aws.reports()
    assert report["detail"]["verdict"] == "insufficient-data"


def test_given_same_job_in_two_batches_when_enriched_then_one_report_and_one_emf_record(
    aws: EmbeddedAws, demo_metrics: dict[str, Any]
) -> None:
    aws.seed_metrics(demo_metrics)
    aws.invoke("enricher", {"Records": [_record("1", sample("training-completed-gpu"))]})
    aws.invoke("enricher", {"Records": [_record("2", sample("training-completed-gpu-duplicate"))]})

    assert len(aws.reports()) == 1
    assert len([m for m in aws.observed.metrics if m["name"] == "Jobs"]) == 1


def test_given_batch_of_16_with_hostile_records_when_enriched_then_only_those_parked_with_reason(
    aws: EmbeddedAws,
) -> None:
    """A time out of range in UTC, a body nested past the JSON decoder's recursion and an id
    that is not a string: each parked alone with its reason, the rest of the batch goes on."""
    good = sample("training-completed-gpu")

    def job(n: int) -> dict[str, Any]:
        return dict(good, id=f"ok-{n}", detail=dict(good["detail"], TrainingJobName=f"job-{n}"))

    far = job(13)
    far["detail"]["TrainingEndTime"] = "9999-12-31T23:59:59-01:00"
    records = [_record(f"ok-{n}", job(n)) for n in range(13)] + [
        _record("far-future", far),
        _record("deep", "[" * 100_000 + "]" * 100_000),
        _record("numeric-id", dict(good, id=12345)),
    ]

    response = aws.invoke("enricher", {"Records": records})

    retried = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    assert not retried & {"deep", "numeric-id"}  # parked, never retried
    parked = aws.client("sqs").receive_message(
        QueueUrl=aws.queues["enrichment-dlq"],
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )["Messages"]
    attributes = {
        m["Body"][:20]: {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
        for m in parked
    }
    assert len(attributes) == 2
    deep = attributes["[" * 20]
    assert "nested too deeply" in deep["reason"]
    [numeric] = [a for body, a in attributes.items() if body != "[" * 20]
    assert numeric["event_id"] == "12345"
    assert "envelope field 'id'" in numeric["reason"]
