"""sagewatch inventory collector: one "SageMaker Inventory Snapshot" event per run.

Inline code of workload-template.yaml (InventoryCollectorFunction), so the template stays
self-contained for StackSets: `make generate` writes this file into the template's `ZipFile`.
Each KPI class declares the IAM actions its calls need; a test holds the function's role to
exactly their union. Every List call is paginated; Describe calls are made only for the items
reported (at most MAX_ITEMS per KPI).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

SCHEMA_VERSION = 1
SOURCE = "sagewatch.inventory"
DETAIL_TYPE = "SageMaker Inventory Snapshot"
REFRESH_SOURCE = "sagewatch.monitoring"
REFRESH_DETAIL_TYPE = "Inventory Refresh Requested"
MAX_ITEMS = 100  # items reported per KPI, and the most Describe calls one KPI makes per run
MAX_DETAIL_BYTES = 200_000  # an event is at most 256 KB: stay far below
PAGE_SIZE = 100  # the largest MaxResults these List calls accept
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=30)

log = logging.getLogger("sagewatch.collector")
log.setLevel(logging.INFO)

REGISTRY: dict[str, type[Kpi]] = {}
_clients: dict[str, Any] = {}
Item = dict[str, Any]


def kpi(cls: type[Kpi]) -> type[Kpi]:
    """Register a KPI class under its name; a name registered twice is a bug."""
    if cls.name in REGISTRY:
        raise ValueError(f"KPI {cls.name} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def iso(value: Any) -> Any:
    """ISO-8601 UTC with a Z, e.g. 2026-11-20T09:41:00Z (None stays None)."""
    if not isinstance(value, datetime):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def paginate(client: Any, operation: str, key: str, **params: Any) -> Iterator[Item]:
    """Every item of a List call: boto3's paginator follows NextToken to the last page."""
    paginator = client.get_paginator(operation)
    for page in paginator.paginate(**params, PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page.get(key, [])


def not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in (
        "ValidationException",
        "ResourceNotFound",
    )


def hardware(resources: Item) -> Item:
    """instance_type, instance_count and (heterogeneous clusters only) instance_groups."""
    groups = [
        {"instance_type": g.get("InstanceType"), "instance_count": g.get("InstanceCount", 0)}
        for g in resources.get("InstanceGroups") or []
    ]
    if groups:
        count = sum(g["instance_count"] for g in groups)
        return {"instance_type": None, "instance_count": count, "instance_groups": groups}
    return {
        "instance_type": resources.get("SelectedInstanceType") or resources.get("InstanceType"),
        "instance_count": resources.get("SelectedInstanceCount")
        or resources.get("InstanceCount", 0),
    }


class Kpi:
    """One number (and up to MAX_ITEMS items) about this account's SageMaker resources."""

    name = ""
    actions: tuple[str, ...] = ()  # the IAM actions every call below needs

    def summaries(self, sagemaker: Any, now: datetime) -> Iterable[Item]:
        """Every matching List entry, all pages."""
        raise NotImplementedError

    def item(self, sagemaker: Any, summary: Item) -> Item:
        """What the snapshot reports about one entry (may Describe it)."""
        raise NotImplementedError

    def collect(self, sagemaker: Any, now: datetime) -> Item:
        count = 0
        items: list[Item] = []
        for summary in self.summaries(sagemaker, now):
            if len(items) < MAX_ITEMS:
                try:
                    items.append(self.item(sagemaker, summary))
                except ClientError as error:
                    if not not_found(error):
                        raise
                    continue  # gone between List and Describe: no longer counts
            count += 1
        return {"count": count, "items": items, "truncated": count > len(items)}


@kpi
class EndpointsInService(Kpi):
    name = "endpoints_in_service"
    actions = (
        "sagemaker:ListEndpoints",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:ListTags",
    )

    def summaries(self, sagemaker: Any, now: datetime) -> Iterable[Item]:
        return paginate(sagemaker, "list_endpoints", "Endpoints", StatusEquals="InService")

    def item(self, sagemaker: Any, summary: Item) -> Item:
        endpoint = sagemaker.describe_endpoint(EndpointName=summary["EndpointName"])
        try:
            config = sagemaker.describe_endpoint_config(
                EndpointConfigName=endpoint["EndpointConfigName"]
            )
        except ClientError as error:
            if not not_found(error):
                raise
            config = {}  # a config can be deleted while its endpoint keeps serving
        specs = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
        variants = []
        for variant in endpoint.get("ProductionVariants", []):
            spec = specs.get(variant["VariantName"], {})
            serverless = bool(
                variant.get("CurrentServerlessConfig") or spec.get("ServerlessConfig")
            )
            variants.append(
                {
                    "name": variant["VariantName"],
                    "instance_type": None if serverless else spec.get("InstanceType"),
                    "instance_count": 0 if serverless else variant.get("CurrentInstanceCount", 0),
                    "serverless": serverless,
                }
            )
        # What it asks of its health alerts (its limits, silence, severity): sagewatch:* tags.
        tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
        ours = {t["Key"]: t["Value"][:64] for t in tags if t["Key"].startswith("sagewatch:")}
        return {"name": summary["EndpointName"], "variants": variants, "tags": ours}


@kpi
class RunningTrainingJobs(Kpi):
    name = "running_training_jobs"
    actions = ("sagemaker:ListTrainingJobs", "sagemaker:DescribeTrainingJob")

    def summaries(self, sagemaker: Any, now: datetime) -> Iterable[Item]:
        return paginate(
            sagemaker, "list_training_jobs", "TrainingJobSummaries", StatusEquals="InProgress"
        )

    def item(self, sagemaker: Any, summary: Item) -> Item:
        job = sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        return {
            "name": summary["TrainingJobName"],
            "created_at": iso(summary.get("CreationTime")),
            **hardware(job.get("ResourceConfig") or {}),
        }


@kpi
class RunningProcessingJobs(Kpi):
    name = "running_processing_jobs"
    actions = ("sagemaker:ListProcessingJobs", "sagemaker:DescribeProcessingJob")

    def summaries(self, sagemaker: Any, now: datetime) -> Iterable[Item]:
        return paginate(
            sagemaker, "list_processing_jobs", "ProcessingJobSummaries", StatusEquals="InProgress"
        )

    def item(self, sagemaker: Any, summary: Item) -> Item:
        job = sagemaker.describe_processing_job(ProcessingJobName=summary["ProcessingJobName"])
        cluster = (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
        return {
            "name": summary["ProcessingJobName"],
            "created_at": iso(summary.get("CreationTime")),
            **hardware(cluster),
        }


class FinishedTrainingJobs(Kpi):
    """Training jobs that ended in the 24 hours before `now`, in one of `statuses`."""

    actions = ("sagemaker:ListTrainingJobs",)
    statuses: tuple[str, ...] = ()

    def counts(self, summary: Item) -> bool:
        return True

    def summaries(self, sagemaker: Any, now: datetime) -> Iterable[Item]:
        since = now - timedelta(hours=24)
        for status in self.statuses:
            for summary in paginate(
                sagemaker,
                "list_training_jobs",
                "TrainingJobSummaries",
                StatusEquals=status,
                LastModifiedTimeAfter=since,
            ):
                ended = summary.get("TrainingEndTime") or summary.get("LastModifiedTime")
                if ended is not None and ended >= since and self.counts(summary):
                    yield summary

    def item(self, sagemaker: Any, summary: Item) -> Item:
        return {
            "name": summary["TrainingJobName"],
            "status": summary.get("TrainingJobStatus"),
            "secondary_status": summary.get("SecondaryStatus"),
            "ended_at": iso(summary.get("TrainingEndTime") or summary.get("LastModifiedTime")),
        }


@kpi
class TrainingJobsCompleted24h(FinishedTrainingJobs):
    name = "training_jobs_completed_24h"
    statuses = ("Completed",)


@kpi
class TrainingJobsFailed24h(FinishedTrainingJobs):
    """Failed, and stopped by SageMaker at the maximum runtime or spot wait (a failure
    to the user, not a stop: the same rule as the alerter's)."""

    name = "training_jobs_failed_24h"
    statuses = ("Failed", "Stopped")

    def counts(self, summary: Item) -> bool:
        stopped_by_sagemaker = ("MaxRuntimeExceeded", "MaxWaitTimeExceeded")  # generated
        failed = summary.get("TrainingJobStatus") == "Failed"
        return failed or summary.get("SecondaryStatus") in stopped_by_sagemaker


@kpi
class StudioAppsInService(Kpi):
    name = "studio_apps_in_service"
    actions = ("sagemaker:ListApps",)

    def summaries(self, sagemaker: Any, now: datetime) -> Iterable[Item]:
        # ListApps has no status filter: every app is listed, only InService ones count.
        return (
            a for a in paginate(sagemaker, "list_apps", "Apps") if a.get("Status") == "InService"
        )

    def item(self, sagemaker: Any, summary: Item) -> Item:
        return {
            "name": summary.get("AppName"),
            "app_type": summary.get("AppType"),
            "domain_id": summary.get("DomainId"),
            "user_profile": summary.get("UserProfileName"),
            "space": summary.get("SpaceName"),
            "instance_type": (summary.get("ResourceSpec") or {}).get("InstanceType"),
        }


@kpi
class NotebookInstancesInService(Kpi):
    name = "notebook_instances_in_service"
    actions = ("sagemaker:ListNotebookInstances",)

    def summaries(self, sagemaker: Any, now: datetime) -> Iterable[Item]:
        return paginate(
            sagemaker, "list_notebook_instances", "NotebookInstances", StatusEquals="InService"
        )

    def item(self, sagemaker: Any, summary: Item) -> Item:
        return {
            "name": summary["NotebookInstanceName"],
            "instance_type": summary.get("InstanceType"),
        }


def describe_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        text = f"{details.get('Code', 'ClientError')}: {details.get('Message', '')}"
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:500]


def collect(
    sagemaker: Any, now: datetime, names: Iterable[str] | None = None
) -> tuple[dict[str, Item], dict[str, str]]:
    """(kpis, errors): every registered KPI (or those named); one failing loses no other."""
    kpis: dict[str, Item] = {}
    errors: dict[str, str] = {}
    for name, cls in REGISTRY.items():
        if names is not None and name not in names:
            continue
        try:
            kpis[name] = cls().collect(sagemaker, now)
        except Exception as error:  # one KPI's fault must not lose the others
            errors[name] = describe_error(error)
            log.warning("KPI %s failed: %s", name, errors[name])
    return kpis, errors


def size(detail: Any) -> int:
    return len(json.dumps(detail, separators=(",", ":")).encode())


def fit(detail: Item, limit: int = MAX_DETAIL_BYTES) -> Item:
    """Halve the largest KPI's items until the detail fits `limit` bytes (counts stay)."""
    while size(detail) > limit:
        largest = max(detail["kpis"].values(), key=lambda k: size(k["items"]), default=None)
        if largest is None or not largest["items"]:
            break
        largest["items"] = largest["items"][: len(largest["items"]) // 2]
        largest["truncated"] = True
    return detail


def forwarding_dead_letters(sqs: Any, queue_url: str) -> int:
    """Events this account could not forward to the monitoring bus, waiting in its forwarding
    dead-letter queue: reported with every snapshot, so the monitoring account alerts on them
    without an alarm (and its monthly charge) in every workload account."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def snapshot(
    sagemaker: Any,
    *,
    project: str,
    environment: str,
    trigger: str,
    request_id: str | None,
    now: datetime,
    names: Iterable[str] | None = None,
    dead_letters: Callable[[], int] | None = None,
    alias: Callable[[], str | None] | None = None,
    team_tag_key: str | None = None,
    automation: Callable[[str], dict[str, dict[str, str]]] | None = None,
) -> Item:
    kpis, errors = collect(sagemaker, now, names)
    waiting = _besides(dead_letters, "forwarding_dead_letters", errors)
    name = _besides(alias, "account_alias", errors)
    owners = _besides(
        (lambda: teams(sagemaker, team_tag_key)) if team_tag_key else None, "teams", errors
    )
    runs = _besides(
        (lambda: automation(team_tag_key)) if team_tag_key and automation else None,
        "automation_teams",
        errors,
    )
    if runs is not None:
        owners = (owners or {}) | runs
    return fit(
        {
            "schema_version": SCHEMA_VERSION,
            "project": project,
            "environment": environment,
            "collected_at": iso(now),
            "trigger": trigger,
            "request_id": request_id,
            "kpis": kpis,
            "errors": errors,
            "forwarding_dead_letters": waiting,
            "account_alias": name,
            "teams": owners,
        }
    )


def _besides(read: Callable[[], Any] | None, field: str, errors: dict[str, str]) -> Any:
    """A value sent besides the KPIs; its failure is named in `errors`, the KPIs still go out."""
    if read is None:
        return None
    try:
        return read()
    except Exception as error:
        errors[field] = describe_error(error)
        return None


# Who owns an endpoint or a pipeline, by its team tag: a pipeline's events carry no tags, and
# an idle endpoint is known from this snapshot alone. SageMaker Search reads the tags of up to
# 100 resources a call; the MAX_ITEMS most recently modified of each kind are reported.
OWNED = {"endpoint": ("Endpoint", "EndpointName"), "pipeline": ("Pipeline", "PipelineName")}
TEAMS_ACTIONS = ("sagemaker:Search", "tag:GetResources")  # for the automation's below
TEAM_CHARS = 64  # what an alert shows of a team (a tag value may be 256 characters)


def teams(sagemaker: Any, tag_key: str) -> dict[str, dict[str, str]]:
    """kind → {name: team} for the endpoints and pipelines tagged with `tag_key`."""
    found: dict[str, dict[str, str]] = {}
    for kind, (resource, name_field) in OWNED.items():
        owners = found[kind] = {}
        pages = sagemaker.get_paginator("search").paginate(
            Resource=resource,
            SearchExpression={"Filters": [{"Name": f"Tags.{tag_key}", "Operator": "Exists"}]},
            PaginationConfig={"PageSize": PAGE_SIZE, "MaxItems": MAX_ITEMS},
        )
        for page in pages:
            for record in page.get("Results", []):
                item = record.get(resource) or {}
                tags = {t.get("Key"): t.get("Value") for t in item.get("Tags") or []}
                if item.get(name_field) and tags.get(tag_key):
                    owners[item[name_field]] = str(tags[tag_key])[:TEAM_CHARS]
    return found


# Who owns an ML automation run (its events carry no tags either): its state machine's,
# pipeline's or CodeBuild project's team tag, the three in one paginated GetResources, for the
# names starting with the prefix the workload stack forwards.
AUTOMATION = {
    "states": ("state-machine", "stateMachine:"),
    "codepipeline": ("codepipeline", ""),
    "codebuild": ("codebuild", "project/"),
}
AUTOMATION_TYPES = ["states:stateMachine", "codepipeline", "codebuild:project"]


def automation_teams(tagging: Any, tag_key: str, prefix: str) -> dict[str, dict[str, str]]:
    """kind → {name: team} for the ML platform's state machines, pipelines and projects."""
    found: dict[str, dict[str, str]] = {kind: {} for kind, _ in AUTOMATION.values()}
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": tag_key}], ResourceTypeFilters=AUTOMATION_TYPES
    )
    for page in pages:
        for mapping in page.get("ResourceTagMappingList", []):
            parts = str(mapping.get("ResourceARN", "")).split(":", 5)
            if len(parts) < 6 or parts[2] not in AUTOMATION:
                continue
            kind, head = AUTOMATION[parts[2]]
            name = parts[5].removeprefix(head)
            tags = {t.get("Key"): t.get("Value") for t in mapping.get("Tags") or []}
            owners = found[kind]
            if (
                parts[5].startswith(head)
                and ":" not in name  # a webhook or a custom action, not a pipeline
                and name.startswith(prefix)
                and tags.get(tag_key)
                and len(owners) < MAX_ITEMS
            ):
                owners[name] = str(tags[tag_key])[:TEAM_CHARS]
    return found


def account_alias(iam: Any) -> str | None:
    """The account's alias, the name people know it by (None without one)."""
    aliases: list[str] = iam.list_account_aliases().get("AccountAliases", [])
    return aliases[0] if aliases else None


def publish(events: Any, detail: Item) -> str | None:
    """Put the snapshot on this account's default bus (a rule forwards it); its event id."""
    response = events.put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(detail, separators=(",", ":")),
                "EventBusName": "default",
            }
        ]
    )
    entry = response["Entries"][0]
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"PutEvents rejected the snapshot: {entry.get('ErrorCode')}")
    event_id: str | None = entry.get("EventId")
    return event_id


def trigger_of(event: Any) -> tuple[str, str | None]:
    """("refresh", request id or None) for a refresh request, else ("schedule", None)."""
    if (
        isinstance(event, dict)
        and event.get("source") == REFRESH_SOURCE
        and event.get("detail-type") == REFRESH_DETAIL_TYPE
    ):
        request_id = (event.get("detail") or {}).get("request_id")
        if isinstance(request_id, str) and REQUEST_ID.match(request_id):
            return "refresh", request_id
        return "refresh", None
    return "schedule", None


def client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name, config=CONFIG)  # type: ignore[call-overload]
    return _clients[name]


def handler(event: Any, context: Any) -> Item:
    trigger, request_id = trigger_of(event)
    detail = snapshot(
        client("sagemaker"),
        project=os.environ.get("SAGEWATCH_PROJECT") or "unknown",
        environment=os.environ.get("SAGEWATCH_ENVIRONMENT") or "unknown",
        trigger=trigger,
        request_id=request_id,
        now=datetime.now(UTC),
        dead_letters=(lambda: forwarding_dead_letters(client("sqs"), queue_url))
        if (queue_url := os.environ.get("FORWARDING_DEAD_LETTER_QUEUE_URL"))
        else None,
        alias=lambda: account_alias(client("iam")),
        team_tag_key=os.environ.get("TEAM_TAG_KEY") or None,
        automation=(lambda key: automation_teams(client("resourcegroupstaggingapi"), key, prefix))
        if (prefix := os.environ.get("ML_AUTOMATION_PREFIX"))
        else None,
    )
    event_id = publish(client("events"), detail)
    result = {
        "event_id": event_id,
        "trigger": trigger,
        "request_id": request_id,
        "counts": {name: k["count"] for name, k in detail["kpis"].items()},
        "errors": detail["errors"],
        "bytes": size(detail),
    }
    log.info(json.dumps(result))
    return result
