"""Fault injection on the embedded AWS: every event ends as exactly one delivered alert or
report, or in a dead-letter queue with its reason. None lost, none alerted twice."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from sagewatch.embedded import EmbeddedAws, load_events, replay
from sagewatch.template import EVENTS
from shared.alerting.service import alertable
from shared.config import AlerterSettings
from shared.domain.parser import parse_event
from shared.platform.clock import FixedClock
from shared.platform.errors import InvalidEvent
from shared.platform.router import Disposition

pytestmark = pytest.mark.integration

SAMPLES = load_events([EVENTS])
SETTINGS = AlerterSettings("arn:aws:sns:us-east-1:123456789012:t", "t", "team", 60, 3, 600, "q")
# The functions' time in every run here: storm-control windows never depend on when tests run.
WINDOW = 600
NOW = 1_795_168_800 + WINDOW // 2  # the middle of a window


def _clock() -> FixedClock:
    return FixedClock(NOW)


def _incidents(result: dict[str, Any]) -> list[str]:
    """Each alert's incident; an update of one (a failed job's waste) as `<incident>|update`."""
    return [
        alert["json"]["incident"] + ("|update" if alert["json"]["update"] else "")
        for alert in result["alerts"]
    ]


def _produced_reports(result: dict[str, Any]) -> list[str]:
    sample_ids = tuple(event["id"] for event in SAMPLES)  # copies get "<id>-redelivery-<n>"
    return [
        r["detail"]["job"]["name"] for r in result["reports"] if not r["id"].startswith(sample_ids)
    ]


def _sources(result: dict[str, Any]) -> dict[str, set[str]]:
    """What each alert incident and each report depends on: the ids of the events behind it."""
    sources: dict[str, set[str]] = {}
    for event in SAMPLES:
        try:
            dispatch = alertable.dispatch(event, SETTINGS)
            job = parse_event(event)
        except InvalidEvent:
            continue
        if dispatch.disposition is Disposition.HANDLED and dispatch.result is not None:
            alert = dispatch.result
            sources.setdefault(alert.incident, set()).add(event["id"])
            if alert.storm:  # its scope's summary counts it
                scope = f"storm:{alert.account}|{alert.region}|{alert.storm[0]}"
                sources.setdefault(scope, set()).add(event["id"])
        sources.setdefault(f"job:{job.name}", set()).add(event["id"])
    for report in result["reports"]:  # a utilization alert also depends on its report event
        name = report["detail"]["job"]["name"]
        sources.setdefault(f"job:{name}", set()).add(report["id"])
    return sources


def _depends_on(incident: str, sources: dict[str, set[str]]) -> set[str]:
    if incident.startswith("burst|") and incident.count("|") == 5:  # a scope's storm summary
        _, account, region, _, scope, _ = incident.split("|")
        return sources.get(f"storm:{account}|{region}|{scope}", set())
    *_, name, what = incident.split("|")[:5]
    if what in ("under-used", "idle") or incident.endswith("|update"):  # its events and report
        return sources.get(f"job:{name}", set())
    return sources.get(incident, set())


@pytest.fixture(scope="module")
def clean(demo_metrics: dict[str, Any]) -> dict[str, Any]:
    return replay(SAMPLES, demo_metrics, clock=_clock())


def assert_accounted(result: dict[str, Any], clean: dict[str, Any]) -> None:
    alerts, reports = _incidents(result), _produced_reports(result)
    assert len(alerts) == len(set(alerts)), "an incident was alerted twice"
    assert len(reports) == len(set(reports)), "a job was reported twice"
    assert set(alerts) <= set(_incidents(clean))
    assert set(reports) <= set(_produced_reports(clean))
    parked = {letter["event_id"] for letter in result["dead_letters"]}
    assert all(letter["reason"] for letter in result["dead_letters"])
    sources = _sources(clean) | _sources(result)
    lost_alerts = [
        i for i in set(_incidents(clean)) - set(alerts) if not _depends_on(i, sources) & parked
    ]
    lost_reports = [
        name for name in set(_produced_reports(clean)) - set(reports)
        if not sources.get(f"job:{name}", set()) & parked
    ]  # fmt: skip
    assert lost_alerts == []
    assert lost_reports == []


@pytest.mark.parametrize(
    ("faults", "same_as_clean"),
    [
        ("cloudwatch.GetMetricData=throttle:3", True),  # absorbed by the SDK's retries
        ("cloudwatch.GetMetricData=throttle", False),  # every delivery fails: parked
        ("sns.Publish=5xx:7", True),  # past the SDK's 5 attempts: Lambda's async retry
        ("sns.Publish=5xx", False),
        ("dynamodb=unavailable:12", True),
        ("dynamodb=unavailable", False),
        ("events.PutEvents=partial:2", True),  # FailedEntryCount: the job is retried
        ("events.PutEvents=partial", False),
        ("events.PutEvents=crash:1@2", True),  # the enricher dies mid-batch
        ("sns.Publish=crash:1@2", True),  # the alerter dies mid-invocation
        ("sqs.SendMessage=5xx,sns.Publish=5xx", False),  # even parking fails: SQS redrive
    ],
)
def test_given_fault_when_replayed_then_every_event_delivered_once_or_parked_with_reason(
    faults: str, same_as_clean: bool, clean: dict[str, Any], demo_metrics: dict[str, Any]
) -> None:
    result = replay(SAMPLES, demo_metrics, faults=faults, clock=_clock())

    assert result["faults_injected"]
    assert_accounted(result, clean)
    if same_as_clean:
        assert sorted(_incidents(result)) == sorted(_incidents(clean))
        assert sorted(_produced_reports(result)) == sorted(_produced_reports(clean))
        assert result["dead_letters"] == []
    else:
        assert result["dead_letters"]


def test_given_every_event_three_times_when_replayed_then_exactly_the_alerts_of_one_delivery(
    clean: dict[str, Any], demo_metrics: dict[str, Any]
) -> None:
    result = replay(SAMPLES, demo_metrics, duplicates=3, clock=_clock())

    assert result["events"] == 3 * len(SAMPLES)
    assert sorted(_incidents(result)) == sorted(_incidents(clean))
    assert sorted(_produced_reports(result)) == sorted(_produced_reports(clean))


def test_given_alerts_parked_when_fixed_and_redriven_then_each_alert_sent_once(
    demo_metrics: dict[str, Any],
) -> None:
    with EmbeddedAws(faults="sns.Publish=5xx", clock=_clock()) as aws:
        aws.seed_metrics(demo_metrics)
        for event in SAMPLES:
            aws.deliver(event)
        aws.run()
        redriver = aws.redriver()
        letters = redriver.letters()
        assert aws.alerts() == []
        assert letters
        # The alerter parks with SNS's error; a storm summary is redriven by SQS after its tries.
        assert all(
            "InternalFailure" in letter.reason
            or (letter.destination == "summary" and "repeated attempts" in letter.reason)
            for letter in letters
        )
        assert any(letter.destination == "summary" for letter in letters)

        aws.injector.faults.clear()  # the fix
        assert redriver.redrive(letters) == {"moved": len(letters), "kept": 0}
        aws.run()

        # Events delivered at once, no schedule played: the replay's alerts without the
        # in-flight and endpoint health checks'.
        unscheduled = {"InFlightCheckMinutes": "0", "EndpointHealthMinutes": "0"}
        scheduled = replay(SAMPLES, demo_metrics, unscheduled, clock=_clock())
        assert sorted(_incidents({"alerts": aws.alerts()})) == sorted(_incidents(scheduled))
        assert redriver.letters() == []


def _failures(count: int, account: str = "111122223333") -> Iterable[dict[str, Any]]:
    template = next(
        e
        for e in SAMPLES
        if e["detail"].get("TrainingJobName", "").startswith("forecasting-deepar")
    )
    for n in range(count):
        detail = dict(template["detail"], TrainingJobName=f"storm-job-{n:02d}")
        yield dict(template, id=f"storm-{n}", account=account, detail=detail)


def test_given_burst_of_failures_in_one_account_when_alerted_then_threshold_plus_one_summary() -> (
    None
):
    result = replay([*_failures(12), *_failures(2, account="444455556666")], clock=_clock())

    subjects = [alert["subject"] for alert in result["alerts"]]
    one_by_one = [s for s in subjects if "storm-job" in s]
    summaries = [a for a in result["alerts"] if a["json"]["name"].endswith("training jobs")]
    assert len(one_by_one) == 3 + 2  # the threshold in 1111…, both in 4444…
    assert len(summaries) == 1
    summary = summaries[0]["json"]
    assert summary["account"] == "111122223333"
    assert summary["context"]["summarized here"] == "9"
    assert all(f"storm-job-{n:02d}" in summary["context"]["jobs"] for n in range(12))
    assert len(summaries[0]["subject"]) < 100
    assert result["invocations"]["summarizer"] >= 1


def test_given_burst_split_by_a_window_boundary_when_alerted_then_each_window_on_its_own() -> None:
    """Six failures just before a window ends, six just after: two windows of six, each with
    three alerted one by one and a summary of three (the clock the embedded AWS runs on)."""
    clock = FixedClock(NOW - NOW % WINDOW + WINDOW - 1)
    with EmbeddedAws(clock=clock) as aws:
        failures = list(_failures(12))
        for event in failures[:6]:
            aws.deliver(event)
        aws.run()
        clock.advance(2)
        for event in failures[6:]:
            aws.deliver(event)
        aws.run()
        alerts = [alert["json"] for alert in aws.alerts()]

    summaries = [a for a in alerts if a["name"].endswith("training jobs")]
    assert len(alerts) - len(summaries) == 3 + 3
    assert [s["context"]["summarized here"] for s in summaries] == ["3", "3"]
    assert len({s["incident"] for s in summaries}) == 2


def test_given_one_account_metrics_failing_when_enriched_then_other_accounts_reported(
    demo_metrics: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from shared.adapters.cloudwatch import MetricsReader

    real_fetch = MetricsReader.fetch

    def fetch(self: MetricsReader, calls: Any) -> Any:
        if any(query.job.account == "777788889999" for call in calls for query in call.queries):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")
        return real_fetch(self, calls)

    monkeypatch.setattr(MetricsReader, "fetch", fetch)
    result = replay(SAMPLES, demo_metrics, clock=_clock())

    reported = {r["detail"]["job"]["account"] for r in result["reports"]}
    assert "111122223333" in reported
    # Of that account, only jobs no query was needed for (too short to judge) are reported.
    measured = {
        r["detail"]["job"]["account"]
        for r in result["reports"]
        if r["detail"]["verdict"] != "insufficient-data"
    }
    assert "777788889999" not in measured
    assert any("AccessDenied" in letter["reason"] for letter in result["dead_letters"])
