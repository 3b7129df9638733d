"""Whole pipeline on the embedded AWS: events/ and events the project has never seen."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

import pytest

from sagewatch.embedded import load_events, replay
from sagewatch.template import EVENTS

pytestmark = pytest.mark.integration

# Failing samples, minus the tuning child and the pipelines' second events (SageMaker's and
# CodePipeline's), plus the two refused calls (CloudTrail) and the endpoint rolling back its
# update.
FAILURE_INCIDENTS = 22
FINISHED_JOBS = 14  # terminal training/processing/transform jobs, the duplicate counted once
CANARY = "canary-secret-"
REPORT_SAMPLE_ID = json.loads((EVENTS / "utilization-report-under-used.json").read_text())["id"]


@pytest.fixture(scope="module")
def samples() -> list[dict[str, Any]]:
    return load_events([EVENTS])


@pytest.fixture(scope="module")
def result(samples: list[dict[str, Any]], demo_metrics: dict[str, Any]) -> dict[str, Any]:
    return replay(samples, demo_metrics)


# `sagewatch replay events --metrics sagewatch/data/demo-metrics.json --json`, recorded: alert
# documents and reports must not change unless a change says why. Rewrite them with
# SAGEWATCH_UPDATE_GOLDEN=1 and review the diff.
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _golden_text(items: list[dict[str, Any]]) -> str:
    """Stable text: event ids (random UUIDs, as EventBridge's) masked, keys and items sorted."""
    rows = sorted(json.dumps(item, sort_keys=True) for item in items)
    return _UUID.sub("<uuid>", json.dumps([json.loads(r) for r in rows], indent=1)) + "\n"


@pytest.mark.parametrize("part", ["alerts", "reports"])
def test_given_events_folder_when_replayed_then_documents_equal_the_golden_files(
    result: dict[str, Any], part: str
) -> None:
    path = GOLDEN / f"replay-{part}.json"
    text = _golden_text(result[part])
    if os.environ.get("SAGEWATCH_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def _produced(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Reports the enricher put on the bus (events/ also holds one report, replayed as input)."""
    return [r for r in result["reports"] if not r["id"].startswith(REPORT_SAMPLE_ID)]


def test_given_events_folder_when_replayed_then_every_event_is_archived(
    result: dict[str, Any], samples: list[dict[str, Any]]
) -> None:
    assert result["events"] == len(samples)
    assert result["archived"] == len(samples) + len(_produced(result))
    assert result["dead_letters"] == []


def test_given_events_folder_when_replayed_then_one_alert_per_failure_incident(
    result: dict[str, Any],
) -> None:
    failures = [
        a
        for a in result["alerts"]
        if a["attributes"]["kind"] == "failure" and not a["json"]["update"]
    ]
    incidents = {(a["json"]["incident"], a["json"]["update"]) for a in result["alerts"]}
    assert len(failures) == FAILURE_INCIDENTS
    assert len(incidents) == len(result["alerts"])
    others = sorted(
        (a["json"]["name"], a["attributes"]["kind"]) for a in result["alerts"] if a not in failures
    )
    assert others == [
        ("Vision-ResNet50-FT-20261120-0800", "under-used"),
        # HyperPod: a group short of instances, an instance no capacity launched, and two nodes
        # of one cluster in one window: the first alone, both in its summary
        ("forecast-foundation", "unhealthy"),
        # its 5XX errors spiked for a quarter of an hour (the demo's metrics): one alert, and
        # its recovery as an update of that incident
        ("forecasting-demand-realtime", "unhealthy"),
        ("forecasting-demand-realtime", "unhealthy"),
        ("forecasting-feature-build-20261120-0700", "idle"),
        ("model-monitoring-202611200900-6c1f2e9a8b7d4c3e5f0a1b2c", "violations"),
        ("nlp-instruct-tune", "unhealthy"),
        ("vision-llm-pretrain", "unhealthy"),
        ("vision-llm-pretrain", "unhealthy"),
        # it hit its maximum runtime with its GPUs idle: its waste (about $304) is an update of
        # that failure's incident, on its thread, not a second incident
        ("vision-vit-huge-pretrain-20261120-0200", "failure"),
        # and while it ran, the in-flight check caught its idle GPUs: one alert, and its end as
        # an update of that incident
        ("vision-vit-huge-pretrain-20261120-0200", "idle"),
        ("vision-vit-huge-pretrain-20261120-0200", "idle"),
        ("vision-yolo-train-20261120-0330", "under-used"),  # the report sample itself
    ]


def test_given_events_folder_when_replayed_then_one_report_per_finished_job(
    result: dict[str, Any],
) -> None:
    names = [r["detail"]["job"]["name"] for r in _produced(result)]
    assert len(names) == len(set(names)) == FINISHED_JOBS


def test_given_events_with_secrets_when_replayed_then_no_secret_in_any_alert_or_metric(
    result: dict[str, Any],
) -> None:
    assert CANARY not in json.dumps(result["alerts"])
    assert CANARY not in json.dumps(result["metrics"])
    assert CANARY not in json.dumps(result["reports"])


def test_given_events_folder_when_replayed_then_json_has_the_documented_keys(
    result: dict[str, Any],
) -> None:
    assert {
        "events",
        "archived",
        "invocations",
        "alerts",
        "reports",
        "dead_letters",
        "metrics",
        "calls",
    } <= set(result)
    assert result["invocations"]["enricher"] >= 1
    alert = result["alerts"][0]
    assert {"subject", "attributes", "email", "chat", "json"} <= set(alert)
    assert result["calls"]["sns.Publish"] == 3 * len(result["alerts"])  # one per rendering
    assert all(a["email"]["body"] and a["chat"] for a in result["alerts"])


def _unseen(samples: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """New accounts, regions and names, other timestamp encodings, hostile text, every event
    delivered twice under a new id, all shuffled."""
    rng = random.Random(seed)
    accounts = {
        old: f"{rng.randrange(10**11, 10**12 - 1):012d}"
        for old in ("111122223333", "444455556666", "777788889999")
    }
    regions = dict(
        zip(accounts.values(), ["ap-southeast-2", "us-west-2", "sa-east-1"], strict=True)
    )
    out = []
    for event in samples:
        text = json.dumps(event)
        for old, new in accounts.items():
            text = text.replace(old, new)
        event = json.loads(text)
        event["region"] = regions.get(event["account"], event["region"])
        detail = event["detail"]
        for key in ("TrainingJobName", "ProcessingJobName", "TransformJobName", "EndpointName"):
            if key in detail:
                detail[key] = f"unseen{seed}-{detail[key]}"
        for key in ("TrainingEndTime", "ProcessingEndTime", "TransformEndTime", "CreationTime"):
            if isinstance(detail.get(key), int | float):
                detail[key] = str(detail[key] / 1000)  # seconds as a numeric string
        if "FailureReason" in detail:
            detail["FailureReason"] = "\x1b[2J\x1b]0;pwned\x07" + "x" * 2000 + " password=hunter2"
        for copy_id in ("a", "b"):
            out.append(dict(event, id=f"{event['id']}-{copy_id}"))
    out.append(
        dict(samples[0], source="aws.sagemaker", **{"detail-type": "SageMaker Brand New Thing"})
    )
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_given_unseen_duplicated_shuffled_events_when_replayed_then_one_alert_per_incident(
    samples: list[dict[str, Any]], seed: int
) -> None:
    result = replay(_unseen(samples, seed))

    failures = [a for a in result["alerts"] if a["attributes"]["kind"] == "failure"]
    assert len(failures) == FAILURE_INCIDENTS
    assert len({a["json"]["incident"] for a in result["alerts"]}) == len(result["alerts"])
    assert len(_produced(result)) == FINISHED_JOBS
    assert result["dead_letters"] == []
    rendered = json.dumps(result["alerts"])
    assert CANARY not in rendered
    assert "hunter2" not in rendered
    assert "\\u001b" not in rendered
    assert "\\u0007" not in rendered
    for alert in result["alerts"]:
        assert len(alert["subject"]) < 100
