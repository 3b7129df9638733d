"""What the two stacks deploy, read from the templates as written (`sagewatch.template.load`),
with their parameters at their defaults: never a copy of a setting.

Function event sources are read in both shapes a template may use: SAM `Events:` on the
function (`SQS`, `Schedule`, `EventBridgeRule`) and plain resources
(`AWS::Lambda::EventSourceMapping`, `AWS::Events::Rule` with a `ScheduleExpression`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sagewatch import template as cfn

ACCOUNT, REGION = "123456789012", "us-east-1"  # the embedded AWS's monitoring account

# Documented defaults where a template leaves a property out.
LAMBDA_DEFAULT_MEMORY_MB = 128  # AWS::Lambda::Function MemorySize
LAMBDA_DEFAULT_ARCHITECTURE = "x86_64"
SQS_DEFAULT_BATCH_SIZE = 10  # an SQS event source mapping's BatchSize
SQS_DEFAULT_VISIBILITY_SECONDS = 30
KMS_DEFAULT_DATA_KEY_REUSE_SECONDS = 300  # SQS KmsDataKeyReusePeriodSeconds


@dataclass(frozen=True)
class Function:
    logical_id: str
    memory_mb: int
    architecture: str
    log_group: str | None  # the log group resource it logs to (None: Lambda's default group)
    log_retention_days: int | None  # None: kept forever


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source: the queue's settings and the mapping's batching."""

    queue: str
    function: str
    batch_size: int
    window_seconds: int
    delay_seconds: int
    visibility_seconds: int
    max_receives: int | None


@dataclass(frozen=True)
class Schedule:
    function: str
    every_seconds: int
    input: Any


@dataclass(frozen=True)
class Deployment:
    functions: dict[str, Function]
    queue_sources: dict[str, QueueSource]  # by queue logical id
    schedules: tuple[Schedule, ...]
    alarm_metrics: int  # standard-resolution alarms are billed per metric they evaluate
    dashboards: int
    kms_keys: int
    kms_key_rotation: bool
    archive_retention_days: int | None  # the EventBridge archive (None: no archive)
    log_groups: dict[str, int | None]  # retention days by log group logical id
    topics: tuple[str, ...]
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Workload:
    """What each workload account runs for sagewatch (workload-template.yaml)."""

    heartbeat_seconds: int
    collector_seconds: int
    collector_window_seconds: int  # the collector schedule's flexible time window
    collector: Function
    alarm_metrics: int
    schedules_per_day: float


def _resolver(template: Mapping[str, Any], account: str = ACCOUNT) -> cfn.Resolver:
    values = cfn.parameter_values(
        template,
        {name: "unset" for name, spec in template.get("Parameters", {}).items()
         if "Default" not in spec},
    ) | cfn.pseudo_parameters(account, REGION)  # fmt: skip
    return cfn.Resolver(template, values)


def _target(value: Any) -> str:
    """The logical id an ARN or name property points at (`!GetAtt X.Arn`, `!Ref X`)."""
    found = cfn.intrinsic(value)
    if found is None:
        raise ValueError(f"not a reference to a resource: {value!r}")
    function, argument = found
    if function == "Ref":
        return str(argument)
    if function == "Fn::GetAtt":
        return str(argument[0] if isinstance(argument, list) else argument.split(".")[0])
    raise ValueError(f"not a reference to a resource: {value!r}")


def _enabled(schedule: Mapping[str, Any], resolve: Any) -> bool:
    """A SAM schedule runs unless its `State` (or a literal `Enabled`) says it does not."""
    return bool(resolve(schedule.get("Enabled", True))) and (
        resolve(schedule.get("State", "ENABLED")) != "DISABLED"
    )


def rate_seconds(expression: str) -> int:
    """`rate(5 minutes)` → 300. A cron schedule is refused, not guessed."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if match is None:
        raise ValueError(f"unsupported schedule {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86_400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


def _function(
    logical_id: str, props: Mapping[str, Any], globals_: Mapping[str, Any], resolve: Any,
    retention: Mapping[str, int | None],
) -> Function:  # fmt: skip
    memory = props.get("MemorySize", globals_.get("MemorySize", LAMBDA_DEFAULT_MEMORY_MB))
    architectures = props.get(
        "Architectures", globals_.get("Architectures", [LAMBDA_DEFAULT_ARCHITECTURE])
    )
    logging = globals_.get("LoggingConfig", {}) | props.get("LoggingConfig", {})  # SAM merges
    group = _target(logging["LogGroup"]) if "LogGroup" in logging else None
    return Function(
        logical_id=logical_id,
        memory_mb=int(resolve(memory)),
        architecture=str(resolve(architectures)[0]),
        log_group=group,
        log_retention_days=retention.get(group) if group else None,
    )


def _queue_source(
    queue: str, function: str, props: Mapping[str, Any], resources: Mapping[str, Any],
    resolve: Any,
) -> QueueSource:  # fmt: skip
    queue_props = resources[queue]["Properties"]
    redrive = resolve(queue_props.get("RedrivePolicy") or {})
    if isinstance(redrive, str):
        redrive = json.loads(redrive)
    return QueueSource(
        queue=queue,
        function=function,
        batch_size=int(resolve(props.get("BatchSize", SQS_DEFAULT_BATCH_SIZE))),
        window_seconds=int(resolve(props.get("MaximumBatchingWindowInSeconds", 0))),
        delay_seconds=int(resolve(queue_props.get("DelaySeconds", 0))),
        visibility_seconds=int(
            resolve(queue_props.get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_SECONDS))
        ),
        max_receives=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
    )


@cache
def monitoring() -> Deployment:
    """template.yaml as deployed with its defaults."""
    return read(cfn.load())


def read(template: Mapping[str, Any]) -> Deployment:
    resolver = _resolver(template)
    resolve, resources = resolver.resolve, template["Resources"]
    globals_ = template.get("Globals", {}).get("Function", {})
    retention: dict[str, int | None] = {
        logical_id: (
            int(resolve(r["Properties"]["RetentionInDays"]))
            if "RetentionInDays" in r.get("Properties", {})
            else None
        )
        for logical_id, r in resolver.resources("AWS::Logs::LogGroup")
    }
    functions: dict[str, Function] = {}
    sources: dict[str, QueueSource] = {}
    schedules: list[Schedule] = []
    for logical_id, r in resolver.resources("AWS::Serverless::Function", "AWS::Lambda::Function"):
        props = r["Properties"]
        functions[logical_id] = _function(
            logical_id, props, globals_ if "Serverless" in r["Type"] else {}, resolve, retention
        )
        for event in props.get("Events", {}).values():  # SAM's shape
            event_props = event.get("Properties", {})
            if event["Type"] == "SQS":
                queue = _target(event_props["Queue"])
                sources[queue] = _queue_source(queue, logical_id, event_props, resources, resolve)
            elif event["Type"] == "Schedule" and _enabled(event_props, resolve):
                schedules.append(
                    Schedule(
                        logical_id,
                        rate_seconds(str(resolve(event_props["Schedule"]))),
                        json.loads(event_props["Input"]) if "Input" in event_props else {},
                    )
                )
    for _, r in resolver.resources("AWS::Lambda::EventSourceMapping"):  # plain resources
        props = r["Properties"]
        queue, function = _target(props["EventSourceArn"]), _target(props["FunctionName"])
        if resources.get(queue, {}).get("Type") == "AWS::SQS::Queue":
            sources[queue] = _queue_source(queue, function, props, resources, resolve)
    for _, r in resolver.resources("AWS::Events::Rule"):
        props = r["Properties"]
        if "ScheduleExpression" not in props:
            continue
        for target in props.get("Targets", []):
            function = _target(target["Arn"])
            if function in functions:
                schedules.append(
                    Schedule(
                        function,
                        rate_seconds(str(resolve(props["ScheduleExpression"]))),
                        json.loads(target["Input"]) if "Input" in target else {},
                    )
                )
    keys = list(resolver.resources("AWS::KMS::Key"))
    archives = list(resolver.resources("AWS::Events::Archive"))
    return Deployment(
        functions=functions,
        queue_sources=sources,
        schedules=tuple(schedules),
        alarm_metrics=sum(
            _alarm_metrics(r) for _, r in resolver.resources("AWS::CloudWatch::Alarm")
        ),
        dashboards=len(list(resolver.resources("AWS::CloudWatch::Dashboard"))),
        kms_keys=len(keys),
        kms_key_rotation=any(r["Properties"].get("EnableKeyRotation") for _, r in keys),
        archive_retention_days=(
            int(resolve(archives[0][1]["Properties"]["RetentionDays"])) if archives else None
        ),
        log_groups=retention,
        topics=tuple(logical_id for logical_id, _ in resolver.resources("AWS::SNS::Topic")),
        parameters=dict(resolver.values),
    )


def _alarm_metrics(alarm: Mapping[str, Any]) -> int:
    """A metric-math alarm is billed for each metric it reads; a plain alarm for its one."""
    props = alarm["Properties"]
    if "Metrics" in props:
        return sum(1 for query in props["Metrics"] if "MetricStat" in query)
    return 1


@cache
def workload() -> Workload:
    template = cfn.load(cfn.WORKLOAD_TEMPLATE)
    resolver = _resolver(template, "444455556666")
    resolve = resolver.resolve
    schedules = dict(resolver.resources("AWS::Scheduler::Schedule"))
    heartbeat = schedules["HeartbeatSchedule"]["Properties"]
    collector_schedule = schedules["InventorySchedule"]["Properties"]
    window = collector_schedule.get("FlexibleTimeWindow", {})
    retention = {
        logical_id: (
            int(resolve(r["Properties"]["RetentionInDays"]))
            if "RetentionInDays" in r.get("Properties", {})
            else None
        )
        for logical_id, r in resolver.resources("AWS::Logs::LogGroup")
    }
    collector_id = _target(collector_schedule["Target"]["Arn"])
    heartbeat_seconds = rate_seconds(str(resolve(heartbeat["ScheduleExpression"])))
    collector_seconds = rate_seconds(str(resolve(collector_schedule["ScheduleExpression"])))
    return Workload(
        heartbeat_seconds=heartbeat_seconds,
        collector_seconds=collector_seconds,
        collector_window_seconds=(
            60 * int(resolve(window.get("MaximumWindowInMinutes", 0)))
            if window.get("Mode") == "FLEXIBLE"
            else 0
        ),
        collector=_function(
            collector_id,
            template["Resources"][collector_id]["Properties"],
            {},
            resolve,
            retention,
        ),
        alarm_metrics=sum(
            _alarm_metrics(r) for _, r in resolver.resources("AWS::CloudWatch::Alarm")
        ),
        schedules_per_day=86_400 / heartbeat_seconds + 86_400 / collector_seconds,
    )
