"""Each patch in sagewatch/moto_patches.py, shown still needed by the pinned moto and doing what
AWS does. A "still needed" test runs the smallest scenario on moto without the patch and asserts
moto still gets it wrong: when it fails after a moto upgrade, the patch (and its test) can go."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse

from sagewatch import moto_patches
from sagewatch.faults import FaultInjector, injecting, parse_spec
from sagewatch.moto_patches import (
    answer_before_moto,
    deliver_events_whole,
    index_metric_data,
    route_event_targets,
    search_tags_that_exist,
    unpatched,
)

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's default account
WORKLOAD = "444455556666"
REGION = "us-east-1"
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/monitoring"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{WORKLOAD}:function:collector"
ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources"}


@pytest.fixture(autouse=True)
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    moto_patches.install()
    with mock_aws():
        yield


def test_given_install_when_applied_twice_then_each_moto_attribute_is_wrapped_once() -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    patched = CloudWatchBackend.__dict__["get_metric_data"]
    moto_patches.install()
    assert CloudWatchBackend.__dict__["get_metric_data"] is patched
    with unpatched(index_metric_data):
        assert CloudWatchBackend.__dict__["get_metric_data"] is not patched
    assert CloudWatchBackend.__dict__["get_metric_data"] is patched


# ---- index_metric_data -------------------------------------------------------------------------


def _window() -> tuple[datetime, datetime]:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    return start, start + timedelta(hours=1)


def _put(namespace: str, value: float, at: datetime, dimensions: dict[str, str]) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": at,
                "Value": value,
            }
        ],
    )


def _query(query_id: str, namespace: str, dimensions: dict[str, str], period: int) -> Any:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": period,
            "Stat": "Average",
        },
    }


def _metric_data(queries: list[Any], start: datetime, end: datetime) -> dict[str, Any]:
    response = boto3.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end
    )
    results = response["MetricDataResults"]
    return {r["Id"]: list(zip(r["Timestamps"], r["Values"], strict=True)) for r in results}


def _count_timestamp_reads() -> Counter[str]:
    """From now on, count every read of a stored datapoint's timestamp."""
    from moto.cloudwatch.models import cloudwatch_backends

    reads: Counter[str] = Counter()
    counted: dict[type, type] = {}

    def timestamp(datum: Any) -> Any:
        reads["timestamp"] += 1
        return datum.__dict__["timestamp"]

    for datum in cloudwatch_backends[ACCOUNT][REGION].metric_data:
        base = type(datum)
        if base not in counted:
            counted[base] = type(
                f"Counted{base.__name__}", (base,), {"timestamp": property(timestamp)}
            )
        datum.__class__ = counted[base]
    return reads


def test_given_datapoints_when_moto_answers_get_metric_data_then_it_rescans_them_per_period() -> (
    None
):
    start, end = _window()
    points, period = 60, 60
    for minute in range(points):
        _put("AWS/SageMaker", float(minute), start + timedelta(minutes=minute), {"Host": "algo-1"})
    queries = [_query(f"q{i}", "AWS/SageMaker", {"Host": "algo-1"}, period) for i in range(2)]
    periods = int((end - start).total_seconds()) // period

    reads = _count_timestamp_reads()
    with unpatched(index_metric_data):
        slow = _metric_data(queries, start, end)
    assert reads["timestamp"] >= len(queries) * periods * points  # every datapoint, every period

    reads.clear()
    fast = _metric_data(queries, start, end)
    assert reads["timestamp"] <= (1 + len(queries)) * points  # once to index, once per query
    assert fast == slow  # and the same answer where moto's is right
    assert sorted(value for _, value in fast["q0"]) == [float(m) for m in range(points)]


def test_given_other_namespaces_and_dimension_sets_when_moto_answers_then_it_mixes_them_in() -> (
    None
):
    start, end = _window()
    at = start + timedelta(minutes=1)
    _put("AWS/SageMaker", 10.0, at, {"Host": "algo-1"})
    _put("Other", 20.0, at, {"Host": "algo-1"})  # same name and dimensions, other namespace
    _put("AWS/SageMaker", 1.0, at, {})  # same name and namespace, no dimensions
    queries = [
        _query("host", "AWS/SageMaker", {"Host": "algo-1"}, 300),
        _query("bare", "AWS/SageMaker", {}, 300),
    ]
    with unpatched(index_metric_data):
        moto = _metric_data(queries, start, end)
    assert moto == {"host": [(start, 15.0)], "bare": [(start, 5.5)]}

    cloudwatch = _metric_data(queries, start, end)  # a metric is namespace, name and dimensions
    assert cloudwatch == {"host": [(start, 10.0)], "bare": [(start, 1.0)]}


# ---- deliver_events_whole ----------------------------------------------------------------------


def _queue(name: str, session: Any = boto3) -> tuple[str, str]:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _bodies(url: str, session: Any = boto3) -> list[dict[str, Any]]:
    messages = session.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def _rule_to(target: dict[str, Any], session: Any = boto3, bus: str = "default") -> None:
    events = session.client("events")
    events.put_rule(Name="rule", EventBusName=bus, EventPattern='{"source": ["sagewatch.test"]}')
    events.put_targets(Rule="rule", EventBusName=bus, Targets=[target])


def _put_event(session: Any = boto3, bus: str = "default") -> str:
    entry = {
        "Source": "sagewatch.test",
        "DetailType": "Probe",
        "Detail": '{"job": "j"}',
        "Resources": ["arn:aws:sagemaker:us-east-1:444455556666:training-job/j"],
        "EventBusName": bus,
    }
    response = session.client("events").put_events(Entries=[entry])
    assert response["FailedEntryCount"] == 0
    return str(response["Entries"][0]["EventId"])


def test_given_a_target_without_transformer_when_moto_delivers_then_the_account_is_dropped() -> (
    None
):
    url, arn = _queue("target")
    _rule_to({"Id": "q", "Arn": arn})
    with unpatched(deliver_events_whole):
        _put_event()
    [body] = _bodies(url)
    assert "account" not in body  # moto's default template has no <account>


def test_given_a_target_without_transformer_when_delivered_then_it_gets_the_event_whole() -> None:
    url, arn = _queue("target")
    _rule_to({"Id": "q", "Arn": arn})
    event_id = _put_event()
    [body] = _bodies(url)
    assert set(body) == ENVELOPE | {"detail"}
    assert body["account"] == ACCOUNT
    assert body["id"] == event_id
    assert body["resources"] == ["arn:aws:sagemaker:us-east-1:444455556666:training-job/j"]
    assert body["detail"] == {"job": "j"}


def test_given_an_input_transformer_when_delivered_then_moto_still_renders_it() -> None:
    url, arn = _queue("target")
    transformer = {"InputPathsMap": {"job": "$.detail.job"}, "InputTemplate": '{"name": "<job>"}'}
    _rule_to({"Id": "q", "Arn": arn, "InputTransformer": transformer})
    _put_event()
    assert _bodies(url) == [{"name": "j"}]


# ---- answer_before_moto ------------------------------------------------------------------------


def test_given_a_process_wide_before_send_handler_when_moto_is_on_then_moto_answers_first() -> None:
    queue, _ = _queue("listed")
    seen: list[str] = []

    def handler(request: Any, event_name: str = "", **_: Any) -> AWSResponse:
        seen.append(event_name)
        return AWSResponse(request.url, 200, {}, MockRawResponse(b"{}"))  # no queues

    BUILTIN_HANDLERS.append(("before-send", handler))  # as moto adds its own, later
    try:
        with unpatched(answer_before_moto):
            sqs = boto3.session.Session(region_name=REGION).client("sqs")
            assert sqs.list_queues().get("QueueUrls") == [queue]  # moto's answer, not ours
            assert seen == ["before-send.sqs.ListQueues"]  # though the handler was asked
            elsewhere = boto3.session.Session(region_name=REGION).client(
                "sqs", endpoint_url="http://sagewatch.invalid"
            )
            assert "QueueUrls" not in elsewhere.list_queues()  # not AWS: moto passes, ours
    finally:
        BUILTIN_HANDLERS.remove(("before-send", handler))


def test_given_a_fault_before_moto_when_a_new_client_calls_then_the_sdk_sees_throttling() -> None:
    sqs = boto3.session.Session(region_name=REGION).client("sqs")
    injector = FaultInjector(parse_spec("sqs.ListQueues=throttle"))
    with injecting(injector), pytest.raises(ClientError) as error:
        sqs.list_queues()
    assert error.value.response["Error"]["Code"] == "Throttling"
    assert injector.injected["sqs.ListQueues=throttle"] > 1  # botocore retried, as with AWS
    assert moto_patches.BEFORE_MOTO == []
    assert sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200  # moto's again


# ---- route_event_targets -----------------------------------------------------------------------


def _workload() -> Any:
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{WORKLOAD}:role/sagewatch", RoleSessionName="workload"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def _monitoring_bus() -> str:
    """The monitoring account's bus, its rule delivering to a queue; the queue's URL."""
    boto3.client("events").create_event_bus(Name="monitoring")
    url, arn = _queue("monitoring")
    _rule_to({"Id": "q", "Arn": arn}, bus="monitoring")
    return url


def test_given_a_cross_account_bus_target_when_moto_delivers_then_it_puts_a_new_event() -> None:
    monitoring = _monitoring_bus()
    workload = _workload()
    role = f"arn:aws:iam::{WORKLOAD}:role/does-not-exist"
    _rule_to({"Id": "hop", "Arn": BUS_ARN, "RoleArn": role}, session=workload)
    with unpatched(route_event_targets):
        event_id = _put_event(session=workload)
        [body] = _bodies(monitoring)  # delivered, though the role does not exist
        assert body["id"] != event_id
        assert body.get("account") != WORKLOAD
        assert body["resources"] == []


def test_given_a_function_target_when_moto_delivers_then_it_is_not_implemented() -> None:
    workload = _workload()
    _rule_to({"Id": "collector", "Arn": FUNCTION_ARN}, session=workload)
    with unpatched(route_event_targets), pytest.raises(NotImplementedError):
        _put_event(session=workload)


def test_given_routed_targets_when_an_event_matches_then_sagewatch_gets_it_unchanged() -> None:
    monitoring = _monitoring_bus()
    workload = _workload()
    received: list[tuple[str, str, dict[str, Any]]] = []

    def route(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
        received.append((rule.name, target["Id"], event))

    moto_patches.TARGET_ROUTES.update({BUS_ARN: route, FUNCTION_ARN: route})
    try:
        _rule_to({"Id": "hop", "Arn": BUS_ARN, "RoleArn": "arn:aws:iam::1:role/x"}, workload)
        event_id = _put_event(session=workload)
        [(rule, target, event)] = received
        assert (rule, target) == ("rule", "hop")
        assert event["id"] == event_id
        assert event["account"] == WORKLOAD
        assert event["resources"] == ["arn:aws:sagemaker:us-east-1:444455556666:training-job/j"]
        assert _bodies(monitoring) == []  # moto did not deliver it itself

        received.clear()
        workload.client("events").remove_targets(Rule="rule", Ids=["hop"])
        _rule_to({"Id": "collector", "Arn": FUNCTION_ARN}, session=workload)
        _put_event(session=workload)
        assert [(r, t) for r, t, _ in received] == [("rule", "collector")]

        received.clear()
        workload.client("events").put_events(
            Entries=[{"Source": "other", "DetailType": "Probe", "Detail": "{}"}]
        )
        assert received == []  # the rule's pattern still decides
    finally:
        moto_patches.TARGET_ROUTES.pop(BUS_ARN, None)
        moto_patches.TARGET_ROUTES.pop(FUNCTION_ARN, None)


def test_given_unrouted_targets_when_an_event_matches_then_moto_delivers_them() -> None:
    url, arn = _queue("target")
    _rule_to({"Id": "q", "Arn": arn})
    moto_patches.TARGET_ROUTES[BUS_ARN] = lambda rule, target, event: None
    try:
        event_id = _put_event()
    finally:
        moto_patches.TARGET_ROUTES.pop(BUS_ARN)
    assert [body["id"] for body in _bodies(url)] == [event_id]


# ---- search_tags_that_exist --------------------------------------------------------------------

EXISTS = {"Filters": [{"Name": "Tags.team", "Operator": "Exists"}]}


def _pipelines(*tagged: tuple[str, dict[str, str]]) -> Any:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    for name, tags in tagged:
        sagemaker.create_pipeline(
            PipelineName=name, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )  # fmt: skip
    return sagemaker


def test_given_a_tag_exists_filter_when_moto_searches_then_it_fails() -> None:
    sagemaker = _pipelines(("p", {"team": "t"}))
    with unpatched(search_tags_that_exist), pytest.raises(KeyError):
        sagemaker.search(Resource="Pipeline", SearchExpression=EXISTS)


def test_given_a_tag_exists_filter_when_searched_then_only_resources_with_the_tag() -> None:
    sagemaker = _pipelines(("tagged", {"team": "t"}), ("other", {"owner": "o"}), ("bare", {}))

    found = sagemaker.search(Resource="Pipeline", SearchExpression=EXISTS)["Results"]

    assert [r["Pipeline"]["PipelineName"] for r in found] == ["tagged"]
    equals = {"Filters": [{"Name": "Tags.owner", "Operator": "Equals", "Value": "o"}]}
    found = sagemaker.search(Resource="Pipeline", SearchExpression=equals)["Results"]
    assert [r["Pipeline"]["PipelineName"] for r in found] == ["other"]  # still moto's
