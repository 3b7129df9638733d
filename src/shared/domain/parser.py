"""The one tolerant parser from a raw EventBridge event to `SageMakerEvent`.

Every quirk of SageMaker's events is handled here and nowhere else: timestamp encodings,
endpoint status spelling, tag forms, instance groups, camelCase pipeline keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from shared.domain.events import ClusterGroup, ClusterNews, InstanceGroup, SageMakerEvent
from shared.domain.vocabulary import (
    API_CALL_DETAIL_TYPE,
    BY_KIND,
    ENDPOINT,
    ERROR_LEVEL,
    FEATURE_GROUP,
    HEALTHY,
    HUMAN_LOOP,
    HYPERPOD_CLUSTER,
    HYPERPOD_EVENT,
    HYPERPOD_NODE_HEALTH,
    IMAGE,
    IMAGE_VERSION,
    LABELING_JOB,
    MONITORING_SCHEDULE,
    NAMING_REFUSALS,
    NOTEBOOK,
    PIPELINE_EXECUTION,
    PIPELINE_STEP,
    PROCESSING,
    SAGEMAKER_SOURCE,
    TRACKING_SERVER_FAILURES,
    TRAINING,
    TRANSFORM,
    TUNING,
    Family,
    Outcome,
    ResourceKind,
)
from shared.platform.errors import InvalidEvent

MAX_INSTANCE_COUNT = 10_000  # beyond any SageMaker quota; guards the planner's host list
_EPOCH_MILLIS_THRESHOLD = 100_000_000_000  # larger numbers are milliseconds (after 1973 in ms)
_ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
# us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1: a Region names hosts in console links.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]{1,12}){1,3}-\d{1,2}", re.ASCII)
_ISO_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_time(value: Any) -> datetime | None:
    """Epoch seconds or milliseconds (number or numeric string), or ISO-8601 (any precision).

    Tolerant: None for anything else, and for a time no `datetime` holds in UTC (year 1 or
    9999 with an offset), never an error."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return _from_epoch(float(value))
        except OverflowError:  # an int too large for a float
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    text = _ISO_FRACTION.sub(lambda m: m.group(1), text, count=1)  # nanoseconds → microseconds
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not ISO-8601, or out of range once in UTC
        return None


def _from_epoch(number: float) -> datetime | None:
    if number != number or number < 0:  # NaN or negative
        return None
    seconds = number / 1000 if number >= _EPOCH_MILLIS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_tags(value: Any) -> tuple[tuple[str, str], ...]:
    """Tags as a `{key: value}` map, a `[{Key, Value}]` list (either case), or absent."""
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items() if v is not None]
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, Mapping):
                continue
            key = item.get("Key", item.get("key"))
            val = item.get("Value", item.get("value"))
            if key is not None and val is not None:
                pairs.append((str(key), str(val)))
    return tuple(sorted(pairs))


def _instance_groups(config: Any) -> tuple[InstanceGroup, ...]:
    """`ResourceConfig`, `ProcessingResources.ClusterConfig` or `TransformResources`."""
    if not isinstance(config, Mapping):
        return ()
    groups = config.get("InstanceGroups")
    if isinstance(groups, list) and groups:
        found = tuple(
            group
            for raw in groups
            if isinstance(raw, Mapping)
            and (group := _group(raw, name=_text(raw.get("InstanceGroupName")))) is not None
        )
        if (total := sum(group.count for group in found)) > MAX_INSTANCE_COUNT:
            raise InvalidEvent(f"{total} instances in all is implausible (> {MAX_INSTANCE_COUNT})")
        return found
    group = _group(config)
    return (group,) if group else ()


def _group(raw: Mapping[str, Any], name: str | None = None) -> InstanceGroup | None:
    instance_type = _text(raw.get("InstanceType"))
    if instance_type is None:
        return None
    count = _int(raw.get("InstanceCount"))
    if count is not None and count > MAX_INSTANCE_COUNT:
        raise InvalidEvent(f"InstanceCount {count} is implausible (> {MAX_INSTANCE_COUNT})")
    return InstanceGroup(instance_type, count if count and count > 0 else 1, name)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | str):
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return None
    return None


MAX_NAME_LENGTH = 256  # SageMaker names are ≤ 63 characters (pipelines, 256)


def _required_name(detail: Mapping[str, Any], key: str, where: str = "detail") -> str:
    name = detail.get(key)
    if not isinstance(name, str) or not name.strip():
        raise InvalidEvent(f"{where}.{key} is missing or not a string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidEvent(f"{where}.{key} is {len(name)} characters (at most {MAX_NAME_LENGTH})")
    return name


def _name(value: str | None) -> str | None:
    """An optional name: one longer than any SageMaker name is not one (dropped)."""
    return value if value is not None and len(value) <= MAX_NAME_LENGTH else None


def outcome_of(kind: ResourceKind, status: str) -> Outcome:
    """The outcome a status means for a kind of resource (as the parser reads it)."""
    family = BY_KIND.get(kind)
    return family.outcome(status) if family else Outcome.UNKNOWN


def envelope(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Envelope fields every event must carry."""
    fields: dict[str, Any] = {}
    for key, attr in (("id", "event_id"), ("source", "source"), ("detail-type", "detail_type")):
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidEvent(f"envelope field {key!r} is missing or not a string")
        fields[attr] = value
    account, region = raw.get("account"), raw.get("region")
    if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account):
        raise InvalidEvent("envelope field 'account' is not a 12-digit account id")
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise InvalidEvent("envelope field 'region' is not an AWS Region name")
    fields.update(account=account, region=region, time=parse_time(raw.get("time")))
    resources = raw.get("resources")
    fields["resources"] = tuple(
        arn
        for arn in (resources if isinstance(resources, list) else ())[:MAX_RESOURCES]
        if isinstance(arn, str) and 0 < len(arn) <= MAX_ARN_LENGTH
    )
    return fields


MAX_RESOURCES = 10  # SageMaker's events name one
MAX_ARN_LENGTH = 2_048


MAX_EVENT_ID_LENGTH = 256  # EventBridge ids are UUIDs (36 characters)
# SageMaker and CloudTrail events nest about ten levels. Far deeper, str(), repr() and logging
# recurse out of stack (RecursionError) wherever they touch the value: refused at the edge.
MAX_DEPTH = 64


def check_depth(raw: Any, limit: int = MAX_DEPTH) -> Any:
    """`raw` itself, or an `InvalidEvent` if lists and objects nest in it deeper than `limit`."""
    level: list[Any] = [raw] if isinstance(raw, Mapping | list) else []
    depth = 0
    while level:  # a level at a time: every alert pays for this walk, keep it tight
        depth += 1
        if depth > limit and any(level):
            raise InvalidEvent(f"event nests deeper than {limit} levels")
        below: list[Any] = []
        for value in level:
            # Only containers are visited (JSON's are dicts and lists): most of an event is text.
            for child in value if isinstance(value, list) else value.values():
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
    return raw


def load_body(body: Any) -> Any:
    """An SQS message body as JSON: anything else (not text, not JSON, nested too deeply) is an
    `InvalidEvent` with the reason."""
    if not isinstance(body, str):
        raise InvalidEvent(f"message body is a {type(body).__name__}, not text")
    try:
        return check_depth(json.loads(body))
    except RecursionError:  # the decoder recurses once per level
        raise InvalidEvent("message body is nested too deeply to decode") from None
    except ValueError as error:  # JSONDecodeError, or an integer too long to convert
        raise InvalidEvent(f"message body is not JSON: {str(error)[:200]}") from None


def event_id_of(raw: Any) -> str | None:
    """The event's id as text to park and log it by, whatever type it arrived as."""
    value = raw.get("id") if isinstance(raw, Mapping) else None
    if value is None:
        return None
    if isinstance(value, str):
        return value[:MAX_EVENT_ID_LENGTH]
    if isinstance(value, bool | int | float):
        try:
            return str(value)[:MAX_EVENT_ID_LENGTH]
        except ValueError:  # an integer beyond str()'s digit limit
            return f"<{type(value).__name__}>"
    return f"<{type(value).__name__}>"  # a list or object: its repr may be huge or too deep


def detail_of(raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidEvent(f"event is a {type(raw).__name__}, not an object")
    detail = raw.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidEvent(f"detail is a {type(detail).__name__}, not an object")
    return detail


def parse_event(raw: Any) -> SageMakerEvent:
    """Normalize one EventBridge event. Unknown detail-types give kind OTHER, never an error;
    a malformed one is an `InvalidEvent`, whatever is wrong with it."""
    detail = detail_of(raw)
    common = envelope(raw)
    sagemaker = common["source"] == SAGEMAKER_SOURCE
    parse = _PARSERS.get(common["detail_type"], _other) if sagemaker else _other
    try:
        return parse(detail, common)
    except (RecursionError, ValueError, TypeError, OverflowError) as error:
        # A backstop: each field is read tolerantly, but an event must never escape as a crash
        # that fails a whole batch.
        reason = f"{type(error).__name__}: {str(error)[:200]}"
        raise InvalidEvent(f"malformed {common['detail_type'][:100]!r} event: {reason}") from None


def _status(family: Family, detail: Mapping[str, Any]) -> tuple[str, Outcome]:
    """The status in the event spelling, and what it means (the vocabulary's table)."""
    raw = _text(detail.get(family.status_key))
    status = family.normalize(raw) if raw else ""
    return status, family.outcome(status)


def _job(
    family: Family, start_key: str, end_key: str, resources: Callable[[Any], Any]
) -> Callable[[Mapping[str, Any], dict[str, Any]], SageMakerEvent]:
    prefix = family.status_key.removesuffix("Status")  # TrainingJobStatus: TrainingJob...

    def parse(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
        status, outcome = _status(family, detail)
        reason = _text(detail.get("FailureReason")) or _text(detail.get("ExitMessage"))
        schedule, endpoint = _monitoring(detail)
        return SageMakerEvent(
            **common,
            kind=family.kind,
            name=_required_name(detail, f"{prefix}Name"),
            arn=_text(detail.get(f"{prefix}Arn")),
            status=status,
            outcome=outcome,
            secondary_status=_text(detail.get("SecondaryStatus")),
            secondary_since=_transition(detail),
            failure_reason=reason if outcome is not Outcome.SUCCEEDED else None,
            created_at=parse_time(detail.get("CreationTime")),
            started_at=parse_time(detail.get(start_key)),
            ended_at=parse_time(detail.get(end_key)),
            instance_groups=_instance_groups(resources(detail)),
            max_runtime_seconds=_int(_nested("StoppingCondition", "MaxRuntimeInSeconds")(detail)),
            tags=parse_tags(detail.get("Tags")),
            tuning_job_arn=_text(detail.get("TuningJobArn")),
            exit_message=_text(detail.get("ExitMessage")),
            monitoring_schedule=schedule,
            monitored_endpoint=endpoint,
        )

    return parse


def _transition(detail: Mapping[str, Any]) -> datetime | None:
    """When the secondary status began: the start of the last transition, if it is to that
    status (a training job's `SecondaryStatusTransitions`, as DescribeTrainingJob lists them)."""
    transitions = detail.get("SecondaryStatusTransitions")
    if not isinstance(transitions, list) or not transitions:
        return None
    last = transitions[-1]
    if not isinstance(last, Mapping) or last.get("Status") != detail.get("SecondaryStatus"):
        return None
    return parse_time(last.get("StartTime"))


def _monitoring(detail: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """A Model Monitor execution's schedule and endpoint. Environment may hold secrets: only the
    two names SageMaker itself sets there are read, nothing else of it."""
    environment = detail.get("Environment")
    environment = environment if isinstance(environment, Mapping) else {}
    schedule_arn = _text(detail.get("MonitoringScheduleArn"))
    schedule = _text(environment.get("sagemaker_monitoring_schedule_name")) or (
        schedule_arn.rsplit("/", 1)[-1] if schedule_arn else None  # lower-cased in the ARN
    )
    return _name(schedule), _name(_text(environment.get("sagemaker_endpoint_name")))


def _nested(*path: str) -> Callable[[Any], Any]:
    def get(value: Any) -> Any:
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    return get


def _tuning(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    status, outcome = _status(TUNING, detail)
    counters = detail.get("TrainingJobStatusCounters")
    counts = (
        tuple(sorted((str(k), n) for k, v in counters.items() if (n := _int(v)) is not None))
        if isinstance(counters, Mapping)
        else ()
    )
    return SageMakerEvent(
        **common,
        kind=ResourceKind.TUNING,
        name=_required_name(detail, "HyperParameterTuningJobName"),
        arn=_text(detail.get("HyperParameterTuningJobArn")),
        status=status,
        outcome=outcome,
        failure_reason=_text(detail.get("FailureReason")),
        created_at=parse_time(detail.get("CreationTime")),
        started_at=parse_time(detail.get("CreationTime")),
        ended_at=parse_time(detail.get("HyperParameterTuningEndTime")),
        instance_groups=_instance_groups(
            _nested("TrainingJobDefinition", "ResourceConfig")(detail)
        ),
        tags=parse_tags(detail.get("Tags")),
        child_counts=counts,
    )


def _endpoint(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    status, outcome = _status(ENDPOINT, detail)
    return SageMakerEvent(
        **common,
        kind=ResourceKind.ENDPOINT,
        name=_required_name(detail, "EndpointName"),
        arn=_text(detail.get("EndpointArn")),
        status=status,
        outcome=outcome,
        failure_reason=_text(detail.get("FailureReason")),
        created_at=parse_time(detail.get("CreationTime")),
        ended_at=parse_time(detail.get("LastModifiedTime")),
        tags=parse_tags(detail.get("Tags")),
    )


def _arn_tail(arn: str | None) -> str | None:
    return arn.rsplit("/", 1)[-1] if arn and "/" in arn else None


def _pipeline_name(detail: Mapping[str, Any]) -> str:
    # Pipeline events carry no name field; the ARN holds it (lower-cased by SageMaker).
    pipeline_arn = _text(detail.get("pipelineArn"))
    name = _arn_tail(pipeline_arn)
    if not name:
        raise InvalidEvent("detail.pipelineArn is missing or not a pipeline ARN")
    return name


def _pipeline_execution(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    status, outcome = _status(PIPELINE_EXECUTION, detail)
    execution_arn = _text(detail.get("pipelineExecutionArn"))
    pipeline = _pipeline_name(detail)
    display = _text(detail.get("pipelineExecutionDisplayName"))
    return SageMakerEvent(
        **common,
        kind=ResourceKind.PIPELINE_EXECUTION,
        name=display or _arn_tail(execution_arn) or pipeline,
        arn=execution_arn,
        status=status,
        outcome=outcome,
        failure_reason=_text(detail.get("failureReason")),
        started_at=parse_time(detail.get("executionStartTime")),
        ended_at=parse_time(detail.get("executionEndTime")),
        pipeline_name=pipeline,
        execution_arn=execution_arn,
    )


def _pipeline_step(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    status, outcome = _status(PIPELINE_STEP, detail)
    execution_arn = _text(detail.get("pipelineExecutionArn"))
    return SageMakerEvent(
        **common,
        kind=ResourceKind.PIPELINE_STEP,
        name=_required_name(detail, "stepName"),
        arn=execution_arn,
        status=status,
        outcome=outcome,
        failure_reason=_text(detail.get("failureReason")),
        started_at=parse_time(detail.get("stepStartTime")),
        ended_at=parse_time(detail.get("stepEndTime")),
        pipeline_name=_pipeline_name(detail),
        step_name=_text(detail.get("stepName")),
        execution_arn=execution_arn,
    )


def _api_call(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    # requestParameters may hold secrets: only a top-level `*Name` string is read from it.
    params = detail.get("requestParameters")
    resource = None
    if isinstance(params, Mapping):
        resource = next(
            (v for k, v in params.items() if k.endswith("Name") and isinstance(v, str)), None
        )
    event_name = _text(detail.get("eventName")) or "unknown"
    error = _text(detail.get("errorCode"))
    # Only a refusal that names the quota or permission keeps its message: others (a
    # ValidationException) may quote the request's parameters, secrets included.
    message = _text(detail.get("errorMessage")) if error in NAMING_REFUSALS else None
    identity = detail.get("userIdentity")
    caller = _text(identity.get("arn")) if isinstance(identity, Mapping) else None
    return SageMakerEvent(
        **common,
        kind=ResourceKind.API_CALL,
        name=resource or event_name,
        status=error or "OK",
        outcome=Outcome.FAILED if error else Outcome.SUCCEEDED,
        failure_reason=message,
        api_event_name=event_name,
        caller_arn=caller,
    )


def _resource(family: Family) -> Callable[[Mapping[str, Any], dict[str, Any]], SageMakerEvent]:
    """A family read from its table alone: its name (or its ARN's, or the envelope's resource),
    its status, its failure reason and its times."""

    def parse(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
        status, outcome = _status(family, detail)
        arn = _text(detail.get(family.arn_key)) if family.arn_key else None
        arn = arn or next(iter(common["resources"]), None)
        name = _name(_text(detail.get(family.name_key))) if family.name_key else None
        name = name or _arn_name(arn)
        if not name:
            raise InvalidEvent(
                f"detail.{family.name_key or family.arn_key or 'resources'} is missing: "
                f"no {family.kind.label} name"
            )
        reason = _text(detail.get(family.reason_key))
        return SageMakerEvent(
            **common,
            kind=family.kind,
            name=name,
            arn=arn,
            status=status,
            outcome=outcome,
            failure_reason=reason if outcome is Outcome.FAILED else None,
            created_at=parse_time(detail.get("CreationTime", detail.get("creationTime"))),
            ended_at=parse_time(detail.get("LastModifiedTime")),
            tags=parse_tags(detail.get("Tags")),
        )

    return parse


def _arn_name(arn: str | None) -> str | None:
    """What follows the resource type in an ARN: `labeling-job/<name>` gives the name,
    `image-version/<image>/<version>` the image and its version."""
    resource = (arn or "").split(":", 5)[-1]
    return _name(resource.partition("/")[2] or None)


def _cluster_state(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    status, outcome = _status(HYPERPOD_CLUSTER, detail)
    groups = detail.get("InstanceGroups")
    return SageMakerEvent(
        **common,
        kind=ResourceKind.HYPERPOD_CLUSTER,
        name=_required_name(detail, "ClusterName"),
        arn=_text(detail.get("ClusterArn")),
        status=status,
        outcome=outcome,
        # An InService cluster may still carry an old update's message: not a reason today.
        failure_reason=_text(detail.get("FailureMessage"))
        if outcome is not Outcome.SUCCEEDED
        else None,
        created_at=parse_time(detail.get("CreationTime")),
        tags=parse_tags(detail.get("Tags")),
        cluster=ClusterNews(
            groups=tuple(
                ClusterGroup(
                    name=_name(_text(raw.get("InstanceGroupName"))) or "unnamed group",
                    status=_text(raw.get("Status")) or "",
                    instance_type=_name(_text(raw.get("InstanceType"))),
                    current=_int(raw.get("CurrentCount")),
                    target=_int(raw.get("TargetCount")),
                )
                # EventBridge matches an object where a list is expected like a list of one.
                for raw in (groups if isinstance(groups, list) else [groups])
                if isinstance(raw, Mapping)
            )
        ),
    )


def _node_health(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    health = _nested("HealthSummary")(detail)
    health = health if isinstance(health, Mapping) else {}
    # As the rule's pattern reads it: any text but Healthy (even empty) is unhealthy. A status
    # that is not text at all (hostile) the rule delivers too; without one to show, no alert.
    raw_status = health.get("HealthStatus")
    status = raw_status if isinstance(raw_status, str) else ""
    outcome = Outcome.UNKNOWN
    if isinstance(raw_status, str):
        outcome = Outcome.SUCCEEDED if raw_status == HEALTHY else Outcome.FAILED
    reason = _text(health.get("HealthStatusReason"))
    return SageMakerEvent(
        **common,
        kind=ResourceKind.HYPERPOD_CLUSTER,
        name=_required_name(detail, "ClusterName"),
        arn=_text(detail.get("ClusterArn")),
        status=status,
        outcome=outcome,
        failure_reason=reason if outcome is Outcome.FAILED else None,
        tags=parse_tags(detail.get("Tags")),
        cluster=ClusterNews(
            node=_name(_text(detail.get("InstanceId"))),
            repair_action=_name(_text(health.get("RepairAction"))),
            recommendation=_text(health.get("Recommendation")),
        ),
    )


def _cluster_event(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    news = detail.get("EventDetails")
    if not isinstance(news, Mapping):
        raise InvalidEvent("detail.EventDetails is missing or not an object")
    level = _text(news.get("EventLevel")) or ""
    # EventMetadata holds one of Cluster, InstanceGroup, InstanceGroupScaling or Instance.
    metadata = _nested("EventDetails", "EventMetadata")(news)
    failure = next(
        (
            message
            for value in (metadata.values() if isinstance(metadata, Mapping) else ())
            if isinstance(value, Mapping) and (message := _text(value.get("FailureMessage")))
        ),
        None,
    )
    return SageMakerEvent(
        **common,
        kind=ResourceKind.HYPERPOD_CLUSTER,
        name=_required_name(news, "ClusterName", "detail.EventDetails"),
        arn=_text(news.get("ClusterArn")),
        status=level,
        outcome=Outcome.FAILED if level == ERROR_LEVEL else Outcome.UNKNOWN,
        failure_reason=failure,
        ended_at=parse_time(news.get("EventTime")),
        cluster=ClusterNews(
            description=_text(news.get("Description")),
            node=_name(_text(news.get("InstanceId"))),
            instance_group=_name(_text(news.get("InstanceGroupName"))),
            about=_name(_text(news.get("ResourceType"))),
            event_id=_name(_text(news.get("EventId"))),
        ),
    )


def _tracking_server(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    """A failed MLflow tracking server operation: the detail-type says which and that it failed
    ("SageMaker Tracking Server Create Failed"); AWS documents no detail fields, so the name is
    read from TrackingServerName or the server's ARN, and nothing else is."""
    arn = _text(detail.get("TrackingServerArn")) or next(iter(common["resources"]), None)
    name = _name(_text(detail.get("TrackingServerName"))) or _arn_name(arn)
    if not name:
        raise InvalidEvent("detail.TrackingServerName is missing: no tracking server name")
    operation = common["detail_type"].removeprefix("SageMaker Tracking Server ")
    return SageMakerEvent(
        **common,
        kind=ResourceKind.TRACKING_SERVER,
        name=name,
        arn=arn,
        status=operation,
        outcome=Outcome.FAILED,
        ended_at=parse_time(detail.get("LastModifiedTime")),
        tags=parse_tags(detail.get("Tags")),
    )


def _other(detail: Mapping[str, Any], common: dict[str, Any]) -> SageMakerEvent:
    return SageMakerEvent(
        **common, kind=ResourceKind.OTHER, name="", status="", outcome=Outcome.UNKNOWN
    )


_READ_FROM_TABLE = (
    NOTEBOOK, FEATURE_GROUP, IMAGE, IMAGE_VERSION, LABELING_JOB, HUMAN_LOOP, MONITORING_SCHEDULE
)  # fmt: skip
# By detail-type (of source aws.sagemaker); any other is OTHER.
_PARSERS: dict[str, Callable[[Mapping[str, Any], dict[str, Any]], SageMakerEvent]] = {
    TRAINING.detail_type: _job(
        TRAINING, "TrainingStartTime", "TrainingEndTime", _nested("ResourceConfig")
    ),
    PROCESSING.detail_type: _job(
        PROCESSING,
        "ProcessingStartTime",
        "ProcessingEndTime",
        _nested("ProcessingResources", "ClusterConfig"),
    ),
    TRANSFORM.detail_type: _job(
        TRANSFORM, "TransformStartTime", "TransformEndTime", _nested("TransformResources")
    ),
    TUNING.detail_type: _tuning,
    PIPELINE_EXECUTION.detail_type: _pipeline_execution,
    PIPELINE_STEP.detail_type: _pipeline_step,
    ENDPOINT.detail_type: _endpoint,
    HYPERPOD_CLUSTER.detail_type: _cluster_state,
    **{family.detail_type: _resource(family) for family in _READ_FROM_TABLE},
    **dict.fromkeys(TRACKING_SERVER_FAILURES, _tracking_server),
    HYPERPOD_NODE_HEALTH: _node_health,
    HYPERPOD_EVENT: _cluster_event,
    API_CALL_DETAIL_TYPE: _api_call,
}
