"""The normalized, immutable model every part of sagewatch works on.

Raw EventBridge payloads are turned into these by `shared.parser` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.vocabulary import (
    BY_KIND,
    GROUP_SHORT,
    MONITOR_VIOLATIONS,
    Outcome,
    ResourceKind,
)


@dataclass(frozen=True, slots=True)
class InstanceGroup:
    instance_type: str
    count: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterGroup:
    """A HyperPod instance group as a cluster's state change reports it."""

    name: str
    status: str
    instance_type: str | None
    current: int | None
    target: int | None


@dataclass(frozen=True, slots=True)
class ClusterNews:
    """What a HyperPod event tells beyond the cluster's name and status: which node or instance
    group, what SageMaker does about it (a node's repair action, its recommendation), and the
    cluster event's own id, which its duplicate deliveries share."""

    node: str | None = None  # the EC2 instance id of the node
    instance_group: str | None = None
    about: str | None = None  # a cluster event's ResourceType: Cluster, InstanceGroup, Instance
    event_id: str | None = None
    repair_action: str | None = None
    recommendation: str | None = None
    description: str | None = None  # a cluster event's own sentence ("Instance creation … failed")
    groups: tuple[ClusterGroup, ...] = ()  # a state change's instance groups

    @property
    def short_groups(self) -> tuple[ClusterGroup, ...]:
        return tuple(group for group in self.groups if group.status in GROUP_SHORT)


@dataclass(frozen=True, slots=True)
class SageMakerEvent:
    """One SageMaker state change (or API call), whatever its detail-type and encoding."""

    event_id: str
    source: str
    detail_type: str
    account: str
    region: str
    kind: ResourceKind
    name: str
    status: str
    outcome: Outcome
    time: datetime | None = None
    arn: str | None = None
    resources: tuple[str, ...] = ()  # the envelope's ARNs (a labeling job's name is only there)
    secondary_status: str | None = None
    secondary_since: datetime | None = None  # when the secondary status began (its transition)
    failure_reason: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    instance_groups: tuple[InstanceGroup, ...] = ()
    max_runtime_seconds: int | None = None  # a job's StoppingCondition: SageMaker stops it then
    tags: tuple[tuple[str, str], ...] = ()
    tuning_job_arn: str | None = None
    pipeline_name: str | None = None
    step_name: str | None = None
    execution_arn: str | None = None
    api_event_name: str | None = None
    caller_arn: str | None = None
    child_counts: tuple[tuple[str, int], ...] = ()
    exit_message: str | None = None
    monitoring_schedule: str | None = None  # a Model Monitor execution's schedule
    monitored_endpoint: str | None = None  # and the endpoint it watches
    cluster: ClusterNews | None = None  # a HyperPod event's node, group or operation

    @property
    def is_terminal(self) -> bool:
        return self.outcome in (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.STOPPED)

    @property
    def is_failure(self) -> bool:
        """Failed, or stopped by SageMaker because it ran out of time (maximum runtime, or the
        managed-spot maximum wait): the job did not finish, whatever its status says."""
        family = BY_KIND.get(self.kind)
        if family is None:
            return self.outcome is Outcome.FAILED
        return family.is_failure(self.outcome, self.secondary_status)

    @property
    def has_monitor_violations(self) -> bool:
        """A Model Monitor execution that completed and found constraint violations (the job
        status is Completed; the exit message says so)."""
        return (
            self.kind is ResourceKind.PROCESSING
            and self.outcome is Outcome.SUCCEEDED
            and (self.exit_message or "").startswith(MONITOR_VIOLATIONS)
        )

    @property
    def is_tuning_child(self) -> bool:
        return self.tuning_job_arn is not None

    @property
    def instance_count(self) -> int:
        return sum(group.count for group in self.instance_groups)

    @property
    def duration_seconds(self) -> float | None:
        """Run time from the algorithm start to the end (never from creation: queueing and
        provisioning are not the job's hardware at work)."""
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    def tag(self, key: str) -> str | None:
        return dict(self.tags).get(key)
