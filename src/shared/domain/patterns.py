"""The SageMaker clauses a route's `Match` is built from: statuses by outcome (every spelling, from
the status table), stopped by SageMaker for lack of time, Model Monitor violations.

`make generate` writes each rule's `EventPattern` in template.yaml from these; a test checks that
both sides agree on AWS's own matching engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.vocabulary import (
    API_CALL_DETAIL_TYPE,
    ENDPOINT,
    ERROR_LEVEL,
    HEALTHY,
    HYPERPOD_CLUSTER,
    HYPERPOD_EVENT,
    HYPERPOD_NODE_HEALTH,
    MONITOR_VIOLATIONS,
    PROCESSING,
    SAGEMAKER_SOURCE,
    Family,
    Outcome,
    ResourceKind,
)
from shared.platform.matching import Clause, Match


@dataclass(frozen=True, slots=True)
class Status:
    """The family's statuses with these outcomes (every spelling)."""

    family: Family
    outcomes: frozenset[Outcome]

    def pattern(self) -> dict[str, Any]:
        return {self.family.status_key: list(self.family.statuses(*self.outcomes))}

    def __call__(self, model: Any) -> bool:
        return bool(model.kind is self.family.kind and model.outcome in self.outcomes)


@dataclass(frozen=True, slots=True)
class StoppedBySageMaker:
    """Stopped, with a SecondaryStatus that says SageMaker stopped it (out of time)."""

    family: Family

    def pattern(self) -> dict[str, Any]:
        return {
            self.family.status_key: list(self.family.statuses(Outcome.STOPPED)),
            "SecondaryStatus": list(self.family.stopped_by_sagemaker),
        }

    def __call__(self, model: Any) -> bool:
        return bool(
            model.kind is self.family.kind
            and model.outcome is Outcome.STOPPED
            and model.secondary_status in self.family.stopped_by_sagemaker
        )


@dataclass(frozen=True, slots=True)
class MonitorViolations:
    """A Model Monitor execution that found violations: its status stays Completed, its exit
    message says so."""

    def pattern(self) -> dict[str, Any]:
        return {
            PROCESSING.status_key: list(PROCESSING.statuses(Outcome.SUCCEEDED)),
            "ExitMessage": [{"prefix": MONITOR_VIOLATIONS}],
        }

    def __call__(self, model: Any) -> bool:
        return bool(model.has_monitor_violations)


ROLLING_BACK = "ROLLING_BACK"


@dataclass(frozen=True, slots=True)
class RollingBack:
    """An update SageMaker rolls back: an endpoint's (a deployment guardrail's alarm fired, or
    the new fleet did not come up) or a HyperPod cluster's; it returns to its previous
    configuration."""

    family: Family = ENDPOINT
    status: str = ROLLING_BACK  # in the family's event spelling

    def pattern(self) -> dict[str, Any]:
        return {self.family.status_key: list(self.family.spellings(self.status))}

    def __call__(self, model: Any) -> bool:
        return bool(
            model.kind is self.family.kind and self.family.normalize(model.status) == self.status
        )


CLUSTER_ROLLING_BACK = RollingBack(HYPERPOD_CLUSTER, "RollingBack")


@dataclass(frozen=True, slots=True)
class ClusterState:
    """Any HyperPod cluster state change (a few per cluster and day): whether an instance group
    runs short is read in code, since a pattern into `InstanceGroups`, a list of objects, is one
    the test engine (moto) cannot match, so pattern and code could not be held to agree."""

    def pattern(self) -> dict[str, Any]:
        return {HYPERPOD_CLUSTER.status_key: [{"exists": True}]}

    def __call__(self, model: Any) -> bool:
        return bool(model.detail_type == HYPERPOD_CLUSTER.detail_type and model.status)


@dataclass(frozen=True, slots=True)
class NodeUnhealthy:
    """A HyperPod node whose health check failed (any HealthStatus but Healthy)."""

    def pattern(self) -> dict[str, Any]:
        return {"HealthSummary": {"HealthStatus": [{"anything-but": [HEALTHY]}]}}

    def __call__(self, model: Any) -> bool:
        return bool(model.detail_type == HYPERPOD_NODE_HEALTH and model.outcome is Outcome.FAILED)


@dataclass(frozen=True, slots=True)
class ClusterError:
    """A HyperPod cluster event of level Error: an operation on the cluster, an instance group
    or an instance failed (e.g. no capacity to launch the instance)."""

    def pattern(self) -> dict[str, Any]:
        return {"EventDetails": {"EventLevel": [ERROR_LEVEL]}}

    def __call__(self, model: Any) -> bool:
        return bool(model.detail_type == HYPERPOD_EVENT and model.outcome is Outcome.FAILED)


# The control-plane calls that start the work sagewatch watches: refused, the job, tuning job,
# endpoint or execution never exists, so no state change will ever tell anyone.
STARTING_CALLS = (
    "CreateTrainingJob",
    "CreateProcessingJob",
    "CreateTransformJob",
    "CreateHyperParameterTuningJob",
    "CreateEndpoint",
    "UpdateEndpoint",
    "StartPipelineExecution",
)


@dataclass(frozen=True, slots=True)
class RefusedCall:
    """A CloudTrail record of one of `calls` that SageMaker refused (it has an errorCode)."""

    calls: tuple[str, ...] = STARTING_CALLS

    def pattern(self) -> dict[str, Any]:
        return {"eventName": list(self.calls), "errorCode": [{"exists": True}]}

    def __call__(self, model: Any) -> bool:
        return bool(
            model.kind is ResourceKind.API_CALL
            and model.api_event_name in self.calls
            and model.outcome is Outcome.FAILED
        )


def refused_calls() -> Match:
    return Match(SAGEMAKER_SOURCE, (API_CALL_DETAIL_TYPE,), (RefusedCall(),))


def hyperpod_news(detail_type: str, clause: Clause) -> Match:
    """A HyperPod detail-type's events `clause` accepts."""
    return Match(SAGEMAKER_SOURCE, (detail_type,), (clause,))


def _sagemaker(families: Sequence[Family], clauses: list[Clause]) -> Match:
    return Match(SAGEMAKER_SOURCE, tuple(f.detail_type for f in families), tuple(clauses))


def finished(*families: Family) -> Match:
    """Terminal state changes: succeeded, failed or stopped."""
    ended = frozenset({Outcome.SUCCEEDED, Outcome.FAILED, Outcome.STOPPED})
    return _sagemaker(families, [Status(f, ended) for f in families])


def running(*families: Family) -> Match:
    """A job's life: in progress (which hosts it runs on, since when) and its end."""
    lived = frozenset({Outcome.IN_PROGRESS, Outcome.SUCCEEDED, Outcome.FAILED, Outcome.STOPPED})
    return _sagemaker(families, [Status(f, lived) for f in families])


def failed(*families: Family) -> Match:
    """Failures as on-call sees them: failed, or stopped by SageMaker because out of time."""
    clauses: list[Clause] = []
    for family in families:
        clauses.append(Status(family, frozenset({Outcome.FAILED})))
        if family.stopped_by_sagemaker:
            clauses.append(StoppedBySageMaker(family))
    return _sagemaker(families, clauses)
