"""A job's own tags for its alerts (issue 14, part 3): `sagewatch:silence` (a sandbox
experiment pages no one) and `sagewatch:severity` (shown in the alert when used). Reports carry
both, so waste alerts obey them too; the in-flight check does not even read a silenced job."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.alerting.alerts import JobSays, Severity, utilization_alert
from shared.alerting.service import Alerter
from shared.config import AlerterSettings, EnricherSettings
from shared.contracts.report import UtilizationReport
from shared.domain.parser import parse_event
from shared.domain.utilization import Assessment, Thresholds, Usage, Verdict, thresholds_for
from shared.domain.vocabulary import SEVERITY_TAG, SILENCE_TAG, UNDER_USED_TAG
from shared.enrichment.service import Enricher
from shared.fleet.inflight import RunningJob
from shared.platform.clock import FixedClock
from tests.fakes import MemoryLedger, MemoryOnce, Recorder, SteadyMetrics
from tests.unit.conftest import read_event

REGION = "us-east-1"
CHANNELS = ("email", "json", "chat")
SETTLED = 1_795_179_600  # 2026-11-20T13:00Z, after every sample ended
ENRICHER = EnricherSettings(
    event_bus_name="sagewatch", region=REGION, thresholds=Thresholds(), idempotency_table="t",
    dead_letter_queue_url="unused", max_receives=5, data_waits=2, dedup_seconds=3600,
    team_tag_key="team",
)  # fmt: skip
SETTINGS = AlerterSettings(
    topics={c: f"arn:aws:sns:{REGION}:123456789012:{c}" for c in CHANNELS},
    idempotency_table="t", team_tag_key="team", dedup_seconds=3600, burst_threshold=3,
    burst_window_seconds=600, summary_queue_url="unused", region=REGION,
)  # fmt: skip


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({}, JobSays()),
        ({SILENCE_TAG: "true"}, JobSays(silenced=True)),
        ({SILENCE_TAG: "sandbox until Friday"}, JobSays(silenced=True)),
        ({SILENCE_TAG: "False"}, JobSays()),
        ({SILENCE_TAG: "no"}, JobSays()),
        ({SEVERITY_TAG: "LOW"}, JobSays(severity=Severity.LOW)),
        ({SEVERITY_TAG: "critical"}, JobSays()),  # not a severity: ignored
    ],
)
def test_given_a_jobs_tags_then_what_they_ask(tags: dict[str, str], expected: JobSays) -> None:
    assert JobSays.of(tuple(tags.items())) == expected


def _failed(**tags: str) -> dict[str, Any]:
    raw = read_event("training-failed")
    raw["detail"]["Tags"] = raw["detail"].get("Tags", {}) | tags
    return raw


def _alerter() -> tuple[Alerter, dict[str, Recorder]]:
    channels = {c: Recorder() for c in CHANNELS}
    alerter = Alerter(
        SETTINGS, publishers=channels, ledger=MemoryLedger(), summaries=Recorder(),
        records=MemoryOnce(),
    )  # fmt: skip
    return alerter, channels


def test_given_a_silenced_job_when_it_fails_then_no_alert_at_all() -> None:
    alerter, channels = _alerter()

    result = alerter.handle(_failed(**{SILENCE_TAG: "true"}))

    assert result["outcome"] == "silenced"
    assert all(not channel.items for channel in channels.values())


def test_given_a_severity_tag_then_the_alert_has_it_and_says_why() -> None:
    alerter, channels = _alerter()

    alerter.handle(_failed(**{SEVERITY_TAG: "low"}))

    [published] = channels["json"].items
    document = json.loads(published["message"])
    assert published["attributes"]["severity"] == document["severity"] == "low"
    assert document["context"]["severity"] == f"low, set by the job's tag {SEVERITY_TAG}"


def _report_of(raw: dict[str, Any]) -> dict[str, Any]:
    """The enricher's report of this job, idle, as the alerter receives it from the bus."""
    job = parse_event(raw | {"detail": raw["detail"] | {"TrainingJobStatus": "Completed"}})
    usage = Usage({}, 10)
    report = UtilizationReport.of(job, Assessment(Verdict.IDLE, usage, ("idle",)), Thresholds())
    return {
        "version": "0", "id": "r-1", "source": "sagewatch", "account": "123456789012",
        "detail-type": "Job Utilization Report", "region": REGION, "time": raw["time"],
        "resources": [], "detail": report.detail("team"),
    }  # fmt: skip


def test_given_a_silenced_job_then_its_report_carries_the_tag_and_its_waste_is_silent() -> None:
    raw = _failed(**{SILENCE_TAG: "yes", "project": "x"})
    report = _report_of(raw)
    alerter, channels = _alerter()

    result = alerter.handle(report)

    assert report["detail"]["job"]["tags"] == {"team": "forecasting", SILENCE_TAG: "yes"}
    assert result["outcome"] == "silenced"
    assert all(not channel.items for channel in channels.values())


def test_given_a_running_job_with_tags_then_they_are_kept_and_read_back() -> None:
    raw = read_event("training-in-progress-idle-gpus")
    raw["detail"]["Tags"] |= {SILENCE_TAG: "true", SEVERITY_TAG: "medium"}
    job = RunningJob.of(parse_event(raw), "team")

    kept = RunningJob.from_record({"job": job.job_text(), "at": str(job.at)})

    assert kept.says == JobSays(silenced=True, severity=Severity.MEDIUM)


# ---- the job's own under-used threshold ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("35", 35.0), ("100", 100.0), ("2", 20.0), ("101", 20.0), ("lots", 20.0), ("nan", 20.0)],
)
def test_given_an_under_used_tag_then_the_jobs_threshold_within_the_sane_range(
    value: str, expected: float
) -> None:
    raw = read_event("training-completed-gpu")
    raw["detail"]["Tags"] = {"team": "vision", UNDER_USED_TAG: value}

    own = thresholds_for(parse_event(raw), Thresholds())

    assert own.under_used_percent == expected


def test_given_a_job_with_its_own_threshold_when_enriched_then_judged_by_it_and_told() -> None:
    raw = read_event("training-completed-gpu")  # one ml.p3.2xlarge: a single GPU
    raw["detail"]["Tags"] = {"team": "vision", UNDER_USED_TAG: "35"}
    bus = Recorder()
    enricher = Enricher(
        ENRICHER, metrics=SteadyMetrics(25.0), publisher=bus, dead_letters=Recorder(),
        emit=lambda report: None, records=MemoryOnce(), clock=FixedClock(SETTLED),
    )  # fmt: skip

    enricher.run([{"messageId": "m1", "body": json.dumps(raw), "attributes": {}}])

    [detail] = bus.items
    assert detail["verdict"] == "under-used"  # 25% GPU: ok by the default 20%, not by its 35%
    assert detail["thresholds"]["under_used_percent"] == 35.0
    alert = utilization_alert(UtilizationReport.from_detail(detail), "team")
    assert (
        dict(alert.context)["under-used threshold"] == f"35%, set by the job's tag {UNDER_USED_TAG}"
    )
