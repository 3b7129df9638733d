"""The status vocabulary of every SageMaker event family, once.

What each status means (in progress, succeeded, failed, stopped) and which stops are SageMaker's
doing is written here and nowhere else: the parser reads outcomes from it, the routes' EventBridge
patterns are built from it (`shared.patterns`), and `make generate` writes the template's rule
patterns, the failed-jobs query and the workload collector's failure rule from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ResourceKind(StrEnum):
    TRAINING = "training"
    PROCESSING = "processing"
    TRANSFORM = "transform"
    TUNING = "tuning"
    PIPELINE_EXECUTION = "pipeline-execution"
    PIPELINE_STEP = "pipeline-step"
    ENDPOINT = "endpoint"
    HYPERPOD_CLUSTER = "hyperpod-cluster"  # its nodes and instance groups are in the event's facts
    NOTEBOOK = "notebook-instance"
    FEATURE_GROUP = "feature-group"
    IMAGE = "image"
    IMAGE_VERSION = "image-version"
    LABELING_JOB = "labeling-job"
    HUMAN_LOOP = "human-loop"
    MONITORING_SCHEDULE = "monitoring-schedule"
    TRACKING_SERVER = "mlflow-tracking-server"
    # The ML platform's automation outside SageMaker (`automation.py`).
    STATE_MACHINE_EXECUTION = "state-machine-execution"
    CODEPIPELINE_EXECUTION = "codepipeline-execution"
    CODEBUILD_BUILD = "codebuild-build"
    ACCOUNT = "account"  # a workload account (operations alerts)
    API_CALL = "api-call"
    OTHER = "other"

    @property
    def is_job(self) -> bool:
        return self in _JOB_KINDS

    @property
    def has_host_metrics(self) -> bool:
        """Job kinds whose hosts publish /aws/sagemaker/<Kind>Jobs utilization metrics."""
        return self in _HOST_METRIC_KINDS

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_long_lived(self) -> bool:
        """Kinds whose name outlives one failure (fixed and failing again, or deleted and made
        again): an incident's key holds the state's time, not the name alone."""
        return self in _LONG_LIVED_KINDS


_JOB_KINDS = frozenset(
    {ResourceKind.TRAINING, ResourceKind.PROCESSING, ResourceKind.TRANSFORM, ResourceKind.TUNING}
)
_HOST_METRIC_KINDS = frozenset(
    {ResourceKind.TRAINING, ResourceKind.PROCESSING, ResourceKind.TRANSFORM}
)
_LONG_LIVED_KINDS = frozenset(
    {
        ResourceKind.ENDPOINT,
        ResourceKind.NOTEBOOK,
        ResourceKind.FEATURE_GROUP,
        ResourceKind.IMAGE,
        ResourceKind.IMAGE_VERSION,
        ResourceKind.MONITORING_SCHEDULE,
        ResourceKind.TRACKING_SERVER,
    }
)
_LABELS = {
    ResourceKind.TRAINING: "training job",
    ResourceKind.PROCESSING: "processing job",
    ResourceKind.TRANSFORM: "transform job",
    ResourceKind.TUNING: "tuning job",
    ResourceKind.PIPELINE_EXECUTION: "pipeline execution",
    ResourceKind.PIPELINE_STEP: "pipeline step",
    ResourceKind.ENDPOINT: "endpoint",
    ResourceKind.HYPERPOD_CLUSTER: "HyperPod cluster",
    ResourceKind.NOTEBOOK: "notebook instance",
    ResourceKind.FEATURE_GROUP: "feature group",
    ResourceKind.IMAGE: "image",
    ResourceKind.IMAGE_VERSION: "image version",
    ResourceKind.LABELING_JOB: "labeling job",
    ResourceKind.HUMAN_LOOP: "human loop",
    ResourceKind.MONITORING_SCHEDULE: "monitoring schedule",
    ResourceKind.TRACKING_SERVER: "MLflow tracking server",
    ResourceKind.STATE_MACHINE_EXECUTION: "Step Functions execution",
    ResourceKind.CODEPIPELINE_EXECUTION: "CodePipeline execution",
    ResourceKind.CODEBUILD_BUILD: "CodeBuild build",
    ResourceKind.ACCOUNT: "account",
    ResourceKind.API_CALL: "API call",
    ResourceKind.OTHER: "resource",
}


# How a Model Monitor execution's ExitMessage starts when it found violations (ProcessingJobStatus
# stays "Completed"): "CompletedWithViolations: Job completed successfully with 3 violations."
MONITOR_VIOLATIONS = "CompletedWithViolations"


class Outcome(StrEnum):
    IN_PROGRESS = "in-progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


SAGEMAKER_SOURCE = "aws.sagemaker"
API_CALL_DETAIL_TYPE = "AWS API Call via CloudTrail"  # SageMaker calls CloudTrail recorded
# Refusals whose errorMessage names what to fix (the quota, the permission) and nothing of the
# request: the only ones whose message is read.
NAMING_REFUSALS = frozenset(
    {"ResourceLimitExceeded", "ServiceQuotaExceededException", "AccessDenied",
     "AccessDeniedException"}
)  # fmt: skip

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class Family:
    """One detail-type: where its status is, what each status means."""

    detail_type: str
    kind: ResourceKind
    status_key: str  # the detail field holding the status
    name_key: str | None  # the detail field holding the resource's name (None: from an ARN)
    outcomes: Mapping[str, Outcome]  # statuses as the events spell them; others are UNKNOWN
    # Where the families read generically (`parser._resource`) keep their ARN (None: the
    # envelope's first resource) and failure reason.
    arn_key: str | None = None
    reason_key: str = "FailureReason"
    # Endpoint statuses come as `IN_SERVICE` in events and `InService` from the API (and in
    # events some producers re-emit): both spellings are matched, the event one is kept.
    api_spelling: bool = False
    # SecondaryStatus values that mean SageMaker, not the user, stopped it, and how to say so.
    stopped_by_sagemaker: Mapping[str, str] = field(default_factory=dict)

    def outcome(self, status: str | None) -> Outcome:
        return self.outcomes.get(self.normalize(status or ""), Outcome.UNKNOWN)

    def normalize(self, status: str) -> str:
        """`InService` (API) becomes `IN_SERVICE` (event spelling) where the family has both."""
        return _CAMEL_BOUNDARY.sub("_", status).upper() if self.api_spelling else status

    def spellings(self, status: str) -> tuple[str, ...]:
        """`status` (event spelling) as the events may write it."""
        return (status, _camel(status)) if self.api_spelling else (status,)

    def statuses(self, *outcomes: Outcome) -> tuple[str, ...]:
        """Every spelling of the statuses with these outcomes, in table order."""
        found = [status for status, outcome in self.outcomes.items() if outcome in outcomes]
        if self.api_spelling:
            found += [_camel(status) for status in found]
        return tuple(found)

    def is_failure(self, outcome: Outcome, secondary_status: str | None) -> bool:
        """Failed, or stopped by SageMaker because it ran out of time (maximum runtime, or the
        managed-spot maximum wait): the job did not finish, whatever its status says."""
        return outcome is Outcome.FAILED or (
            outcome is Outcome.STOPPED and (secondary_status or "") in self.stopped_by_sagemaker
        )


def _camel(status: str) -> str:
    return "".join(part.capitalize() for part in status.split("_"))


_JOB = {
    "InProgress": Outcome.IN_PROGRESS,
    "Stopping": Outcome.IN_PROGRESS,
    "Completed": Outcome.SUCCEEDED,
    "Failed": Outcome.FAILED,
    "Stopped": Outcome.STOPPED,
}
_PIPELINE = {
    "Starting": Outcome.IN_PROGRESS,
    "Executing": Outcome.IN_PROGRESS,
    "Stopping": Outcome.IN_PROGRESS,
    "Succeeded": Outcome.SUCCEEDED,
    "Failed": Outcome.FAILED,
    "Stopped": Outcome.STOPPED,
}
_ENDPOINT = {
    "CREATING": Outcome.IN_PROGRESS,
    "UPDATING": Outcome.IN_PROGRESS,
    "SYSTEM_UPDATING": Outcome.IN_PROGRESS,
    "ROLLING_BACK": Outcome.IN_PROGRESS,
    "DELETING": Outcome.IN_PROGRESS,
    "IN_SERVICE": Outcome.SUCCEEDED,
    "FAILED": Outcome.FAILED,
    "UPDATE_ROLLBACK_FAILED": Outcome.FAILED,
    "OUT_OF_SERVICE": Outcome.STOPPED,
    "DELETED": Outcome.STOPPED,
}

TRAINING = Family(
    "SageMaker Training Job State Change",
    ResourceKind.TRAINING,
    "TrainingJobStatus",
    "TrainingJobName",
    _JOB,
    # Only training jobs report a SecondaryStatus.
    stopped_by_sagemaker={
        "MaxRuntimeExceeded": "hit its maximum runtime",
        "MaxWaitTimeExceeded": "hit its maximum spot wait time",
    },
)
PROCESSING = Family(
    "SageMaker Processing Job State Change",
    ResourceKind.PROCESSING,
    "ProcessingJobStatus",
    "ProcessingJobName",
    _JOB,
)
TRANSFORM = Family(
    "SageMaker Transform Job State Change",
    ResourceKind.TRANSFORM,
    "TransformJobStatus",
    "TransformJobName",
    _JOB,
)
TUNING = Family(
    "SageMaker HyperParameter Tuning Job State Change",
    ResourceKind.TUNING,
    "HyperParameterTuningJobStatus",
    "HyperParameterTuningJobName",
    _JOB,
)
PIPELINE_EXECUTION = Family(
    "SageMaker Model Building Pipeline Execution Status Change",
    ResourceKind.PIPELINE_EXECUTION,
    "currentPipelineExecutionStatus",
    None,
    _PIPELINE,
)
PIPELINE_STEP = Family(
    "SageMaker Model Building Pipeline Execution Step Status Change",
    ResourceKind.PIPELINE_STEP,
    "currentStepStatus",
    "stepName",
    _PIPELINE,
)
ENDPOINT = Family(
    "SageMaker Endpoint State Change",
    ResourceKind.ENDPOINT,
    "EndpointStatus",
    "EndpointName",
    _ENDPOINT,
    api_spelling=True,
)

_NOTEBOOK = {
    "Pending": Outcome.IN_PROGRESS,
    "Updating": Outcome.IN_PROGRESS,
    "Stopping": Outcome.IN_PROGRESS,
    "Deleting": Outcome.IN_PROGRESS,
    "InService": Outcome.SUCCEEDED,
    "Stopped": Outcome.STOPPED,
    "Failed": Outcome.FAILED,
}
_CREATED = {  # feature groups; images and image versions (in the API's upper-case spelling)
    "Creating": Outcome.IN_PROGRESS,
    "Updating": Outcome.IN_PROGRESS,
    "Deleting": Outcome.IN_PROGRESS,
    "Created": Outcome.SUCCEEDED,
    "CreateFailed": Outcome.FAILED,
    "UpdateFailed": Outcome.FAILED,
    "DeleteFailed": Outcome.FAILED,
}
_UPPER_CREATED = {_CAMEL_BOUNDARY.sub("_", k).upper(): v for k, v in _CREATED.items()}
_LABELING = {
    "Initializing": Outcome.IN_PROGRESS,
    "InProgress": Outcome.IN_PROGRESS,
    "Stopping": Outcome.IN_PROGRESS,
    "Completed": Outcome.SUCCEEDED,
    "Failed": Outcome.FAILED,
    "Stopped": Outcome.STOPPED,
}
_SCHEDULE = {
    "Pending": Outcome.IN_PROGRESS,
    "Scheduled": Outcome.SUCCEEDED,
    "Stopped": Outcome.STOPPED,
    "Failed": Outcome.FAILED,
}

NOTEBOOK = Family(
    "SageMaker Notebook Instance State Change",
    ResourceKind.NOTEBOOK,
    "NotebookInstanceStatus",
    "NotebookInstanceName",  # the ARN's is lower-cased
    _NOTEBOOK,
    arn_key="NotebookInstanceArn",
)
FEATURE_GROUP = Family(
    "SageMaker Feature Group State Change",
    ResourceKind.FEATURE_GROUP,
    "FeatureGroupStatus",
    "FeatureGroupName",
    _CREATED,
    arn_key="FeatureGroupArn",
)
IMAGE = Family(
    "SageMaker Image State Change",
    ResourceKind.IMAGE,
    "ImageStatus",
    "ImageName",
    _UPPER_CREATED,
    api_spelling=True,  # the API says CREATE_FAILED, AWS's example event "Creating"
    arn_key="ImageArn",
)
IMAGE_VERSION = Family(
    "SageMaker Image Version State Change",
    ResourceKind.IMAGE_VERSION,
    "ImageVersionStatus",
    None,  # from its ARN: image-version/<image>/<version>
    {k: v for k, v in _UPPER_CREATED.items() if not k.startswith("UPDAT")},
    api_spelling=True,
    arn_key="ImageVersionArn",
)
LABELING_JOB = Family(
    "SageMaker Ground Truth Labeling Job State Change",
    ResourceKind.LABELING_JOB,
    "LabelingJobStatus",
    None,  # the event holds its status only: the name is in the envelope's resources
    _LABELING,
)
HUMAN_LOOP = Family(
    "SageMaker A2I HumanLoop Status Change",
    ResourceKind.HUMAN_LOOP,
    "humanLoopStatus",  # camelCase, unlike SageMaker's other events
    "humanLoopName",
    {k: v for k, v in _LABELING.items() if k not in ("Initializing",)},
    arn_key="humanLoopArn",
    reason_key="failureReason",
)
MONITORING_SCHEDULE = Family(
    "SageMaker Monitoring Schedule State Change",
    ResourceKind.MONITORING_SCHEDULE,
    "MonitoringScheduleStatus",
    "MonitoringScheduleName",
    _SCHEDULE,
    arn_key="MonitoringScheduleArn",
)
# Each failed MLflow tracking server operation is a detail-type of its own ("... Create Failed"):
# the detail-type is the status. AWS documents the names only, not the detail.
TRACKING_SERVER_FAILURES = tuple(
    f"SageMaker Tracking Server {operation} Failed"
    for operation in ("Create", "Update", "Delete", "Start", "Stop", "Maintenance")
)

_CLUSTER = {
    "Creating": Outcome.IN_PROGRESS,
    "Updating": Outcome.IN_PROGRESS,
    "SystemUpdating": Outcome.IN_PROGRESS,
    "RollingBack": Outcome.IN_PROGRESS,
    "Deleting": Outcome.IN_PROGRESS,
    "InService": Outcome.SUCCEEDED,
    "Failed": Outcome.FAILED,
}
HYPERPOD_CLUSTER = Family(
    "SageMaker HyperPod Cluster State Change",
    ResourceKind.HYPERPOD_CLUSTER,
    "ClusterStatus",
    "ClusterName",
    _CLUSTER,
)
# An instance group's Status (InstanceGroupStatus) when it runs fewer instances than it should.
GROUP_SHORT = ("Failed", "Degraded")
# The other two HyperPod detail-types: no status of the cluster, one node's or operation's news.
HYPERPOD_NODE_HEALTH = "SageMaker HyperPod Cluster Node Health Event"
HYPERPOD_EVENT = "SageMaker HyperPod Cluster Event"
HEALTHY = "Healthy"  # a node's HealthSummary.HealthStatus once it recovered
ERROR_LEVEL = "Error"  # a cluster event's EventLevel (Info, Warn, Error) when an operation failed

FAMILIES: tuple[Family, ...] = (
    TRAINING,
    PROCESSING,
    TRANSFORM,
    TUNING,
    PIPELINE_EXECUTION,
    PIPELINE_STEP,
    ENDPOINT,
    HYPERPOD_CLUSTER,
    NOTEBOOK,
    FEATURE_GROUP,
    IMAGE,
    IMAGE_VERSION,
    LABELING_JOB,
    HUMAN_LOOP,
    MONITORING_SCHEDULE,
)
BY_DETAIL_TYPE: Mapping[str, Family] = {family.detail_type: family for family in FAMILIES}
BY_KIND: Mapping[ResourceKind, Family] = {family.kind: family for family in FAMILIES}
JOBS: tuple[Family, ...] = tuple(f for f in FAMILIES if f.kind.is_job)


# The job tags sagewatch reads besides the team's (TeamTagKey): a job may silence its own alerts
# (a sandbox experiment), set their severity or its under-used threshold. Reports carry them;
# nothing else of the tags.
SILENCE_TAG = "sagewatch:silence"  # any value but false, no or 0
SEVERITY_TAG = "sagewatch:severity"  # high, medium or low
UNDER_USED_TAG = "sagewatch:under-used-percent"  # the job's own under-used threshold
JOB_TAGS = (SILENCE_TAG, SEVERITY_TAG, UNDER_USED_TAG)
# An endpoint's own limits for its health (issue 16): above them, sustained, it alerts.
MAX_5XX_TAG = "sagewatch:max-5xx-percent"  # share of its requests answered with a 5XX error
MAX_LATENCY_TAG = "sagewatch:max-latency-ms"  # its model's average latency, in milliseconds
ENDPOINT_TAGS = (SILENCE_TAG, SEVERITY_TAG, MAX_5XX_TAG, MAX_LATENCY_TAG)
