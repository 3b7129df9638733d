"""Canary secrets in every free-text field of every event type: none reaches an alert or a
metric unless its field is allow-listed (resource names, failure reasons, the team tag)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from sagewatch.embedded import load_events, replay
from sagewatch.template import EVENTS

pytestmark = pytest.mark.integration

# Fields that steer processing (statuses, times, hardware) are left alone; every other string
# leaf gets a canary.
UNTOUCHED = re.compile(r"(Status|Time|time|InstanceType|Key|key)$")
ALLOWED = {  # where a canary may legitimately surface: the alert's own facts
    "TrainingJobName", "ProcessingJobName", "TransformJobName", "HyperParameterTuningJobName",
    "EndpointName", "stepName", "pipelineArn", "pipelineExecutionArn",
    "pipelineExecutionDisplayName", "FailureReason", "failureReason", "ExitMessage", "team",
    # Model Monitor: the schedule and endpoint names SageMaker sets (the rest of Environment
    # must never surface)
    # HyperPod: the cluster, its nodes and groups, and what SageMaker says of their trouble
    "ClusterName", "InstanceGroupName", "InstanceId", "FailureMessage", "HealthStatusReason",
    "RepairAction", "Recommendation", "Description",
    # the other families' names (an image version's from its ARN), and A2I's camelCase reason
    "NotebookInstanceName", "FeatureGroupName", "MonitoringScheduleName", "TrackingServerName",
    "humanLoopName", "ImageVersionArn",
    # a heartbeat's account labels (its workload stack's parameters), on every alert about it
    "project", "environment", "account_alias",
    "MonitoringScheduleArn", *(MONITOR_NAMES := {
        "sagemaker_monitoring_schedule_name", "sagemaker_endpoint_name"
    }),
}  # fmt: skip
CANARY = re.compile(r"canary(\d+)x")


Path = tuple[str, ...]


def _plant(value: Any, path: Path, planted: dict[str, Path]) -> Any:
    """Append a unique token to every string leaf; remember each token's path."""
    if isinstance(value, dict):
        tag = value.get("Key", value.get("key"))  # [{Key, Value}] tags: the path names the tag
        return {
            k: _plant(v, (*path, str(tag) if k in ("Value", "value") and tag else k), planted)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_plant(item, path, planted) for item in value]
    if isinstance(value, str) and not UNTOUCHED.search(path[-1]):
        token = f"canary{len(planted)}x"
        planted[token] = path
        return f"{value}-{token}"
    return value


def _leaked(text: str, planted: dict[str, Path]) -> set[Path]:
    """Paths of the tokens found in text whose field is not allow-listed."""
    paths = {planted[f"canary{n}x"] for n in CANARY.findall(text)}
    return {path for path in paths if path[-1] not in ALLOWED}


@pytest.fixture(scope="module")
def planted_replay() -> tuple[dict[str, Any], dict[str, Path]]:
    planted: dict[str, Path] = {}
    events = []
    for event in load_events([EVENTS]):
        event = copy.deepcopy(event)
        event["detail"] = _plant(event["detail"], ("detail",), planted)
        events.append(event)
    return replay(events), planted


def test_given_canaries_everywhere_when_replayed_then_only_allow_listed_fields_reach_alerts(
    planted_replay: tuple[dict[str, Any], dict[str, Path]],
) -> None:
    result, planted = planted_replay
    assert len(planted) > 300
    assert result["alerts"], "the canaried events must still alert"
    assert _leaked(json.dumps(result["alerts"]), planted) == set()


def test_given_canaries_everywhere_when_replayed_then_metrics_carry_only_names(
    planted_replay: tuple[dict[str, Any], dict[str, Path]],
) -> None:
    result, planted = planted_replay
    assert result["metrics"]
    assert _leaked(json.dumps(result["metrics"]), planted) == set()


def test_given_secret_bearing_fields_when_replayed_then_none_of_them_leaves(
    planted_replay: tuple[dict[str, Any], dict[str, Path]],
) -> None:
    result, planted = planted_replay
    secret_fields = {"Environment", "HyperParameters", "StaticHyperParameters", "requestParameters"}
    secret_tokens = {
        t
        for t, path in planted.items()
        if secret_fields & set(path) and path[-1] not in MONITOR_NAMES  # names SageMaker sets
    }
    out = json.dumps(result["alerts"]) + json.dumps(result["metrics"])
    assert secret_tokens
    assert not [t for t in secret_tokens if t in out]
