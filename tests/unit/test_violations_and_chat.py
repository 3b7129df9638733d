"""Model Monitor violation alerts, and the chat rendering's limits and threading."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.alerting.alerts import AlertKind, Severity, failure_alert, violations_alert
from shared.alerting.render import (
    CHAT_DESCRIPTION_LIMIT,
    CHAT_TITLE_LIMIT,
    chat_notification,
    subject,
)
from shared.alerting.service import alertable
from shared.domain.parser import parse_event
from shared.domain.text import REASON_LIMIT
from shared.platform.router import Disposition

LoadEvent = Callable[[str], dict[str, Any]]
MONITOR = "processing-monitor-violations"
DAY_MS = 86_400_000


def _execution(load_event: LoadEvent, **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(MONITOR))
    event["detail"].update(detail)
    return event


def test_given_monitoring_execution_with_violations_when_alerted_then_schedule_and_endpoint_named(
    load_event: LoadEvent,
) -> None:
    alert = violations_alert(parse_event(load_event(MONITOR)), "team")

    assert alert.kind is AlertKind.VIOLATIONS
    assert alert.severity is Severity.MEDIUM
    assert "schedule forecasting-demand-data-quality" in alert.headline
    assert "endpoint forecasting-demand-realtime" in alert.headline
    assert dict(alert.context)["monitoring schedule"] == "forecasting-demand-data-quality"
    assert "3 constraint violations" in alert.headline
    assert subject(alert).startswith(
        "[sagewatch] VIOLATIONS monitoring schedule forecasting-demand-data-quality"
    )


def test_given_two_executions_of_one_schedule_on_one_day_when_keyed_then_one_incident(
    load_event: LoadEvent,
) -> None:
    first = parse_event(load_event(MONITOR))
    later = parse_event(
        _execution(
            load_event,
            ProcessingJobName="model-monitoring-202611201000-aa",
            ProcessingEndTime=1795169592000,
        )
    )
    next_day = parse_event(
        _execution(
            load_event,
            ProcessingJobName="model-monitoring-202611211000-bb",
            ProcessingEndTime=1795165992000 + DAY_MS,
        )
    )

    keys = [violations_alert(e, "team").incident for e in (first, later, next_day)]

    assert keys[0] == keys[1]
    assert keys[2] != keys[0]
    threads = {
        chat_notification(violations_alert(e, "team"))["metadata"]["threadId"]
        for e in (first, later, next_day)
    }
    assert len(threads) == 1  # every execution of the schedule threads together


@pytest.mark.parametrize(
    "exit_message",
    [None, "Completed: Job completed successfully with no violations.", "completedwithviolations"],
)
def test_given_monitoring_execution_without_violations_when_routed_then_no_alert(
    load_event: LoadEvent, exit_message: str | None
) -> None:
    dispatch = alertable.dispatch(_execution(load_event, ExitMessage=exit_message), _settings())

    assert dispatch.disposition is Disposition.SKIPPED


def test_given_failed_monitoring_execution_when_routed_then_failure_alert(
    load_event: LoadEvent,
) -> None:
    event = _execution(load_event, ProcessingJobStatus="Failed", FailureReason="role lacks s3")

    dispatch = alertable.dispatch(event, _settings())

    assert dispatch.disposition is Disposition.HANDLED
    assert dispatch.result is not None
    assert dispatch.result.kind is AlertKind.FAILURE


def test_given_no_environment_names_when_alerted_then_schedule_from_arn_and_no_endpoint(
    load_event: LoadEvent,
) -> None:
    event = _execution(load_event, Environment={"DB_PASSWORD": "canary-secret-x"})

    alert = violations_alert(parse_event(event), "team")

    assert dict(alert.context)["monitoring schedule"] == "forecasting-demand-data-quality"
    assert "endpoint" not in dict(alert.context)
    assert "canary-secret" not in repr(alert)


def test_given_huge_hostile_reason_when_rendered_for_chat_then_within_limits_and_block_closed(
    load_event: LoadEvent,
) -> None:
    event = load_event("training-failed-hostile-reason")
    event = copy.deepcopy(event)
    event["detail"]["FailureReason"] = ("<!channel> `x` & " * 200)[:REASON_LIMIT]
    chat = chat_notification(failure_alert(parse_event(event), "team"), "https://dash")

    description = chat["content"]["description"]
    assert len(description) <= CHAT_DESCRIPTION_LIMIT
    assert len(chat["content"]["title"]) <= CHAT_TITLE_LIMIT
    assert description.count("```") == 2
    assert description.endswith("```")
    assert "<!channel>" not in description
    assert chat["content"]["nextSteps"][-1] == "[Dashboard](https://dash)"


def _settings() -> Any:
    from shared.config import AlerterSettings

    return AlerterSettings({}, "t", "team", 3600, 3, 600, "q", "us-east-1")


@pytest.mark.parametrize("mention", ["<!channel>", "<!here>", "<@U024BE7LH>", "@here", "@channel"])
def test_given_a_mention_in_a_job_name_when_rendered_for_chat_then_no_field_can_ping(
    training_event: Callable[..., dict[str, Any]], mention: str
) -> None:
    """Not only the description: metadata (summary, additionalContext) is chat text too."""
    event = training_event(TrainingJobName=f"job-{mention}-x", TrainingJobStatus="Failed")
    event["detail"]["Tags"] = {"team": f"vision {mention}"}

    chat = chat_notification(failure_alert(parse_event(event), "team"), "https://dash")

    everything = json.dumps(chat, ensure_ascii=False)
    assert mention not in everything
    for value in (chat["metadata"]["summary"], *chat["metadata"]["additionalContext"].values()):
        assert mention not in value
