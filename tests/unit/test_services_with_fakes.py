"""The services on the in-memory fakes (tests/fakes.py) and a FixedClock, no moto: storm
control, one alert per incident, and every record of an enricher batch to exactly one fate."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.alerting.service import Alerter, Summarizer
from shared.config import AlerterSettings, EnricherSettings
from shared.contracts.storm_window import StormWindow
from shared.domain.utilization import Thresholds, Verdict
from shared.enrichment.service import Enricher
from shared.platform.clock import FixedClock
from tests.fakes import (
    FailingMetrics,
    MemoryLedger,
    MemoryOnce,
    NoMetrics,
    Recorder,
    RefusingChannel,
    SteadyMetrics,
)
from tests.unit.conftest import read_event

REGION = "us-east-1"
WINDOW_SECONDS = 600
START = 1_795_168_800  # 2026-11-20T10:00Z: a window's start (a multiple of its length)
SAMPLES_SETTLED = 1_795_179_600  # 2026-11-20T13:00Z, after every sample event ended
CHANNELS = ("email", "json", "chat")
ALERTER_SETTINGS = AlerterSettings(
    topics={c: f"arn:aws:sns:{REGION}:123456789012:{c}" for c in CHANNELS},
    idempotency_table="t", team_tag_key="team", dedup_seconds=3600, burst_threshold=3,
    burst_window_seconds=WINDOW_SECONDS, summary_queue_url="unused", region=REGION,
)  # fmt: skip
ENRICHER_SETTINGS = EnricherSettings(
    event_bus_name="sagewatch", region=REGION, thresholds=Thresholds(), idempotency_table="t",
    dead_letter_queue_url="unused", max_receives=5, data_waits=2, dedup_seconds=3600,
    team_tag_key="team",
)  # fmt: skip


def _channels() -> dict[str, Recorder]:
    return {channel: Recorder() for channel in CHANNELS}


def _documents(channels: dict[str, Recorder]) -> list[dict[str, Any]]:
    """The alerts sent, as their JSON renderings (every alert goes to every channel)."""
    assert len({len(recorder.items) for recorder in channels.values()}) == 1
    return [json.loads(message["message"]) for message in channels["json"].items]


def _failure(n: int, event_id: str | None = None) -> dict[str, Any]:
    event = read_event("training-failed")
    event["id"] = event_id or f"storm-{n}"
    event["detail"]["TrainingJobName"] = f"storm-job-{n:02d}"
    return event


def _alerter(
    channels: dict[str, Recorder], ledger: MemoryLedger, summaries: Recorder, clock: FixedClock
) -> Alerter:
    return Alerter(
        ALERTER_SETTINGS, publishers=channels, ledger=ledger, summaries=summaries, clock=clock,
        records=MemoryOnce(),
    )  # fmt: skip


# ---- storm control ------------------------------------------------------------------------


def test_given_failures_past_the_threshold_in_one_window_when_alerted_then_one_summary() -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries, FixedClock(START + 300))

    outcomes = [alerter.handle(_failure(n))["outcome"] for n in range(6)]

    assert outcomes == ["alerted"] * 3 + ["suppressed"] * 3
    alerted = [document["name"] for document in _documents(channels)]
    assert alerted == ["storm-job-00", "storm-job-01", "storm-job-02"]
    # Every held-back failure asks for the summary (a failed schedule is not the last chance).
    assert len(summaries.items) == 3
    bucket = f"burst|777788889999|{REGION}|training|{START}"
    assert {window["bucket"] for window in summaries.items} == {bucket}

    summarizer = Summarizer(
        ALERTER_SETTINGS, publishers=channels, ledger=ledger, records=MemoryOnce()
    )
    records = [{"messageId": f"m{i}", "body": json.dumps(w)} for i, w in enumerate(summaries.items)]

    assert summarizer.run(records) == []
    [summary] = _documents(channels)[3:]  # three messages, one summary
    assert summary["incident"] == bucket
    assert summary["name"] == "6 training jobs"
    assert summary["context"]["alerted one by one"] == "3"
    assert summary["context"]["summarized here"] == "3"


@pytest.mark.parametrize(
    ("code", "parked"),
    [("AuthorizationError", True), ("KMSDisabledException", True), ("Throttled", False)],
)
def test_given_a_summary_the_topic_refuses_when_summarized_then_parked_only_if_no_retry_helps(
    code: str, parked: bool
) -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries, FixedClock(START + 300))
    for n in range(4):
        alerter.handle(_failure(n))
    dead = Recorder()
    refusing = {channel: RefusingChannel(code) for channel in CHANNELS}
    summarizer = Summarizer(
        ALERTER_SETTINGS,
        publishers=refusing,
        ledger=ledger,
        records=MemoryOnce(),
        dead_letters=dead,
    )

    retried = summarizer.run([{"messageId": "m", "body": json.dumps(summaries.items[0])}])

    if not parked:
        assert retried == ["m"]
        assert dead.items == []
        return
    assert retried == []
    [item] = dead.items
    assert item["reason"].startswith("summary failed: ")
    assert item["reason"].endswith(f"(not retried: {code} needs a fix, then a redrive)")


def test_given_a_summary_parked_after_a_partial_delivery_when_redriven_later_then_not_resent() -> (
    None
):
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries, FixedClock(START + 300))
    for n in range(4):
        alerter.handle(_failure(n))
    sent = len(channels["email"].items)
    records, dead, clock = MemoryOnce(), Recorder(), FixedClock(START + 1200)
    settings = replace(ALERTER_SETTINGS, dedup_seconds=172_800)  # the default DedupSeconds

    def summarize(channels: dict[str, Any], message_id: str, body: str) -> None:
        Summarizer(
            settings, publishers=channels, ledger=ledger, records=records, dead_letters=dead,
            clock=clock,
        ).run([{"messageId": message_id, "body": body}])  # fmt: skip

    # The chat topic refuses SNS (a setting to fix): email and json got the summary, chat not.
    refusing = channels | {"chat": RefusingChannel("AuthorizationError")}
    summarize(refusing, "m", json.dumps(summaries.items[0]))
    [parked] = dead.items
    clock.advance(3 * 86_400)  # fixed after a weekend, then redriven (kept 14 days)
    summarize(channels, "m2", parked["body"])

    assert [len(channels[c].items) for c in CHANNELS] == [sent + 1] * len(CHANNELS)


class FlakySummaries(Recorder):
    """The summary queue, refusing its first SendMessage (throttled past the SDK's retries)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = False

    def schedule(self, window: StormWindow) -> None:
        if not self.refused:
            self.refused = True
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "SendMessage"
            )
        super().schedule(window)


@pytest.mark.parametrize("retried_after", [60, WINDOW_SECONDS + 60], ids=["same", "next-window"])
def test_given_a_summary_unscheduled_once_when_retried_then_held_back_not_sent_alone(
    retried_after: int,
) -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), FlakySummaries()
    clock = FixedClock(START + 300)
    alerter = _alerter(channels, ledger, summaries, clock)
    for n in range(3):
        alerter.handle(_failure(n))
    with pytest.raises(ClientError):  # counted in the window, its summary not scheduled
        alerter.handle(_failure(3))
    assert alerter.handle(_failure(4))["outcome"] == "suppressed"  # schedules the summary
    summarizer = Summarizer(ALERTER_SETTINGS, publishers=channels, ledger=ledger,
                            records=MemoryOnce())  # fmt: skip
    summarizer.run([{"messageId": "m", "body": json.dumps(summaries.items[0])}])

    clock.advance(retried_after)  # Lambda retries the failed invocation
    retry = alerter.handle(_failure(3, event_id="lambda-retry"))

    assert retry["outcome"] == "suppressed"
    assert [d["name"] for d in _documents(channels)].count("storm-job-03") == 0
    [summary] = [d for d in _documents(channels) if d["incident"].startswith("burst|")]
    assert "storm-job-03" in json.dumps(summary)
    assert len(summaries.items) == 2  # the retry scheduled its window's summary after all


def test_given_window_summarized_when_more_fail_then_alone_until_the_next_storm() -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    clock = FixedClock(START + 300)
    alerter = _alerter(channels, ledger, summaries, clock)
    for n in range(4):
        alerter.handle(_failure(n))
    Summarizer(ALERTER_SETTINGS, publishers=channels, ledger=ledger, records=MemoryOnce()).run(
        [{"messageId": "m", "body": json.dumps(summaries.items[0])}]
    )

    late = alerter.handle(_failure(4))  # same window, after its summary went out
    clock.advance(WINDOW_SECONDS)  # the next window counts afresh
    next_window = [alerter.handle(_failure(n))["outcome"] for n in range(5, 9)]

    assert late["outcome"] == "alerted"
    assert next_window == ["alerted"] * 3 + ["suppressed"]
    assert summaries.items[-1]["window_start"] == START + WINDOW_SECONDS
    names = [d["name"] for d in _documents(channels)]
    assert names == [
        "storm-job-00", "storm-job-01", "storm-job-02", "4 training jobs", "storm-job-04",
        "storm-job-05", "storm-job-06", "storm-job-07",
    ]  # fmt: skip


# ---- one alert per incident ---------------------------------------------------------------


def test_given_same_incident_delivered_twice_when_alerted_then_one_alert_counted_once() -> None:
    channels, ledger = _channels(), MemoryLedger()
    alerter = _alerter(channels, ledger, Recorder(), FixedClock(START))

    first = alerter.handle(_failure(1, event_id="delivery-1"))
    again = alerter.handle(_failure(1, event_id="delivery-2"))  # another event id, same change

    assert (first["outcome"], again["outcome"]) == ("alerted", "duplicate")
    assert first["incident"] == again["incident"]
    assert [d["name"] for d in _documents(channels)] == ["storm-job-01"]
    [window] = ledger.windows.values()
    assert window["incidents"] == {first["incident"]}, "a duplicate counts once in its storm"


def test_given_a_topic_that_fails_once_when_retried_then_only_the_missing_topics_get_it() -> None:
    channels, ledger, records = _channels(), MemoryLedger(), MemoryOnce()
    flaky = RefusingChannel("InternalError")
    alerter = Alerter(
        ALERTER_SETTINGS, publishers=channels | {"json": flaky}, ledger=ledger,
        summaries=Recorder(), clock=FixedClock(START), records=records,
    )  # fmt: skip
    with pytest.raises(ClientError, match="InternalError"):
        alerter.handle(_failure(1))
    flaky_then_fine = channels | {"json": channels["json"]}
    retry = Alerter(
        ALERTER_SETTINGS, publishers=flaky_then_fine, ledger=ledger, summaries=Recorder(),
        clock=FixedClock(START + 1), records=records,
    )  # fmt: skip

    result = retry.handle(_failure(1, event_id="lambda-retry"))

    assert result["outcome"] == "alerted"
    assert [len(channels[c].items) for c in CHANNELS] == [1, 1, 1]  # email not sent twice
    [window] = ledger.windows.values()
    assert window["incidents"] == {result["incident"]}, "decided once: counted once"
    assert set(result["message_ids"]) == set(CHANNELS)


# ---- enricher: every record one fate ------------------------------------------------------


def _record(message_id: str, body: Any, receives: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receives)},
    }


JOB_NAMES = (
    "Vision-ResNet50-FT-20261120-0800",  # training-completed-gpu.json's
    "Vision-ResNet50-FT-second",
    "forecasting-feature-build-20261120-0700",  # processing-completed.json's
)


def _jobs() -> list[dict[str, Any]]:
    first, second = read_event("training-completed-gpu"), read_event("training-completed-gpu")
    second["id"], second["detail"]["TrainingJobName"] = "gpu-2", JOB_NAMES[1]
    return [first, second, read_event("processing-completed")]


def _enricher(
    metrics: NoMetrics | SteadyMetrics | FailingMetrics,
    bus: Recorder,
    dead: Recorder,
    emitted: list[str],
) -> Enricher:
    return Enricher(
        ENRICHER_SETTINGS, metrics=metrics, publisher=bus, dead_letters=dead,
        emit=lambda report: emitted.append(report.job.name),  # its EMF record
        records=MemoryOnce(), clock=FixedClock(SAMPLES_SETTLED),
    )  # fmt: skip


def test_given_batch_with_one_bad_record_when_enriched_then_it_parked_the_rest_reported() -> None:
    bus, dead, metrics = Recorder(), Recorder(), SteadyMetrics(1.0)
    emitted: list[str] = []
    jobs = _jobs()
    records = [_record("job-0", jobs[0]), _record("bad", "{oops"), _record("job-1", jobs[1])]
    records += [_record("job-2", jobs[2]), _record("job-0-again", jobs[0] | {"id": "dup"})]

    result = _enricher(metrics, bus, dead, emitted).run(records)

    assert result.outcomes == {
        "job-0": "reported", "bad": "dead-lettered", "job-1": "reported", "job-2": "reported",
        "job-0-again": "reported",  # a duplicate delivery in the batch shares the job's report
    }  # fmt: skip
    assert result.response() == {"batchItemFailures": []}
    [parked] = dead.items
    assert parked["body"] == "{oops"
    assert parked["reason"].startswith("invalid event: ")
    names = [report["job"]["name"] for report in bus.items]
    assert names == [JOB_NAMES[0], JOB_NAMES[1], JOB_NAMES[2]]  # each job once
    assert bus.items == result.reports
    assert emitted == names, "one EMF record per report"
    assert {report["verdict"] for report in bus.items} == {Verdict.IDLE}  # measured: 1 % busy
    # Per account (two here): one GetMetricData call for the verdicts, one more for the context
    # of its idle jobs' alerts (memory, disk).
    assert metrics.calls == 4


def test_given_jobs_without_datapoints_when_enriched_then_retried_until_the_waits_run_out() -> None:
    bus, dead = Recorder(), Recorder()
    first, second, _ = _jobs()
    waits = ENRICHER_SETTINGS.data_waits
    records = [_record("early", first, receives=waits), _record("late", second, waits + 1)]

    result = _enricher(NoMetrics(), bus, dead, []).run(records)

    assert result.outcomes == {"early": "waiting", "late": "reported"}
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "early"}]}
    [report] = bus.items
    assert report["verdict"] == Verdict.INSUFFICIENT_DATA
    assert dead.items == []


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "ValidationException"])
def test_given_a_failure_no_retry_can_fix_when_enriched_then_parked_at_once_naming_it(
    code: str,
) -> None:
    bus, dead = Recorder(), Recorder()
    first, _, _ = _jobs()

    result = _enricher(FailingMetrics(code), bus, dead, []).run([_record("job", first)])

    assert result.outcomes == {"job": "dead-lettered"}, "on its first delivery, not its fifth"
    [parked] = dead.items
    assert parked["reason"].startswith("reading metrics failed: ")
    assert parked["reason"].endswith(f"(not retried: {code} needs a fix, then a redrive)")
    assert bus.items == []


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServiceError", "Throttling"])
def test_given_a_failure_a_retry_can_fix_when_enriched_then_retried_until_the_last_delivery(
    code: str,
) -> None:
    bus, dead = Recorder(), Recorder()
    first, second, _ = _jobs()
    last = ENRICHER_SETTINGS.max_receives
    records = [_record("early", first), _record("last", second, receives=last)]

    result = _enricher(FailingMetrics(code), bus, dead, []).run(records)

    assert result.outcomes == {"early": "retried", "last": "dead-lettered"}
    [parked] = dead.items
    assert "not retried" not in parked["reason"]


def test_given_busy_jobs_when_enriched_then_only_the_deciding_metrics_are_read() -> None:
    bus, dead, metrics = Recorder(), Recorder(), SteadyMetrics(4_000.0)  # every host busy
    records = [_record(f"job-{n}", job) for n, job in enumerate(_jobs())]

    _enricher(metrics, bus, dead, []).run(records)

    assert {report["verdict"] for report in bus.items} == {Verdict.OK}
    assert metrics.calls == 2, "one call per account, no second round"
    gpu_job = next(r for r in bus.items if r["job"]["name"] == JOB_NAMES[0])
    assert gpu_job["utilization"]["gpu_percent"] is not None
    assert gpu_job["utilization"]["memory_percent"] is None  # not billed for an OK job
