"""shared.utilization: GetMetricData planning, observation, normalization and verdicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.events import InstanceGroup, SageMakerEvent
from shared.domain.parser import parse_event
from shared.domain.utilization import (
    MAX_POINTS_PER_CALL,
    MAX_QUERIES_PER_CALL,
    JobKey,
    Metric,
    Observed,
    Plan,
    Query,
    Thresholds,
    Usage,
    Verdict,
    assess,
    metrics_for,
    normalize,
    observe,
    plan,
)
from shared.domain.vocabulary import ResourceKind

LoadEvent = Callable[[str], dict[str, Any]]

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
THRESHOLDS = Thresholds()
NOW = T0 + timedelta(days=1)  # the enricher runs minutes to hours after a job ends
QUERY_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
CPU_METRICS = {Metric.CPU, Metric.MEMORY, Metric.DISK}
GPU_METRICS = {Metric.GPU, Metric.GPU_MEMORY}


@pytest.fixture
def base_job(load_event: LoadEvent) -> SageMakerEvent:
    return parse_event(load_event("training-completed-gpu"))


def make_job(
    base: SageMakerEvent,
    name: str = "job",
    instance_type: str = "ml.m5.2xlarge",
    count: int = 1,
    *,
    start: datetime = T0,
    minutes: float = 60,
    **changes: Any,
) -> SageMakerEvent:
    """A terminal training job from the GPU sample, with its hardware and window replaced."""
    fields: dict[str, Any] = {
        "name": name,
        "instance_groups": (InstanceGroup(instance_type, count),),
        "created_at": start - timedelta(minutes=5),
        "started_at": start,
        "ended_at": start + timedelta(minutes=minutes),
        "time": start + timedelta(minutes=minutes, seconds=5),
        "tuning_job_arn": None,
    }
    fields.update(changes)
    return replace(base, **fields)


def _api(query: Query) -> Any:
    """The GetMetricData query document, typed loosely for indexing in assertions."""
    return query.to_api()


def _queries(the_plan: Plan) -> list[Query]:
    return [query for call in the_plan.calls for query in call.queries]


def _hosts_by_job(the_plan: Plan) -> dict[str, set[str]]:
    hosts: dict[str, set[str]] = {}
    for query in _queries(the_plan):
        hosts.setdefault(query.job.name, set()).add(query.host)
    return hosts


# --- plan(): hosts -------------------------------------------------------------------------------


def test_given_jobs_job_1_and_job_10_when_planned_then_each_queries_only_its_exact_hosts(
    base_job: SageMakerEvent,
) -> None:
    jobs = [make_job(base_job, "job-1"), make_job(base_job, "job-10", count=2)]

    the_plan = plan(jobs, THRESHOLDS, NOW)

    assert _hosts_by_job(the_plan) == {
        "job-1": {"job-1/algo-1"},
        "job-10": {"job-10/algo-1", "job-10/algo-2"},
    }
    for query in _queries(the_plan):
        api: Any = _api(query)
        assert "Expression" not in api  # never a SEARCH on the job name
        assert api["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "Host", "Value": query.host}]
        assert query.host.startswith(f"{query.job.name}/")


def test_given_four_instance_training_job_when_planned_then_hosts_algo_1_to_4(
    load_event: LoadEvent,
) -> None:
    job = parse_event(load_event("training-completed-multi-instance"))

    the_plan = plan([job], THRESHOLDS, NOW)

    name = "nlp-llama3-8b-sft-ddp-20261120-0615"
    assert _hosts_by_job(the_plan) == {name: {f"{name}/algo-{n}" for n in range(1, 5)}}
    namespaces = {_api(q)["MetricStat"]["Metric"]["Namespace"] for q in _queries(the_plan)}
    assert namespaces == {"/aws/sagemaker/TrainingJobs"}


def test_given_processing_job_when_planned_then_algo_hosts_in_processing_namespace(
    load_event: LoadEvent,
) -> None:
    job = parse_event(load_event("processing-completed"))

    the_plan = plan([job], THRESHOLDS, NOW)

    name = "forecasting-feature-build-20261120-0700"
    assert _hosts_by_job(the_plan) == {name: {f"{name}/algo-1", f"{name}/algo-2"}}
    apis = [_api(q) for q in _queries(the_plan)]
    assert {a["MetricStat"]["Metric"]["Namespace"] for a in apis} == {
        "/aws/sagemaker/ProcessingJobs"
    }


def test_given_transform_job_with_discovered_hosts_when_planned_then_only_those_hosts(
    load_event: LoadEvent,
) -> None:
    job = parse_event(load_event("transform-completed"))
    other = replace(job, name="nlp-sentiment-batch-20261120-0400-retry")
    discovered = {
        JobKey.of(job): [
            "nlp-sentiment-batch-20261120-0400/i-0abc",
            "nlp-sentiment-batch-20261120-0400/i-0def",
        ],
        JobKey.of(other): ["nlp-sentiment-batch-20261120-0400-retry/i-0fff"],
    }

    the_plan = plan([job], THRESHOLDS, NOW, discovered)

    assert _hosts_by_job(the_plan) == {
        "nlp-sentiment-batch-20261120-0400": {
            "nlp-sentiment-batch-20261120-0400/i-0abc",
            "nlp-sentiment-batch-20261120-0400/i-0def",
        }
    }
    assert not any("algo-" in q.host for q in _queries(the_plan))
    apis = [_api(q) for q in _queries(the_plan)]
    assert {a["MetricStat"]["Metric"]["Namespace"] for a in apis} == {
        "/aws/sagemaker/TransformJobs"
    }


def test_given_transform_job_without_discovered_hosts_when_planned_then_skipped_without_queries(
    load_event: LoadEvent,
) -> None:
    job = parse_event(load_event("transform-completed"))

    the_plan = plan([job], THRESHOLDS, NOW, {})

    assert the_plan.calls == ()
    assert [s.job for s in the_plan.skipped] == [JobKey.of(job)]
    assert "no hosts" in the_plan.skipped[0].reason


# --- plan(): metrics -----------------------------------------------------------------------------


def test_given_gpu_instance_type_when_planned_then_gpu_metrics_queried(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.p3.2xlarge")

    every = plan([job], THRESHOLDS, NOW, wanted=metrics_for)
    deciding = plan([job], THRESHOLDS, NOW)

    assert {q.metric for q in _queries(every)} == CPU_METRICS | GPU_METRICS
    # Every metric asked for is billed: by default only what the verdict (and the job table) use.
    assert {q.metric for q in _queries(deciding)} == {Metric.GPU, Metric.CPU}


def test_given_cpu_instance_type_when_planned_then_no_gpu_metrics(base_job: SageMakerEvent) -> None:
    job = make_job(base_job, instance_type="ml.m5.xlarge")

    metrics = {q.metric for q in _queries(plan([job], THRESHOLDS, NOW, wanted=metrics_for))}
    assert metrics == CPU_METRICS
    assert not metrics & GPU_METRICS
    assert {q.metric for q in _queries(plan([job], THRESHOLDS, NOW))} == {Metric.CPU}


def test_given_transform_job_when_planned_then_no_disk_utilization(load_event: LoadEvent) -> None:
    job = parse_event(load_event("transform-completed"))
    hosts = {JobKey.of(job): ["nlp-sentiment-batch-20261120-0400/i-0abc"]}

    the_plan = plan([job], THRESHOLDS, NOW, hosts, wanted=metrics_for)

    metrics = {q.metric for q in _queries(the_plan)}
    assert metrics == {Metric.CPU, Metric.MEMORY}
    assert Metric.DISK not in metrics


def test_given_unknown_instance_type_when_planned_then_skipped_with_reason_and_no_queries(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.zz9.mega")

    the_plan = plan([job], THRESHOLDS, NOW)

    assert the_plan.calls == ()
    assert the_plan.query_count == 0
    assert len(the_plan.skipped) == 1
    assert the_plan.skipped[0].job == JobKey.of(job)
    assert "unknown instance type ml.zz9.mega" in the_plan.skipped[0].reason


def test_given_heterogeneous_cluster_with_one_unknown_type_when_planned_then_skipped(
    base_job: SageMakerEvent,
) -> None:
    groups = (InstanceGroup("ml.c5n.18xlarge", 2, "a"), InstanceGroup("ml.new.huge", 1, "b"))

    the_plan = plan([make_job(base_job, instance_groups=groups)], THRESHOLDS, NOW)

    assert the_plan.query_count == 0
    assert "ml.new.huge" in the_plan.skipped[0].reason


def test_given_job_shorter_than_minimum_when_planned_then_skipped_and_no_queries(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, minutes=5)

    the_plan = plan([job], Thresholds(min_duration_seconds=600), NOW)

    assert the_plan.calls == ()
    assert len(the_plan.skipped) == 1
    assert "shorter than" in the_plan.skipped[0].reason


def test_given_job_without_end_time_when_planned_then_skipped(base_job: SageMakerEvent) -> None:
    job = make_job(base_job, ended_at=None)

    the_plan = plan([job], THRESHOLDS, NOW)

    assert the_plan.calls == ()
    assert the_plan.skipped[0].reason == "no algorithm start or end time"


@pytest.mark.parametrize(
    "sample", ["tuning-failed", "endpoint-failed", "pipeline-execution-failed"]
)
def test_given_resource_without_host_metrics_when_planned_then_skipped(
    load_event: LoadEvent, sample: str
) -> None:
    the_plan = plan([parse_event(load_event(sample))], THRESHOLDS, NOW)

    assert the_plan.calls == ()
    assert "no host metrics" in the_plan.skipped[0].reason


# --- plan(): GetMetricData limits ----------------------------------------------------------------


def test_given_120_gpu_jobs_of_5_metrics_when_planned_then_two_calls_within_limits(
    base_job: SageMakerEvent,
) -> None:
    jobs = [
        make_job(base_job, f"job-{i}", "ml.p3.2xlarge", start=T0 + timedelta(seconds=20 * i))
        for i in range(120)
    ]

    the_plan = plan(jobs, THRESHOLDS, NOW, wanted=metrics_for)

    assert the_plan.query_count == 600
    assert len(the_plan.calls) == 2
    assert [len(call.queries) for call in the_plan.calls] == [500, 100]
    for call in the_plan.calls:
        assert len(call.queries) <= MAX_QUERIES_PER_CALL
        assert call.points <= MAX_POINTS_PER_CALL
        ids = [query.id for query in call.queries]
        assert len(set(ids)) == len(ids)
        assert all(QUERY_ID.match(query_id) for query_id in ids)
        assert all(_api(q)["Id"] == q.id for q in call.queries)
    assert len(_hosts_by_job(the_plan)) == 120


def test_given_many_day_long_jobs_when_planned_then_every_call_within_point_limit(
    base_job: SageMakerEvent,
) -> None:
    jobs = [
        make_job(
            base_job, f"day-{i}", "ml.p3.2xlarge", start=T0 + timedelta(minutes=i), minutes=1439
        )
        for i in range(100)
    ]

    the_plan = plan(jobs, THRESHOLDS, NOW, wanted=metrics_for)

    assert the_plan.query_count == 500
    assert len(the_plan.calls) > 1  # 500 queries of ~1,500 points cannot share one call
    for call in the_plan.calls:
        assert call.points <= MAX_POINTS_PER_CALL
        assert len(call.queries) <= MAX_QUERIES_PER_CALL
        ids = [query.id for query in call.queries]
        assert len(set(ids)) == len(ids)


def test_given_jobs_in_two_accounts_when_planned_then_account_id_is_each_jobs_account(
    base_job: SageMakerEvent,
) -> None:
    jobs = [
        make_job(base_job, "a-job", account="111122223333"),
        make_job(base_job, "b-job", account="444455556666"),
    ]

    the_plan = plan(jobs, THRESHOLDS, NOW)

    accounts = {q.job.name: _api(q)["AccountId"] for q in _queries(the_plan)}
    assert accounts == {"a-job": "111122223333", "b-job": "444455556666"}
    assert all(_api(q)["AccountId"] == q.job.account for q in _queries(the_plan))


def test_given_training_sample_when_planned_then_window_starts_at_training_start_not_creation(
    base_job: SageMakerEvent,
) -> None:
    assert base_job.created_at is not None
    assert base_job.started_at is not None

    the_plan = plan([base_job], THRESHOLDS, NOW)

    (call,) = the_plan.calls
    assert {q.start for q in call.queries} == {datetime(2026, 11, 20, 8, 4, tzinfo=UTC)}
    assert {q.end for q in call.queries} == {datetime(2026, 11, 20, 10, 5, tzinfo=UTC)}
    assert call.start == datetime(2026, 11, 20, 8, 4, tzinfo=UTC)
    assert call.start > base_job.created_at.replace(second=0, microsecond=0)
    assert {q.metric for q in call.queries} == {Metric.GPU, Metric.CPU}  # what a verdict needs
    assert {q.host for q in call.queries} == {"Vision-ResNet50-FT-20261120-0800/algo-1"}


def test_given_three_day_job_when_planned_then_period_multiple_of_60_and_at_most_1440_points(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(
        base_job, "long", "ml.p4d.24xlarge", start=T0 + timedelta(seconds=30), minutes=3 * 24 * 60
    )

    the_plan = plan([job], THRESHOLDS, NOW)

    (call,) = the_plan.calls
    periods = {q.period for q in call.queries}
    assert len(periods) == 1
    (period,) = periods
    assert period % 60 == 0
    assert period > 60
    assert period <= 86_400
    seconds = (call.end - call.start).total_seconds()
    assert -(-seconds // period) <= 1440
    assert call.points == len(call.queries) * -(-seconds // period)
    assert all(_api(q)["MetricStat"]["Period"] == period for q in call.queries)


def test_given_one_hour_job_when_planned_then_one_minute_period(base_job: SageMakerEvent) -> None:
    the_plan = plan([make_job(base_job)], THRESHOLDS, NOW)

    assert {q.period for q in _queries(the_plan)} == {60}


@pytest.mark.parametrize(
    ("age", "period"),
    [(timedelta(days=14), 60), (timedelta(days=15), 300), (timedelta(days=63), 3600)],
)
def test_given_an_older_job_when_planned_then_the_period_cloudwatch_still_keeps(
    base_job: SageMakerEvent, age: timedelta, period: int
) -> None:
    """1-minute points are kept 15 days, 5-minute points 63 days, then hourly: a finer period
    for an older window would return nothing (a replayed or redriven job)."""
    the_plan = plan([make_job(base_job)], THRESHOLDS, T0 + age)

    assert {q.period for q in _queries(the_plan)} == {period}


# --- observe() -----------------------------------------------------------------------------------


def test_given_points_outside_a_jobs_window_when_observed_then_ignored(
    base_job: SageMakerEvent,
) -> None:
    early = make_job(base_job, "early", start=T0, minutes=59)  # window 08:00-09:00
    late = make_job(base_job, "late", start=T0 + timedelta(hours=2), minutes=59)  # 10:00-11:00
    the_plan = plan([early, late], THRESHOLDS, NOW)
    (call,) = the_plan.calls  # one call spanning both windows
    assert call.start == T0
    assert call.end == T0 + timedelta(hours=3)
    cpu = {q.job.name: q for q in call.queries if q.metric is Metric.CPU}
    series = {
        cpu["early"]: [
            (T0 - timedelta(minutes=1), 999.0),
            (T0, 100.0),
            (T0 + timedelta(minutes=59), 300.0),
            (T0 + timedelta(minutes=60), 999.0),  # end is exclusive
            (T0 + timedelta(hours=2, minutes=30), 999.0),  # the other job's time
        ],
        cpu["late"]: [(T0 + timedelta(minutes=30), 999.0), (T0 + timedelta(hours=2), 40.0)],
    }

    observed = observe(series)

    assert observed[JobKey.of(early)].host_means == {Metric.CPU: (200.0,)}
    assert observed[JobKey.of(early)].datapoints == 2
    assert observed[JobKey.of(late)].host_means == {Metric.CPU: (40.0,)}
    assert observed[JobKey.of(late)].datapoints == 1


def test_given_host_with_no_points_when_observed_then_host_not_counted(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, count=2)
    cpu = [q for q in _queries(plan([job], THRESHOLDS, NOW)) if q.metric is Metric.CPU]
    assert len(cpu) == 2

    observed = observe({cpu[0]: [(T0 + timedelta(minutes=1), 80.0)], cpu[1]: []})

    assert observed[JobKey.of(job)].host_means == {Metric.CPU: (80.0,)}


# --- normalize() ---------------------------------------------------------------------------------


def test_given_cpu_400_on_8_vcpu_type_when_normalized_then_50_percent(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.m5.2xlarge")  # 8 vCPUs

    usage = normalize(job, Observed({Metric.CPU: (400.0,)}, 60))

    assert usage.percent[Metric.CPU] == 50.0
    assert usage.datapoints == 60


def test_given_gpu_150_on_4_gpu_type_over_2_hosts_when_normalized_then_per_gpu_percent(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.g5.12xlarge", count=2)  # 4 GPUs each

    usage = normalize(job, Observed({Metric.GPU: (150.0, 150.0)}, 120))

    assert usage.percent[Metric.GPU] == 37.5


def test_given_gpu_hosts_with_different_load_when_normalized_then_cluster_mean(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.g5.12xlarge", count=2)

    usage = normalize(job, Observed({Metric.GPU: (100.0, 200.0), Metric.GPU_MEMORY: (400.0, 0.0)}))

    assert usage.percent[Metric.GPU] == 37.5
    assert usage.percent[Metric.GPU_MEMORY] == 50.0


def test_given_homogeneous_cluster_with_a_silent_host_when_normalized_then_reporting_hosts_only(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.m5.2xlarge", count=4)

    usage = normalize(job, Observed({Metric.CPU: (400.0, 800.0)}))

    assert usage.percent[Metric.CPU] == 75.0


HETERO_GROUPS = (
    InstanceGroup("ml.c5n.18xlarge", 2, "dsgroup"),  # 72 vCPUs, no GPU
    InstanceGroup("ml.p3dn.24xlarge", 1, "gpugroup"),  # 96 vCPUs, 8 GPUs
)


def test_given_heterogeneous_cluster_with_all_hosts_reporting_when_normalized_then_whole_capacity(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_groups=HETERO_GROUPS)

    usage = normalize(
        job,
        Observed(
            {
                Metric.CPU: (3600.0, 3600.0, 2400.0),
                Metric.GPU: (400.0,),
                Metric.MEMORY: (10.0, 20.0, 60.0),
            }
        ),
    )

    assert usage.percent[Metric.CPU] == 40.0  # 9,600 / 240 vCPUs
    assert usage.percent[Metric.GPU] == 50.0  # 400 / 8 GPUs
    assert usage.percent[Metric.MEMORY] == 30.0


def test_given_heterogeneous_cluster_with_a_missing_host_when_normalized_then_none(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_groups=HETERO_GROUPS)

    usage = normalize(job, Observed({Metric.CPU: (3600.0, 2400.0), Metric.MEMORY: (10.0, 20.0)}))

    assert usage.percent[Metric.CPU] is None
    assert usage.percent[Metric.MEMORY] == 15.0


def test_given_heterogeneous_sample_when_parsed_and_normalized_then_gpu_from_gpu_group_only(
    load_event: LoadEvent,
) -> None:
    job = parse_event(load_event("training-heterogeneous-cluster"))

    usage = normalize(job, Observed({Metric.GPU: (200.0,)}))

    assert usage.percent[Metric.GPU] == 25.0


def test_given_memory_on_many_vcpus_when_normalized_then_averaged_not_divided(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.p4d.24xlarge", count=2)  # 96 vCPUs, 8 GPUs each

    usage = normalize(job, Observed({Metric.MEMORY: (30.0, 50.0), Metric.DISK: (5.0, 15.0)}))

    assert usage.percent[Metric.MEMORY] == 40.0
    assert usage.percent[Metric.DISK] == 10.0


def test_given_nothing_observed_when_normalized_then_no_percentages(
    base_job: SageMakerEvent,
) -> None:
    usage = normalize(make_job(base_job), Observed())

    assert dict(usage.percent) == {}
    assert usage.datapoints == 0


# --- assess() ------------------------------------------------------------------------------------


def test_given_gpu_host_with_busy_cpu_and_idle_gpu_when_assessed_then_judged_by_gpu(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.p3.2xlarge")
    usage = Usage({Metric.GPU: 1.0, Metric.CPU: 95.0}, 60)

    assessment = assess(job, usage, THRESHOLDS)

    assert assessment.verdict is Verdict.IDLE
    assert "GPU" in assessment.reasons[0]
    assert assessment.usage is usage


def test_given_gpu_host_with_idle_cpu_and_busy_gpu_when_assessed_then_ok(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.p3.2xlarge")

    assessment = assess(job, Usage({Metric.GPU: 90.0, Metric.CPU: 1.0}), THRESHOLDS)

    assert assessment.verdict is Verdict.OK


def test_given_cpu_host_when_assessed_then_judged_by_cpu(base_job: SageMakerEvent) -> None:
    job = make_job(base_job, instance_type="ml.m5.2xlarge")

    assessment = assess(job, Usage({Metric.CPU: 10.0, Metric.MEMORY: 90.0}), THRESHOLDS)

    assert assessment.verdict is Verdict.UNDER_USED
    assert "CPU" in assessment.reasons[0]
    assert "GPU" not in assessment.reasons[0]


@pytest.mark.parametrize(
    ("percent", "verdict"),
    [
        (0.0, Verdict.IDLE),
        (1.99, Verdict.IDLE),
        (2.0, Verdict.UNDER_USED),
        (10.0, Verdict.UNDER_USED),
        (19.99, Verdict.UNDER_USED),
        (20.0, Verdict.OK),
        (100.0, Verdict.OK),
    ],
)
def test_given_primary_utilization_at_boundary_when_assessed_then_verdict(
    base_job: SageMakerEvent, percent: float, verdict: Verdict
) -> None:
    job = make_job(base_job, instance_type="ml.p3.2xlarge")
    thresholds = Thresholds(under_used_percent=20.0, idle_percent=2.0)

    assert assess(job, Usage({Metric.GPU: percent}), thresholds).verdict is verdict


@pytest.mark.parametrize(
    "usage",
    [Usage(), Usage({Metric.GPU: None}), Usage({Metric.CPU: 50.0})],
    ids=["empty", "gpu-none", "only-cpu"],
)
def test_given_no_primary_data_when_assessed_then_insufficient_data(
    base_job: SageMakerEvent, usage: Usage
) -> None:
    job = make_job(base_job, instance_type="ml.p3.2xlarge")

    assessment = assess(job, usage, THRESHOLDS)

    assert assessment.verdict is Verdict.INSUFFICIENT_DATA
    assert assessment.reasons


def test_given_end_to_end_samples_when_planned_observed_normalized_assessed_then_verdict(
    base_job: SageMakerEvent,
) -> None:
    job = make_job(base_job, instance_type="ml.g5.12xlarge", count=2)
    the_plan = plan([job], THRESHOLDS, NOW, wanted=metrics_for)
    minute = [T0 + timedelta(minutes=m) for m in range(60)]
    values = {Metric.GPU: 40.0, Metric.GPU_MEMORY: 200.0, Metric.CPU: 480.0, Metric.MEMORY: 30.0}
    series = {q: [(t, values.get(q.metric, 1.0)) for t in minute] for q in _queries(the_plan)}

    usage = normalize(job, observe(series)[JobKey.of(job)])
    assessment = assess(job, usage, THRESHOLDS)

    assert usage.percent[Metric.GPU] == 10.0  # 40 over 4 GPUs per host
    assert usage.percent[Metric.CPU] == 10.0  # 480 over 48 vCPUs per host
    assert usage.percent[Metric.MEMORY] == 30.0
    assert usage.datapoints == 60 * len(_queries(the_plan))
    assert assessment.verdict is Verdict.UNDER_USED


def test_given_job_key_when_built_from_event_then_identifies_account_region_kind_and_name(
    base_job: SageMakerEvent,
) -> None:
    key = JobKey.of(base_job)

    assert key == JobKey(
        "111122223333", "us-east-1", ResourceKind.TRAINING, "Vision-ResNet50-FT-20261120-0800"
    )
