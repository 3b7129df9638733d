"""The inventory collector's KPIs, run from workload-template.yaml's inline code: every List call
paginated over more than 100 items (moto where it can create the resources in the status a KPI
counts; botocore Stubber with multi-page answers where it cannot), Describe calls bounded to the
items reported, one failing KPI losing no other, and the snapshot kept far below 256 KB."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from sagewatch import spoke
from shared.domain.vocabulary import TRAINING

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/model:latest"
NOW = datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
SECRET = "hunter2-do-not-leak"
EVENT_LIMIT = 256 * 1024


@pytest.fixture
def collector() -> ModuleType:
    return spoke.load_collector()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def offline() -> Any:
    """A client that never reaches AWS (for Stubber)."""
    return boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def calls(client: Any) -> Counter[str]:
    """Operation name → number of calls made with `client` from now on."""
    counter: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        counter[model.name] += 1

    client.meta.events.register("before-call.sagemaker", record)
    return counter


def answer(
    client: Any, operation: str, status: int, body: dict[str, Any] | Callable[[], dict[str, Any]]
) -> None:
    """Answer `operation` with `body` instead of calling the service (botocore raises the error
    for a status >= 300 exactly as for a real answer)."""

    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = body() if callable(body) else body
        return AWSResponse("https://sagemaker", status, {}, None), {
            **parsed,
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    client.meta.events.register(f"before-call.sagemaker.{operation}", respond)


def deny(client: Any, operation: str) -> str:
    message = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/collector/fn is not authorized to perform: "
        f"sagemaker:{operation} because no identity-based policy allows the action"
    )
    answer(client, operation, 400, {"Error": {"Code": "AccessDeniedException", "Message": message}})
    return f"AccessDeniedException: {message}"


# ---- moto: creating the resources ------------------------------------------------------------


def create_endpoint(sagemaker: Any, name: str, variants: list[dict[str, Any]]) -> None:
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{"ModelName": name, **variant} for variant in variants],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def create_training_job(sagemaker: Any, name: str) -> None:
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={"api_key": SECRET},
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


PROVISIONED = {
    "VariantName": "AllTraffic",
    "InstanceType": "ml.m5.large",
    "InitialInstanceCount": 2,
}


def test_given_120_endpoints_in_service_when_collected_then_all_count_and_100_are_described(
    collector: ModuleType, sagemaker: Any
) -> None:
    names = {f"endpoint-{i:03d}" for i in range(120)}
    for name in sorted(names):
        create_endpoint(sagemaker, name, [PROVISIONED])
    made = calls(sagemaker)

    kpis, errors = collector.collect(sagemaker, NOW, {"endpoints_in_service"})

    assert errors == {}
    result = kpis["endpoints_in_service"]
    assert (result["count"], len(result["items"]), result["truncated"]) == (120, 100, True)
    assert len({item["name"] for item in result["items"]}) == 100
    assert {item["name"] for item in result["items"]} <= names
    assert all(
        item["variants"]
        == [
            {
                "name": "AllTraffic",
                "instance_type": "ml.m5.large",
                "instance_count": 2,
                "serverless": False,
            }
        ]
        for item in result["items"]
    )
    # Two pages of at most 100; a Describe pair and a ListTags per reported endpoint, none for
    # the rest.
    assert made == {
        "ListEndpoints": 2,
        "DescribeEndpoint": 100,
        "DescribeEndpointConfig": 100,
        "ListTags": 100,
    }
    assert all(item["tags"] == {} for item in result["items"])


def test_given_an_endpoint_with_tags_when_collected_then_only_sagewatchs_own_are_reported(
    collector: ModuleType, sagemaker: Any
) -> None:
    create_endpoint(sagemaker, "ranker", [PROVISIONED])
    arn = sagemaker.describe_endpoint(EndpointName="ranker")["EndpointArn"]
    sagemaker.add_tags(
        ResourceArn=arn,
        Tags=[
            {"Key": "sagewatch:max-latency-ms", "Value": "250"},
            {"Key": "sagewatch:silence", "Value": "y" * 100},
            {"Key": "db-password", "Value": SECRET},
        ],
    )

    kpis, _ = collector.collect(sagemaker, NOW, {"endpoints_in_service"})

    (item,) = kpis["endpoints_in_service"]["items"]
    assert item["tags"] == {"sagewatch:max-latency-ms": "250", "sagewatch:silence": "y" * 64}
    assert SECRET not in json.dumps(kpis)


def test_given_mixed_endpoints_when_collected_then_each_variant_says_what_it_runs_on(
    collector: ModuleType, sagemaker: Any
) -> None:
    create_endpoint(
        sagemaker,
        "realtime",
        [
            {"VariantName": "blue", "InstanceType": "ml.g4dn.xlarge", "InitialInstanceCount": 3},
            {"VariantName": "green", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
        ],
    )
    create_endpoint(
        sagemaker,
        "serverless",
        [
            {
                "VariantName": "AllTraffic",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    create_endpoint(sagemaker, "orphan", [PROVISIONED])
    # A config can be deleted while its endpoint keeps serving.
    sagemaker.delete_endpoint_config(EndpointConfigName="orphan-config")

    kpis, errors = collector.collect(sagemaker, NOW, {"endpoints_in_service"})

    assert errors == {}
    items = {item["name"]: item["variants"] for item in kpis["endpoints_in_service"]["items"]}
    assert items == {
        "realtime": [
            {
                "name": "blue",
                "instance_type": "ml.g4dn.xlarge",
                "instance_count": 3,
                "serverless": False,
            },
            {
                "name": "green",
                "instance_type": "ml.m5.large",
                "instance_count": 1,
                "serverless": False,
            },
        ],
        "serverless": [
            {"name": "AllTraffic", "instance_type": None, "instance_count": 0, "serverless": True}
        ],
        "orphan": [
            {"name": "AllTraffic", "instance_type": None, "instance_count": 2, "serverless": False}
        ],
    }
    assert kpis["endpoints_in_service"]["truncated"] is False


def test_given_120_notebook_instances_some_stopped_when_collected_then_in_service_ones_count(
    collector: ModuleType, sagemaker: Any
) -> None:
    for i in range(120):
        sagemaker.create_notebook_instance(
            NotebookInstanceName=f"notebook-{i:03d}",
            InstanceType="ml.t3.medium" if i % 2 else "ml.p3.2xlarge",
            RoleArn=ROLE,
        )
    for i in range(0, 120, 17):  # 8 stopped
        sagemaker.stop_notebook_instance(NotebookInstanceName=f"notebook-{i:03d}")
    made = calls(sagemaker)

    kpis, errors = collector.collect(sagemaker, NOW, {"notebook_instances_in_service"})

    assert errors == {}
    result = kpis["notebook_instances_in_service"]
    assert (result["count"], len(result["items"]), result["truncated"]) == (112, 100, True)
    for item in result["items"]:
        number = int(item["name"].rsplit("-", 1)[1])
        assert number % 17 != 0, "a stopped notebook was reported"
        assert item == {
            "name": item["name"],
            "instance_type": "ml.t3.medium" if number % 2 else "ml.p3.2xlarge",
        }
    assert made == {"ListNotebookInstances": 2}


def test_given_120_training_jobs_completed_today_when_collected_then_all_count_within_24h(
    collector: ModuleType, sagemaker: Any
) -> None:
    for i in range(120):
        create_training_job(sagemaker, f"train-{i:03d}")
    now = datetime.now(UTC)
    made = calls(sagemaker)

    kpis, errors = collector.collect(sagemaker, now, {"training_jobs_completed_24h"})

    assert errors == {}
    result = kpis["training_jobs_completed_24h"]
    assert (result["count"], len(result["items"]), result["truncated"]) == (120, 100, True)
    assert made == {"ListTrainingJobs": 2}
    item = result["items"][0]
    assert set(item) == {"name", "status", "secondary_status", "ended_at"}
    assert item["status"] == "Completed"
    assert datetime.strptime(item["ended_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert SECRET not in json.dumps(result)

    later, _ = collector.collect(
        sagemaker, now + timedelta(days=2), {"training_jobs_completed_24h"}
    )
    assert later["training_jobs_completed_24h"] == {"count": 0, "items": [], "truncated": False}


# ---- Stubber: states moto cannot create (running jobs, Studio apps, failures) ----------------


def training_summary(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": arn("training-job", name),
        "CreationTime": NOW - timedelta(hours=2),
        "TrainingJobStatus": status,
        **extra,
    }


def described_training_job(name: str, resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": arn("training-job", name),
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "CreationTime": NOW - timedelta(hours=2),
        "HyperParameters": {"api_key": SECRET},
        "Environment": {"TOKEN": SECRET},
        "ResourceConfig": {"VolumeSizeInGB": 50, **resources},
    }


def pages(items: list[Any], size: int = 100) -> list[tuple[list[Any], str | None, str | None]]:
    """(page items, token sent for it, token returned) for every page of `items`."""
    chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
    tokens = [None] + [f"token-{i}" for i in range(1, len(chunks))] + [None]
    return [(chunk, tokens[i], tokens[i + 1]) for i, chunk in enumerate(chunks)]


def test_given_230_running_training_jobs_on_3_pages_when_collected_then_100_are_described(
    collector: ModuleType, offline: Any
) -> None:
    names = [f"train-{i:03d}" for i in range(230)]
    resources = {name: {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2} for name in names}
    resources[names[0]] = {
        "InstanceGroups": [
            {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
            {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.18xlarge", "InstanceCount": 4},
        ]
    }
    resources[names[1]] = {"SelectedInstanceType": "ml.g5.12xlarge", "SelectedInstanceCount": 1}
    with Stubber(offline) as stub:
        for chunk, sent, returned in pages(names):
            expected = {"StatusEquals": "InProgress", "MaxResults": 100}
            stub.add_response(
                "list_training_jobs",
                {
                    "TrainingJobSummaries": [training_summary(n, "InProgress") for n in chunk],
                    **({"NextToken": returned} if returned else {}),
                },
                {**expected, **({"NextToken": sent} if sent else {})},
            )
            for name in chunk:
                if names.index(name) < 100:
                    stub.add_response(
                        "describe_training_job",
                        described_training_job(name, resources[name]),
                        {"TrainingJobName": name},
                    )

        kpis, errors = collector.collect(offline, NOW, {"running_training_jobs"})
        stub.assert_no_pending_responses()

    assert errors == {}
    result = kpis["running_training_jobs"]
    assert (result["count"], len(result["items"]), result["truncated"]) == (230, 100, True)
    assert result["items"][0] == {
        "name": "train-000",
        "created_at": "2026-11-20T07:41:00Z",
        "instance_type": None,
        "instance_count": 6,
        "instance_groups": [
            {"instance_type": "ml.p4d.24xlarge", "instance_count": 2},
            {"instance_type": "ml.c5.18xlarge", "instance_count": 4},
        ],
    }
    assert result["items"][1]["instance_type"] == "ml.g5.12xlarge"
    assert result["items"][2] == {
        "name": "train-002",
        "created_at": "2026-11-20T07:41:00Z",
        "instance_type": "ml.p4d.24xlarge",
        "instance_count": 2,
    }
    assert SECRET not in json.dumps(result)


def test_given_105_running_processing_jobs_on_2_pages_when_collected_then_all_count(
    collector: ModuleType, offline: Any
) -> None:
    names = [f"process-{i:03d}" for i in range(105)]
    with Stubber(offline) as stub:
        for chunk, sent, returned in pages(names):
            stub.add_response(
                "list_processing_jobs",
                {
                    "ProcessingJobSummaries": [
                        {
                            "ProcessingJobName": n,
                            "ProcessingJobArn": arn("processing-job", n),
                            "CreationTime": NOW - timedelta(minutes=30),
                            "ProcessingJobStatus": "InProgress",
                        }
                        for n in chunk
                    ],
                    **({"NextToken": returned} if returned else {}),
                },
                {"StatusEquals": "InProgress", "MaxResults": 100}
                | ({"NextToken": sent} if sent else {}),
            )
            for name in chunk:
                if names.index(name) < 100:
                    stub.add_response(
                        "describe_processing_job",
                        {
                            "ProcessingJobName": name,
                            "ProcessingJobArn": arn("processing-job", name),
                            "ProcessingResources": {
                                "ClusterConfig": {
                                    "InstanceCount": 3,
                                    "InstanceType": "ml.m5.4xlarge",
                                    "VolumeSizeInGB": 30,
                                }
                            },
                            "AppSpecification": {"ImageUri": IMAGE},
                            "Environment": {"DB_PASSWORD": SECRET},
                            "ProcessingJobStatus": "InProgress",
                            "CreationTime": NOW - timedelta(minutes=30),
                        },
                        {"ProcessingJobName": name},
                    )

        kpis, errors = collector.collect(offline, NOW, {"running_processing_jobs"})
        stub.assert_no_pending_responses()

    assert errors == {}
    result = kpis["running_processing_jobs"]
    assert (result["count"], len(result["items"]), result["truncated"]) == (105, 100, True)
    assert result["items"][99] == {
        "name": "process-099",
        "created_at": "2026-11-20T09:11:00Z",
        "instance_type": "ml.m5.4xlarge",
        "instance_count": 3,
    }
    assert SECRET not in json.dumps(result)


def test_given_250_studio_apps_on_3_pages_when_collected_then_only_in_service_ones_count(
    collector: ModuleType, offline: Any
) -> None:
    statuses = ["InService", "Deleted", "InService", "Pending", "InService", "Failed"]
    apps = [
        {
            "DomainId": "d-abc123def456",
            "UserProfileName": f"user-{i}" if i % 2 else None,
            "SpaceName": None if i % 2 else f"space-{i}",
            "AppType": "JupyterLab" if i % 3 else "KernelGateway",
            "AppName": f"app-{i:03d}",
            "Status": statuses[i % len(statuses)],
            "ResourceSpec": {"InstanceType": "ml.g5.2xlarge"},
        }
        for i in range(250)
    ]
    in_service = [a for a in apps if a["Status"] == "InService"]
    with Stubber(offline) as stub:
        for chunk, sent, returned in pages(apps):
            stub.add_response(
                "list_apps",
                {
                    "Apps": [{k: v for k, v in a.items() if v is not None} for a in chunk],
                    **({"NextToken": returned} if returned else {}),
                },
                {"MaxResults": 100} | ({"NextToken": sent} if sent else {}),
            )

        kpis, errors = collector.collect(offline, NOW, {"studio_apps_in_service"})
        stub.assert_no_pending_responses()

    assert errors == {}
    result = kpis["studio_apps_in_service"]
    assert (result["count"], len(result["items"]), result["truncated"]) == (125, 100, True)
    assert [item["name"] for item in result["items"]] == [a["AppName"] for a in in_service[:100]]
    assert result["items"][0] == {
        "name": "app-000",
        "app_type": "KernelGateway",
        "domain_id": "d-abc123def456",
        "user_profile": None,
        "space": "space-0",
        "instance_type": "ml.g5.2xlarge",
    }


def test_given_failures_of_the_last_day_when_collected_then_max_runtime_stops_count_as_failed(
    collector: ModuleType, offline: Any
) -> None:
    since = NOW - timedelta(hours=24)
    recent = NOW - timedelta(hours=1)
    failed = [
        training_summary(
            f"failed-{i:03d}", "Failed", TrainingEndTime=recent, LastModifiedTime=recent
        )
        for i in range(150)
    ]
    failed.append(  # ended 30 h ago, touched since: not a failure of the last day
        training_summary(
            "failed-old",
            "Failed",
            TrainingEndTime=NOW - timedelta(hours=30),
            LastModifiedTime=recent,
        )
    )
    failed.append(  # failed before it started training: no end time
        training_summary("failed-early", "Failed", LastModifiedTime=NOW - timedelta(hours=3))
    )
    stopped = [
        training_summary(
            "too-long",
            "Stopped",
            SecondaryStatus="MaxRuntimeExceeded",
            TrainingEndTime=recent,
            LastModifiedTime=recent,
        ),
        training_summary(
            "stopped-by-user",
            "Stopped",
            SecondaryStatus="Stopped",
            TrainingEndTime=recent,
            LastModifiedTime=recent,
        ),
    ]
    with Stubber(offline) as stub:
        for status, summaries in (("Failed", failed), ("Stopped", stopped)):
            for chunk, sent, returned in pages(summaries):
                stub.add_response(
                    "list_training_jobs",
                    {
                        "TrainingJobSummaries": chunk,
                        **({"NextToken": returned} if returned else {}),
                    },
                    {"StatusEquals": status, "LastModifiedTimeAfter": since, "MaxResults": 100}
                    | ({"NextToken": sent} if sent else {}),
                )

        kpis, errors = collector.collect(offline, NOW, {"training_jobs_failed_24h"})
        stub.assert_no_pending_responses()

    assert errors == {}
    result = kpis["training_jobs_failed_24h"]
    assert (result["count"], len(result["items"]), result["truncated"]) == (152, 100, True)
    assert result["items"][0] == {
        "name": "failed-000",
        "status": "Failed",
        "secondary_status": None,
        "ended_at": "2026-11-20T08:41:00Z",
    }
    # The items beyond the first 100: counted, not reported; check the filter on a small run.
    small, _ = run_failed(collector, offline, failed[-2:], stopped)
    assert {item["name"] for item in small["items"]} == {"failed-early", "too-long"}


def run_failed(
    collector: ModuleType, client: Any, failed: list[Any], stopped: list[Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    with Stubber(client) as stub:
        for summaries in (failed, stopped):
            stub.add_response("list_training_jobs", {"TrainingJobSummaries": summaries})
        kpis, errors = collector.collect(client, NOW, {"training_jobs_failed_24h"})
    return kpis["training_jobs_failed_24h"], errors


# ---- one KPI failing -------------------------------------------------------------------------


def seed(sagemaker: Any) -> None:
    for i in range(3):
        create_endpoint(sagemaker, f"endpoint-{i}", [PROVISIONED])
    for i in range(5):
        sagemaker.create_notebook_instance(
            NotebookInstanceName=f"notebook-{i}", InstanceType="ml.t3.medium", RoleArn=ROLE
        )
    for i in range(2):
        create_training_job(sagemaker, f"train-{i}")
    # moto has no Studio apps: ListApps is answered here.
    app = {
        "DomainId": "d-1",
        "UserProfileName": "ana",
        "AppType": "JupyterLab",
        "AppName": "default",
        "Status": "InService",
    }
    answer(sagemaker, "ListApps", 200, {"Apps": [app]})


def test_given_a_kpi_denied_when_the_snapshot_is_taken_then_the_others_are_still_reported(
    collector: ModuleType, sagemaker: Any
) -> None:
    seed(sagemaker)
    error = deny(sagemaker, "ListNotebookInstances")

    detail = collector.snapshot(
        sagemaker,
        project="vision",
        environment="prod",
        trigger="schedule",
        request_id=None,
        now=datetime.now(UTC),
    )

    assert detail["errors"] == {"notebook_instances_in_service": error}
    assert "notebook_instances_in_service" not in detail["kpis"]
    counts = {name: kpi["count"] for name, kpi in detail["kpis"].items()}
    assert counts == {
        "endpoints_in_service": 3,
        "running_training_jobs": 0,
        "running_processing_jobs": 0,
        "training_jobs_completed_24h": 2,
        "training_jobs_failed_24h": 0,
        "studio_apps_in_service": 1,
    }


def test_given_a_describe_denied_when_collected_then_only_that_kpi_is_lost(
    collector: ModuleType, sagemaker: Any
) -> None:
    seed(sagemaker)
    error = deny(sagemaker, "DescribeEndpoint")

    kpis, errors = collector.collect(sagemaker, datetime.now(UTC))

    assert errors == {"endpoints_in_service": error}
    assert set(kpis) == set(spoke.KPI_NAMES) - {"endpoints_in_service"}
    assert kpis["notebook_instances_in_service"]["count"] == 5


def test_given_a_kpi_with_a_bug_when_collected_then_its_error_is_named_and_others_reported(
    collector: ModuleType, sagemaker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(sagemaker)

    def broken(self: Any, sagemaker: Any, summary: Any) -> Any:
        raise TypeError("unsupported operand")

    monkeypatch.setattr(collector.REGISTRY["notebook_instances_in_service"], "item", broken)

    kpis, errors = collector.collect(sagemaker, datetime.now(UTC))

    assert errors == {"notebook_instances_in_service": "TypeError: unsupported operand"}
    assert len(kpis) == len(spoke.KPI_NAMES) - 1


# ---- size ------------------------------------------------------------------------------------


def longest(prefix: str) -> str:
    return (prefix + "-" + "x" * 63)[:63]


def worst_case_detail(collector: ModuleType) -> dict[str, Any]:
    """Every KPI full, every name as long as SageMaker allows, ten variants per endpoint."""
    variant = {
        "name": longest("variant"),
        "instance_type": "ml.p4de.24xlarge",
        "instance_count": 40,
        "serverless": False,
    }
    job = {
        "name": longest("job"),
        "created_at": "2026-11-20T09:41:00Z",
        "instance_type": None,
        "instance_count": 12,
        "instance_groups": [{"instance_type": "ml.p4de.24xlarge", "instance_count": 4}] * 3,
    }
    finished = {
        "name": longest("job"),
        "status": "Stopped",
        "secondary_status": "MaxRuntimeExceeded",
        "ended_at": "2026-11-20T09:41:00Z",
    }
    app = {
        "name": longest("app"),
        "app_type": "JupyterLab",
        "domain_id": "d-" + "x" * 61,
        "user_profile": longest("user"),
        "space": longest("space"),
        "instance_type": "ml.g5.48xlarge",
    }
    notebook = {"name": longest("notebook"), "instance_type": "ml.p3.16xlarge"}
    shapes = {
        "endpoints_in_service": {"name": longest("endpoint"), "variants": [variant] * 10},
        "running_training_jobs": job,
        "running_processing_jobs": job,
        "training_jobs_completed_24h": finished,
        "training_jobs_failed_24h": finished,
        "studio_apps_in_service": app,
        "notebook_instances_in_service": notebook,
    }
    return {
        "schema_version": 1,
        "project": longest("project"),
        "environment": longest("environment"),
        "collected_at": "2026-11-20T09:41:00Z",
        "trigger": "refresh",
        "request_id": "r" * 128,
        "kpis": {
            name: {
                "count": 5000,
                "items": [dict(shape) for _ in range(collector.MAX_ITEMS)],
                "truncated": True,
            }
            for name, shape in shapes.items()
        },
        "errors": {},
        # Owning teams: names of SageMaker's longest, teams as the collector cuts them.
        "teams": {kind: longest_owners(collector, length) for kind, length in OWNED_NAME_LENGTHS},
    }


OWNED_NAME_LENGTHS = (("endpoint", 63), ("pipeline", 256))  # SageMaker's longest names


def longest_owners(collector: ModuleType, length: int) -> dict[str, str]:
    team = "t" * collector.TEAM_CHARS
    return {f"{i:03}" + "n" * (length - 3): team for i in range(collector.MAX_ITEMS)}


def test_given_the_largest_possible_snapshot_when_fitted_then_it_stays_far_below_256_kb(
    collector: ModuleType,
) -> None:
    detail = worst_case_detail(collector)
    assert collector.size(detail) > collector.MAX_DETAIL_BYTES  # the case is real

    fitted = collector.fit(detail)

    assert collector.size(fitted) <= collector.MAX_DETAIL_BYTES < EVENT_LIMIT - 20_000
    assert all(kpi["count"] == 5000 and kpi["truncated"] for kpi in fitted["kpis"].values())
    # The largest, halved three times (the owning teams take about 45 KB at most).
    assert len(fitted["kpis"]["endpoints_in_service"]["items"]) == 12
    assert len(fitted["kpis"]["notebook_instances_in_service"]["items"]) == 100


def test_given_a_small_limit_when_fitted_then_the_largest_kpi_is_halved_until_it_fits(
    collector: ModuleType,
) -> None:
    detail = {
        "kpis": {
            "big": {"count": 8, "items": ["x" * 100] * 8, "truncated": False},
            "small": {"count": 2, "items": ["y"] * 2, "truncated": False},
        }
    }

    fitted = collector.fit(detail, limit=450)

    assert fitted["kpis"]["big"] == {"count": 8, "items": ["x" * 100] * 2, "truncated": True}
    assert fitted["kpis"]["small"] == {"count": 2, "items": ["y"] * 2, "truncated": False}
    assert collector.size(fitted) <= 450


@pytest.mark.parametrize("secondary", sorted(TRAINING.stopped_by_sagemaker))
def test_given_a_job_stopped_by_sagemaker_when_counted_then_failed_as_the_alerter_says(
    collector: ModuleType, secondary: str
) -> None:
    kpi = collector.REGISTRY["training_jobs_failed_24h"]()

    assert kpi.counts({"TrainingJobStatus": "Stopped", "SecondaryStatus": secondary})
    assert not kpi.counts({"TrainingJobStatus": "Stopped", "SecondaryStatus": "Stopped"})


def test_given_events_in_the_forwarding_dead_letter_queue_when_snapshot_then_it_reports_them(
    collector: ModuleType, sagemaker: Any
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="sagewatch-forwarding-dlq")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f'{{"id": "event-{n}"}}')

    detail = collector.snapshot(
        sagemaker, project="p", environment="e", trigger="schedule", request_id=None, now=NOW,
        dead_letters=lambda: collector.forwarding_dead_letters(sqs, queue),
    )  # fmt: skip

    assert detail["forwarding_dead_letters"] == 3
    assert "forwarding_dead_letters" not in detail["errors"]


def test_given_the_dead_letter_queue_unreadable_when_snapshot_then_null_and_the_reason(
    collector: ModuleType, sagemaker: Any
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    gone = f"https://sqs.{REGION}.amazonaws.com/123456789012/deleted-queue"

    detail = collector.snapshot(
        sagemaker, project="p", environment="e", trigger="schedule", request_id=None, now=NOW,
        dead_letters=lambda: collector.forwarding_dead_letters(sqs, gone),
    )  # fmt: skip

    assert detail["forwarding_dead_letters"] is None
    assert "NonExistentQueue" in detail["errors"]["forwarding_dead_letters"]
    assert "endpoints_in_service" in detail["kpis"], "the KPIs still go out"


def test_given_an_account_alias_when_the_snapshot_is_taken_then_it_names_the_account(
    collector: ModuleType, sagemaker: Any
) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_account_alias(AccountAlias="vision-prod")

    detail = collector.snapshot(
        sagemaker, project="vision", environment="prod", trigger="schedule", request_id=None,
        now=datetime(2026, 11, 20, 12, tzinfo=UTC), alias=lambda: collector.account_alias(iam),
    )  # fmt: skip

    assert detail["account_alias"] == "vision-prod"
    assert "account_alias" not in detail["errors"]  # (moto has no Studio apps: that KPI fails)


def test_given_the_alias_denied_when_the_snapshot_is_taken_then_the_kpis_still_go_out(
    collector: ModuleType, sagemaker: Any
) -> None:
    def denied() -> str | None:
        raise RuntimeError("AccessDenied: iam:ListAccountAliases")

    detail = collector.snapshot(
        sagemaker, project="vision", environment="prod", trigger="schedule", request_id=None,
        now=datetime(2026, 11, 20, 12, tzinfo=UTC), alias=denied,
    )  # fmt: skip

    assert detail["account_alias"] is None
    assert "AccessDenied" in detail["errors"]["account_alias"]
    assert detail["kpis"]
