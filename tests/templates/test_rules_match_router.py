"""template.yaml's rule patterns and the routers' registrations must agree: every pattern lives
once, in the template, and the code that consumes the events is registered for exactly them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from sagewatch.embedded import ACCOUNT
from sagewatch.template import EVENTS, bus_rules
from shared.alerting import alertable
from shared.enrichment import enrichable
from shared.errors import InvalidEvent
from shared.router import Disposition, Router
from shared.watchdog import fleet_events

RULES = {rule.logical_id: rule for rule in bus_rules(ACCOUNT)}
CONSUMERS: dict[str, tuple[str, ...]] = {
    "EnricherFunction": ("EnrichRule",),
    "AlerterFunction": ("AlertFailuresRule", "AlertUtilizationRule"),
    "FleetFunction": ("FleetHeartbeatRule", "FleetInventoryRule"),
}
ROUTERS: dict[str, Router[Any]] = {
    "EnricherFunction": enrichable,
    "AlerterFunction": alertable,
    "FleetFunction": fleet_events,
}
SAMPLES = sorted(EVENTS.glob("*.json"))


def _pairs(pattern: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s, d) for s in pattern["source"] for d in pattern["detail-type"]}


def _matches(rule_id: str, event: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(RULES[rule_id].pattern)).matches_event(event))


def _handled(router: Router[Any], event: dict[str, Any]) -> bool:
    try:
        return router.dispatch(event).disposition is Disposition.HANDLED
    except InvalidEvent:
        return False


def test_given_template_when_rules_listed_then_each_consumer_has_its_rules_and_one_archive() -> (
    None
):
    targets = {rule.logical_id: rule.targets for rule in RULES.values()}
    assert targets == {
        "ArchiveAllRule": ("ArchiveLogGroup",),
        "EnrichRule": ("EnrichmentQueue",),
        "AlertFailuresRule": ("AlerterFunction",),
        "AlertUtilizationRule": ("AlerterFunction",),
        "FleetHeartbeatRule": ("FleetFunction",),
        "FleetInventoryRule": ("FleetFunction",),
    }


@pytest.mark.parametrize("function", sorted(CONSUMERS))
def test_given_consumer_when_comparing_then_router_registrations_equal_template_pairs(
    function: str,
) -> None:
    in_template = set().union(*(_pairs(RULES[r].pattern) for r in CONSUMERS[function]))
    registered = {(route.source, route.detail_type) for route in ROUTERS[function].routes}
    assert registered == in_template


EXPECTED_ALERTER = {
    "endpoint-failed", "pipeline-execution-failed", "pipeline-step-failed", "processing-failed",
    "training-failed", "training-failed-eu-other-account", "training-failed-hostile-reason",
    "training-stopped-max-runtime", "transform-failed", "tuning-failed",
    "tuning-child-training-failed", "utilization-report-under-used",
    "processing-monitor-violations",
}  # fmt: skip
EXPECTED_ENRICHER = {
    "training-completed-gpu", "training-completed-gpu-duplicate",
    "training-completed-multi-instance", "training-failed", "training-failed-eu-other-account",
    "training-failed-hostile-reason", "training-heterogeneous-cluster",
    "training-stopped-by-user", "training-stopped-max-runtime", "processing-completed",
    "processing-failed", "transform-completed", "transform-failed", "tuning-child-training-failed",
    "processing-monitor-violations",
}  # fmt: skip


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_given_sample_when_matched_against_template_then_it_reaches_exactly_expected_functions(
    path: Any,
) -> None:
    event = json.loads(path.read_text())
    reached = {
        function
        for function, rules in CONSUMERS.items()
        if any(_matches(rule, event) for rule in rules)
    }
    expected = {"EnricherFunction"} if path.stem in EXPECTED_ENRICHER else set()
    expected |= {"AlerterFunction"} if path.stem in EXPECTED_ALERTER else set()
    expected |= {"FleetFunction"} if path.stem in ("heartbeat", "inventory-snapshot") else set()
    assert _matches("ArchiveAllRule", event)
    assert reached == expected


STATUS_KEYS = {
    "SageMaker Training Job State Change": "TrainingJobStatus",
    "SageMaker Processing Job State Change": "ProcessingJobStatus",
    "SageMaker Transform Job State Change": "TransformJobStatus",
    "SageMaker HyperParameter Tuning Job State Change": "HyperParameterTuningJobStatus",
    "SageMaker Endpoint State Change": "EndpointStatus",
    "SageMaker Model Building Pipeline Execution Status Change": "currentPipelineExecutionStatus",
    "SageMaker Model Building Pipeline Execution Step Status Change": "currentStepStatus",
}
STATUSES = [
    "InProgress", "Completed", "Failed", "Stopping", "Stopped", "Executing", "Succeeded",
    "Starting", "CREATING", "IN_SERVICE", "UPDATING", "FAILED", "DELETING", "DELETED",
    "UPDATE_ROLLBACK_FAILED",
]  # fmt: skip
SECONDARY = [None, "Completed", "Failed", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"]


def _variants() -> list[tuple[str, dict[str, Any]]]:
    """Every sample with every status (and secondary status): predicates meet patterns here."""
    variants = []
    for path in SAMPLES:
        event = json.loads(path.read_text())
        key = STATUS_KEYS.get(event["detail-type"])
        if key is None:
            continue
        for status in STATUSES:
            for secondary in SECONDARY:
                detail = dict(event["detail"], **{key: status})
                if secondary is None:
                    detail.pop("SecondaryStatus", None)
                else:
                    detail["SecondaryStatus"] = secondary
                variants.append((f"{path.stem}:{status}:{secondary}", dict(event, detail=detail)))
    return variants


VARIANTS = _variants()


def test_given_report_from_another_account_when_matched_then_it_never_reaches_the_alerter() -> None:
    forged = json.loads((EVENTS / "utilization-report-under-used.json").read_text())
    assert _matches("AlertUtilizationRule", forged)
    forged["account"] = "111122223333"
    assert not _matches("AlertUtilizationRule", forged)


def test_given_every_status_variant_when_routed_then_enricher_predicate_equals_pattern() -> None:
    disagreements = [
        name
        for name, event in VARIANTS
        if _matches("EnrichRule", event) != _handled(enrichable, event)
    ]
    assert len(VARIANTS) > 1000
    assert disagreements == []


def test_given_every_status_variant_when_routed_then_alerter_handles_only_what_rules_deliver() -> (
    None
):
    # The router may decline more (a tuning job's children), never accept what no rule sends it.
    leaks = [
        name
        for name, event in VARIANTS
        if _handled(alertable, event)
        and not any(_matches(r, event) for r in CONSUMERS["AlerterFunction"])
    ]
    misses = [
        name
        for name, event in VARIANTS
        if any(_matches(r, event) for r in CONSUMERS["AlerterFunction"])
        and not _handled(alertable, event)
        and "TuningJobArn" not in event["detail"]
    ]
    assert leaks == []
    assert misses == []
