"""shared.parser: one tolerant parser from raw EventBridge events to SageMakerEvent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.events import InstanceGroup, SageMakerEvent
from shared.domain.parser import (
    MAX_DEPTH,
    check_depth,
    event_id_of,
    load_body,
    parse_event,
    parse_tags,
    parse_time,
)
from shared.domain.vocabulary import Outcome, ResourceKind
from shared.platform.errors import InvalidEvent

LoadEvent = Callable[[str], dict[str, Any]]
TrainingEvent = Callable[..., dict[str, Any]]

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
SAMPLE_NAMES = sorted(path.stem for path in EVENTS_DIR.glob("*.json"))
CANARY = "canary-secret-"

START_MS = 1795161852907  # TrainingStartTime of training-completed-gpu.json
START = datetime(2026, 11, 20, 8, 4, 12, 907000, tzinfo=UTC)
CREATED = datetime(2026, 11, 20, 8, 0, 0, 412000, tzinfo=UTC)
ENDED = datetime(2026, 11, 20, 10, 4, 55, 230000, tzinfo=UTC)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _canaries(raw: dict[str, Any]) -> set[str]:
    return {text for text in _strings(raw) if text.startswith(CANARY)}


# --- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(START_MS, START, id="epoch-millis-int"),
        pytest.param(1795161852907.0, START, id="epoch-millis-float"),
        pytest.param(1795161852.907, START, id="epoch-seconds-float"),
        pytest.param(1795161600, datetime(2026, 11, 20, 8, 0, tzinfo=UTC), id="epoch-seconds-int"),
        pytest.param("1795161852907", START, id="numeric-string-millis"),
        pytest.param(
            " 1795161600 ", datetime(2026, 11, 20, 8, 0, tzinfo=UTC), id="numeric-seconds"
        ),
        pytest.param("2026-11-20T08:04:12.907Z", START, id="iso-z"),
        pytest.param("2026-11-20T08:04:12.907z", START, id="iso-lower-z"),
        pytest.param("2026-11-20T10:04:12.907+02:00", START, id="iso-offset"),
        pytest.param("2026-11-20T00:04:12.907-08:00", START, id="iso-negative-offset"),
        pytest.param(
            "2026-11-20T08:04:12.907123456Z",
            datetime(2026, 11, 20, 8, 4, 12, 907123, tzinfo=UTC),
            id="iso-nanoseconds",
        ),
        pytest.param("2026-11-20T08:04:12.907", START, id="iso-naive-is-utc"),
        pytest.param("2026-11-20T08:30:00Z", datetime(2026, 11, 20, 8, 30, tzinfo=UTC), id="iso-s"),
    ],
)
def test_given_supported_timestamp_form_when_parsed_then_utc_datetime(
    value: Any, expected: datetime
) -> None:
    parsed = parse_time(value)

    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


def test_given_epoch_millis_number_when_parsed_then_utc_datetime() -> None:
    parsed = parse_time(START_MS)

    assert parsed == START
    assert parsed is not None
    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == timedelta(0)


def test_given_float_millis_and_seconds_for_the_same_instant_when_parsed_then_equal() -> None:
    assert parse_time(1795161852907.0) == parse_time(1795161852.907) == START


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(True, id="bool-true"),
        pytest.param(False, id="bool-false"),
        pytest.param("yesterday at noon", id="garbage"),
        pytest.param("2026-13-45T99:00:00Z", id="impossible-date"),
        pytest.param(float("nan"), id="nan-float"),
        pytest.param("NaN", id="nan-string"),
        pytest.param(float("inf"), id="inf-float"),
        pytest.param("Infinity", id="inf-string"),
        pytest.param(-1, id="negative-int"),
        pytest.param(-1795161852907, id="negative-millis"),
        pytest.param("-1795161852907", id="negative-string"),
        pytest.param(1e300, id="far-future"),
        pytest.param([1795161852907], id="list"),
        pytest.param({"epoch": 1795161852907}, id="dict"),
    ],
)
def test_given_unusable_timestamp_when_parsed_then_none_not_an_error(value: Any) -> None:
    assert parse_time(value) is None


def test_given_integer_too_large_for_a_float_when_parsed_then_none() -> None:
    assert parse_time(10**400) is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("9999-12-31T23:59:59-01:00", id="after-year-9999-in-utc"),
        pytest.param("0001-01-01T00:00:00+01:00", id="before-year-1-in-utc"),
        pytest.param("9999-12-31T23:59:59.999999999-14:00", id="nanoseconds-and-offset"),
    ],
)
def test_given_iso_time_out_of_range_once_in_utc_when_parsed_then_none_not_an_error(
    value: str,
) -> None:
    assert parse_time(value) is None


def test_given_job_end_time_out_of_range_when_parsed_then_event_without_end_time(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(training_event(TrainingEndTime="9999-12-31T23:59:59-01:00"))

    assert event.ended_at is None
    assert event.started_at == START


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="deep-for-decoder"),
        pytest.param(json.dumps(json.loads("[" * 100 + "]" * 100)), "deeper than", id="deep"),
        pytest.param("{oops", "not JSON", id="not-json"),
        pytest.param("1" * 5000, "not JSON", id="integer-too-long"),
        pytest.param(None, "not text", id="no-body"),
    ],
)
def test_given_malformed_body_when_loaded_then_invalid_event_with_its_reason(
    body: Any, reason: str
) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        load_body(body)


def test_given_event_nested_to_the_limit_when_checked_then_accepted_one_deeper_refused() -> None:
    def nested(levels: int) -> Any:
        value: Any = {}
        for _ in range(levels - 1):
            value = {"k": value}
        return value

    assert check_depth(nested(MAX_DEPTH + 1)) is not None  # the innermost {} holds nothing
    with pytest.raises(InvalidEvent, match=f"deeper than {MAX_DEPTH}"):
        check_depth(nested(MAX_DEPTH + 2))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param({"id": "e-1"}, "e-1", id="string"),
        pytest.param({"id": 12345}, "12345", id="int"),
        pytest.param({"id": 1.5}, "1.5", id="float"),
        pytest.param({"id": ["a"]}, "<list>", id="list"),
        pytest.param({"id": {"k": "v"}}, "<dict>", id="object"),
        pytest.param({"id": "x" * 10_000}, "x" * 256, id="oversized"),
        pytest.param({"id": None}, None, id="null"),
        pytest.param({}, None, id="absent"),
        pytest.param(["not", "an", "event"], None, id="not-an-object"),
    ],
)
def test_given_any_id_when_read_for_parking_then_bounded_text_or_none(
    raw: Any, expected: str | None
) -> None:
    assert event_id_of(raw) == expected


def test_given_tag_value_nested_past_the_recursion_limit_when_parsed_then_invalid_event(
    training_event: TrainingEvent,
) -> None:
    deep: Any = 0
    for _ in range(5000):
        deep = [deep]

    malformed = "malformed 'SageMaker Training Job State Change' event: RecursionError"
    with pytest.raises(InvalidEvent, match=malformed):
        parse_event(training_event(Tags={"team": deep}))


@pytest.mark.parametrize(
    ("sample", "expected_start"),
    [
        pytest.param("training-completed-gpu", START, id="int-millis"),
        pytest.param(
            "training-failed-hostile-reason",
            datetime(2026, 11, 20, 10, 32, 44, 610000, tzinfo=UTC),
            id="numeric-string",
        ),
        pytest.param(
            "training-failed-eu-other-account",
            datetime(2026, 11, 20, 8, 3, 27, 450000, tzinfo=UTC),
            id="float-millis",
        ),
        pytest.param(
            "processing-completed",
            datetime(2026, 11, 20, 7, 4, 18, 904000, tzinfo=UTC),
            id="iso-millis",
        ),
        pytest.param(
            "pipeline-execution-failed", datetime(2026, 11, 20, 8, 30, tzinfo=UTC), id="iso-seconds"
        ),
    ],
)
def test_given_sample_with_its_own_timestamp_encoding_when_parsed_then_start_time_is_utc(
    load_event: LoadEvent, sample: str, expected_start: datetime
) -> None:
    event = parse_event(load_event(sample))

    assert event.started_at == expected_start
    assert event.time is not None
    assert event.time.utcoffset() == timedelta(0)


def test_given_endpoint_float_millis_when_parsed_then_created_and_modified_times_set(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("endpoint-in-service"))

    assert event.created_at == datetime(2026, 11, 20, 10, 30, 11, 203000, tzinfo=UTC)
    assert event.ended_at is not None
    assert event.ended_at > event.created_at


# --- missing and nullable fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "SecondaryStatus",
        "FailureReason",
        "CreationTime",
        "TrainingStartTime",
        "TrainingEndTime",
        "ResourceConfig",
        "Tags",
        "TuningJobArn",
        "TrainingJobArn",
        "HyperParameters",
        "Environment",
    ],
)
def test_given_optional_field_absent_or_null_when_parsed_then_model_has_empty_value(
    training_event: TrainingEvent, field: str
) -> None:
    absent = training_event(**{field: None})
    null = training_event()
    null["detail"][field] = None

    for raw in (absent, null):
        event = parse_event(raw)
        assert event.name == "Vision-ResNet50-FT-20261120-0800"
        assert event.kind is ResourceKind.TRAINING


def test_given_every_optional_field_null_when_parsed_then_none_and_empty_tuples(
    training_event: TrainingEvent,
) -> None:
    raw = training_event()
    for field in (
        "TrainingJobArn",
        "SecondaryStatus",
        "CreationTime",
        "TrainingStartTime",
        "TrainingEndTime",
        "ResourceConfig",
        "Tags",
    ):
        raw["detail"][field] = None
    raw["time"] = None

    event = parse_event(raw)

    assert event.arn is None
    assert event.secondary_status is None
    assert (event.time, event.created_at, event.started_at, event.ended_at) == (None,) * 4
    assert event.instance_groups == ()
    assert event.instance_count == 0
    assert event.tags == ()
    assert event.duration_seconds is None
    assert event.tuning_job_arn is None


def test_given_missing_status_when_parsed_then_outcome_unknown_and_not_terminal(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(training_event(TrainingJobStatus=None))

    assert event.status == ""
    assert event.outcome is Outcome.UNKNOWN
    assert not event.is_terminal
    assert not event.is_failure


def test_given_completed_job_with_failure_reason_when_parsed_then_reason_dropped(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(training_event(FailureReason="leftover from a retry"))

    assert event.failure_reason is None


def test_given_processing_failure_when_parsed_then_failure_reason_preferred_over_exit_message(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("processing-failed"))

    assert event.failure_reason == "AlgorithmError: See job logs for more information"


def test_given_processing_failure_with_only_exit_message_when_parsed_then_exit_message_is_reason(
    load_event: LoadEvent,
) -> None:
    raw = load_event("processing-failed")
    del raw["detail"]["FailureReason"]

    event = parse_event(raw)

    assert event.failure_reason is not None
    assert event.failure_reason.startswith("Traceback (most recent call last):")


# --- tags ----------------------------------------------------------------------------------------


def test_given_tags_as_flat_map_when_parsed_then_sorted_pairs(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(training_event(Tags={"team": "vision", "cost-center": "cc-1042"}))

    assert event.tags == (("cost-center", "cc-1042"), ("team", "vision"))
    assert event.tag("team") == "vision"


def test_given_tags_as_key_value_list_when_parsed_then_same_pairs(
    training_event: TrainingEvent,
) -> None:
    tags = [{"Key": "team", "Value": "nlp"}, {"Key": "project", "Value": "assistant-sft"}]

    event = parse_event(training_event(Tags=tags))

    assert event.tags == (("project", "assistant-sft"), ("team", "nlp"))
    assert event.tag("team") == "nlp"


def test_given_tags_as_lower_case_key_value_list_when_parsed_then_same_pairs(
    training_event: TrainingEvent,
) -> None:
    tags = [{"key": "team", "value": "nlp"}, {"key": "project", "value": "distillation"}]

    event = parse_event(training_event(Tags=tags))

    assert event.tags == (("project", "distillation"), ("team", "nlp"))


def test_given_list_form_sample_when_parsed_then_team_read_from_list(load_event: LoadEvent) -> None:
    event = parse_event(load_event("training-completed-multi-instance"))

    assert event.tag("team") == "nlp"
    assert dict(event.tags) == {"team": "nlp", "project": "assistant-sft", "owner": "nlp-platform"}


def test_given_no_tags_key_when_parsed_then_no_tags_and_no_team(load_event: LoadEvent) -> None:
    raw = load_event("training-stopped-by-user")
    assert "Tags" not in raw["detail"]

    event = parse_event(raw)

    assert event.tags == ()
    assert event.tag("team") is None


def test_given_malformed_tag_list_items_when_parsed_then_only_complete_pairs_kept(
    training_event: TrainingEvent,
) -> None:
    tags = [
        {"Key": "team", "Value": "vision"},
        "team=evil",
        None,
        42,
        ["Key", "Value"],
        {"Key": "no-value"},
        {"Value": "no-key"},
        {"Key": "null-value", "Value": None},
        {},
        {"Key": "stage", "Value": 3},
    ]

    event = parse_event(training_event(Tags=tags))

    assert event.tags == (("stage", "3"), ("team", "vision"))


@pytest.mark.parametrize(
    "value",
    [None, "team=vision", 42, True, [], {}],
    ids=["none", "string", "int", "bool", "empty-list", "empty-map"],
)
def test_given_tags_of_unusable_shape_when_parsed_then_empty(value: Any) -> None:
    assert parse_tags(value) == ()


def test_given_map_tag_with_null_value_when_parsed_then_that_tag_dropped() -> None:
    assert parse_tags({"team": "vision", "owner": None}) == (("team", "vision"),)


# --- hardware ------------------------------------------------------------------------------------


def test_given_instance_type_and_count_when_parsed_then_one_group(load_event: LoadEvent) -> None:
    event = parse_event(load_event("training-completed-multi-instance"))

    assert event.instance_groups == (InstanceGroup("ml.g5.12xlarge", 4),)
    assert event.instance_count == 4


def test_given_heterogeneous_instance_groups_when_parsed_then_one_group_each(
    load_event: LoadEvent,
) -> None:
    raw = load_event("training-heterogeneous-cluster")
    assert "InstanceType" not in raw["detail"]["ResourceConfig"]

    event = parse_event(raw)

    assert event.instance_groups == (
        InstanceGroup("ml.c5n.18xlarge", 2, "dsgroup"),
        InstanceGroup("ml.p3dn.24xlarge", 1, "gpugroup"),
    )
    assert event.instance_count == 3


def test_given_instance_groups_with_malformed_entries_when_parsed_then_usable_groups_kept(
    training_event: TrainingEvent,
) -> None:
    config = {
        "InstanceGroups": [
            {"InstanceGroupName": "a", "InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
            {"InstanceGroupName": "no-type", "InstanceCount": 3},
            "not-a-group",
            {"InstanceGroupName": "no-count", "InstanceType": "ml.p3.2xlarge"},
        ]
    }

    event = parse_event(training_event(ResourceConfig=config))

    assert event.instance_groups == (
        InstanceGroup("ml.m5.xlarge", 2, "a"),
        InstanceGroup("ml.p3.2xlarge", 1, "no-count"),
    )
    assert event.instance_count == 3


def test_given_numeric_string_instance_count_when_parsed_then_integer(
    training_event: TrainingEvent,
) -> None:
    config = {"InstanceType": "ml.m5.xlarge", "InstanceCount": "3"}

    event = parse_event(training_event(ResourceConfig=config))

    assert event.instance_groups == (InstanceGroup("ml.m5.xlarge", 3),)


def test_given_infinite_instance_count_when_parsed_then_no_error_and_default_count(
    training_event: TrainingEvent,
) -> None:
    raw = json.loads(
        json.dumps(training_event()).replace('"InstanceCount": 1', '"InstanceCount": Infinity')
    )

    event = parse_event(raw)

    assert event.instance_groups == (InstanceGroup("ml.p3.2xlarge", 1),)


def test_given_processing_cluster_config_when_parsed_then_groups_from_cluster_config(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("processing-completed"))

    assert event.kind is ResourceKind.PROCESSING
    assert event.name == "forecasting-feature-build-20261120-0700"
    assert event.instance_groups == (InstanceGroup("ml.m5.4xlarge", 2),)


def test_given_transform_resources_when_parsed_then_groups_from_transform_resources(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("transform-failed"))

    assert event.kind is ResourceKind.TRANSFORM
    assert event.instance_groups == (InstanceGroup("ml.m5.xlarge", 2),)
    assert event.failure_reason == "ClientError: See job logs for more information"


def test_given_tuning_job_when_parsed_then_child_counts_and_definition_hardware(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("tuning-failed"))

    assert event.kind is ResourceKind.TUNING
    assert event.name == "Vision-HPO-EffNetB3-1120"
    assert dict(event.child_counts)["NonRetryableError"] == 4
    assert event.instance_groups == (InstanceGroup("ml.g4dn.2xlarge", 1),)
    assert event.is_failure


# --- endpoints -----------------------------------------------------------------------------------


def test_given_endpoint_failed_event_when_parsed_then_failed_with_reason(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("endpoint-failed"))

    assert event.kind is ResourceKind.ENDPOINT
    assert event.status == "FAILED"
    assert event.outcome is Outcome.FAILED
    assert event.is_failure
    assert event.failure_reason is not None
    assert "ping health check" in event.failure_reason


def test_given_endpoint_in_service_event_when_parsed_then_succeeded_not_failure(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("endpoint-in-service"))

    assert event.status == "IN_SERVICE"
    assert event.outcome is Outcome.SUCCEEDED
    assert not event.is_failure
    assert event.name == "Vision-Defect-Detector-Prod"


@pytest.mark.parametrize(
    ("api_spelling", "event_spelling", "outcome"),
    [
        ("InService", "IN_SERVICE", Outcome.SUCCEEDED),
        ("Creating", "CREATING", Outcome.IN_PROGRESS),
        ("Updating", "UPDATING", Outcome.IN_PROGRESS),
        ("SystemUpdating", "SYSTEM_UPDATING", Outcome.IN_PROGRESS),
        ("RollingBack", "ROLLING_BACK", Outcome.IN_PROGRESS),
        ("Deleting", "DELETING", Outcome.IN_PROGRESS),
        ("Failed", "FAILED", Outcome.FAILED),
        ("UpdateRollbackFailed", "UPDATE_ROLLBACK_FAILED", Outcome.FAILED),
        ("OutOfService", "OUT_OF_SERVICE", Outcome.STOPPED),
    ],
)
def test_given_endpoint_status_in_api_spelling_when_parsed_then_event_spelling(
    load_event: LoadEvent, api_spelling: str, event_spelling: str, outcome: Outcome
) -> None:
    raw = load_event("endpoint-in-service")
    raw["detail"]["EndpointStatus"] = api_spelling

    event = parse_event(raw)

    assert event.status == event_spelling
    assert event.outcome is outcome


# --- pipelines -----------------------------------------------------------------------------------


def test_given_pipeline_execution_camel_case_keys_when_parsed_then_normalized(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("pipeline-execution-failed"))

    assert event.kind is ResourceKind.PIPELINE_EXECUTION
    assert event.status == "Failed"
    assert event.outcome is Outcome.FAILED
    assert event.pipeline_name == "nlp-intentclassifier-train"
    assert event.execution_arn == (
        "arn:aws:sagemaker:eu-west-1:444455556666:pipeline/nlp-intentclassifier-train"
        "/execution/k2x9q4m7b1zv"
    )
    assert event.started_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert event.ended_at == datetime(2026, 11, 20, 9, 7, 52, tzinfo=UTC)
    assert event.tags == ()


def test_given_pipeline_step_camel_case_keys_when_parsed_then_step_and_reason_read(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("pipeline-step-failed"))

    assert event.kind is ResourceKind.PIPELINE_STEP
    assert event.name == event.step_name == "TrainIntentModel"
    assert event.outcome is Outcome.FAILED
    assert event.pipeline_name == "nlp-intentclassifier-train"
    assert event.failure_reason is not None
    assert event.failure_reason.startswith("ClientError: AlgorithmError")
    assert event.started_at == datetime(2026, 11, 20, 8, 41, 17, tzinfo=UTC)


def test_given_pipeline_execution_without_pipeline_arn_when_parsed_then_invalid_event(
    load_event: LoadEvent,
) -> None:
    raw = load_event("pipeline-execution-failed")
    del raw["detail"]["pipelineArn"]

    with pytest.raises(InvalidEvent, match="pipelineArn"):
        parse_event(raw)


# --- CloudTrail ----------------------------------------------------------------------------------


def test_given_cloudtrail_api_call_when_parsed_then_api_call_without_request_parameters(
    load_event: LoadEvent,
) -> None:
    raw = load_event("cloudtrail-create-training-job")
    canaries = _canaries(raw["detail"]["requestParameters"])
    assert len(canaries) >= 3  # the sample really carries secrets

    event = parse_event(raw)

    assert event.kind is ResourceKind.API_CALL
    assert event.api_event_name == "CreateTrainingJob"
    assert event.name == "nlp-bert-distill-20261120-1012"
    assert event.caller_arn == "arn:aws:sts::444455556666:assumed-role/nlp-ml-engineer/alice.martin"
    assert event.outcome is Outcome.SUCCEEDED
    text = repr(event)
    assert CANARY not in text
    for secret in canaries:
        assert secret not in text
    for value in ("distilbert-base-uncased", "s3://nlp-ml-data-444455556666", "ml.g5.xlarge"):
        assert value not in text  # nothing else from requestParameters either


def test_given_cloudtrail_call_with_error_code_when_parsed_then_failed_with_message(
    load_event: LoadEvent,
) -> None:
    raw = load_event("cloudtrail-create-training-job")
    raw["detail"]["errorCode"] = "ResourceLimitExceeded"
    raw["detail"]["errorMessage"] = "The account-level service limit is 4 instances"

    event = parse_event(raw)

    assert event.status == "ResourceLimitExceeded"
    assert event.outcome is Outcome.FAILED
    assert event.failure_reason == "The account-level service limit is 4 instances"


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_given_any_sample_with_secrets_when_parsed_then_no_secret_in_model(
    load_event: LoadEvent, sample: str
) -> None:
    raw = load_event(sample)

    text = repr(parse_event(raw))

    assert CANARY not in text
    for secret in _canaries(raw):
        assert secret not in text


# --- kinds and sources ---------------------------------------------------------------------------


def test_given_unknown_detail_type_when_parsed_then_kind_other_without_error(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("unknown-detail-type"))

    assert event.kind is ResourceKind.OTHER
    assert event.detail_type == "SageMaker Widget State Change"
    assert event.outcome is Outcome.UNKNOWN
    assert not event.is_failure
    assert not event.is_terminal


def test_given_training_detail_type_from_another_source_when_parsed_then_kind_other(
    training_event: TrainingEvent,
) -> None:
    raw = training_event()
    raw["source"] = "custom.impostor"

    event = parse_event(raw)

    assert event.kind is ResourceKind.OTHER
    assert event.source == "custom.impostor"
    assert not event.is_failure


def test_given_sagewatch_report_when_parsed_as_sagemaker_event_then_kind_other(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("utilization-report-under-used"))

    assert event.kind is ResourceKind.OTHER
    assert event.source == "sagewatch"
    assert event.account == "123456789012"


EXPECTED_KINDS = {
    "cloudtrail-": ResourceKind.API_CALL,
    "endpoint-": ResourceKind.ENDPOINT,
    "heartbeat": ResourceKind.OTHER,  # sagewatch's own events: archived, not SageMaker's
    "hyperpod-": ResourceKind.HYPERPOD_CLUSTER,
    "notebook-instance-": ResourceKind.NOTEBOOK,
    "feature-group-": ResourceKind.FEATURE_GROUP,
    "image-version-": ResourceKind.IMAGE_VERSION,
    "labeling-job-": ResourceKind.LABELING_JOB,
    "human-loop-": ResourceKind.HUMAN_LOOP,
    "model-package-": ResourceKind.OTHER,  # dashboard data: archived and charted, not parsed
    "monitoring-schedule-": ResourceKind.MONITORING_SCHEDULE,
    "tracking-server-": ResourceKind.TRACKING_SERVER,
    "inventory-": ResourceKind.OTHER,
    "pipeline-execution-": ResourceKind.PIPELINE_EXECUTION,
    "pipeline-step-": ResourceKind.PIPELINE_STEP,
    "processing-": ResourceKind.PROCESSING,
    "training-": ResourceKind.TRAINING,
    "transform-": ResourceKind.TRANSFORM,
    "tuning-child-": ResourceKind.TRAINING,
    "tuning-failed": ResourceKind.TUNING,
    "unknown-": ResourceKind.OTHER,
    # The ML platform's automation: read by `automation.AutomationRun`, not as SageMaker's.
    "stepfunctions-": ResourceKind.OTHER,
    "codepipeline-": ResourceKind.OTHER,
    "codebuild-": ResourceKind.OTHER,
    "utilization-report-": ResourceKind.OTHER,
}


def test_given_events_folder_when_listed_then_every_sample_has_an_expected_kind() -> None:
    assert len(SAMPLE_NAMES) >= 20
    for name in SAMPLE_NAMES:
        assert any(name.startswith(prefix) for prefix in EXPECTED_KINDS), name


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_given_sample_event_when_parsed_then_model_of_expected_kind(
    load_event: LoadEvent, sample: str
) -> None:
    raw = load_event(sample)
    prefix = max((p for p in EXPECTED_KINDS if sample.startswith(p)), key=len)

    event = parse_event(raw)

    assert isinstance(event, SageMakerEvent)
    assert event.kind is EXPECTED_KINDS[prefix]
    assert event.event_id == raw["id"]
    assert event.account == raw["account"]
    assert event.region == raw["region"]
    assert event.time is not None
    if event.kind is not ResourceKind.OTHER:
        assert event.name


# --- invalid events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [None, [], ["event"], "event", 42, b"{}"],
    ids=["none", "list", "list1", "str", "int", "b"],
)
def test_given_event_that_is_not_an_object_when_parsed_then_invalid_event(raw: Any) -> None:
    with pytest.raises(InvalidEvent, match="not an object"):
        parse_event(raw)


@pytest.mark.parametrize(
    "detail",
    [[], ["TrainingJobName"], "detail", None, 7],
    ids=["list", "list1", "str", "null", "n"],
)
def test_given_detail_that_is_not_an_object_when_parsed_then_invalid_event(
    training_event: TrainingEvent, detail: Any
) -> None:
    raw = training_event()
    raw["detail"] = detail

    with pytest.raises(InvalidEvent, match="detail"):
        parse_event(raw)


def test_given_event_without_detail_when_parsed_then_invalid_event(
    training_event: TrainingEvent,
) -> None:
    raw = training_event()
    del raw["detail"]

    with pytest.raises(InvalidEvent):
        parse_event(raw)


def test_given_training_event_without_job_name_when_parsed_then_invalid_event(
    training_event: TrainingEvent,
) -> None:
    with pytest.raises(InvalidEvent, match="TrainingJobName"):
        parse_event(training_event(TrainingJobName=None))


@pytest.mark.parametrize("name", [123, ["job"], {"n": "job"}, "", "   ", True])
def test_given_training_job_name_not_a_usable_string_when_parsed_then_invalid_event(
    training_event: TrainingEvent, name: Any
) -> None:
    with pytest.raises(InvalidEvent, match="TrainingJobName"):
        parse_event(training_event(TrainingJobName=name))


@pytest.mark.parametrize(
    "account",
    [None, "", "12345", "1111222233334", "abcdefghijkl", "1111-2222-333", 111122223333],
    ids=["missing", "empty", "short", "long", "letters", "dashes", "int"],
)
def test_given_bad_account_id_when_parsed_then_invalid_event(
    training_event: TrainingEvent, account: Any
) -> None:
    raw = training_event()
    raw["account"] = account

    with pytest.raises(InvalidEvent, match="account"):
        parse_event(raw)


@pytest.mark.parametrize(
    "region",
    ["evil.example/x#", "x@evil.example/", "us-east-1.evil.com", "US-EAST-1", "us-east-1 ", "",
     "us-east", "us-east-123", 1],
)  # fmt: skip
def test_given_a_region_that_is_no_aws_region_when_parsed_then_invalid_event(
    training_event: TrainingEvent, region: Any
) -> None:
    """A Region names the console's host in every link: a workload account's event cannot."""
    raw = training_event()
    raw["region"] = region

    with pytest.raises(InvalidEvent, match="Region"):
        parse_event(raw)


@pytest.mark.parametrize(
    "region", ["us-east-1", "us-gov-west-1", "cn-northwest-1", "eu-isoe-west-1", "us-isob-east-1",
               "il-central-1", "ap-southeast-5"],
)  # fmt: skip
def test_given_any_aws_region_when_parsed_then_it_is_the_events(
    training_event: TrainingEvent, region: str
) -> None:
    raw = training_event()
    raw["region"] = region

    assert parse_event(raw).region == region


@pytest.mark.parametrize("field", ["id", "source", "detail-type", "region"])
def test_given_missing_envelope_field_when_parsed_then_invalid_event_naming_it(
    training_event: TrainingEvent, field: str
) -> None:
    raw = training_event()
    del raw[field]

    with pytest.raises(InvalidEvent, match=field):
        parse_event(raw)


# --- derived properties --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "failure"),
    [
        ("training-failed", True),
        ("training-stopped-max-runtime", True),
        ("training-stopped-by-user", False),
        ("training-completed-gpu", False),
        ("training-in-progress", False),
    ],
)
def test_given_sample_when_parsed_then_is_failure_as_the_user_sees_it(
    load_event: LoadEvent, sample: str, failure: bool
) -> None:
    assert parse_event(load_event(sample)).is_failure is failure


@pytest.mark.parametrize(
    ("status", "secondary", "failure"),
    [
        ("Failed", "Failed", True),
        ("Failed", None, True),
        ("Stopped", "MaxRuntimeExceeded", True),
        ("Stopped", "MaxWaitTimeExceeded", True),
        ("Stopped", "Stopped", False),
        ("Stopped", None, False),
        ("Completed", "Completed", False),
        ("Completed", "MaxRuntimeExceeded", False),
        ("InProgress", "Training", False),
    ],
)
def test_given_status_and_secondary_status_when_parsed_then_is_failure(
    training_event: TrainingEvent, status: str, secondary: str | None, failure: bool
) -> None:
    event = parse_event(training_event(TrainingJobStatus=status, SecondaryStatus=secondary))

    assert event.is_failure is failure


def test_given_tuning_child_when_parsed_then_is_tuning_child_with_parent_arn(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("tuning-child-training-failed"))

    assert event.is_tuning_child
    assert event.tuning_job_arn == (
        "arn:aws:sagemaker:us-east-1:111122223333:hyper-parameter-tuning-job/"
        "vision-hpo-effnetb3-1120"
    )


def test_given_plain_training_job_when_parsed_then_not_a_tuning_child(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("training-failed"))

    assert not event.is_tuning_child
    assert event.tuning_job_arn is None


def test_given_training_start_and_creation_times_when_parsed_then_duration_from_start(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("training-completed-gpu"))

    assert event.created_at == CREATED
    assert event.started_at == START
    assert event.ended_at == ENDED
    assert event.duration_seconds == pytest.approx((ENDED - START).total_seconds())
    assert event.duration_seconds != pytest.approx((ENDED - CREATED).total_seconds())


def test_given_no_training_start_time_when_parsed_then_no_duration_not_one_from_creation(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(training_event(TrainingStartTime=None))

    assert event.created_at == CREATED
    assert event.duration_seconds is None


def test_given_no_end_time_when_parsed_then_no_duration(load_event: LoadEvent) -> None:
    event = parse_event(load_event("training-in-progress"))

    assert event.ended_at is None
    assert event.duration_seconds is None
    assert not event.is_terminal


def test_given_mixed_case_job_name_when_parsed_then_name_from_name_field_not_arn(
    load_event: LoadEvent,
) -> None:
    event = parse_event(load_event("training-completed-gpu"))

    assert event.name == "Vision-ResNet50-FT-20261120-0800"
    assert event.arn is not None
    assert event.arn.endswith("vision-resnet50-ft-20261120-0800")


def test_given_name_longer_than_any_sagemaker_name_when_parsed_then_invalid_event(
    training_event: TrainingEvent,
) -> None:
    with pytest.raises(InvalidEvent, match="257 characters"):
        parse_event(training_event(TrainingJobName="n" * 257))


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30),
        timezones=st.timezones() | st.just(UTC),
    ),
    st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]),
    st.booleans(),
)  # fmt: skip
def test_given_any_iso_time_when_parsed_then_the_same_instant_in_utc(
    when: datetime, timespec: str, zulu: bool
) -> None:
    text = when.isoformat(timespec=timespec)
    if zulu and when.utcoffset() == timedelta(0):
        text = text.removesuffix("+00:00") + "Z"
    shown = datetime.fromisoformat(text)  # what the text holds (seconds or milliseconds)

    parsed = parse_time(text)

    assert parsed == shown
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
