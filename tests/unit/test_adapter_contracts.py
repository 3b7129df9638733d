"""shared.aws adapters against the AWS APIs, pinned with botocore's Stubber: the exact requests each
adapter sends (validated by botocore against its own service model, so a misspelled or misplaced
parameter fails) and what it makes of the answers. Real clients, fake credentials, no network."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from shared.adapters.cloudwatch import EndpointActivity, MetricsReader
from shared.adapters.dynamodb import BurstLedger, FleetTable
from shared.adapters.eventbridge import EventPublisher, RefreshRequester
from shared.adapters.sns import AlertPublisher
from shared.adapters.sqs import DeadLetterQueue, SummaryQueue
from shared.contracts.storm_window import StormWindow
from shared.domain.health import Minute, Signal
from shared.domain.utilization import Call, JobKey, Metric, Query
from shared.domain.vocabulary import ResourceKind
from shared.platform.errors import PublishError, RetryableError

REGION = "us-east-1"
ACCOUNT = "111122223333"  # the monitoring account
WORKLOAD = "444455556666"
BUS = "sagewatch-bus"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:sagewatch-alerts"
QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/sagewatch-queue"
TABLE = "sagewatch-table"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

Service = Literal["events", "cloudwatch", "sns", "sqs", "dynamodb"]
Stubbed = Callable[[Service], tuple[Any, Stubber]]


class Json:
    """Equal to a JSON text that decodes to `value` (key order and spacing are no contract)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and json.loads(other) == self.value

    def __repr__(self) -> str:
        return f"Json({self.value!r})"


@pytest.fixture
def aws(offline_credentials: None) -> Iterator[Stubbed]:
    """Real boto3 clients (fake credentials, no config files), each behind an active Stubber."""
    stubbers: list[Stubber] = []

    def make(service: Service) -> tuple[Any, Stubber]:
        stubber = Stubber(boto3.client(service, region_name=REGION))
        stubber.activate()
        stubbers.append(stubber)
        return stubber.client, stubber

    yield make
    for stubber in stubbers:
        stubber.deactivate()


def error(stub: Stubber, operation: str, code: str, status: int = 400) -> None:
    stub.add_client_error(operation, service_error_code=code, http_status_code=status)


# EventPublisher: PutEvents


def entry(detail: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "Source": "sagewatch.enricher",
        "DetailType": "Job Report",
        "Detail": json.dumps(detail, separators=(",", ":")),
        "EventBusName": BUS,
        **extra,
    }


def accepted(count: int) -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e-{i}"} for i in range(count)]}


def test_given_25_reports_when_put_then_three_put_events_calls_of_at_most_ten(
    aws: Stubbed,
) -> None:
    events, stub = aws("events")
    details = [{"job": f"job-{i}", "n": i} for i in range(25)]
    for start, end in ((0, 10), (10, 20), (20, 25)):
        stub.add_response(
            "put_events",
            accepted(end - start),
            {"Entries": [entry(d) for d in details[start:end]]},
        )

    failed = EventPublisher(BUS, events).put("sagewatch.enricher", "Job Report", details)

    assert failed == []
    stub.assert_no_pending_responses()


def test_given_rejected_entries_in_two_chunks_when_put_then_their_overall_indexes_return(
    aws: Stubbed,
) -> None:
    events, stub = aws("events")
    details = [{"n": i} for i in range(13)]
    first = [{"EventId": f"e-{i}"} for i in range(10)]
    first[3] = {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
    stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": first})
    stub.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [
                {"EventId": "e-10"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                {"EventId": "e-12"},
            ],
        },
    )

    failed = EventPublisher(BUS, events).put("sagewatch.enricher", "Job Report", details)

    assert failed == [3, 11]
    stub.assert_no_pending_responses()


def test_given_a_clock_time_when_put_then_every_entry_is_stamped_with_it(aws: Stubbed) -> None:
    events, stub = aws("events")
    details = [{"n": 1}, {"n": 2}]
    stub.add_response("put_events", accepted(2), {"Entries": [entry(d, Time=T0) for d in details]})

    assert EventPublisher(BUS, events).put("sagewatch.enricher", "Job Report", details, T0) == []
    stub.assert_no_pending_responses()


def test_given_no_reports_when_put_then_no_request_is_sent(aws: Stubbed) -> None:
    events, _ = aws("events")  # nothing queued: any request would fail as unstubbed

    assert EventPublisher(BUS, events).put("sagewatch.enricher", "Job Report", []) == []


def test_given_access_denied_when_put_then_the_client_error_propagates(aws: Stubbed) -> None:
    events, stub = aws("events")
    error(stub, "put_events", "AccessDeniedException", 403)

    with pytest.raises(ClientError, match="AccessDeniedException"):
        EventPublisher(BUS, events).put("sagewatch.enricher", "Job Report", [{"n": 1}])


# MetricsReader: GetMetricData and ListMetrics

JOB = JobKey(WORKLOAD, REGION, ResourceKind.TRAINING, "train-1")
OTHER = JobKey("777788889999", REGION, ResourceKind.TRAINING, "train-2")


def query(qid: str, job: JobKey, metric: Metric, start: datetime = T0) -> Query:
    return Query(qid, job, f"{job.name}/algo-1", metric, 60, start, start + timedelta(hours=1))


def api_query(qid: str, job: JobKey, metric: str) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": "/aws/sagemaker/TrainingJobs",
                "MetricName": metric,
                "Dimensions": [{"Name": "Host", "Value": f"{job.name}/algo-1"}],
            },
            "Period": 60,
            "Stat": "Average",
        },
        "AccountId": job.account,
        "ReturnData": True,
    }


def metric_request(*queries: dict[str, Any], start: datetime = T0, **extra: Any) -> dict[str, Any]:
    return {
        "MetricDataQueries": list(queries),
        "StartTime": start,
        "EndTime": start + timedelta(hours=1),
        "ScanBy": "TimestampAscending",
        **extra,
    }


def result(qid: str, *values: float, status: str = "Complete") -> dict[str, Any]:
    return {
        "Id": qid,
        "StatusCode": status,
        "Timestamps": [T0 + timedelta(minutes=i) for i in range(len(values))],
        "Values": list(values),
    }


def test_given_two_calls_when_fetched_then_one_get_metric_data_per_call_with_its_window(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    later = T0 + timedelta(days=1)
    cpu, gpu = query("m0", JOB, Metric.CPU), query("m1", JOB, Metric.GPU)
    other = query("m0", OTHER, Metric.MEMORY, later)
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m0", 40.0, 60.0)]},  # m1 has no datapoints at all
        metric_request(
            api_query("m0", JOB, "CPUUtilization"), api_query("m1", JOB, "GPUUtilization")
        ),
    )
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m0", 5.0)]},
        metric_request(api_query("m0", OTHER, "MemoryUtilization"), start=later),
    )
    calls = [
        Call((cpu, gpu), T0, T0 + timedelta(hours=1)),
        Call((other,), later, later + timedelta(hours=1)),
    ]

    fetched = MetricsReader(cloudwatch).fetch(calls)

    assert fetched.series == {
        cpu: [(T0, 40.0), (T0 + timedelta(minutes=1), 60.0)],
        gpu: [],
        other: [(T0, 5.0)],
    }
    assert fetched.forbidden == set()
    stub.assert_no_pending_responses()


def test_given_a_next_token_when_fetched_then_the_same_request_continues_with_it(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    cpu = query("m0", JOB, Metric.CPU)
    request = metric_request(api_query("m0", JOB, "CPUUtilization"))
    first = result("m0", 1.0, 2.0, status="PartialData")
    second = result("m0", 3.0)
    second["Timestamps"] = [T0 + timedelta(minutes=2)]
    stub.add_response("get_metric_data", {"MetricDataResults": [first], "NextToken": "p2"}, request)
    stub.add_response(
        "get_metric_data", {"MetricDataResults": [second]}, request | {"NextToken": "p2"}
    )

    fetched = MetricsReader(cloudwatch).fetch([Call((cpu,), T0, T0 + timedelta(hours=1))])

    assert [value for _, value in fetched.series[cpu]] == [1.0, 2.0, 3.0]
    stub.assert_no_pending_responses()


def test_given_a_forbidden_result_when_fetched_then_its_job_is_forbidden_with_no_points(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    mine, theirs = query("m0", JOB, Metric.CPU), query("m1", OTHER, Metric.CPU)
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m0", 50.0), result("m1", status="Forbidden")]},
        metric_request(
            api_query("m0", JOB, "CPUUtilization"), api_query("m1", OTHER, "CPUUtilization")
        ),
    )

    fetched = MetricsReader(cloudwatch).fetch([Call((mine, theirs), T0, T0 + timedelta(hours=1))])

    assert fetched.forbidden == {OTHER}
    assert fetched.series == {mine: [(T0, 50.0)], theirs: []}


def test_given_an_internal_error_result_when_fetched_then_a_retryable_error(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m0", status="InternalError")]},
        metric_request(api_query("m0", JOB, "CPUUtilization")),
    )

    with pytest.raises(RetryableError, match="GetMetricData"):
        MetricsReader(cloudwatch).fetch(
            [Call((query("m0", JOB, Metric.CPU),), T0, T0 + timedelta(hours=1))]
        )


def test_given_access_denied_when_fetched_then_the_client_error_propagates(aws: Stubbed) -> None:
    cloudwatch, stub = aws("cloudwatch")
    error(stub, "get_metric_data", "AccessDenied", 403)

    with pytest.raises(ClientError, match="AccessDenied"):
        MetricsReader(cloudwatch).fetch(
            [Call((query("m0", JOB, Metric.CPU),), T0, T0 + timedelta(hours=1))]
        )


TRANSFORM_HOSTS = "/aws/sagemaker/TransformJobs"
LIST_HOSTS = {
    "Namespace": TRANSFORM_HOSTS,
    "MetricName": "CPUUtilization",
    "Dimensions": [{"Name": "Host"}],
    "IncludeLinkedAccounts": True,
    "OwningAccount": WORKLOAD,
}


def _host_metric(host: str, name: str = "Host") -> dict[str, Any]:
    return {
        "Namespace": TRANSFORM_HOSTS,
        "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": name, "Value": host}],
    }


def test_given_two_pages_of_metrics_when_hosts_then_list_metrics_is_paginated_and_prefix_exact(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    stub.add_response(
        "list_metrics",
        {"Metrics": [_host_metric("job-1/i-b"), _host_metric("job-10/i-c")], "NextToken": "p2"},
        LIST_HOSTS,
    )
    stub.add_response(
        "list_metrics",
        {"Metrics": [_host_metric("job-1/i-a"), _host_metric("job-2/i-d", name="Other")]},
        LIST_HOSTS | {"NextToken": "p2"},
    )

    hosts = MetricsReader(cloudwatch).hosts(WORKLOAD, TRANSFORM_HOSTS, ["job-1", "job-2"])

    assert hosts == {"job-1": ["job-1/i-a", "job-1/i-b"], "job-2": []}
    stub.assert_no_pending_responses()


def test_given_more_metrics_than_max_listed_when_hosts_then_listing_stops_there(
    aws: Stubbed, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    monkeypatch.setattr(MetricsReader, "MAX_LISTED", 2)
    listed = [_host_metric(f"job-1/i-{n}") for n in range(2)]
    stub.add_response("list_metrics", {"Metrics": listed, "NextToken": "p2"}, LIST_HOSTS)

    hosts = MetricsReader(cloudwatch).hosts(WORKLOAD, TRANSFORM_HOSTS, ["job-1"])

    assert hosts == {"job-1": ["job-1/i-0", "job-1/i-1"]}  # no second page asked for
    stub.assert_no_pending_responses()


# AlertPublisher: SNS Publish


def test_given_attributes_when_published_then_non_empty_ones_go_as_string_attributes(
    aws: Stubbed,
) -> None:
    sns, stub = aws("sns")
    stub.add_response(
        "publish",
        {"MessageId": "m-1"},
        {
            "TopicArn": TOPIC,
            "Subject": "Idle endpoint",
            "Message": "body",
            "MessageAttributes": {
                "severity": {"DataType": "String", "StringValue": "high"},
                "account": {"DataType": "String", "StringValue": WORKLOAD},
            },
        },
    )

    message_id = AlertPublisher(TOPIC, sns).publish(
        "Idle endpoint", "body", {"severity": "high", "account": WORKLOAD, "project": ""}
    )

    assert message_id == "m-1"
    stub.assert_no_pending_responses()


def test_given_no_message_id_when_published_then_a_publish_error(aws: Stubbed) -> None:
    sns, stub = aws("sns")
    stub.add_response("publish", {})

    with pytest.raises(PublishError, match="MessageId"):
        AlertPublisher(TOPIC, sns).publish("s", "m", {})


def test_given_authorization_error_when_published_then_the_client_error_propagates(
    aws: Stubbed,
) -> None:
    sns, stub = aws("sns")
    error(stub, "publish", "AuthorizationError", 403)

    with pytest.raises(ClientError, match="AuthorizationError"):
        AlertPublisher(TOPIC, sns).publish("s", "m", {"severity": "high"})


# DeadLetterQueue and SummaryQueue: SQS SendMessage


def string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def test_given_a_poison_record_when_parked_then_reason_type_and_id_are_string_attributes(
    aws: Stubbed,
) -> None:
    sqs, stub = aws("sqs")
    stub.add_response(
        "send_message",
        {"MessageId": "m-1"},
        {
            "QueueUrl": QUEUE,
            "MessageBody": '{"id":"e-1"}',
            "MessageAttributes": {
                "reason": string("bad detail"),
                "error_type": string("InvalidEvent"),
                "event_id": string("e-1"),
            },
        },
    )

    DeadLetterQueue(QUEUE, sqs).send('{"id":"e-1"}', "bad detail", "e-1", "InvalidEvent")

    stub.assert_no_pending_responses()


def test_given_an_unsendable_long_reason_and_no_id_when_parked_then_it_is_cleaned_and_cut(
    aws: Stubbed,
) -> None:
    sqs, stub = aws("sqs")
    reason = "a\x00b\ud800c\ufffe" + "x" * 2000
    stub.add_response(
        "send_message",
        {"MessageId": "m-1"},
        {
            "QueueUrl": QUEUE,
            "MessageBody": "body",
            "MessageAttributes": {
                "reason": string("a?b?c?" + "x" * 994),
                "error_type": string("KeyError"),
            },
        },
    )

    DeadLetterQueue(QUEUE, sqs).send("body", reason, None, "KeyError")

    stub.assert_no_pending_responses()


def test_given_a_closed_window_when_scheduled_then_one_message_of_its_json(aws: Stubbed) -> None:
    sqs, stub = aws("sqs")
    window = StormWindow.of(WORKLOAD, "us-east-1", ResourceKind.TRAINING, 1_795_176_000, 600)
    stub.add_response(
        "send_message",
        {"MessageId": "m-1"},
        {"QueueUrl": QUEUE, "MessageBody": Json(window.message())},
    )

    SummaryQueue(QUEUE, sqs).schedule(window)

    stub.assert_no_pending_responses()


# BurstLedger: DynamoDB UpdateItem


def digest(incident: str) -> str:
    return hashlib.sha256(incident.encode()).hexdigest()[:16]


def test_given_room_in_the_window_when_added_then_one_conditional_add_of_digest_and_name(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    stub.add_response(
        "update_item",
        {"Attributes": {"incidents": {"SS": ["a", "b"]}, "unlisted": {"N": "3"}}},
        {
            "TableName": TABLE,
            "Key": {"id": {"S": "burst|w1"}},
            "UpdateExpression": (
                "ADD incidents :i, job_names :n SET expiration = if_not_exists(expiration, :e)"
            ),
            "ConditionExpression": (
                "attribute_not_exists(incidents) OR size(incidents) < :listed"
                " OR contains(incidents, :d)"
            ),
            "ExpressionAttributeValues": {
                ":i": {"SS": [digest("incident-1")]},
                ":d": {"S": digest("incident-1")},
                ":n": {"SS": ["train-1"]},
                ":listed": {"N": "500"},
                ":e": {"N": "1700000000"},
            },
            "ReturnValues": "ALL_NEW",
        },
    )

    counted = BurstLedger(TABLE, dynamodb).add("burst|w1", "incident-1", "train-1", 1700000000)

    assert counted == (5, False)
    stub.assert_no_pending_responses()


def test_given_a_full_window_when_added_then_only_the_unlisted_counter_grows(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    error(stub, "update_item", "ConditionalCheckFailedException")
    stub.add_response(
        "update_item",
        {
            "Attributes": {
                "incidents": {"SS": ["a", "b"]},
                "unlisted": {"N": "499"},
                "summarized": {"BOOL": True},
            }
        },
        {
            "TableName": TABLE,
            "Key": {"id": {"S": "burst|w1"}},
            "UpdateExpression": "ADD unlisted :one SET expiration = if_not_exists(expiration, :e)",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":e": {"N": "1700000000"}},
            "ReturnValues": "ALL_NEW",
        },
    )

    counted = BurstLedger(TABLE, dynamodb).add("burst|w1", "incident-9", "train-9", 1700000000)

    assert counted == (501, True)
    stub.assert_no_pending_responses()


def test_given_throttling_when_added_then_the_error_propagates_without_the_fallback(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    error(stub, "update_item", "ProvisionedThroughputExceededException")

    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        BurstLedger(TABLE, dynamodb).add("burst|w1", "incident-1", "train-1", 1700000000)
    stub.assert_no_pending_responses()  # one request: a second one would be unstubbed


def test_given_a_window_when_summarized_then_it_is_marked_only_if_it_exists(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    stub.add_response(
        "update_item",
        {
            "Attributes": {
                "incidents": {"SS": ["a", "b"]},
                "job_names": {"SS": ["train-2", "train-1"]},
                "unlisted": {"N": "1"},
                "summarized": {"BOOL": True},
            }
        },
        {
            "TableName": TABLE,
            "Key": {"id": {"S": "burst|w1"}},
            "UpdateExpression": "SET summarized = :t",
            "ConditionExpression": "attribute_exists(id)",
            "ExpressionAttributeValues": {":t": {"BOOL": True}},
            "ReturnValues": "ALL_NEW",
        },
    )

    assert BurstLedger(TABLE, dynamodb).summarize("burst|w1") == (3, ["train-1", "train-2"])
    stub.assert_no_pending_responses()


def test_given_an_expired_window_when_summarized_then_none(aws: Stubbed) -> None:
    dynamodb, stub = aws("dynamodb")
    error(stub, "update_item", "ConditionalCheckFailedException")

    assert BurstLedger(TABLE, dynamodb).summarize("burst|w1") is None
    stub.assert_no_pending_responses()


# FleetTable: DynamoDB UpdateItem, PutItem, DeleteItem, GetItem, Scan

HEARTBEAT = {
    "TableName": TABLE,
    "Key": {"id": {"S": f"source|{WORKLOAD}|{REGION}"}},
    "UpdateExpression": "SET #a = :a, #r = :r, #t = :t, #i = :i, #p = :p, #e = :e",
    "ConditionExpression": "attribute_not_exists(#t) OR #t < :t",
    "ExpressionAttributeNames": {
        "#a": "account",
        "#r": "region",
        "#t": "last_seen",
        "#i": "interval_minutes",
        "#p": "project",
        "#e": "environment",
    },
    "ExpressionAttributeValues": {
        ":a": {"S": WORKLOAD},
        ":r": {"S": REGION},
        ":t": {"N": "1700000000.5"},
        ":i": {"N": "15"},
        ":p": {"S": "vision"},
        ":e": {"S": "unknown"},
    },
}


def test_given_a_heartbeat_when_put_then_a_newer_than_stored_conditional_update(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    stub.add_response("update_item", {}, HEARTBEAT)

    FleetTable(TABLE, dynamodb).put_heartbeat(
        WORKLOAD, REGION, 1700000000.5, 15, {"project": "vision"}
    )

    stub.assert_no_pending_responses()


def test_given_an_older_heartbeat_when_put_then_the_failed_condition_is_not_an_error(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    error(stub, "update_item", "ConditionalCheckFailedException")

    FleetTable(TABLE, dynamodb).put_heartbeat(
        WORKLOAD, REGION, 1700000000.5, 15, {"project": "vision"}
    )

    stub.assert_no_pending_responses()


def test_given_throttling_when_a_heartbeat_is_put_then_the_error_propagates(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    error(stub, "update_item", "ProvisionedThroughputExceededException")

    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        FleetTable(TABLE, dynamodb).put_heartbeat(WORKLOAD, REGION, 1.0, 15, {})


def test_given_two_scan_pages_when_sources_then_consistent_scan_follows_the_last_key(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    scan = {"TableName": TABLE, "ConsistentRead": True}
    last = {"id": {"S": f"source|{WORKLOAD}|{REGION}"}}
    source = {
        "id": {"S": f"source|{WORKLOAD}|{REGION}"},
        "account": {"S": WORKLOAD},
        "region": {"S": REGION},
        "last_seen": {"N": "100.5"},
        "interval_minutes": {"N": "15"},
        "silent_since": {"N": "90"},
    }
    stub.add_response(
        "scan",
        {"Items": [source, {"id": {"S": "inventory|x|y"}}], "LastEvaluatedKey": last},
        scan,
    )
    stub.add_response(
        "scan",
        {
            "Items": [
                {"id": {"S": "expected|777788889999"}, "since": {"N": "50"}},
                {
                    "id": {"S": "expected|999900001111"},
                    "since": {"N": "60"},
                    "alerted": {"BOOL": False},
                },
            ]
        },
        scan | {"ExclusiveStartKey": last},
    )

    sources, never_heard = FleetTable(TABLE, dynamodb).sources()

    assert sources == [
        {
            "account": WORKLOAD,
            "region": REGION,
            "last_seen": 100.5,
            "interval_minutes": 15,
            "silent_since": 90.0,
        }
    ]
    assert never_heard == {"777788889999": (50.0, True), "999900001111": (60.0, False)}
    stub.assert_no_pending_responses()


def test_given_a_missed_account_when_expected_then_a_put_only_if_absent(aws: Stubbed) -> None:
    dynamodb, stub = aws("dynamodb")
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                "id": {"S": f"expected|{WORKLOAD}"},
                "since": {"N": "42.0"},
                "alerted": {"BOOL": False},
            },
            "ConditionExpression": "attribute_not_exists(id)",
        },
    )
    error(stub, "put_item", "ConditionalCheckFailedException")  # already expected: no error

    table = FleetTable(TABLE, dynamodb)
    table.expect(WORKLOAD, 42.0)
    table.expect(WORKLOAD, 43.0)

    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("region", "silent_since", "operation", "params"),
    [
        (None, None, "delete_item", {"Key": {"id": {"S": f"expected|{WORKLOAD}"}}}),
        (
            None,
            7.5,
            "put_item",
            {
                "Item": {
                    "id": {"S": f"expected|{WORKLOAD}"},
                    "since": {"N": "7.5"},
                    "alerted": {"BOOL": True},
                }
            },
        ),
        (
            REGION,
            None,
            "update_item",
            {
                "Key": {"id": {"S": f"source|{WORKLOAD}|{REGION}"}},
                "UpdateExpression": "REMOVE silent_since",
            },
        ),
        (
            REGION,
            7.5,
            "update_item",
            {
                "Key": {"id": {"S": f"source|{WORKLOAD}|{REGION}"}},
                "UpdateExpression": "SET silent_since = :s",
                "ExpressionAttributeValues": {":s": {"N": "7.5"}},
            },
        ),
    ],
    ids=["clear-expected", "mark-expected", "clear-source", "mark-source"],
)
def test_given_a_silence_change_when_marked_then_one_write_of_the_right_item(
    aws: Stubbed,
    region: str | None,
    silent_since: float | None,
    operation: str,
    params: dict[str, Any],
) -> None:
    dynamodb, stub = aws("dynamodb")
    stub.add_response(operation, {}, {"TableName": TABLE} | params)

    FleetTable(TABLE, dynamodb).mark(WORKLOAD, region, silent_since)

    stub.assert_no_pending_responses()


def test_given_a_snapshot_when_put_then_a_put_only_over_older_snapshots(aws: Stubbed) -> None:
    dynamodb, stub = aws("dynamodb")
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                "id": {"S": f"inventory|{WORKLOAD}|{REGION}"},
                "account": {"S": WORKLOAD},
                "region": {"S": REGION},
                "collected_at": {"N": "200.0"},
                "endpoints": {"S": "[]"},
                "first_seen": {"S": "{}"},
                "dead_letters": {"N": "0"},
                "teams": {"S": "{}"},
                "endpoints_complete": {"BOOL": False},
                "expiration": {"N": "900"},
            },
            "ConditionExpression": "attribute_not_exists(collected_at) OR collected_at < :t",
            "ExpressionAttributeValues": {":t": {"N": "200.0"}},
        },
    )
    error(stub, "put_item", "ConditionalCheckFailedException")  # an older one: no error

    table = FleetTable(TABLE, dynamodb)
    record: dict[str, Any] = {
        "account": WORKLOAD,
        "region": REGION,
        "endpoints": "[]",
        "first_seen": "{}",
    }
    record |= {"dead_letters": 0, "teams": "{}", "endpoints_complete": False}
    table.put_inventory(record | {"collected_at": 200.0}, 900)
    table.put_inventory(record | {"collected_at": 100.0}, 900)

    stub.assert_no_pending_responses()


def test_given_owning_teams_when_read_then_only_the_inventory_records_teams_are_asked(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    key = {"id": {"S": f"inventory|{WORKLOAD}|{REGION}"}}
    asked = {"TableName": TABLE, "Key": key, "ProjectionExpression": "teams"}
    stub.add_response("get_item", {"Item": {"teams": {"S": '{"pipeline/p":"t"}'}}}, asked)
    stub.add_response("get_item", {}, asked)  # no snapshot yet

    table = FleetTable(TABLE, dynamodb)

    assert table.teams(WORKLOAD, REGION) == {"pipeline/p": "t"}
    assert table.teams(WORKLOAD, REGION) == {}
    stub.assert_no_pending_responses()


def test_given_an_alias_when_kept_then_only_beside_a_heartbeat_and_over_older_ones(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    stub.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"id": {"S": f"source|{WORKLOAD}|{REGION}"}},
            "UpdateExpression": "SET account_name = :n, named_at = :at",
            "ConditionExpression": "attribute_exists(last_seen)"
            " AND (attribute_not_exists(named_at) OR named_at < :at)",
            "ExpressionAttributeValues": {":n": {"S": "nlp-prod"}, ":at": {"N": "200.0"}},
        },
    )
    error(stub, "update_item", "ConditionalCheckFailedException")  # older, or no heartbeat

    table = FleetTable(TABLE, dynamodb)
    table.name_account(WORKLOAD, REGION, 200.0, "nlp-prod")
    table.name_account(WORKLOAD, REGION, 100.0, "nlp-old")

    stub.assert_no_pending_responses()


def test_given_a_stored_snapshot_when_read_then_get_item_by_key_and_values_unwrapped(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    item_id = {"S": f"inventory|{WORKLOAD}|{REGION}"}
    key = {"TableName": TABLE, "Key": {"id": item_id}}
    stub.add_response(
        "get_item",
        {"Item": {"id": item_id, "collected_at": {"N": "200"}, "endpoints": {"S": "[]"}}},
        key,
    )
    stub.add_response("get_item", {}, key)

    table = FleetTable(TABLE, dynamodb)
    assert table.inventory(WORKLOAD, REGION) == {
        "id": f"inventory|{WORKLOAD}|{REGION}",
        "collected_at": "200",
        "endpoints": "[]",
    }
    assert table.inventory(WORKLOAD, REGION) is None
    stub.assert_no_pending_responses()


def test_given_a_mixed_table_when_inventories_then_only_snapshots_of_every_page(
    aws: Stubbed,
) -> None:
    dynamodb, stub = aws("dynamodb")
    scan = {"TableName": TABLE, "ConsistentRead": True}
    last = {"id": {"S": "inventory|a|b"}}
    stub.add_response(
        "scan",
        {
            "Items": [{"id": {"S": "inventory|a|b"}}, {"id": {"S": "source|a|b"}}],
            "LastEvaluatedKey": last,
        },
        scan,
    )
    stub.add_response(
        "scan", {"Items": [{"id": {"S": "inventory|c|d"}}]}, scan | {"ExclusiveStartKey": last}
    )

    assert FleetTable(TABLE, dynamodb).inventories() == [
        {"id": "inventory|a|b"},
        {"id": "inventory|c|d"},
    ]
    stub.assert_no_pending_responses()


# EndpointActivity: GetMetricData with AccountId


def invocations(i: int, endpoint: str, variant: str = "AllTraffic") -> dict[str, Any]:
    return {
        "Id": f"q{i}",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": 3600,
            "Stat": "Sum",
        },
        "AccountId": WORKLOAD,
    }


def sums(qid: str, *values: float, status: str = "Complete") -> dict[str, Any]:
    return {"Id": qid, "StatusCode": status, "Values": list(values)}


HOUR = T0 + timedelta(hours=1)


def test_given_endpoints_with_variants_when_counted_then_summed_over_variants_and_pages(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    request = {
        "MetricDataQueries": [
            invocations(0, "a", "blue"),
            invocations(1, "a", "green"),
            invocations(2, "b"),
        ],
        "StartTime": T0,
        "EndTime": HOUR,
    }
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [sums("q0", 1.0, 2.0), sums("q2")], "NextToken": "p2"},
        request,
    )
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [sums("q1", 4.0)]},
        request | {"NextToken": "p2"},
    )

    totals = EndpointActivity(cloudwatch).invocations(
        WORKLOAD, {"a": ["blue", "green"], "b": ["AllTraffic"], "c": []}, T0, HOUR
    )

    assert totals == {"a": 7.0, "b": 0.0, "c": 0.0}
    stub.assert_no_pending_responses()


def test_given_501_variants_in_an_hour_when_counted_then_calls_of_500_and_1_numbered_from_q0(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    names = [f"ep-{i:03d}" for i in range(501)]
    window = {"StartTime": T0, "EndTime": HOUR}
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [sums("q499", 3.0)]},
        {"MetricDataQueries": [invocations(i, n) for i, n in enumerate(names[:500])]} | window,
    )
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [sums("q0", 5.0)]},
        {"MetricDataQueries": [invocations(0, names[500])]} | window,
    )

    totals = EndpointActivity(cloudwatch).invocations(
        WORKLOAD, {n: ["AllTraffic"] for n in names}, T0, HOUR
    )

    assert (totals["ep-499"], totals["ep-500"], totals["ep-000"]) == (3.0, 5.0, 0.0)
    stub.assert_no_pending_responses()


def test_given_a_30_day_window_when_counted_then_calls_stay_within_100800_points(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    end = T0 + timedelta(days=30)  # 721 hourly points a query: 139 queries (100,219 points)
    names = [f"ep-{i:03d}" for i in range(140)]
    window = {"StartTime": T0, "EndTime": end}
    for chunk in (names[:139], names[139:]):
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": []},
            {"MetricDataQueries": [invocations(i, n) for i, n in enumerate(chunk)]} | window,
        )

    EndpointActivity(cloudwatch).invocations(WORKLOAD, {n: ["AllTraffic"] for n in names}, T0, end)

    stub.assert_no_pending_responses()


def health_query(i: int, endpoint: str, metric: str, stat: str) -> dict[str, Any]:
    query = invocations(i, endpoint)
    query["MetricStat"] |= {"Period": 60, "Stat": stat}
    query["MetricStat"]["Metric"]["MetricName"] = metric
    return query


def test_given_variants_when_their_health_is_read_then_three_minute_queries_each_by_minute(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    end = T0 + timedelta(minutes=10)
    queries = [
        health_query(i * 3 + j, name, metric, stat)
        for i, name in enumerate(("a", "b"))
        for j, (metric, stat) in enumerate(
            (("Invocations", "Sum"), ("Invocation5XXErrors", "Sum"), ("ModelLatency", "Average"))
        )
    ]
    minute = T0 + timedelta(minutes=1)
    stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "q0", "StatusCode": "Complete", "Timestamps": [T0, minute],
                 "Values": [100.0, 50.0]},
                {"Id": "q1", "StatusCode": "Complete", "Timestamps": [minute], "Values": [5.0]},
                {"Id": "q2", "StatusCode": "Complete", "Timestamps": [T0], "Values": [40_000.0]},
            ]
        },
        {"MetricDataQueries": queries, "StartTime": T0, "EndTime": end},
    )  # fmt: skip

    both = frozenset(Signal)
    found = EndpointActivity(cloudwatch).health(
        WORKLOAD, {("a", "AllTraffic"): both, ("b", "AllTraffic"): both}, T0, end
    )

    assert found == {
        ("a", "AllTraffic"): [Minute(T0, 100.0, 0.0, 40.0), Minute(minute, 50.0, 5.0, None)],
        ("b", "AllTraffic"): [],
    }
    stub.assert_no_pending_responses()


def test_given_a_variants_health_unshared_then_none(aws: Stubbed) -> None:
    cloudwatch, stub = aws("cloudwatch")
    stub.add_response("get_metric_data", {"MetricDataResults": [sums("q0", status="Forbidden")]})

    assert (
        EndpointActivity(cloudwatch).health(WORKLOAD, {("a", "v"): {Signal.ERRORS}}, T0, HOUR)
        is None
    )


def test_given_a_signal_not_judged_then_its_metric_is_not_asked_for(aws: Stubbed) -> None:
    cloudwatch, stub = aws("cloudwatch")
    queries = [
        health_query(0, "a", "Invocations", "Sum"),
        health_query(1, "a", "ModelLatency", "Average"),
        health_query(2, "b", "Invocations", "Sum"),
    ]
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "q1", "StatusCode": "Complete", "Timestamps": [T0],
                                "Values": [250_000.0]}]},
        {"MetricDataQueries": queries, "StartTime": T0, "EndTime": HOUR},
    )  # fmt: skip

    found = EndpointActivity(cloudwatch).health(
        WORKLOAD, {("a", "AllTraffic"): {Signal.LATENCY}, ("b", "AllTraffic"): set()}, T0, HOUR
    )

    assert found == {("a", "AllTraffic"): [Minute(T0, 0.0, 0.0, 250.0)], ("b", "AllTraffic"): []}
    stub.assert_no_pending_responses()


def test_given_requests_not_asked_for_then_only_the_signals_are_read_and_requests_are_zero(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    queries = [
        health_query(0, "a", "Invocation5XXErrors", "Sum"),
        health_query(1, "a", "ModelLatency", "Average"),
    ]
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "q0", "StatusCode": "Complete", "Timestamps": [T0],
                                "Values": [3.0]}]},
        {"MetricDataQueries": queries, "StartTime": T0, "EndTime": HOUR},
    )  # fmt: skip

    found = EndpointActivity(cloudwatch).health(
        WORKLOAD, {("a", "AllTraffic"): frozenset(Signal)}, T0, HOUR, requests=False
    )

    assert found == {("a", "AllTraffic"): [Minute(T0, 0.0, 3.0, None)]}
    stub.assert_no_pending_responses()


def test_given_metrics_not_shared_when_counted_then_none_for_every_endpoint(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [sums("q0", 1.0), sums("q1", status="Forbidden")]},
    )

    totals = EndpointActivity(cloudwatch).invocations(WORKLOAD, {"a": ["v"], "b": ["v"]}, T0, HOUR)

    assert totals == {"a": None, "b": None}


def test_given_an_internal_error_result_when_counted_then_a_retryable_error(
    aws: Stubbed,
) -> None:
    cloudwatch, stub = aws("cloudwatch")
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [sums("q0", status="InternalError")]},
    )

    # A count CloudWatch failed to make is not zero: counted as 0, the endpoint would be "idle".
    with pytest.raises(RetryableError):
        EndpointActivity(cloudwatch).invocations(WORKLOAD, {"a": ["AllTraffic"]}, T0, HOUR)


# RefreshRequester: PutRule, ListTargetsByRule, RemoveTargets, PutTargets, DeleteRule, PutEvents

ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagewatch-refresh"
PREFIX = "sagewatch-refresh"
SOURCE, KIND = "sagewatch.watchdog", "Inventory Refresh Requested"
PATTERN = Json({"source": [SOURCE], "detail-type": [KIND], "account": [ACCOUNT]})


def target(account: str, region: str = REGION) -> dict[str, Any]:
    return {
        "Id": f"{account}-{region}",
        "Arn": f"arn:aws:events:{region}:{account}:event-bus/default",
        "RoleArn": ROLE,
        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 900},
    }


def on_rule(name: str) -> dict[str, str]:
    return {"Rule": name, "EventBusName": BUS}


def test_given_seven_accounts_when_refresh_requested_then_rules_of_five_synced_and_one_event(
    aws: Stubbed,
) -> None:
    events, stub = aws("events")
    accounts = [f"{i}" * 12 for i in range(1, 8)]
    rule0, rule1, rule2 = (f"{PREFIX}-{i:03d}" for i in range(3))
    rule = {"EventBusName": BUS, "EventPattern": PATTERN}
    stub.add_response("put_rule", {}, {"Name": rule0} | rule)
    stub.add_response(
        "list_targets_by_rule",
        {
            "Targets": [
                {"Id": "999999999999-us-east-1", "Arn": "arn:x"},
                {"Id": f"{accounts[0]}-{REGION}", "Arn": "arn:y"},
            ]
        },
        on_rule(rule0),
    )
    stub.add_response(
        "remove_targets",
        {"FailedEntryCount": 0},
        on_rule(rule0) | {"Ids": ["999999999999-us-east-1"]},
    )
    stub.add_response(
        "put_targets",
        {"FailedEntryCount": 0},
        on_rule(rule0) | {"Targets": [target(a) for a in accounts[:5]]},
    )
    stub.add_response("put_rule", {}, {"Name": rule1} | rule)
    stub.add_response("list_targets_by_rule", {}, on_rule(rule1))
    stub.add_response(
        "put_targets",
        {"FailedEntryCount": 0},
        on_rule(rule1) | {"Targets": [target(a) for a in accounts[5:]]},
    )
    # a rule left from when there were more accounts: emptied, then deleted
    stub.add_response(
        "list_targets_by_rule", {"Targets": [{"Id": "old", "Arn": "arn:z"}]}, on_rule(rule2)
    )
    stub.add_response("remove_targets", {"FailedEntryCount": 0}, on_rule(rule2) | {"Ids": ["old"]})
    stub.add_response("delete_rule", {}, {"Name": rule2, "EventBusName": BUS})
    error(stub, "list_targets_by_rule", "ResourceNotFoundException")  # -003: the end
    stub.add_response(
        "put_events",
        accepted(1),
        {
            "Entries": [
                {
                    "Source": SOURCE,
                    "DetailType": KIND,
                    "Detail": Json({"reason": "schedule"}),
                    "EventBusName": BUS,
                }
            ]
        },
    )

    requester = RefreshRequester(BUS, ROLE, PREFIX, events)
    requester.request(
        [(a, REGION) for a in reversed(accounts)], {"reason": "schedule"}, SOURCE, KIND
    )

    stub.assert_no_pending_responses()


def test_given_a_target_rejected_when_refresh_requested_then_a_publish_error(
    aws: Stubbed,
) -> None:
    events, stub = aws("events")
    stub.add_response("put_rule", {})
    stub.add_response("list_targets_by_rule", {})
    stub.add_response(
        "put_targets",
        {
            "FailedEntryCount": 1,
            "FailedEntries": [
                {"TargetId": f"{WORKLOAD}-{REGION}", "ErrorCode": "ConcurrentModificationException"}
            ],
        },
    )

    with pytest.raises(PublishError, match="ConcurrentModification"):
        RefreshRequester(BUS, ROLE, PREFIX, events).request([(WORKLOAD, REGION)], {}, SOURCE, KIND)


def test_given_the_request_event_rejected_when_refresh_requested_then_a_publish_error(
    aws: Stubbed,
) -> None:
    events, stub = aws("events")
    stub.add_response("put_rule", {})
    stub.add_response("list_targets_by_rule", {})
    stub.add_response("put_targets", {"FailedEntryCount": 0})
    error(stub, "list_targets_by_rule", "ResourceNotFoundException")
    stub.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "AccessDeniedException"}]},
    )

    with pytest.raises(PublishError, match="AccessDeniedException"):
        RefreshRequester(BUS, ROLE, PREFIX, events).request([(WORKLOAD, REGION)], {}, SOURCE, KIND)
