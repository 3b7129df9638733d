"""shared.alerts and shared.render: what leaves the account, for people (subject, text) and
machines (the JSON document)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shared.alerting.alerts import (
    LOW_STAKES,
    Alert,
    AlertKind,
    Severity,
    failure_alert,
    refused_call_alert,
    rollback_alert,
    utilization_alert,
)
from shared.alerting.alerts import (
    _incident as incident_key,
)
from shared.alerting.render import attributes, document, links, next_step, subject, text_body
from shared.contracts.report import UtilizationReport
from shared.domain.parser import parse_event
from shared.domain.patterns import RefusedCall, RollingBack
from shared.domain.text import REASON_LIMIT, sanitize
from shared.domain.vocabulary import ResourceKind

LoadEvent = Callable[[str], dict[str, Any]]
TrainingEvent = Callable[..., dict[str, Any]]

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
TEAM_TAG = "team"
CANARY = "canary-secret-"

FAILING_SAMPLES = [
    "endpoint-failed",
    "feature-group-create-failed",
    "human-loop-failed",
    "image-version-create-failed",
    "labeling-job-failed",
    "monitoring-schedule-failed",
    "notebook-instance-failed",
    "pipeline-execution-failed",
    "pipeline-step-failed",
    "processing-failed",
    "tracking-server-update-failed",
    "training-failed",
    "training-failed-eu-other-account",
    "training-failed-hostile-reason",
    "training-stopped-max-runtime",
    "transform-failed",
    "tuning-child-training-failed",
    "tuning-failed",
]
REFUSED_CALL_SAMPLES = [
    "cloudtrail-create-processing-job-refused",
    "cloudtrail-create-training-job-quota",
]
HOSTILE = "training-failed-hostile-reason"
WITHOUT_CONSOLE_PAGE = {
    ResourceKind.FEATURE_GROUP,
    ResourceKind.IMAGE_VERSION,
    ResourceKind.HUMAN_LOOP,
    ResourceKind.MONITORING_SCHEDULE,
    ResourceKind.TRACKING_SERVER,
}


def _failure(load_event: LoadEvent, sample: str) -> Alert:
    return failure_alert(parse_event(load_event(sample)), TEAM_TAG)


def _under_used(load_event: LoadEvent) -> Alert:
    return utilization_alert(
        UtilizationReport.parse(load_event("utilization-report-under-used")), TEAM_TAG
    )


def _rendered(alert: Alert) -> list[str]:
    return [
        subject(alert),
        text_body(alert),
        json.dumps(attributes(alert)),
        json.dumps(document(alert, None)),
    ]


def _control_chars(text: str, allowed: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch).startswith("C") and ch not in allowed]


def test_given_events_folder_when_failures_listed_then_failing_samples_match_the_list(
    load_event: LoadEvent,
) -> None:
    names = sorted(path.stem for path in EVENTS_DIR.glob("*.json"))

    events = {name: parse_event(load_event(name)) for name in names}
    refused = [name for name, event in events.items() if RefusedCall()(event)]
    failing = [
        name
        for name, event in events.items()
        if event.is_failure
        and event.kind not in (ResourceKind.API_CALL, ResourceKind.HYPERPOD_CLUSTER)
    ]

    assert failing == FAILING_SAMPLES
    assert refused == REFUSED_CALL_SAMPLES


# --- an endpoint update rolled back ---------------------------------------------------------------


def test_given_an_endpoint_rolling_back_when_alerted_then_a_failed_deployment_of_its_own(
    load_event: LoadEvent,
) -> None:
    raw = load_event("endpoint-rolling-back")
    event = parse_event(raw)
    assert RollingBack()(event)
    assert not event.is_failure  # ROLLING_BACK is a status on the way, not an end

    alert = rollback_alert(event, TEAM_TAG)

    assert alert.kind is AlertKind.FAILURE
    assert "rolling back its update" in alert.headline
    assert "guardrail alarms" in next_step(alert)
    failed = failure_alert(parse_event(load_event("endpoint-failed")), TEAM_TAG)
    # One incident per rollback: a later one of the same endpoint has another LastModifiedTime.
    assert alert.incident == (
        "777788889999|us-east-1|endpoint|forecasting-promo-realtime|rolled-back"
        "|2026-11-20T12:28:05+00:00"
    )
    assert alert.incident != failed.incident
    # The API's spelling of the status is the same state.
    api = raw | {"detail": raw["detail"] | {"EndpointStatus": "RollingBack"}}
    assert RollingBack()(parse_event(api))


# --- refused calls (CloudTrail): what never started ----------------------------------------------


def test_given_a_refused_call_when_alerted_then_the_quota_and_where_to_raise_it_nothing_else(
    load_event: LoadEvent,
) -> None:
    raw = load_event("cloudtrail-create-training-job-quota")
    alert = refused_call_alert(parse_event(raw))

    text = "\n".join(_rendered(alert))
    assert alert.kind is AlertKind.FAILURE
    assert alert.resource is ResourceKind.API_CALL
    assert (alert.name, alert.status) == ("CreateTrainingJob", "ResourceLimitExceeded")
    assert "'ml.p4d.24xlarge for training job usage' is 0 Instances" in text
    assert set(links(alert)) == {"events", "quotas"}
    assert "Service Quotas" in next_step(alert)
    # Nothing of the request: not its job name, not its settings.
    for value in ("nlp-llama-finetune-20261120-1140", "s3://", "hyperParameters", CANARY):
        assert value not in text


def test_given_a_refusal_that_may_quote_the_request_then_its_message_is_not_read() -> None:
    event = {
        "source": "aws.sagemaker", "detail-type": "AWS API Call via CloudTrail", "id": "e",
        "account": "777788889999", "region": "us-east-1", "time": "2026-11-20T12:05:41Z",
        "detail": {"eventName": "CreateProcessingJob", "errorCode": "ValidationException",
                   "errorMessage": "Value 'canary-secret-x' at 'environment' failed"},
    }  # fmt: skip

    alert = refused_call_alert(parse_event(event))

    assert alert.reason is None
    assert CANARY not in "\n".join(_rendered(alert))
    assert dict(alert.context)["message"].startswith("in CloudTrail only")


def test_given_a_script_retrying_a_refused_call_then_one_incident_per_caller_code_and_day(
    load_event: LoadEvent,
) -> None:
    raw = load_event("cloudtrail-create-training-job-quota")

    def incident(**changes: Any) -> str:
        detail = raw["detail"] | changes.pop("detail", {})
        return refused_call_alert(parse_event(raw | changes | {"detail": detail})).incident

    first = incident()
    assert incident(id="retry-1", time="2026-11-20T23:59:00Z") == first
    assert incident(time="2026-11-21T00:00:01Z") != first  # a new day, a new reminder
    assert incident(detail={"errorCode": "AccessDeniedException"}) != first
    other = {"userIdentity": {"arn": "arn:aws:sts::444455556666:assumed-role/ci/bot"}}
    assert incident(detail=other) != first


# --- subject -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", FAILING_SAMPLES)
def test_given_failing_sample_when_alerted_then_subject_ascii_single_line_short_with_where(
    load_event: LoadEvent, sample: str
) -> None:
    raw = load_event(sample)

    text = subject(failure_alert(parse_event(raw), TEAM_TAG))

    assert text.isascii()
    assert text.isprintable()
    assert "\n" not in text
    assert "\r" not in text
    assert len(text) < 100
    assert raw["account"] in text
    assert raw["region"] in text
    assert "FAILED" in text


def test_given_under_used_report_when_alerted_then_subject_names_the_jobs_account_not_monitoring(
    load_event: LoadEvent,
) -> None:
    text = subject(_under_used(load_event))

    assert text.isascii()
    assert len(text) < 100
    assert "UNDER-USED" in text
    assert "vision-yolo-train-20261120-0330" in text
    assert "111122223333" in text
    assert "us-east-1" in text
    assert "999900001111" not in text


def test_given_256_character_job_name_when_alerted_then_subject_under_100_and_keeps_facts(
    training_event: TrainingEvent,
) -> None:
    name = "Vision-" + "x" * 249
    assert len(name) == 256
    event = parse_event(training_event(TrainingJobName=name, TrainingJobStatus="Failed"))

    text = subject(failure_alert(event, TEAM_TAG))

    assert len(text) < 100
    assert text.startswith("[sagewatch] FAILED training job Vision-x")
    assert text.endswith("... (111122223333 us-east-1)")


def test_given_non_ascii_job_name_when_alerted_then_subject_still_ascii(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(
        training_event(TrainingJobName="Modèle-Übung-ß", TrainingJobStatus="Failed")
    )

    text = subject(failure_alert(event, TEAM_TAG))

    assert text.isascii()
    assert "Modele-Ubung-" in text


# --- text body -----------------------------------------------------------------------------------


def _expected_names(load_event: LoadEvent, sample: str) -> list[str]:
    event = parse_event(load_event(sample))
    if event.kind is ResourceKind.PIPELINE_EXECUTION:
        assert event.pipeline_name is not None
        return [event.pipeline_name]
    if event.kind is ResourceKind.PIPELINE_STEP:
        assert event.pipeline_name is not None
        return [event.pipeline_name, event.name]
    return [event.name]


@pytest.mark.parametrize("sample", FAILING_SAMPLES)
def test_given_failing_sample_when_alerted_then_body_has_where_what_status_and_console_link(
    load_event: LoadEvent, sample: str
) -> None:
    raw = load_event(sample)
    event = parse_event(raw)
    alert = failure_alert(event, TEAM_TAG)

    body = text_body(alert)

    assert raw["account"] in body
    assert raw["region"] in body
    for name in _expected_names(load_event, sample):
        assert name in body
    assert f"Status: {event.status}" in body
    if event.kind in WITHOUT_CONSOLE_PAGE:  # none AWS's own tools link to: none guessed
        assert "console" not in links(alert)
        return
    console = links(alert)["console"]
    assert console.startswith(f"https://{raw['region']}.console.aws.amazon.com/sagemaker/")
    assert console in body


@pytest.mark.parametrize(
    ("sample", "fragment"),
    [
        ("training-failed", "#/jobs/forecasting-deepar-retrain-20261120-0930"),
        ("processing-failed", "#/processing-jobs/vision-label-qc-20261120-0615"),
        ("transform-failed", "#/transform-jobs/forecasting-batch-score-20261120-0500"),
        ("tuning-failed", "#/hyper-tuning-jobs/Vision-HPO-EffNetB3-1120"),
        ("endpoint-failed", "#/endpoints/forecasting-demand-realtime"),
    ],
)
def test_given_failing_resource_when_alerted_then_console_link_uses_the_name_field(
    load_event: LoadEvent, sample: str, fragment: str
) -> None:
    assert links(_failure(load_event, sample))["console"].endswith(fragment)


def test_given_max_runtime_stop_when_alerted_then_body_says_runtime_not_success(
    load_event: LoadEvent,
) -> None:
    alert = _failure(load_event, "training-stopped-max-runtime")

    body = text_body(alert)

    assert alert.kind is AlertKind.FAILURE
    assert alert.severity is Severity.HIGH
    assert "hit its maximum runtime" in body
    assert "Status: Stopped (MaxRuntimeExceeded)" in body
    assert "Hardware: ml.p4d.24xlarge x 2" in body


def test_given_under_used_report_when_alerted_then_body_shows_utilization_and_hours(
    load_event: LoadEvent,
) -> None:
    alert = _under_used(load_event)

    body = text_body(alert)

    assert alert.kind is AlertKind.UNDER_USED
    assert alert.severity is Severity.LOW
    assert "gpu 7.5%" in body
    assert "Wasted: 7.4 of 8 instance-hours, about $108.69 (estimate: on-demand list" in body
    assert "Team vision" in body
    assert "mean GPU utilization 7.5% is below 20%" in body


# --- secrets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", FAILING_SAMPLES)
def test_given_failing_sample_with_secrets_when_alerted_then_no_secret_anywhere(
    load_event: LoadEvent, sample: str
) -> None:
    alert = _failure(load_event, sample)

    for text in _rendered(alert):
        assert CANARY not in text


def test_given_under_used_report_when_alerted_then_no_secret_anywhere(
    load_event: LoadEvent,
) -> None:
    for text in _rendered(_under_used(load_event)):
        assert CANARY not in text


def test_given_secrets_in_failure_reason_when_alerted_then_masked_everywhere(
    training_event: TrainingEvent,
) -> None:
    reason = (
        "boom password=canary-secret-pw-1 api_key: canary-secret-key-2 "
        '{"client_secret": "canary-secret-json-3"} key AKIAIOSFODNN7EXAMPLE'
    )
    event = parse_event(training_event(TrainingJobStatus="Failed", FailureReason=reason))

    alert = failure_alert(event, TEAM_TAG)

    for text in _rendered(alert):
        assert CANARY not in text
        assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert alert.reason is not None
    assert alert.reason.startswith("boom password=***")


# --- hostile failure reason ----------------------------------------------------------------------


def test_given_hostile_reason_when_alerted_then_no_escape_or_carriage_return_in_body(
    load_event: LoadEvent,
) -> None:
    raw = load_event(HOSTILE)
    assert "\x1b" in raw["detail"]["FailureReason"]
    alert = _failure(load_event, HOSTILE)

    body = text_body(alert)

    assert "\x1b" not in body
    assert "\r" not in body
    assert "[31m" not in body  # the whole ANSI sequence, not just ESC
    assert _control_chars(body, allowed="\n\t") == []
    assert alert.reason is not None
    assert len(alert.reason) <= REASON_LIMIT
    assert "exit code: 1" in body  # the useful end of the reason survives
    assert json.loads(json.dumps(document(alert, None)))["reason"] == alert.reason


def test_given_hostile_reason_when_alerted_then_no_control_char_but_newline_in_body(
    load_event: LoadEvent,
) -> None:
    body = text_body(_failure(load_event, HOSTILE))

    assert _control_chars(body, allowed="\n") == []


def test_given_hostile_reason_when_alerted_then_subject_and_attributes_single_line(
    load_event: LoadEvent,
) -> None:
    alert = _failure(load_event, HOSTILE)

    assert "\n" not in subject(alert)
    assert "injected" not in subject(alert)
    for value in attributes(alert).values():
        assert value.isprintable()


def test_given_very_long_reason_when_alerted_then_truncated_to_limit_with_ellipsis(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(training_event(TrainingJobStatus="Failed", FailureReason="E" * 5000))

    alert = failure_alert(event, TEAM_TAG)

    assert alert.reason is not None
    assert len(alert.reason) == REASON_LIMIT
    assert alert.reason.endswith("…")


# --- sanitize() ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("login failed: password=hunter2 for db", "hunter2", "password=***"),
        ("api_key: abc rejected", "abc", "api_key: *** rejected"),
        ("DB_PASSWORD = hunter2", "hunter2", "DB_PASSWORD = ***"),
        ('{"api-key": "abc123"}', "abc123", '"api-key": "***"'),
        ("creds AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", "creds *** used"),
        ("session ASIAWXYZEXAMPLE4NLPK expired", "ASIAWXYZEXAMPLE4NLPK", "session *** expired"),
    ],
)
def test_given_credential_looking_text_when_sanitized_then_value_masked(
    text: str, secret: str, kept: str
) -> None:
    cleaned = sanitize(text)

    assert cleaned is not None
    assert secret not in cleaned
    assert kept in cleaned


@pytest.mark.parametrize(
    "text",
    [
        'conn = psycopg2.connect(host=db, password="canary-secret-pw-9")',
        "export API_KEY='canary-secret-key-9'",
        "config={'db_password': 'canary-secret-dict-9'}",
    ],
    ids=["double-quoted", "single-quoted", "python-dict"],
)
def test_given_quoted_credential_value_when_sanitized_then_value_masked(text: str) -> None:
    cleaned = sanitize(text)

    assert cleaned is not None
    assert CANARY not in cleaned


def test_given_ansi_and_control_chars_when_sanitized_then_plain_text() -> None:
    """Controls become spaces; format characters (bidi overrides, zero-width) are dropped, so
    they can neither reorder nor split what is shown (nor a credential the masking looks for)."""
    cleaned = sanitize("\x1b[31mred\x1b[0m\x00nul\rcr\x07bell\u202e ltr\u200b\nnext")

    assert cleaned == "red nul cr bell ltr\nnext"


def test_given_many_blank_lines_when_sanitized_then_at_most_one_blank_line() -> None:
    assert sanitize("a\n\n\n\n\nb") == "a\n\nb"


@pytest.mark.parametrize("text", [None, ""])
def test_given_no_text_when_sanitized_then_none(text: str | None) -> None:
    assert sanitize(text) is None


# --- incident keys -------------------------------------------------------------------------------


def test_given_two_deliveries_of_one_state_change_when_keyed_then_same_incident(
    load_event: LoadEvent,
) -> None:
    first_raw = load_event("training-completed-gpu")
    again_raw = load_event("training-completed-gpu-duplicate")
    first, again = parse_event(first_raw), parse_event(again_raw)
    assert first.event_id != again.event_id

    assert incident_key(first, "under-used") == incident_key(again, "under-used")
    assert failure_alert(first, TEAM_TAG).incident == failure_alert(again, TEAM_TAG).incident
    assert first.event_id not in incident_key(first, "under-used")


def test_given_same_job_name_in_two_accounts_when_keyed_then_different_incidents(
    load_event: LoadEvent,
) -> None:
    raw = load_event("training-failed")
    other = load_event("training-failed")
    other["account"] = "444455556666"

    mine, theirs = parse_event(raw), parse_event(other)

    assert mine.name == theirs.name
    assert incident_key(mine, "failed") != incident_key(theirs, "failed")
    assert failure_alert(mine, TEAM_TAG).incident != failure_alert(theirs, TEAM_TAG).incident


def test_given_same_job_in_two_regions_when_keyed_then_different_incidents(
    load_event: LoadEvent,
) -> None:
    other = load_event("training-failed")
    other["region"] = "eu-west-1"

    assert (
        _failure(load_event, "training-failed").incident
        != failure_alert(parse_event(other), TEAM_TAG).incident
    )


def test_given_failure_and_under_use_of_one_job_when_keyed_then_different_incidents(
    load_event: LoadEvent,
) -> None:
    job = parse_event(load_event("training-completed-gpu"))

    assert incident_key(job, "failed") != incident_key(job, "under-used")


def test_given_pipeline_step_and_execution_failure_of_one_execution_when_alerted_then_one_incident(
    load_event: LoadEvent,
) -> None:
    step = _failure(load_event, "pipeline-step-failed")
    execution = _failure(load_event, "pipeline-execution-failed")

    assert step.incident == execution.incident
    assert "k2x9q4m7b1zv" in step.incident
    assert dict(step.context)["failed step"] == "TrainIntentModel"


def test_given_pipeline_failure_of_another_execution_when_alerted_then_another_incident(
    load_event: LoadEvent,
) -> None:
    raw = load_event("pipeline-step-failed")
    raw["detail"]["pipelineExecutionArn"] = raw["detail"]["pipelineExecutionArn"].replace(
        "k2x9q4m7b1zv", "zzzzzzzzzzzz"
    )

    other = failure_alert(parse_event(raw), TEAM_TAG)

    assert other.incident != _failure(load_event, "pipeline-step-failed").incident


# --- machine-readable payload --------------------------------------------------------------------


@pytest.mark.parametrize("sample", FAILING_SAMPLES)
def test_given_failing_sample_when_alerted_then_payload_is_json_with_subject_and_text(
    load_event: LoadEvent, sample: str
) -> None:
    alert = _failure(load_event, sample)

    doc = json.loads(json.dumps(document(alert, None)))

    assert doc["schema"] == "sagewatch.alert/v1"
    assert doc["incident"] == alert.incident
    assert doc["kind"] == "failure"
    assert doc["severity"] == ("low" if alert.resource in LOW_STAKES else "high")
    assert doc["subject"] == subject(alert)
    assert doc["text"] == text_body(alert)
    assert attributes(alert)["account"] == alert.account


def test_given_team_tag_when_alerted_then_team_in_attributes(load_event: LoadEvent) -> None:
    alert = _failure(load_event, "training-failed")

    assert attributes(alert) == {
        "severity": "high",
        "kind": "failure",
        "account": "777788889999",
        "region": "us-east-1",
        "job_type": "training",
        "team": "forecasting",
    }


# --- durations, next steps, times ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (42, "42s"),
        (59.4, "59s"),
        (59.6, "1m"),
        (90, "2m"),
        (480, "8m"),
        (14_400, "4h 00m"),
    ],
)
def test_given_a_run_time_when_alerted_then_ran_line_shows_it_never_as_0m(
    training_event: TrainingEvent, seconds: float, shown: str
) -> None:
    start = 1795170000000
    event = parse_event(
        training_event(
            TrainingJobStatus="Failed",
            TrainingStartTime=start,
            TrainingEndTime=start + int(seconds * 1000),
        )
    )

    body = text_body(failure_alert(event, TEAM_TAG))

    assert f"Ran: {shown}, ended " in body


AWS_SIDE_REASONS = [
    "InternalServerError: We encountered an internal error. Please try again.",
    "CapacityError: Unable to provision requested ML compute capacity. Please retry using a "
    "different ML instance type.",
    "InsufficientCapacity: not enough ml.p4d.24xlarge in us-east-1a",
    "ClientError: insufficient capacity for ml.g5.48xlarge",
    "ThrottlingException: Rate exceeded",
    "ServiceUnavailable: Service is unavailable, try again later",
    "An internal error occurred while provisioning the endpoint",
]


@pytest.mark.parametrize("reason", AWS_SIDE_REASONS)
def test_given_an_aws_side_failure_when_alerted_then_next_step_is_to_retry(
    training_event: TrainingEvent, reason: str
) -> None:
    event = parse_event(training_event(TrainingJobStatus="Failed", FailureReason=reason))

    step = next_step(failure_alert(event, TEAM_TAG))

    assert step.startswith("Retry")
    assert "fix the cause" not in step


def test_given_a_capacity_failure_when_alerted_then_next_step_suggests_another_type_or_region(
    load_event: LoadEvent,
) -> None:
    raw = load_event("endpoint-failed")
    raw["detail"]["FailureReason"] = "Insufficient capacity for ml.g5.12xlarge. Try again later."

    step = next_step(failure_alert(parse_event(raw), TEAM_TAG))

    assert "another instance type or Region" in step


@pytest.mark.parametrize(
    "reason",
    [
        "AlgorithmError: ExecuteUserScriptError: ExitCode 1",
        "ClientError: Data download failed: Could not download s3://bucket/train/data.csv",
        # The job's own code failed: an internal error in its stack trace is not AWS's.
        'AlgorithmError: ExitCode 1 ErrorMessage "RuntimeError: internal error in tokenizer"',
    ],
)
def test_given_a_job_side_failure_when_alerted_then_next_step_is_to_fix_and_rerun(
    training_event: TrainingEvent, reason: str
) -> None:
    event = parse_event(training_event(TrainingJobStatus="Failed", FailureReason=reason))

    assert next_step(failure_alert(event, TEAM_TAG)) == (
        "Open the logs below, fix the cause, and re-run."
    )


def test_given_an_endpoint_failure_when_alerted_then_no_unknown_run_time_but_when_it_failed(
    load_event: LoadEvent,
) -> None:
    body = text_body(_failure(load_event, "endpoint-failed"))

    assert "unknown" not in body
    assert "Ran:" not in body
    assert "Time: 2026-11-20 12:21 UTC" in body


def test_given_a_job_that_failed_before_it_started_when_alerted_then_no_unknown_run_time(
    training_event: TrainingEvent,
) -> None:
    event = parse_event(
        training_event(TrainingJobStatus="Failed", TrainingStartTime=None, FailureReason="x")
    )
    assert event.duration_seconds is None

    body = text_body(failure_alert(event, TEAM_TAG))

    assert "unknown" not in body
    assert "Ended: " in body


def test_given_a_tagged_pipeline_event_when_alerted_then_team_attribute_routes_it(
    load_event: LoadEvent,
) -> None:
    """Pipeline events carry no tags today (the parser reads none); when one has a team tag,
    the alert carries it like any other, so team filter policies match."""
    event = replace(parse_event(load_event("pipeline-step-failed")), tags=(("team", "nlp"),))

    alert = failure_alert(event, TEAM_TAG)

    assert alert.team == "nlp"
    assert attributes(alert)["team"] == "nlp"
