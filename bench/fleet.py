"""A generated, realistic fleet day from a seeded RNG: SageMaker events with real lifecycles and
the host metrics of every job, in the shapes of events/ and docs/metrics-format.md."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

DAY = datetime(2026, 11, 20, tzinfo=UTC)
REGION = "us-east-1"
TRAINING_STEPS = ["Starting", "Starting", "Downloading", "Training", "Training", "Uploading"]
GPU_TYPES = ["ml.g5.2xlarge", "ml.g4dn.xlarge", "ml.p3.2xlarge"]
CPU_TYPES = ["ml.m5.xlarge", "ml.c5.2xlarge", "ml.m5.4xlarge"]


@dataclass(frozen=True)
class FleetSpec:
    seed: int = 7
    accounts: int = 5
    training: int = 250
    processing: int = 80
    transform: int = 40
    tuning: int = 1
    children_per_tuning: int = 100  # a burst: all children end within a minute
    pipelines: int = 15
    endpoints: int = 10
    # ML automation outside SageMaker (issue 16): runs a day of each of a Step Functions state
    # machine, a CodePipeline pipeline and a CodeBuild project, named with the ML prefix.
    automation: int = 15
    failure_rate: float = 0.06
    duplicate_rate: float = 0.03


@dataclass(frozen=True)
class Run:
    """One job as it ran: what a workload account's inventory collector would list."""

    account: str
    kind: str  # "training", "processing" or "transform"
    name: str
    start: datetime
    end: datetime
    instance_type: str
    instance_count: int
    failed: bool


@dataclass
class Fleet:
    events: list[dict[str, Any]]
    series: list[dict[str, Any]]
    jobs: int  # training (incl. tuning children), processing and transform jobs
    accounts: list[str] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    endpoints: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (name, type)
    _by_account: dict[str, list[Run]] = field(default_factory=dict, repr=False)

    def runs_of(self, account: str) -> list[Run]:
        if not self._by_account:
            for run in self.runs:
                self._by_account.setdefault(run.account, []).append(run)
        return self._by_account.get(account, [])


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Builder:
    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.events: list[dict[str, Any]] = []
        self.series: list[dict[str, Any]] = []
        self.accounts = [f"{100000000000 + n * 111111111:012d}" for n in range(spec.accounts)]
        self.jobs = 0
        self.runs: list[Run] = []
        self.endpoints: dict[str, list[tuple[str, str]]] = {}

    def envelope(
        self,
        account: str,
        detail_type: str,
        when: datetime,
        detail: dict[str, Any],
        source: str = "aws.sagemaker",
    ) -> None:
        event = {
            "version": "0", "id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "detail-type": detail_type, "source": source, "account": account,
            "time": _iso(when), "region": REGION, "resources": [], "detail": detail,
        }  # fmt: skip
        self.events.append(event)
        if self.rng.random() < self.spec.duplicate_rate:  # SageMaker's repeated deliveries
            self.events.append(event | {"id": str(uuid.UUID(int=self.rng.getrandbits(128)))})

    def metrics(self, namespace: str, host: str, start: datetime, end: datetime, gpu: bool) -> None:
        busy = self.rng.choice([0.5, 5, 40, 75])  # idle, under-used, ok, busy (percent per unit)
        values = {"CPUUtilization": busy * 4, "MemoryUtilization": 30, "DiskUtilization": 10}
        if gpu:
            values |= {"GPUUtilization": busy, "GPUMemoryUtilization": busy}
        for metric, value in values.items():
            self.series.append(
                {"namespace": namespace, "metric": metric, "dimensions": {"Host": host},
                 "start": _iso(start), "end": _iso(end), "every_seconds": 900, "value": value}
            )  # fmt: skip

    def training(
        self, name: str, account: str, start: datetime, minutes: int, **extra: Any
    ) -> None:
        self.jobs += 1
        gpu = self.rng.random() < 0.5
        instance = self.rng.choice(GPU_TYPES if gpu else CPU_TYPES)
        count = self.rng.choice([1, 1, 1, 2, 4])
        end = start + timedelta(minutes=minutes)
        failed = self.rng.random() < self.spec.failure_rate
        base = {
            "TrainingJobName": name, "CreationTime": _ms(start - timedelta(minutes=3)),
            "TrainingStartTime": _ms(start), "Tags": {"team": f"team-{account[-2:]}"},
            "ResourceConfig": {"InstanceType": instance, "InstanceCount": count},
            "HyperParameters": {"epochs": "10"}, **extra,
        }  # fmt: skip
        step = (end - start) / len(TRAINING_STEPS)
        for n, secondary in enumerate(TRAINING_STEPS):
            detail = base | {"TrainingJobStatus": "InProgress", "SecondaryStatus": secondary}
            self.envelope(account, "SageMaker Training Job State Change", start + step * n, detail)
        final = base | {
            "TrainingJobStatus": "Failed" if failed else "Completed",
            "SecondaryStatus": "Failed" if failed else "Completed",
            "TrainingEndTime": _ms(end),
            **({"FailureReason": "AlgorithmError: ExitCode 1"} if failed else {}),
        }
        self.envelope(account, "SageMaker Training Job State Change", end, final)
        for host in range(1, count + 1):
            self.metrics("/aws/sagemaker/TrainingJobs", f"{name}/algo-{host}", start, end, gpu)
        self.runs.append(Run(account, "training", name, start, end, instance, count, failed))

    def processing(self, name: str, account: str, start: datetime, minutes: int) -> None:
        self.jobs += 1
        end = start + timedelta(minutes=minutes)
        count = self.rng.choice([1, 2])
        cluster = {"InstanceType": "ml.m5.xlarge", "InstanceCount": count}
        base = {
            "ProcessingJobName": name, "CreationTime": _ms(start),
            "ProcessingStartTime": _ms(start), "ProcessingResources": {"ClusterConfig": cluster},
        }  # fmt: skip
        kind = "SageMaker Processing Job State Change"
        for n in range(3):
            running = base | {"ProcessingJobStatus": "InProgress"}
            self.envelope(account, kind, start + (end - start) / 3 * n, running)
        done = base | {"ProcessingJobStatus": "Completed", "ProcessingEndTime": _ms(end)}
        self.envelope(account, kind, end, done)
        for host in range(1, count + 1):
            self.metrics("/aws/sagemaker/ProcessingJobs", f"{name}/algo-{host}", start, end, False)
        self.runs.append(Run(account, "processing", name, start, end, "ml.m5.xlarge", count, False))

    def transform(self, name: str, account: str, start: datetime, minutes: int) -> None:
        self.jobs += 1
        end = start + timedelta(minutes=minutes)
        base = {
            "TransformJobName": name, "CreationTime": _ms(start), "TransformStartTime": _ms(start),
            "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        }  # fmt: skip
        kind = "SageMaker Transform Job State Change"
        self.envelope(account, kind, start, base | {"TransformJobStatus": "InProgress"})
        done = base | {"TransformJobStatus": "Completed", "TransformEndTime": _ms(end)}
        self.envelope(account, kind, end, done)
        host = f"{name}/i-{self.rng.getrandbits(48):012x}"
        self.metrics("/aws/sagemaker/TransformJobs", host, start, end, False)
        self.runs.append(Run(account, "transform", name, start, end, "ml.c5.xlarge", 1, False))

    def build(self) -> Fleet:
        spec, rng = self.spec, self.rng
        for n in range(spec.training):
            start = DAY + timedelta(minutes=rng.randrange(0, 20 * 60))
            self.training(
                f"train-{n:05d}", rng.choice(self.accounts), start, rng.randrange(15, 180)
            )
        for n in range(spec.processing):
            start = DAY + timedelta(minutes=rng.randrange(0, 20 * 60))
            self.processing(
                f"proc-{n:05d}", rng.choice(self.accounts), start, rng.randrange(15, 90)
            )
        for n in range(spec.transform):
            start = DAY + timedelta(minutes=rng.randrange(0, 20 * 60))
            self.transform(
                f"xform-{n:05d}", rng.choice(self.accounts), start, rng.randrange(15, 60)
            )
        for n in range(spec.tuning):  # one at 06:00; more spread over the next 14 hours
            account, start = (
                rng.choice(self.accounts),
                DAY + timedelta(hours=6 + 14 * n / spec.tuning),
            )
            tuning_arn = f"arn:aws:sagemaker:{REGION}:{account}:hyper-parameter-tuning-job/hpo-{n}"
            for child in range(spec.children_per_tuning):
                child_start = start + timedelta(seconds=rng.randrange(0, 60))
                self.training(
                    f"hpo-{n}-{child:03d}", account, child_start, 60, TuningJobArn=tuning_arn
                )
            self.envelope(account, "SageMaker HyperParameter Tuning Job State Change",
                          start + timedelta(minutes=62),
                          {"HyperParameterTuningJobName": f"hpo-{n}",
                           "HyperParameterTuningJobStatus": "Completed"})  # fmt: skip
        for n in range(spec.pipelines):
            account = rng.choice(self.accounts)
            start = DAY + timedelta(minutes=rng.randrange(0, 20 * 60))
            arn = f"arn:aws:sagemaker:{REGION}:{account}:pipeline/pipe-{n}"
            execution = f"{arn}/execution/{n:012d}"
            status = "Failed" if rng.random() < spec.failure_rate else "Succeeded"
            for current in ("Executing", status):
                self.envelope(account, "SageMaker Model Building Pipeline Execution Status Change",
                              start, {"pipelineArn": arn, "pipelineExecutionArn": execution,
                                      "currentPipelineExecutionStatus": current,
                                      "executionStartTime": _iso(start)})  # fmt: skip
        for n in range(spec.endpoints):
            account = rng.choice(self.accounts)
            start = DAY + timedelta(minutes=rng.randrange(0, 20 * 60))
            self.endpoints.setdefault(account, []).append((f"endpoint-{n}", "ml.m5.large"))
            for status in ("CREATING", "IN_SERVICE", "UPDATING", "IN_SERVICE"):
                self.envelope(account, "SageMaker Endpoint State Change", start,
                              {"EndpointName": f"endpoint-{n}", "EndpointStatus": status,
                               "LastModifiedTime": _ms(start)})  # fmt: skip
        for n in range(spec.automation):
            self.automation(n)
        self.events.sort(key=lambda e: e["time"])
        return Fleet(self.events, self.series, self.jobs, self.accounts, self.runs, self.endpoints)

    def automation(self, n: int) -> None:
        """One run each of an ML state machine, pipeline and build project, as their services
        report how they ended (the workload's MlAutomationRule forwards these only); a failed
        pipeline reports its failed action too."""
        account, rng = self.rng.choice(self.accounts), self.rng
        start = DAY + timedelta(minutes=rng.randrange(0, 20 * 60))
        end = start + timedelta(minutes=rng.randrange(5, 90))
        where = f"{REGION}:{account}"
        failed = [rng.random() < self.spec.failure_rate for _ in range(3)]
        self.envelope(account, "Step Functions Execution Status Change", end, {
            "executionArn": f"arn:aws:states:{where}:execution:ml-flow-{n}:run-{n}",
            "stateMachineArn": f"arn:aws:states:{where}:stateMachine:ml-flow-{n}",
            "name": f"run-{n}", "status": "FAILED" if failed[0] else "SUCCEEDED",
            "startDate": _ms(start), "stopDate": _ms(end),
        }, source="aws.states")  # fmt: skip
        execution = str(uuid.UUID(int=rng.getrandbits(128)))
        pipeline = {"pipeline": f"ml-deploy-{n}", "version": 1, "execution-id": execution}
        if failed[1]:
            self.envelope(account, "CodePipeline Action Execution State Change", end, pipeline | {
                "stage": "Build", "action": "Image", "state": "FAILED", "region": REGION,
                "execution-result": {"external-execution-summary": "Build failed"},
            }, source="aws.codepipeline")  # fmt: skip
        self.envelope(account, "CodePipeline Pipeline Execution State Change", end, pipeline | {
            "state": "FAILED" if failed[1] else "SUCCEEDED",
        }, source="aws.codepipeline")  # fmt: skip
        build = f"arn:aws:codebuild:{where}:build/ml-image-{n}:{execution}"
        self.envelope(account, "CodeBuild Build State Change", end, {
            "build-status": "FAILED" if failed[2] else "SUCCEEDED",
            "project-name": f"ml-image-{n}", "build-id": build,
            "additional-information": {"initiator": "ml-engineer", "build-complete": True,
                                       "build-start-time": _iso(start)},
        }, source="aws.codebuild")  # fmt: skip


def generate(spec: FleetSpec) -> Fleet:
    return _Builder(spec).build()


def sized(jobs: int, accounts: int, seed: int = 7) -> FleetSpec:
    """The default day's mix of work, scaled to `jobs` finished jobs a day over `accounts`
    accounts: the same shares of training, processing, transform and tuning children, and of
    pipelines, endpoints and automation runs per job; tuning jobs keep about as many children
    each."""
    base = FleetSpec()
    base_jobs = (
        base.training + base.processing + base.transform + base.tuning * base.children_per_tuning
    )
    scale = jobs / base_jobs
    children = round(base.tuning * base.children_per_tuning * scale)
    tuning = max(1, round(children / base.children_per_tuning))
    per_tuning = max(1, round(children / tuning))
    processing, transform = round(base.processing * scale), round(base.transform * scale)
    return replace(
        base,
        seed=seed,
        accounts=accounts,
        training=jobs - processing - transform - tuning * per_tuning,
        processing=processing,
        transform=transform,
        tuning=tuning,
        children_per_tuning=per_tuning,
        pipelines=max(1, round(base.pipelines * scale)),
        endpoints=max(1, round(base.endpoints * scale)),
        automation=max(1, round(base.automation * scale)),
    )


EVENTS = Path(__file__).resolve().parent.parent / "events"
COLLECTOR_MAX_ITEMS = 100  # inline/collector.py's MAX_ITEMS: items reported per KPI


@cache
def _sample(name: str) -> str:
    return (EVENTS / name).read_text()


def heartbeat(
    account: str, at: datetime, interval_minutes: int, rng: random.Random
) -> dict[str, Any]:
    """A workload stack's heartbeat as its schedule puts it (events/heartbeat.json's shape)."""
    sample: dict[str, Any] = json.loads(_sample("heartbeat.json"))
    return sample | {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "account": account,
        "time": _iso(at),
        "region": REGION,
        "resources": [
            f"arn:aws:scheduler:{REGION}:{account}:schedule/default/sagewatch-workload-heartbeat"
        ],
        "detail": sample["detail"] | {"interval_minutes": interval_minutes,
                                      "project": f"project-{account[-2:]}"},
    }  # fmt: skip


def snapshot(
    fleet: Fleet, account: str, at: datetime, trigger: str, request_id: str | None,
    rng: random.Random,
) -> dict[str, Any]:  # fmt: skip
    """What the inventory collector would report for `account` at `at` (the shape of
    events/inventory-snapshot.json): its endpoints, its running jobs (at most MAX_ITEMS items
    each), and the jobs finished in the last 24 hours."""
    sample: dict[str, Any] = json.loads(_sample("inventory-snapshot.json"))
    runs = fleet.runs_of(account)

    def items(kind: str) -> dict[str, Any]:
        running = [r for r in runs if r.kind == kind and r.start <= at < r.end]
        listed = [
            {"name": r.name, "instance_type": r.instance_type, "instance_count": r.instance_count}
            for r in running[:COLLECTOR_MAX_ITEMS]
        ]
        return {"count": len(running), "items": listed, "truncated": len(running) > len(listed)}

    finished = [r for r in runs if r.kind == "training" and at - timedelta(days=1) < r.end <= at]
    endpoints = [
        {"name": name, "variants": [{"name": "AllTraffic", "instance_type": kind,
                                     "instance_count": 1, "serverless": False}]}
        for name, kind in fleet.endpoints.get(account, [])
    ]  # fmt: skip
    kpis = sample["detail"]["kpis"] | {
        "endpoints_in_service": {"count": len(endpoints), "items": endpoints, "truncated": False},
        "running_training_jobs": items("training"),
        "running_processing_jobs": items("processing"),
        "training_jobs_completed_24h": {"count": sum(not r.failed for r in finished), "items": []},
        "training_jobs_failed_24h": {"count": sum(r.failed for r in finished), "items": []},
    }
    return sample | {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "account": account,
        "time": _iso(at),
        "region": REGION,
        "detail": sample["detail"] | {
            "project": f"project-{account[-2:]}", "collected_at": _iso(at), "trigger": trigger,
            "request_id": request_id, "kpis": kpis,
        },
    }  # fmt: skip
