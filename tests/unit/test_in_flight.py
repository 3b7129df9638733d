"""Running jobs whose hardware idles while it bills (issue 14, part 1): what the fleet function
keeps of a running job (`Fleet.record_job`, through its `job_state` route), and the scheduled
scan (`Fleet.in_flight`): one alert per idle episode, its recovery and the job's end as
follow-ups of its incident, each account on its own. On fakes and a fixed clock; one test holds
the DynamoDB adapter's running-job records to the in-memory ones on moto."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import FleetTable
from shared.alerting.alerts import HUNG_STEP
from shared.alerting.service import Alerter
from shared.config import AlerterSettings, FleetSettings
from shared.domain.utilization import NAMESPACES, Call, Metric, Thresholds
from shared.domain.vocabulary import ResourceKind
from shared.fleet import service
from shared.fleet.inflight import (
    ENDED_IDLE_STEP,
    IN_FLIGHT_STEP,
    RECOVERED_STEP,
    RunningJob,
    hourly_cost,
    key_of,
)
from shared.fleet.service import Fleet
from shared.platform.clock import FixedClock
from shared.platform.errors import ConfigError
from shared.ports import Fetched, FleetStore, MetricsSource
from tests.fakes import FailingMetrics, MemoryFleetTable, MemoryOnce, NoInvocations, Recorder
from tests.unit.conftest import read_event

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
JOB = "vision-vit-huge-pretrain-20261120-0200"  # the samples' p4d.24xlarge x 2 job
IN_PROGRESS = "training-in-progress-idle-gpus"
MAX_RUNTIME = "training-stopped-max-runtime"
STARTED = 1_795_140_571.202  # its TrainingStartTime, 2026-11-20T02:09:31Z
TRAINING = 1_795_140_759.202  # its Training phase's start (after downloading), 02:12:39
RUNTIME = 21_600  # its MaxRuntimeInSeconds
SPAN = 1_800  # IN_FLIGHT_IDLE_MINUTES' default, in seconds
HOUR = 3_600
SCAN = STARTED + 2 * HOUR  # 04:09:31: well into its run
CHANNELS = ("email", "json", "chat")
INCIDENT = f"{ACCOUNT}|{REGION}|training|{JOB}|idle"
CANARIES = (
    "canary-secret",
    "DB_PASSWORD",
    "WANDB_API_KEY",
    "NCCL_DEBUG",
    "HyperParameters",
    "vit_huge_patch14",
    "foundation-vision",  # the project tag: only the team's is kept
    "project",
    "s3://",
    "RoleArn",
)

# GPUUtilization is a sum over a host's GPUs (8 on a p4d.24xlarge): 1.0 is 0.125%.
IDLE = 1.0
BUSY = 400.0  # 50%
UNDER_USED = 80.0  # 10%

ENV = {
    "FLEET_TABLE": "fleet", "IDEMPOTENCY_TABLE": "t", "AWS_REGION": REGION,
    **{f"{c.upper()}_TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:{c}" for c in CHANNELS},
    "EVENT_BUS_NAME": "sagewatch", "REFRESH_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
    "REFRESH_RULE_PREFIX": "sagewatch-refresh",
}  # fmt: skip


class HostMetrics(MetricsSource):
    """A CloudWatch where each host reports one value per metric at the start of its query's
    window: `value`, or its job's in `by_job` (None: no datapoints). An account in `failing`
    is answered with a throttling error, as botocore raises it. Every call is kept."""

    def __init__(self, value: float | None = IDLE) -> None:
        self.value = value
        self.by_job: dict[str, float | None] = {}
        self.failing: set[str] = set()
        self.forbidden: set[str] = set()  # accounts that do not share their metrics
        self.calls: list[Call] = []
        self.fetches: list[set[str]] = []  # each fetch's accounts

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        self.calls += calls
        accounts = {q.job.account for call in calls for q in call.queries}
        self.fetches.append(accounts)
        if accounts & self.failing:
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, "GetMetricData")  # type: ignore[arg-type]
        series: dict[Any, list[tuple[datetime, float]]] = {}
        forbidden = set()
        for call in calls:
            for query in call.queries:
                if query.job.account in self.forbidden:
                    forbidden.add(query.job)
                    continue
                value = self.by_job.get(query.job.name, self.value)
                series[query] = [] if value is None else [(query.start, value)]
        return Fetched(series, forbidden)

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        return {}

    @property
    def queried_jobs(self) -> set[tuple[str, str]]:
        return {(q.job.account, q.job.name) for call in self.calls for q in call.queries}


class LogSpy:
    """The fleet service's logger, as (level, message, extra)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def _log(self, level: str, message: str, extra: dict[str, Any] | None) -> None:
        self.lines.append((level, message, dict(extra or {})))

    def error(self, message: str, *args: Any, extra: dict[str, Any] | None = None) -> None:
        self._log("error", message, extra)

    def warning(self, message: str, *args: Any, extra: dict[str, Any] | None = None) -> None:
        self._log("warning", message, extra)

    def info(self, message: str, *args: Any, extra: dict[str, Any] | None = None) -> None:
        self._log("info", message, extra)


@dataclass
class World:
    fleet: Fleet
    table: MemoryFleetTable
    metrics: MetricsSource
    channels: dict[str, Recorder]
    records: MemoryOnce
    clock: FixedClock

    def scan(self) -> dict[str, Any]:
        return self.fleet.handle({"action": "in-flight"})

    def handle(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self.fleet.handle(raw)

    def docs(self) -> list[dict[str, Any]]:
        """What the JSON topic got, in order."""
        return [json.loads(m["message"]) for m in self.channels["json"].items]

    @property
    def publishes(self) -> int:
        return sum(len(channel.items) for channel in self.channels.values())

    def job(self, account: str = ACCOUNT, name: str = JOB) -> RunningJob:
        item = self.table.items[key_of(account, REGION, ResourceKind.TRAINING, name)]
        return RunningJob.from_record(item)

    @property
    def host_metrics(self) -> HostMetrics:
        assert isinstance(self.metrics, HostMetrics)
        return self.metrics


def _world(
    metrics: MetricsSource | None = None,
    now: float = SCAN,
    records: MemoryOnce | None = None,
    **env: str,
) -> World:
    channels = {c: Recorder() for c in CHANNELS}
    table, records, clock = MemoryFleetTable(), records or MemoryOnce(), FixedClock(now)
    metrics = metrics or HostMetrics()
    fleet = Fleet(
        FleetSettings.from_env(ENV | env), table=table, activity=NoInvocations(),
        refresher=Recorder(), publishers=channels, records=records, clock=clock, metrics=metrics,
    )  # fmt: skip
    return World(fleet, table, metrics, channels, records, clock)


@pytest.fixture
def world() -> World:
    return _world()


def _event(
    sample: str = IN_PROGRESS,
    *,
    account: str = ACCOUNT,
    region: str = REGION,
    name: str = JOB,
    time: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """A sample of the job's life, for this account, Region and name, at `time`; a detail
    field set to None is removed."""
    raw = read_event(sample)
    arn = f"arn:aws:sagemaker:{region}:{account}:training-job/{name}"
    raw.update(account=account, region=region, resources=[arn])
    if time is not None:
        raw["time"] = time
    raw["detail"].update(TrainingJobName=name, TrainingJobArn=arn)
    for key, value in detail.items():
        if value is None:
            raw["detail"].pop(key, None)
        else:
            raw["detail"][key] = value
    return raw


def _ended(**changes: Any) -> dict[str, Any]:
    """The job's end: stopped by SageMaker at its maximum runtime (08:10:45)."""
    return _event(MAX_RUNTIME, **changes)


def _stopped_by_user(**changes: Any) -> dict[str, Any]:
    return _ended(TrainingJobStatus="Stopped", SecondaryStatus="Stopped", **changes)


# ---- what is kept of a running job ------------------------------------------------------------


def test_given_an_in_progress_event_when_handled_then_the_running_job_is_kept(
    world: World,
) -> None:
    result = world.handle(_event())

    assert result == {"outcome": "running", "job": JOB}
    [record] = world.table.running_jobs()
    job = RunningJob.from_record(record)
    assert (job.account, job.region, job.kind, job.name) == (
        ACCOUNT,
        REGION,
        ResourceKind.TRAINING,
        JOB,
    )
    assert job.status == "InProgress (Training)"
    assert job.started_at == pytest.approx(STARTED)
    assert [(g.instance_type, g.count) for g in job.instance_groups] == [("ml.p4d.24xlarge", 2)]
    assert job.max_runtime_seconds == RUNTIME
    assert job.team == "vision"
    assert (job.episode, job.idle_since, job.ended_at) == (0, None, None)
    assert record["id"] == job.key == key_of(ACCOUNT, REGION, ResourceKind.TRAINING, JOB)


def test_given_an_event_with_secrets_when_kept_then_no_hyperparameter_environment_or_other_tag(
    world: World,
) -> None:
    world.handle(_event())
    world.handle(_ended())  # the end's record too

    stored = json.dumps(world.table.items)
    leaked = [canary for canary in CANARIES if canary in stored]
    assert leaked == []
    job = json.loads(next(iter(world.table.items.values()))["job"])
    assert job["team"] == "vision"
    assert set(job) == {
        "account",
        "region",
        "kind",
        "name",
        "status",
        "started_at",
        "working_since",
        "groups",
        "max_runtime_seconds",
        "team",
        "silenced",  # what the job's own sagewatch tags ask (JobSays), not the tags
        "severity",
    }


def test_given_state_changes_out_of_order_when_kept_then_the_latest_wins(world: World) -> None:
    world.handle(_event(time="2026-11-20T03:00:00Z", SecondaryStatus="Training"))
    world.handle(_event(time="2026-11-20T02:05:00Z", SecondaryStatus="Downloading"))  # late
    older_ignored = world.job()
    world.handle(_event(time="2026-11-20T04:00:00Z", SecondaryStatus="Uploading"))

    assert older_ignored.status == "InProgress (Training)"
    assert world.job().status == "InProgress (Uploading)"
    assert world.job().at == datetime.fromisoformat("2026-11-20T04:00:00Z").timestamp()
    assert len(world.table.running_jobs()) == 1


def test_given_the_jobs_end_when_a_late_in_progress_arrives_then_it_stays_ended(
    world: World,
) -> None:
    world.handle(_event())

    ended = world.handle(_ended())
    world.handle(_event())  # the InProgress delivered again, late
    world.handle(_event(time="2026-11-20T09:00:00Z", SecondaryStatus="Uploading"))  # even after

    assert ended == {"outcome": "ended", "job": JOB}
    assert world.table.running_jobs() == []
    job = world.job()
    assert job.status == "InProgress (Training)"  # what it was when it ended
    assert job.at == datetime.fromisoformat("2026-11-20T02:12:40Z").timestamp()
    assert job.ended_status == "Stopped (MaxRuntimeExceeded)"
    assert job.ended_at == pytest.approx(1_795_162_245.202)  # its TrainingEndTime


def test_given_a_tuning_child_when_handled_then_not_kept(world: World) -> None:
    child = _event(
        TuningJobArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/vit-hpo"
    )

    result = world.handle(child)
    ended = world.handle(_ended(TuningJobArn=child["detail"]["TuningJobArn"]))

    assert result == ended == {"outcome": "skipped"}
    assert world.table.items == {}


def test_given_the_end_before_the_start_when_both_arrive_then_never_running_never_alerted(
    world: World,
) -> None:
    world.handle(_ended())
    world.handle(_event())

    outcome = world.scan()

    assert world.table.running_jobs() == []
    assert outcome["running_jobs_checked"] == 0
    assert world.host_metrics.calls == []
    assert world.publishes == 0


def test_given_an_end_heard_three_times_without_a_start_then_no_follow_up(world: World) -> None:
    for _ in range(3):
        world.handle(_ended())

    assert world.publishes == 0
    assert "job" not in next(iter(world.table.items.values()))


# ---- the scan: an idle job ---------------------------------------------------------------------


def test_given_an_idle_running_job_when_scanned_then_one_alert_per_rendering(
    world: World,
) -> None:
    world.handle(_event())

    outcome = world.scan()

    assert outcome == {
        "running_jobs_checked": 1,
        "idle_running_jobs": [JOB],
        "busy": [],
        "unchecked_accounts": [],
    }
    assert {c: len(r.items) for c, r in world.channels.items()} == dict.fromkeys(CHANNELS, 1)
    job = world.job()
    assert job.episode == 1
    assert job.idle_since == SCAN - SPAN


def test_given_an_idle_running_job_then_its_hosts_gpus_are_read_over_the_last_window(
    world: World,
) -> None:
    world.handle(_event())

    world.scan()

    calls = world.host_metrics.calls
    assert len(calls) == 1
    queries = calls[0].queries
    assert {q.host for q in queries} == {f"{JOB}/algo-1", f"{JOB}/algo-2"}
    assert {q.metric for q in queries} >= {Metric.GPU}
    for query in queries:
        api = query.to_api()
        assert api["AccountId"] == ACCOUNT
        assert api["MetricStat"]["Metric"]["Namespace"] == "/aws/sagemaker/TrainingJobs"  # type: ignore[index]
        # [now - span, now), widened to whole minutes: never the job's whole run
        assert query.start.timestamp() <= SCAN - SPAN < query.start.timestamp() + 60
        assert query.end.timestamp() - 60 <= SCAN < query.end.timestamp()


def test_given_an_idle_job_scanned_three_times_then_nothing_new_after_the_first(
    world: World,
) -> None:
    world.handle(_event())

    first = world.scan()
    sent = world.publishes
    world.clock.advance(15 * 60)
    second = world.scan()
    world.clock.advance(15 * 60)
    third = world.scan()

    assert first["idle_running_jobs"] == second["idle_running_jobs"] == third["idle_running_jobs"]
    assert sent == len(CHANNELS)
    assert world.publishes == sent
    job = world.job()
    assert (job.episode, job.idle_since) == (1, SCAN - SPAN)  # the same episode, still open


def test_given_an_idle_job_when_alerted_then_what_the_alert_says(world: World) -> None:
    world.handle(_event())

    world.scan()

    [doc] = world.docs()
    assert doc["incident"] == INCIDENT
    assert doc["update"] is False
    assert doc["kind"] == "idle"
    assert doc["status"] == "InProgress (Training)"
    assert doc["team"] == "vision"
    assert doc["ended_at"] is None
    assert doc["duration_seconds"] is None
    assert "running with its GPUs idle" in doc["headline"]
    assert "since 03:39 UTC" in doc["headline"]
    context = doc["context"]
    assert context["idle since"].startswith("2026-11-20 03:39 UTC (30m)")
    assert "2h 00m since 2026-11-20 02:09 UTC" in context["running for"]
    assert "maximum runtime in 4h 00m" in context["running for"]
    hourly = hourly_cost(world.job())
    assert hourly is not None
    assert context["bills"] == f"about ${hourly:,.2f} an hour (on-demand list prices)"
    assert doc["next_step"].startswith(IN_FLIGHT_STEP)
    assert doc["utilization"]["gpu_percent"] == pytest.approx(0.12, abs=0.01)
    email = world.channels["email"].items[0]
    assert email["subject"].startswith(f"[sagewatch] IDLE training job {JOB}")


def test_given_a_job_without_a_maximum_runtime_then_its_alert_names_none(world: World) -> None:
    world.handle(_event(StoppingCondition=None))

    world.scan()

    [doc] = world.docs()
    assert "maximum runtime" not in doc["context"]["running for"]
    assert world.job().max_runtime_seconds is None


def test_given_an_idle_running_processing_job_then_its_cpus_are_judged(world: World) -> None:
    raw = read_event("processing-completed")  # started 07:04:18, ml.m5.4xlarge x 2
    raw["detail"]["ProcessingJobStatus"] = "InProgress"
    raw["detail"].pop("ProcessingEndTime")
    raw["time"] = "2026-11-20T07:05:00Z"
    name = raw["detail"]["ProcessingJobName"]
    world.clock.now = datetime.fromisoformat("2026-11-20T07:50:00Z").timestamp()
    world.handle(raw)

    outcome = world.scan()

    assert outcome["idle_running_jobs"] == [name]
    queries = world.host_metrics.calls[0].queries
    assert {q.host for q in queries} == {f"{name}/algo-1", f"{name}/algo-2"}
    assert {q.metric for q in queries} == {Metric.CPU}
    assert {q.to_api()["MetricStat"]["Metric"]["Namespace"] for q in queries} == {  # type: ignore[index]
        NAMESPACES[ResourceKind.PROCESSING]
    }
    [doc] = world.docs()
    assert "running with its CPUs idle" in doc["headline"]
    assert doc["incident"] == f"{raw['account']}|{REGION}|processing|{name}|idle"


# ---- which running jobs are judged --------------------------------------------------------------


def test_given_a_job_started_less_than_the_window_ago_then_not_queried() -> None:
    world = _world(now=TRAINING + SPAN - 60)
    world.handle(_event())

    outcome = world.scan()
    world.clock.now = TRAINING + SPAN  # its whole window in its Training phase: judged
    later = world.scan()

    assert outcome["running_jobs_checked"] == 0
    assert later["running_jobs_checked"] == 1
    assert len(world.host_metrics.fetches) == 1
    assert len(world.docs()) == 1


def test_given_a_longer_window_setting_then_a_job_younger_than_it_is_not_queried() -> None:
    world = _world(now=STARTED + 45 * 60, IN_FLIGHT_IDLE_MINUTES="60")
    world.handle(_event())

    outcome = world.scan()

    assert outcome["running_jobs_checked"] == 0
    assert world.host_metrics.calls == []


def test_given_a_job_in_another_region_then_not_queried(world: World) -> None:
    world.handle(_event(region="eu-west-1"))

    outcome = world.scan()

    assert len(world.table.running_jobs()) == 1  # kept, read where its metrics are
    assert outcome["running_jobs_checked"] == 0
    assert world.host_metrics.calls == []
    assert world.publishes == 0


def test_given_a_job_past_its_maximum_runtime_and_an_hour_then_not_judged() -> None:
    world = _world(now=STARTED + RUNTIME + HOUR)  # SageMaker has stopped it, unheard
    world.handle(_event())

    last_chance = world.scan()
    world.clock.advance(60)
    world.host_metrics.calls.clear()
    gone = world.scan()

    assert last_chance["running_jobs_checked"] == 1
    assert gone["running_jobs_checked"] == 0
    assert world.host_metrics.calls == []
    assert len(world.docs()) == 1  # the last chance's alert, nothing since


def test_given_a_job_without_an_algorithm_start_then_not_judged_until_one_is_heard() -> None:
    world = _world()
    world.handle(
        _event(time="2026-11-20T02:01:00Z", SecondaryStatus="Starting", TrainingStartTime=None)
    )

    waiting = world.scan()
    world.handle(_event())  # later: Training, with its start
    judged = world.scan()

    assert waiting["running_jobs_checked"] == 0
    assert judged["idle_running_jobs"] == [JOB]


def test_given_an_ended_job_then_no_longer_scanned(world: World) -> None:
    world.handle(_event())
    world.handle(_stopped_by_user())

    outcome = world.scan()

    assert outcome["running_jobs_checked"] == 0
    assert world.host_metrics.calls == []
    assert world.publishes == 0


# ---- busy, insufficient data, recovery, a new episode -------------------------------------------


@pytest.mark.parametrize("value", [BUSY, UNDER_USED], ids=["ok", "under-used"])
def test_given_a_busy_job_without_an_episode_then_no_alert(value: float) -> None:
    world = _world(HostMetrics(value))
    world.handle(_event())

    outcome = world.scan()

    assert outcome["busy"] == [JOB]
    assert world.publishes == 0
    assert world.job().episode == 0


def test_given_no_datapoints_then_no_alert_and_no_episode() -> None:
    world = _world(HostMetrics(None))
    world.handle(_event())

    outcome = world.scan()

    assert outcome == {
        "running_jobs_checked": 1,
        "idle_running_jobs": [],
        "busy": [],
        "unchecked_accounts": [],
    }
    assert world.publishes == 0
    assert (world.job().episode, world.job().idle_since) == (0, None)


def test_given_an_open_episode_when_datapoints_go_missing_then_it_stays_open_silently(
    world: World,
) -> None:
    world.handle(_event())
    world.scan()
    world.host_metrics.value = None
    world.clock.advance(15 * 60)

    world.scan()

    assert world.publishes == len(CHANNELS)
    assert world.job().idle_since == SCAN - SPAN


def test_given_an_account_whose_metrics_are_not_shared_then_no_verdict_no_error(
    world: World,
) -> None:
    world.handle(_event())
    world.host_metrics.forbidden.add(ACCOUNT)

    outcome = world.scan()

    assert outcome["idle_running_jobs"] == outcome["busy"] == []
    assert world.publishes == 0


@pytest.mark.parametrize("value", [BUSY, UNDER_USED], ids=["ok", "under-used"])
def test_given_an_idle_job_busy_again_then_one_recovered_follow_up_and_the_episode_closed(
    world: World, value: float
) -> None:
    world.handle(_event())
    world.scan()
    world.host_metrics.value = value
    world.clock.advance(HOUR)

    busy = world.scan()
    world.clock.advance(15 * 60)
    still_busy = world.scan()

    assert busy["busy"] == still_busy["busy"] == [JOB]
    docs = world.docs()
    assert [d["update"] for d in docs] == [False, True]
    recovered = docs[1]
    assert recovered["incident"] == INCIDENT
    assert recovered["kind"] == "idle"
    assert "is busy again" in recovered["headline"]
    assert "after idling from 03:39" in recovered["headline"]
    assert "of idle hardware" in recovered["headline"]
    assert recovered["next_step"] == RECOVERED_STEP
    assert world.publishes == 2 * len(CHANNELS)
    job = world.job()
    assert (job.idle_since, job.idle_percent, job.episode) == (None, None, 1)


def test_given_a_recovered_job_idle_again_then_a_second_episode_with_its_own_incident(
    world: World,
) -> None:
    world.handle(_event())
    world.scan()  # episode 1
    world.host_metrics.value = BUSY
    world.clock.advance(HOUR)
    world.scan()  # recovered
    world.host_metrics.value = IDLE
    world.clock.advance(HOUR)

    world.scan()  # episode 2
    world.scan()
    world.host_metrics.value = BUSY
    world.clock.advance(HOUR)
    world.scan()  # recovered again

    docs = world.docs()
    assert [(d["incident"], d["update"]) for d in docs] == [
        (INCIDENT, False),
        (INCIDENT, True),
        (f"{INCIDENT}|episode-2", False),
        (f"{INCIDENT}|episode-2", True),
    ]
    assert world.job().episode == 2
    assert world.publishes == 4 * len(CHANNELS)


# ---- the job's end -------------------------------------------------------------------------------


def test_given_a_job_ending_while_idle_then_one_ended_follow_up_even_if_heard_three_times(
    world: World,
) -> None:
    world.handle(_event())
    world.scan()
    for _ in range(3):
        assert world.handle(_ended()) == {"outcome": "ended", "job": JOB}

    docs = world.docs()
    assert len(docs) == 2
    ended = docs[1]
    assert ended["update"] is True
    assert ended["incident"] == INCIDENT
    assert ended["status"] == "Stopped (MaxRuntimeExceeded)"
    assert ended["next_step"] == HUNG_STEP
    assert ended["headline"].startswith(
        f"training job {JOB} ended with its GPUs idle since 03:39 UTC: about $"
    )
    job = world.job()
    hourly = hourly_cost(job)
    assert hourly is not None
    assert job.ended_at is not None
    assert job.idle_percent is not None
    cost = hourly * (job.ended_at - (SCAN - SPAN)) / HOUR * (1 - job.idle_percent / 100)
    assert f"about ${round(cost, 2):,.2f} of idle hardware" in ended["headline"]
    assert ended["ended_at"].startswith("2026-11-20T08:10:45")
    assert ended["duration_seconds"] == pytest.approx(1_795_162_245.202 - STARTED)
    assert world.publishes == 2 * len(CHANNELS)


def test_given_a_job_stopped_by_its_user_while_idle_then_the_re_run_step(world: World) -> None:
    world.handle(_event())
    world.scan()

    world.handle(_stopped_by_user())

    ended = world.docs()[-1]
    assert ended["status"] == "Stopped"
    assert ended["next_step"] == ENDED_IDLE_STEP


def test_given_a_job_ending_after_it_recovered_then_no_follow_up(world: World) -> None:
    world.handle(_event())
    world.scan()
    world.host_metrics.value = BUSY
    world.clock.advance(HOUR)
    world.scan()

    world.handle(_ended())

    assert [d["update"] for d in world.docs()] == [False, True]  # the alert and its recovery
    assert "busy again" in world.docs()[-1]["headline"]


def test_given_a_job_ending_never_idle_then_no_follow_up() -> None:
    world = _world(HostMetrics(BUSY))
    world.handle(_event())
    world.scan()

    world.handle(_ended())

    assert world.publishes == 0


# ---- accounts on their own, unreadable records -------------------------------------------------


def test_given_two_accounts_with_the_same_job_name_then_two_records_two_incidents(
    world: World,
) -> None:
    world.handle(_event())
    world.handle(_event(account=OTHER_ACCOUNT))

    outcome = world.scan()
    world.handle(_ended(account=OTHER_ACCOUNT))

    assert outcome["idle_running_jobs"] == [JOB, JOB]
    assert world.job().key != world.job(OTHER_ACCOUNT).key
    assert world.job().ended_at is None  # the other account's end is not this one's
    assert [(d["incident"], d["update"]) for d in world.docs()] == [
        (INCIDENT, False),
        (f"{OTHER_ACCOUNT}|{REGION}|training|{JOB}|idle", False),
        (f"{OTHER_ACCOUNT}|{REGION}|training|{JOB}|idle", True),
    ]
    assert sorted(map(frozenset, world.host_metrics.fetches)) == sorted(
        [frozenset({ACCOUNT}), frozenset({OTHER_ACCOUNT})]
    )  # one round per account


def test_given_one_accounts_metrics_throttled_then_the_other_alerts_and_the_next_tick_retries(
    world: World,
) -> None:
    world.handle(_event())
    world.handle(_event(account=OTHER_ACCOUNT, name="other-job"))
    world.host_metrics.failing.add(ACCOUNT)

    outcome = world.scan()  # not raised: a Lambda retry would read every account again

    assert outcome["unchecked_accounts"] == [ACCOUNT]
    assert [d["name"] for d in world.docs()] == ["other-job"]
    assert world.job().idle_since is None  # nothing opened for the account unread
    world.host_metrics.failing.clear()
    world.clock.advance(15 * 60)  # the next tick
    retried = world.scan()
    assert retried["idle_running_jobs"] == [JOB, "other-job"]
    assert [d["name"] for d in world.docs()] == ["other-job", JOB]  # the other not sent twice
    assert world.publishes == 2 * len(CHANNELS)


def test_given_every_call_throttled_then_unchecked_and_nothing_opened() -> None:
    failing = FailingMetrics("ThrottlingException")
    world = _world(failing)
    world.handle(_event())

    assert world.scan()["unchecked_accounts"] == [ACCOUNT]
    assert failing.calls == 1
    assert world.publishes == 0
    assert world.job().episode == 0


def test_given_an_unreadable_record_then_logged_skipped_and_the_others_judged(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = LogSpy()
    monkeypatch.setattr(service, "logger", spy)
    world.handle(_event())
    broken = key_of(OTHER_ACCOUNT, REGION, ResourceKind.TRAINING, "broken")
    world.table.items[broken] = {"id": broken, "job": "{not json", "at": "1795140760.0"}
    wrong = key_of(OTHER_ACCOUNT, REGION, ResourceKind.TRAINING, "wrong")
    world.table.items[wrong] = {"id": wrong, "job": json.dumps({"name": "wrong"}), "at": "1"}

    outcome = world.scan()

    assert outcome["idle_running_jobs"] == [JOB]
    assert outcome["running_jobs_checked"] == 1
    assert len(world.docs()) == 1
    unreadable = [line for line in spy.lines if line[1] == "running job unreadable"]
    assert [level for level, _, _ in unreadable] == ["error", "error"]
    assert all("running job record unreadable" in extra["reason"] for *_, extra in unreadable)


# ---- the job's idle verdict after its end: the same incident -----------------------------------


def test_given_an_in_flight_alert_when_the_jobs_idle_report_arrives_then_a_duplicate(
    world: World,
) -> None:
    world.handle(_event())
    world.scan()
    world.handle(_ended(TrainingJobStatus="Completed", SecondaryStatus="Completed"))
    sent = world.publishes  # the alert and its end's follow-up
    report = read_event("utilization-report-under-used")
    report["detail"]["verdict"] = "idle"
    report["detail"]["job"].update(
        account=ACCOUNT,
        region=REGION,
        name=JOB,
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{JOB}",
        instance_type="ml.p4d.24xlarge",
        instance_groups=[{"instance_type": "ml.p4d.24xlarge", "count": 2, "name": None}],
        started="2026-11-20T02:09:31Z",
        ended="2026-11-20T08:10:45Z",
        duration_seconds=21_674,
    )
    alerter_channels = {c: Recorder() for c in CHANNELS}
    settings = AlerterSettings(
        topics={c: f"arn:aws:sns:{REGION}:123456789012:{c}" for c in CHANNELS},
        idempotency_table="t", team_tag_key="team", dedup_seconds=172_800, burst_threshold=3,
        burst_window_seconds=600, summary_queue_url="unused", region=REGION,
    )  # fmt: skip
    alerter = Alerter(
        settings, publishers=alerter_channels, summaries=Recorder(), records=world.records,
        clock=FixedClock(world.clock() + 8 * HOUR),
    )  # fmt: skip

    result = alerter.handle(report)

    assert result["incident"] == INCIDENT
    assert result["outcome"] == "duplicate"
    assert all(channel.items == [] for channel in alerter_channels.values())
    assert world.publishes == sent == 2 * len(CHANNELS)


# ---- settings ---------------------------------------------------------------------------------


def test_given_no_in_flight_setting_then_thirty_minutes_and_the_enrichers_thresholds() -> None:
    settings = FleetSettings.from_env(ENV)

    assert settings.in_flight_idle_seconds == 1_800
    assert settings.thresholds == Thresholds()


def test_given_in_flight_settings_then_read() -> None:
    settings = FleetSettings.from_env(
        ENV | {"IN_FLIGHT_IDLE_MINUTES": "45", "IDLE_PERCENT": "5", "UNDER_USED_PERCENT": "30"}
    )

    assert settings.in_flight_idle_seconds == 2_700
    assert (settings.thresholds.idle_percent, settings.thresholds.under_used_percent) == (5, 30)


@pytest.mark.parametrize("minutes", ["5", "721", "soon"])
def test_given_an_in_flight_window_out_of_range_then_config_error(minutes: str) -> None:
    with pytest.raises(ConfigError, match="IN_FLIGHT_IDLE_MINUTES"):
        FleetSettings.from_env(ENV | {"IN_FLIGHT_IDLE_MINUTES": minutes})


def test_given_a_higher_idle_threshold_then_the_scan_judges_by_it() -> None:
    world = _world(HostMetrics(UNDER_USED), IDLE_PERCENT="15")  # 10% is idle under 15%
    world.handle(_event())

    outcome = world.scan()

    assert outcome["idle_running_jobs"] == [JOB]


# ---- BUG: an episode longer than the do-once records are kept -----------------------------------


def test_given_an_episode_longer_than_the_dedup_window_then_still_one_alert() -> None:
    """The episode remembers its alert was delivered: the incident's do-once record expires
    after DEDUP_SECONDS (two days), and a training job may idle for 28."""
    long_job = _event(StoppingCondition={"MaxRuntimeInSeconds": 5 * 86_400})
    world = _world()
    world.handle(long_job)
    world.scan()

    world.clock.advance(2 * 86_400 + 15 * 60)  # the same episode, two days later
    world.scan()

    assert world.job().episode == 1  # still the one episode
    assert len(world.docs()) == 1, "the episode's alert was sent again"


# ---- the DynamoDB adapter keeps running jobs as the in-memory table does -----------------------


def _running_life(store: FleetStore) -> list[Any]:
    """One running job's records through its life, as comparable values (numbers as floats)."""
    key = key_of(ACCOUNT, REGION, ResourceKind.TRAINING, JOB)
    never_started = key_of(ACCOUNT, REGION, ResourceKind.TRAINING, "ended-first")
    seen: list[Any] = []

    def running() -> list[tuple[Any, ...]]:
        return sorted(
            (
                r["id"],
                r["job"],
                float(r["at"]),
                None if r.get("idle_since") is None else float(r["idle_since"]),
                None if r.get("episode") is None else int(float(r["episode"])),
            )
            for r in store.running_jobs()
        )

    store.put_running(key, "job-at-100", 100.0, 10_000)
    store.put_running(key, "job-at-50", 50.0, 10_000)  # older: ignored
    seen.append(running())
    store.put_running(key, "job-at-200", 200.0, 10_000)  # later: wins
    seen.append(running())
    seen.append(store.open_episode(key, 300.0, 0.5))
    seen.append(store.open_episode(key, 310.0, 0.7))  # already open
    store.put_running(key, "job-at-400", 400.0, 10_000)  # keeps the episode
    seen.append(running())
    seen.append(store.episode_alerted(key, 2) is None)  # not the open episode: nothing
    alerted = store.episode_alerted(key, 1)
    seen.append(None if alerted is None else alerted["alerted"])
    seen.append(store.close_episode(key, 2))  # not the open episode: kept open
    seen.append(store.close_episode(key, 1))
    seen.append(running())
    seen.append(store.open_episode(key, 500.0, 1.0))  # the second episode
    seen.append(store.open_episode(never_started, 500.0, 1.0))  # no such job
    seen.append(store.close_episode(never_started, 1))  # no such job: nothing made
    seen.append(running())
    ended = store.end_running(key, 600.0, "Stopped", 20_000)
    seen.append(
        (
            ended["job"],
            float(ended["ended_at"]),
            ended["ended_status"],
            float(ended["idle_since"]),
            int(float(ended["episode"])),
        )
    )
    again = store.end_running(key, 650.0, "Completed", 30_000)  # its end heard again
    seen.append((float(again["ended_at"]), again["ended_status"], float(again["expiration"])))
    store.put_running(key, "job-at-700", 700.0, 10_000)  # after the end: nothing
    kept = store.end_running(key, 700.0, "Stopped", 30_000)
    seen.append((kept["job"], float(kept["at"])))
    seen.append(store.open_episode(key, 700.0, 0.5))  # ended: none
    seen.append(running())
    first = store.end_running(never_started, 800.0, "Failed", 20_000)  # an end heard first
    seen.append(("job" in first, float(first["ended_at"])))
    store.put_running(never_started, "late-start", 700.0, 10_000)
    seen.append(running())
    return seen


@pytest.mark.integration  # moto
def test_given_the_dynamodb_fleet_table_then_running_jobs_kept_as_in_memory(
    fleet_dynamodb: Any,
) -> None:
    on_dynamodb = _running_life(FleetTable("fleet", fleet_dynamodb))
    in_memory = _running_life(MemoryFleetTable())

    assert on_dynamodb == in_memory
    key = key_of(ACCOUNT, REGION, ResourceKind.TRAINING, JOB)
    assert in_memory == [
        [(key, "job-at-100", 100.0, None, None)],
        [(key, "job-at-200", 200.0, None, None)],
        1,
        None,
        [(key, "job-at-400", 400.0, 300.0, 1)],
        True,
        True,
        False,
        True,
        [(key, "job-at-400", 400.0, None, 1)],
        2,
        None,
        False,
        [(key, "job-at-400", 400.0, 500.0, 2)],
        ("job-at-400", 600.0, "Stopped", 500.0, 2),
        (600.0, "Stopped", 30_000.0),
        ("job-at-400", 400.0),
        None,
        [],
        (False, 800.0),
        [],
    ]


# ---- the running jobs' queue: the fleet function's SQS batches ----------------------------------


def _record(body: Any, message_id: str) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"messageId": message_id, "body": text, "eventSource": "aws:sqs"}


class _ThrottledTable(MemoryFleetTable):
    """DynamoDB throttling the writes of one job."""

    def __init__(self, failing_name: str) -> None:
        super().__init__()
        self.failing_name = failing_name

    def put_running(self, key: str, job: str, at: float, expires: int) -> None:
        if key.endswith(f"|{self.failing_name}"):
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}
            raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]
        super().put_running(key, job, at, expires)


def _batch_world(table: MemoryFleetTable, parked: Recorder | None) -> Fleet:
    return Fleet(
        FleetSettings.from_env(ENV), table=table, activity=NoInvocations(), refresher=Recorder(),
        publishers={c: Recorder() for c in CHANNELS}, records=MemoryOnce(),
        clock=FixedClock(SCAN), metrics=HostMetrics(), dead_letters=parked,
    )  # fmt: skip


def test_given_a_batch_with_an_unreadable_record_then_it_is_parked_with_its_reason_alone() -> None:
    table, parked = MemoryFleetTable(), Recorder()
    fleet = _batch_world(table, parked)
    unnamed = _event(name="other-job", TrainingJobName=None)  # a job event without its name

    result = fleet.handle(
        {
            "Records": [
                _record(_event(), "m1"),
                _record("{not json", "m2"),
                _record(unnamed, "m3"),
                _record(_event(name="second-job"), "m4"),
            ]
        }
    )

    assert result == {"batchItemFailures": []}
    assert [item["reason"][:14] for item in parked.items] == ["invalid event:"] * 2
    assert "TrainingJobName" in parked.items[1]["reason"]
    assert {RunningJob.from_record(r).name for r in table.running_jobs()} == {JOB, "second-job"}


def test_given_a_batch_when_the_store_throttles_one_job_then_only_that_record_is_retried() -> None:
    table = _ThrottledTable("second-job")
    fleet = _batch_world(table, Recorder())

    result = fleet.handle(
        {"Records": [_record(_event(name="second-job"), "m1"), _record(_event(), "m2")]}
    )

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert [RunningJob.from_record(r).name for r in table.running_jobs()] == [JOB]


def test_given_no_dead_letter_queue_when_a_record_is_unreadable_then_it_is_retried() -> None:
    fleet = _batch_world(MemoryFleetTable(), None)  # the queue's redrive policy parks it

    result = fleet.handle({"Records": [_record("[]", "m1")]})

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_given_a_batch_with_a_job_and_its_end_out_of_order_then_it_is_not_running() -> None:
    table = MemoryFleetTable()
    fleet = _batch_world(table, Recorder())

    fleet.handle({"Records": [_record(_ended(), "m1"), _record(_event(), "m2")]})

    assert table.running_jobs() == []


def test_given_an_unexpected_error_for_one_record_then_only_it_is_retried() -> None:
    class Broken(MemoryFleetTable):
        def end_running(self, key: str, at: float, status: str, expires: int) -> dict[str, Any]:
            raise KeyError("a bug")

    table = Broken()
    fleet = _batch_world(table, Recorder())

    result = fleet.handle({"Records": [_record(_ended(), "m1"), _record(_event(), "m2")]})

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert len(table.running_jobs()) == 1


# ---- what a workload account's events can cost, and which phase is judged -----------------------


def _groups(count: int, instances: int) -> list[dict[str, Any]]:
    return [
        {
            "InstanceGroupName": f"g{n}",
            "InstanceType": "ml.p4d.24xlarge",
            "InstanceCount": instances,
        }
        for n in range(count)
    ]


def test_given_a_job_claiming_more_hosts_than_a_tick_reads_then_it_is_not_queried() -> None:
    world = _world()
    huge = {"InstanceGroups": _groups(5, 2_000), "InstanceType": None, "InstanceCount": None}
    world.handle(_event(ResourceConfig=huge))

    outcome = world.scan()

    assert outcome["running_jobs_checked"] == 0
    assert world.host_metrics.calls == []


def test_given_an_account_claiming_many_jobs_then_a_tick_reads_its_budget_most_costly_first() -> (
    None
):
    world = _world()
    for n in range(30):  # 30 jobs x 95 p4d hosts: 2,850 hosts, over the 2,000 budget
        big = {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 95}
        world.handle(_event(name=f"claimed-{n:02d}", ResourceConfig=big))
    world.handle(_event(name="small", ResourceConfig={"InstanceType": "ml.g5.xlarge",
                                                       "InstanceCount": 1}))  # fmt: skip

    world.scan()

    hosts = {(q.job.name, q.host) for call in world.host_metrics.calls for q in call.queries}
    assert len(hosts) <= service.MAX_HOSTS_PER_ACCOUNT
    # 21 x 95 hosts fit (1,995), a 22nd would not; the small job still does
    assert {name for name, _ in hosts} == {f"claimed-{n:02d}" for n in range(21)} | {"small"}


def test_given_a_claimed_maximum_runtime_past_sagemakers_then_it_is_held_to_28_days() -> None:
    world = _world()
    world.handle(_event(StoppingCondition={"MaxRuntimeInSeconds": 10**40}))

    job = world.job()

    assert job.max_runtime_seconds == 28 * 86_400
    assert job.expires_at == int(STARTED + 28 * 86_400 + 2 * 86_400)


def test_given_a_training_job_still_downloading_then_its_idle_gpus_are_not_judged() -> None:
    world = _world()
    world.handle(_event(SecondaryStatus="Downloading",
                        SecondaryStatusTransitions=[{"Status": "Downloading",
                                                     "StartTime": STARTED}]))  # fmt: skip

    outcome = world.scan()

    assert outcome["running_jobs_checked"] == 0
    assert world.job().working_since is None


def test_given_a_gpu_job_then_only_gpu_utilization_is_queried(world: World) -> None:
    world.handle(_event())

    world.scan()

    assert {q.metric for call in world.host_metrics.calls for q in call.queries} == {Metric.GPU}


def test_given_a_state_change_older_than_its_ends_record_then_it_is_not_kept() -> None:
    world = _world(now=SCAN + 3 * 86_400)  # redelivered three days late

    world.handle(_event(StoppingCondition={"MaxRuntimeInSeconds": 10 * 86_400}))

    assert world.table.running_jobs() == []


def test_given_many_idle_jobs_in_one_account_then_a_tick_opens_a_few_episodes() -> None:
    world = _world(BURST_THRESHOLD="3")
    for n in range(5):
        world.handle(_event(name=f"idle-{n}"))

    world.scan()
    first = len(world.docs())
    world.clock.advance(15 * 60)
    world.scan()

    assert (first, len(world.docs())) == (3, 5)


class _EndsWhileAlerted(MemoryFleetTable):
    """The job's end lands between the scan's alert and its record of it."""

    def episode_alerted(self, key: str, episode: int) -> dict[str, Any] | None:
        self.end_running(key, SCAN, "Completed", int(SCAN) + 86_400)
        return super().episode_alerted(key, episode)


def test_given_the_job_ends_while_its_alert_is_sent_then_the_end_follows_the_alert() -> None:
    channels = {c: Recorder() for c in CHANNELS}
    table = _EndsWhileAlerted()
    fleet = Fleet(
        FleetSettings.from_env(ENV), table=table, activity=NoInvocations(), refresher=Recorder(),
        publishers=channels, records=MemoryOnce(), clock=FixedClock(SCAN), metrics=HostMetrics(),
    )  # fmt: skip
    fleet.handle(_event())

    fleet.handle({"action": "in-flight"})

    docs = [json.loads(m["message"]) for m in channels["json"].items]
    assert [d["update"] for d in docs] == [False, True]
    assert "ended" in docs[1]["headline"]


def test_given_an_episode_whose_alert_failed_when_the_job_ends_then_no_update_of_it() -> None:
    world = _world()
    world.handle(_event())
    key = key_of(ACCOUNT, REGION, ResourceKind.TRAINING, JOB)
    world.table.open_episode(key, SCAN - SPAN, 0.1)  # opened; its alert never went out

    world.handle(_ended())

    assert world.publishes == 0


def test_given_a_job_tagged_silent_then_it_is_not_even_read(world: World) -> None:
    tags = {"team": "vision", "sagewatch:silence": "true"}
    world.handle(_event(Tags=tags))

    outcome = world.scan()

    assert outcome["running_jobs_checked"] == 0
    assert world.host_metrics.calls == []


def test_given_a_severity_tag_then_the_in_flight_alert_and_its_end_carry_it(world: World) -> None:
    tags = {"team": "vision", "sagewatch:severity": "low"}
    world.handle(_event(Tags=tags))
    world.scan()
    world.handle(_ended(Tags=tags))

    docs = world.docs()
    assert [(d["update"], d["severity"]) for d in docs] == [(False, "low"), (True, "low")]
    assert docs[0]["context"]["severity"] == "low, set by the job's tag sagewatch:severity"
