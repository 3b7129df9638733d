"""The ML platform's automation outside SageMaker: Step Functions executions, CodePipeline
executions and CodeBuild builds, as their EventBridge events tell them. Each workload stack
forwards only its ML platform's (a name prefix, `MlAutomationPrefix`), and only how they ended.

Parsed as hostile input, like any event a workload account can put on the bus: every field
checked, every text bounded (the alert cleans it again). None of these events carry tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.parser import detail_of, envelope, parse_time
from shared.domain.vocabulary import ResourceKind
from shared.platform.errors import InvalidEvent
from shared.platform.matching import Match, OneOf

STATES_SOURCE = "aws.states"
CODEPIPELINE_SOURCE = "aws.codepipeline"
CODEBUILD_SOURCE = "aws.codebuild"
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
PIPELINE_EXECUTION_CHANGE = "CodePipeline Pipeline Execution State Change"
ACTION_EXECUTION_CHANGE = "CodePipeline Action Execution State Change"
BUILD_STATE_CHANGE = "CodeBuild Build State Change"

# How each ends badly, as its events spell it. A Step Functions execution ABORTED and a
# CodePipeline execution STOPPED were stopped by someone (StopExecution, StopPipelineExecution),
# and SUPERSEDED or CANCELED made way for another: not failures (still archived).
EXECUTION_FAILURES = ("FAILED", "TIMED_OUT")
PIPELINE_FAILURES = ("FAILED",)
BUILD_FAILURES = ("FAILED", "FAULT", "TIMED_OUT")
# What the workload stack forwards besides (for the dashboard's last success).
SUCCEEDED = "SUCCEEDED"

NAME_LIMIT = 256
TEXT_LIMIT = 2_000  # a reason: the alert bounds it again


@dataclass(frozen=True, slots=True)
class AutomationRun:
    """One run that ended: an execution, a pipeline execution (or its failed action) or a
    build."""

    event_id: str
    source: str
    detail_type: str
    account: str
    region: str
    time: datetime
    kind: ResourceKind
    name: str  # the state machine, pipeline or CodeBuild project
    run: str  # the execution's name, the pipeline execution's id, the build's id (project:uuid)
    status: str
    attempt: int = 0  # a redriven execution's, a retried pipeline execution's (same run, again)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None  # an execution's error and cause, an action's summary, a phase's
    where: tuple[tuple[str, str], ...] = ()  # the failed stage and action, or build phase

    @property
    def failed(self) -> bool:
        return self.status in _FAILURES[self.detail_type]

    @classmethod
    def parse(cls, raw: Any) -> AutomationRun:
        common, detail = envelope(raw), detail_of(raw)
        if common["time"] is None:
            raise InvalidEvent("envelope field 'time' is missing or not a time")
        reader = _READERS.get((common["source"], common["detail_type"]))
        if reader is None:
            raise InvalidEvent(f"not an automation event: {common['detail_type'][:100]!r}")
        try:
            return reader(common, detail)
        except (ValueError, TypeError, OverflowError) as error:  # what no check above foresaw
            raise InvalidEvent(f"unreadable {common['detail_type']}: {error}"[:300]) from None


def _text(detail: Mapping[str, Any], key: str, limit: int = NAME_LIMIT) -> str:
    """A required string field, bounded."""
    value = detail.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"detail.{key} is missing or not a string")
    return value.strip()[:limit]


def _optional(detail: Mapping[str, Any], key: str, limit: int = TEXT_LIMIT) -> str | None:
    value = detail.get(key)
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _attempt(value: Any) -> int:
    """A run's attempt count, where its event carries one (0 otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if 0 <= value <= 10_000 else 0


def _common(common: Mapping[str, Any], kind: ResourceKind) -> dict[str, Any]:
    return {
        "event_id": common["event_id"],
        "source": common["source"],
        "detail_type": common["detail_type"],
        "account": common["account"],
        "region": common["region"],
        "time": common["time"],
        "kind": kind,
    }


def _execution(common: Mapping[str, Any], detail: Mapping[str, Any]) -> AutomationRun:
    """A Step Functions execution (standard workflows; epoch-millisecond times). The event
    names no failed state; `error` and `cause` come where DescribeExecution has them."""
    # arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<version or alias>]
    parts = _text(detail, "stateMachineArn", 2 * NAME_LIMIT).split(":")
    if len(parts) < 7 or not parts[6]:
        raise InvalidEvent("detail.stateMachineArn is not a state machine's ARN")
    machine = parts[6]
    error, cause = _optional(detail, "error", NAME_LIMIT), _optional(detail, "cause")
    return AutomationRun(
        **_common(common, ResourceKind.STATE_MACHINE_EXECUTION),
        name=machine,
        run=_text(detail, "name", 80),  # Step Functions' own limit on execution names
        status=_text(detail, "status", 32),
        attempt=_attempt(detail.get("redriveCount")),  # a redrive keeps the execution's name
        started_at=parse_time(detail.get("startDate")),
        ended_at=parse_time(detail.get("stopDate")) or common["time"],
        reason=": ".join(part for part in (error, cause) if part) or None,
    )


def _pipeline(common: Mapping[str, Any], detail: Mapping[str, Any]) -> AutomationRun:
    """A CodePipeline execution, or one of its actions: the action's event names where it
    failed and carries its summary; the execution's says only that it did."""
    where: tuple[tuple[str, str], ...] = ()
    reason = None
    if common["detail_type"] == ACTION_EXECUTION_CHANGE:
        where = (
            ("failed stage", _text(detail, "stage")),
            ("failed action", _text(detail, "action")),
        )
        result = detail.get("execution-result")
        if isinstance(result, Mapping):
            reason = _optional(result, "external-execution-summary")
    return AutomationRun(
        **_common(common, ResourceKind.CODEPIPELINE_EXECUTION),
        name=_text(detail, "pipeline", 100),  # CodePipeline's limit on pipeline names
        run=_text(detail, "execution-id", 64),
        status=_text(detail, "state", 32),
        # A retried stage keeps the execution's id; real events count the attempts.
        attempt=_attempt(detail.get("pipeline-execution-attempt")),
        ended_at=common["time"],
        reason=reason,
        where=where,
    )


def _build(common: Mapping[str, Any], detail: Mapping[str, Any]) -> AutomationRun:
    """A CodeBuild build: its phases say which one failed and why (its times are text without
    a zone: the envelope's time is when it ended, the phases' seconds how long it ran)."""
    build_id = _text(detail, "build-id", 2 * NAME_LIMIT).rsplit("/", 1)[-1]
    information = detail.get("additional-information")
    phases = information.get("phases") if isinstance(information, Mapping) else None
    phases = [p for p in phases if isinstance(p, Mapping)] if isinstance(phases, list) else []
    seconds = sum(
        p["duration-in-seconds"]
        for p in phases
        if isinstance(p.get("duration-in-seconds"), int | float)
        and not isinstance(p.get("duration-in-seconds"), bool)
        and 0 <= p["duration-in-seconds"] <= 8 * 86_400  # CodeBuild runs 36 hours at most
    )
    failed = next((p for p in phases if p.get("phase-status") not in (None, SUCCEEDED)), None)
    where: tuple[tuple[str, str], ...] = ()
    reason = None
    if failed is not None:
        where = (("failed phase", str(failed.get("phase-type") or "?")[:64]),)
        context = failed.get("phase-context")
        if isinstance(context, list):
            reason = " ".join(c for c in context if isinstance(c, str))[:TEXT_LIMIT] or None
    ended = common["time"]
    return AutomationRun(
        **_common(common, ResourceKind.CODEBUILD_BUILD),
        name=_text(detail, "project-name", NAME_LIMIT),
        run=build_id,
        status=_text(detail, "build-status", 32),
        started_at=ended - timedelta(seconds=seconds) if seconds else None,
        ended_at=ended,
        reason=reason,
        where=where,
    )


_READERS = {
    (STATES_SOURCE, EXECUTION_STATUS_CHANGE): _execution,
    (CODEPIPELINE_SOURCE, PIPELINE_EXECUTION_CHANGE): _pipeline,
    (CODEPIPELINE_SOURCE, ACTION_EXECUTION_CHANGE): _pipeline,
    (CODEBUILD_SOURCE, BUILD_STATE_CHANGE): _build,
}
_FAILURES = {
    EXECUTION_STATUS_CHANGE: EXECUTION_FAILURES,
    PIPELINE_EXECUTION_CHANGE: PIPELINE_FAILURES,
    ACTION_EXECUTION_CHANGE: PIPELINE_FAILURES,
    BUILD_STATE_CHANGE: BUILD_FAILURES,
}


def _status(run: AutomationRun) -> str:
    return run.status


# What pages on-call, one Match per source (a rule has one source).
EXECUTIONS_FAILED = Match(
    STATES_SOURCE,
    (EXECUTION_STATUS_CHANGE,),
    (OneOf("status", EXECUTION_FAILURES, _status),),
)
PIPELINES_FAILED = Match(
    CODEPIPELINE_SOURCE,
    (PIPELINE_EXECUTION_CHANGE, ACTION_EXECUTION_CHANGE),
    (OneOf("state", PIPELINE_FAILURES, _status),),
)
BUILDS_FAILED = Match(
    CODEBUILD_SOURCE,
    (BUILD_STATE_CHANGE,),
    (OneOf("build-status", BUILD_FAILURES, _status),),
)
