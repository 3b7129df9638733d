"""The benchmark's cost model: the templates read in both shapes of event source, Lambda's
SQS batching as the simulation plays it, storm control reaching the summarizer through the
delayed queue, the billing rule of custom metrics, and the reference's EMF. Fast: no moto
stack, only moto's pattern matcher."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bench import deployment, reference
from bench.costing import DAYS_PER_MONTH
from bench.fleet import DAY, Fleet, FleetSpec, generate
from bench.prices import custom_metrics_usd
from bench.simulate import Simulation, Usage

T = DAY + timedelta(hours=10, seconds=5)


def test_event_sources_in_both_shapes() -> None:
    """SAM `Events:` (SQS, Schedule) and plain resources (an event source mapping, a scheduled
    rule) give the same model; parameters resolve; AWS's defaults fill what is left out."""
    template: dict[str, Any] = {
        "Parameters": {"Delay": {"Type": "Number", "Default": 60}},
        "Globals": {"Function": {"Architectures": ["arm64"]}},
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue",
                      "Properties": {"DelaySeconds": {"Ref": "Delay"}, "VisibilityTimeout": 90,
                                     "RedrivePolicy": {"maxReceiveCount": 4}}},
            "Sam": {"Type": "AWS::Serverless::Function", "Properties": {
                "MemorySize": 512,
                "Events": {
                    "Jobs": {"Type": "SQS", "Properties": {
                        "Queue": {"Fn::GetAtt": ["Queue", "Arn"]}, "BatchSize": 50,
                        "MaximumBatchingWindowInSeconds": 20}},
                    "Often": {"Type": "Schedule", "Properties": {
                        "Schedule": "rate(5 minutes)", "Input": '{"a": 1}'}},
                }}},
            "Other": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Plain": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["Other", "Arn"]},
                "FunctionName": {"Ref": "Plain"}}},
            "Hourly": {"Type": "AWS::Events::Rule", "Properties": {
                "ScheduleExpression": "rate(1 hour)",
                "Targets": [{"Id": "t", "Arn": {"Fn::GetAtt": ["Plain", "Arn"]},
                             "Input": '{"b": 2}'}]}},
        },
    }  # fmt: skip
    model = deployment.read(template)
    assert model.functions["Sam"].memory_mb == 512
    assert model.functions["Sam"].architecture == "arm64"  # from Globals
    assert model.functions["Plain"].memory_mb == deployment.LAMBDA_DEFAULT_MEMORY_MB
    assert model.functions["Plain"].architecture == "x86_64"  # no Globals for plain functions
    assert model.queue_sources["Queue"] == deployment.QueueSource(
        "Queue", "Sam", batch_size=50, window_seconds=20, delay_seconds=60,
        visibility_seconds=90, max_receives=4,
    )  # fmt: skip
    assert model.queue_sources["Other"].batch_size == deployment.SQS_DEFAULT_BATCH_SIZE
    assert {(s.function, s.every_seconds, str(s.input)) for s in model.schedules} == {
        ("Sam", 300, "{'a': 1}"),
        ("Plain", 3600, "{'b': 2}"),
    }


def test_the_stack_as_written() -> None:
    """template.yaml: every queue with a mapping feeds a function the model knows."""
    model = deployment.monitoring()
    assert model.queue_sources
    for source in model.queue_sources.values():
        assert source.function in model.functions
        assert source.batch_size >= 1
    assert deployment.workload().heartbeat_seconds > 0


def _training(count: int, **spec: Any) -> Fleet:
    base = FleetSpec(seed=3, accounts=1, training=count, processing=0, transform=0, tuning=0,
                     pipelines=0, endpoints=0, automation=0, duplicate_rate=0,
                     failure_rate=0)  # fmt: skip
    return generate(FleetSpec(**(vars(base) | spec)))


def _finishing_at(fleet: Fleet, seconds: list[float]) -> Fleet:
    """The fleet with its jobs' last events on the bus at T + each offset (and nothing else)."""
    finished = [e for e in fleet.events if e["detail"].get("TrainingJobStatus") != "InProgress"]
    for event, offset in zip(finished, seconds, strict=True):
        event["time"] = (T + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fleet.events = sorted(finished, key=lambda e: e["time"])
    return fleet


def _day(fleet: Fleet) -> Usage:
    return Simulation(fleet, deployment.monitoring(), None, {}).run()


def test_one_batch_per_window() -> None:
    """Messages visible within the batching window share one invocation; a later one opens
    another window."""
    usage = _day(_finishing_at(_training(4), [0, 10, 20, 600]))
    enrichment = usage.calls - usage.part["in-flight"].calls  # the running jobs' queue aside
    assert usage.functions["EnricherFunction"].requests == 2
    assert enrichment["sqs.SendMessage"] == 4
    assert enrichment["sqs.ReceiveMessage"] == 2
    assert enrichment["sqs.DeleteMessageBatch"] == 2
    # the running jobs' queue: the same four ends, in two batches of its own 60-second window
    assert usage.part["in-flight"].calls["sqs.SendMessage"] == 4
    checks = 86_400 // 900  # and the check every 15 minutes of the day
    assert usage.part["in-flight"].functions["FleetFunction"].requests == 2 + checks


def test_full_batches() -> None:
    source = deployment.monitoring().queue_sources["EnrichmentQueue"]
    jobs = source.batch_size + 5
    usage = _day(_finishing_at(_training(jobs), [0] * jobs))
    enrichment = usage.calls - usage.part["in-flight"].calls  # the running jobs' queue aside
    assert usage.functions["EnricherFunction"].requests == 2
    assert enrichment["sqs.ReceiveMessage"] == -(-source.batch_size // 10) + 1


def test_a_storm_is_summarized() -> None:
    """Five failures of one account in one window: three alerts, one summary after the summary
    queue's delay (sent twice, published once), each on three topics; and the two failed jobs
    whose reports found their hardware wasted, as updates of their incidents."""
    fleet = _finishing_at(_training(5, failure_rate=1.0), [0, 10, 20, 30, 40])
    usage = _day(fleet)
    assert usage.functions["AlerterFunction"].requests >= 5
    assert usage.functions["SummarizerFunction"].requests >= 1
    assert usage.calls["sns.Publish"] == (3 + 1 + 2) * 3
    assert usage.units["sns.deliveries.email"] == 3 + 1 + 2
    assert sum(f.errors for f in usage.functions.values()) == 0


def test_custom_metrics_are_billed_by_the_hour() -> None:
    """A series with datapoints in one hour a day costs a month's price × 1/730 × that day's
    share of the month; tiers past 10,000 metric-months."""
    one_hour_a_day = 1 * DAYS_PER_MONTH / 730
    assert custom_metrics_usd(one_hour_a_day) == pytest.approx(0.30 * DAYS_PER_MONTH / 730)
    assert custom_metrics_usd(10_001) == pytest.approx(10_000 * 0.30 + 0.10)


def test_reference_metrics_from_its_emf() -> None:
    """The reference puts three metrics per finished job, per account × jobType; a duplicate
    delivery is checked in its table and not measured again."""
    fleet = _finishing_at(_training(2, duplicate_rate=0.0), [0, 4000])
    fleet.events.append(fleet.events[0] | {"id": "again"})
    usage = reference.run(fleet, 0.0)
    assert usage.metric_names == 3  # TrainingJobCount_Total, _Completed, TrainingJob_Duration
    assert usage.metric_hours == 3 * 2  # two hours with a finished job
    assert usage.calls["dynamodb.Query"] == 3
    assert usage.calls["cloudwatch.GetMetricData"] == 2
