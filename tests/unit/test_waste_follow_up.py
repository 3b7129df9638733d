"""A failed job's wasted hardware is an update of its failure's incident (issue 14, part 2): same
incident in the JSON and same chat thread, its own next step (a hung job), never counted as
another failure, and bounded in a storm like failures are."""

from __future__ import annotations

import json
from typing import Any

from shared.alerting.alerts import HUNG_STEP, WASTED_FAILURE_STEP, AlertKind, failure_alert
from shared.alerting.render import document, subject, thread_id
from shared.alerting.service import Alerter, alertable
from shared.config import AlerterSettings
from shared.contracts.report import UtilizationReport
from shared.domain.parser import parse_event
from shared.platform.clock import FixedClock
from tests.fakes import MemoryLedger, MemoryOnce, Recorder
from tests.unit.conftest import read_event

REGION = "us-east-1"
CHANNELS = ("email", "json", "chat")
THRESHOLD = 3
SETTINGS = AlerterSettings(
    topics={c: f"arn:aws:sns:{REGION}:123456789012:{c}" for c in CHANNELS},
    idempotency_table="t", team_tag_key="team", dedup_seconds=3600, burst_threshold=THRESHOLD,
    burst_window_seconds=600, summary_queue_url="unused", region=REGION,
)  # fmt: skip
JOB = "vision-yolo-train-20261120-0330"  # the report sample's job


def _report(verdict: str = "idle", secondary: str = "MaxRuntimeExceeded", name: str = JOB) -> Any:
    """The report sample, for a job stopped by SageMaker (or failed) with this verdict."""
    raw = read_event("utilization-report-under-used")
    raw["detail"]["verdict"] = verdict
    raw["detail"]["job"].update(status="Stopped", secondary_status=secondary, name=name)
    if secondary == "Failed":
        raw["detail"]["job"]["status"] = "Failed"
    return raw


def _failure_of(report: dict[str, Any]) -> str:
    return failure_alert(UtilizationReport.parse(report).job, "team").incident


def _alerter(channels: dict[str, Recorder], ledger: MemoryLedger | None = None) -> Alerter:
    return Alerter(
        SETTINGS, publishers=channels, ledger=ledger or MemoryLedger(), summaries=Recorder(),
        clock=FixedClock(1_795_168_800 + 300), records=MemoryOnce(),
    )  # fmt: skip


def test_given_a_hung_job_when_its_report_arrives_then_an_update_of_its_failure() -> None:
    raw = _report()

    alert = alertable.dispatch(raw, SETTINGS).result

    assert alert is not None
    assert alert.kind is AlertKind.FAILURE
    assert alert.follows == _failure_of(raw)
    assert alert.incident == f"{alert.follows}|idle"  # its own do-once record
    assert alert.step == HUNG_STEP
    assert alert.headline.startswith(f"training job {JOB} hit its maximum runtime with its")
    assert "hardware idle: about $" in alert.headline
    assert alert.waste is not None


def test_given_a_failed_job_that_was_under_used_then_the_fix_first_step() -> None:
    alert = alertable.dispatch(_report("under-used", "Failed"), SETTINGS).result

    assert alert is not None
    assert alert.step == WASTED_FAILURE_STEP
    assert "failed with its hardware under-used" in alert.headline


def test_given_an_update_when_rendered_then_same_incident_and_thread_as_its_failure() -> None:
    raw = _report()
    update = alertable.dispatch(raw, SETTINGS).result
    assert update is not None
    failure = failure_alert(UtilizationReport.parse(raw).job, "team")

    doc = document(update, None)

    assert doc["incident"] == failure.incident
    assert doc["update"] is True
    assert document(failure, None)["update"] is False
    assert doc["thread_id"] == thread_id(failure) == thread_id(update)
    assert subject(update).startswith("[sagewatch] FAILED update: training job ")
    assert doc["next_step"] == HUNG_STEP


def test_given_a_failure_then_its_update_when_alerted_then_both_sent_and_not_counted_twice() -> (
    None
):
    channels = {c: Recorder() for c in CHANNELS}
    ledger = MemoryLedger()
    alerter = _alerter(channels, ledger)
    report = _report()
    failed = read_event("training-stopped-max-runtime")

    first = alerter.handle(failed)
    update = alerter.handle(report)
    again = alerter.handle(report)  # delivered twice

    assert (first["outcome"], update["outcome"], again["outcome"]) == (
        "alerted",
        "alerted",
        "duplicate",
    )
    sent = [json.loads(m["message"]) for m in channels["json"].items]
    assert [doc["update"] for doc in sent] == [False, True]
    counted = {k: w["incidents"] for k, w in ledger.windows.items() if k.startswith("burst|")}
    assert list(counted.values()) == [{first["incident"]}]  # the update is no second failure


def test_given_a_storm_of_updates_when_alerted_then_only_the_thresholds_worth_are_sent() -> None:
    channels = {c: Recorder() for c in CHANNELS}
    alerter = _alerter(channels)

    outcomes = [alerter.handle(_report(name=f"hung-job-{n}"))["outcome"] for n in range(6)]

    assert outcomes == ["alerted"] * THRESHOLD + ["suppressed"] * (6 - THRESHOLD)
    assert len(channels["json"].items) == THRESHOLD


def test_given_a_finished_job_that_was_idle_then_still_its_own_incident() -> None:
    raw = read_event("utilization-report-under-used")  # Completed: no failure to update

    alert = alertable.dispatch(raw, SETTINGS).result

    assert alert is not None
    assert alert.follows is None
    assert alert.kind is AlertKind.UNDER_USED
    assert document(alert, None)["update"] is False
    assert parse_event(read_event("training-stopped-max-runtime")).is_failure
