"""The bus rules' patterns are generated from the routes (`make generate`); the committed
templates must be what the generator writes, and each route's Python test must accept exactly
what its generated pattern delivers on EventBridge's matching engine (moto's).

The routes name the rules as deployed: EnrichRule is a rule resource; AlerterFunctionFailures is
the rule SAM writes for AlerterFunction's EventBridgeRule event Failures (<function><event>)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from moto.events.models import EventPattern

from sagewatch.embedded import ACCOUNT
from sagewatch.generate import (
    DASHBOARD,
    ROUTERS,
    monitoring_template,
    pattern_path,
    rule_patterns,
    stale,
)
from sagewatch.template import EVENTS, TEMPLATE, bus_rules, deployed, load, parse, resolve
from shared.domain.vocabulary import BY_DETAIL_TYPE
from shared.platform.router import Route

RULES = {rule.logical_id: rule for rule in bus_rules(ACCOUNT)}
GENERATED = {
    rule: resolve(pattern, {"AWS::AccountId": ACCOUNT}) for rule, pattern in rule_patterns().items()
}
ROUTES: dict[str, list[Route[Any, Any]]] = {}
for _router in ROUTERS:
    for _route in _router.routes:
        ROUTES.setdefault(_route.rule, []).append(_route)
SAMPLES = sorted(EVENTS.glob("*.json"))
SECONDARY = [None, "Completed", "Failed", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"]
EXIT_MESSAGES = [None, "CompletedWithViolations: Job completed successfully with 3 violations."]


def _delivered(rule: str, event: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(GENERATED[rule])).matches_event(event))


def _accepted(rule: str, event: dict[str, Any]) -> bool:
    """A route of the rule takes it, before the checks no pattern can make (`when`)."""
    return any(
        (route.source, route.detail_type) == (event["source"], event["detail-type"])
        and route.match.accepts(route.parse(event))
        for route in ROUTES[rule]
    )


def _variants() -> list[tuple[str, dict[str, Any]]]:
    """Every sample with every status of every family (both spellings), secondary status and
    exit message: where the patterns and the Python tests could part."""
    statuses = sorted(
        {
            s
            for family in BY_DETAIL_TYPE.values()
            for s in family.statuses(*family.outcomes.values())
        }
    )
    variants = [(path.stem, json.loads(path.read_text())) for path in SAMPLES]
    for path in SAMPLES:
        event = json.loads(path.read_text())
        family = BY_DETAIL_TYPE.get(event["detail-type"])
        if family is None:
            continue
        for status in statuses:
            for secondary in SECONDARY:
                for message in EXIT_MESSAGES:
                    detail = dict(event["detail"], **{family.status_key: status})
                    for key, value in (("SecondaryStatus", secondary), ("ExitMessage", message)):
                        detail.pop(key, None)
                        if value is not None:
                            detail[key] = value
                    name = f"{path.stem}:{status}:{secondary}:{bool(message)}"
                    variants.append((name, dict(event, detail=detail)))
    return variants


VARIANTS = _variants()


def test_given_the_committed_templates_when_generated_again_then_nothing_changes() -> None:
    assert stale() == []


def test_given_the_template_when_rules_listed_then_generated_patterns_are_the_deployed_ones() -> (
    None
):
    for rule, pattern in GENERATED.items():
        assert RULES[rule].pattern == pattern, rule
    assert set(RULES) - set(GENERATED) == {"ArchiveAllRule"}
    # bus_rules reads the template as deployed: the rules SAM writes for the functions' events
    assert {"AlerterFunctionFailures", "FleetFunctionHeartbeats"} <= set(deployed()["Resources"])


@pytest.mark.parametrize("rule", sorted(GENERATED))
def test_given_every_variant_when_matched_then_the_route_accepts_exactly_what_is_delivered(
    rule: str,
) -> None:
    disagreements = [
        name for name, event in VARIANTS if _delivered(rule, event) != _accepted(rule, event)
    ]
    assert len(VARIANTS) > 2000
    assert any(_delivered(rule, event) for _, event in VARIANTS)
    assert disagreements == []


def test_given_report_from_another_account_when_matched_then_it_never_reaches_the_alerter() -> None:
    forged = json.loads((EVENTS / "utilization-report-under-used.json").read_text())
    assert _delivered("AlerterFunctionUtilization", forged)
    forged["account"] = "111122223333"
    assert not _delivered("AlerterFunctionUtilization", forged)


def test_given_a_training_job_stopped_when_matched_then_only_sagemakers_stop_is_a_failure() -> None:
    stopped = json.loads((EVENTS / "training-stopped-max-runtime.json").read_text())
    assert _delivered("AlerterFunctionFailures", stopped)
    stopped["detail"]["SecondaryStatus"] = "Stopped"  # the user stopped it
    assert not _delivered("AlerterFunctionFailures", stopped)
    assert _delivered("EnrichRule", stopped)  # its hardware is still judged


def test_given_the_template_when_rules_listed_then_each_delivers_to_its_consumer() -> None:
    assert {rule.logical_id: rule.targets for rule in RULES.values()} == {
        "ArchiveAllRule": ("ArchiveLogGroup",),
        "EnrichRule": ("EnrichmentQueue",),
        "AlerterFunctionFailures": ("AlerterFunction",),
        "AlerterFunctionUtilization": ("AlerterFunction",),
        "AlerterFunctionTrackingServers": ("AlerterFunction",),
        "AlerterFunctionStepFunctions": ("AlerterFunction",),
        "AlerterFunctionCodePipeline": ("AlerterFunction",),
        "AlerterFunctionCodeBuild": ("AlerterFunction",),
        "FleetFunctionHeartbeats": ("FleetFunction",),
        "FleetFunctionInventories": ("FleetFunction",),
        "RunningJobsRule": ("RunningJobsQueue",),
    }


def test_given_each_rule_of_the_routes_then_its_pattern_is_written_where_the_generator_says() -> (
    None
):
    template = load()

    def event(function: str, name: str) -> tuple[str, ...]:
        return (function, "Properties", "Events", name, "Properties", "Pattern")

    assert {rule: pattern_path(rule, template) for rule in GENERATED} == {
        "EnrichRule": ("EnrichRule", "Properties", "EventPattern"),
        "AlerterFunctionFailures": event("AlerterFunction", "Failures"),
        "AlerterFunctionUtilization": event("AlerterFunction", "Utilization"),
        "AlerterFunctionTrackingServers": event("AlerterFunction", "TrackingServers"),
        "AlerterFunctionStepFunctions": event("AlerterFunction", "StepFunctions"),
        "AlerterFunctionCodePipeline": event("AlerterFunction", "CodePipeline"),
        "AlerterFunctionCodeBuild": event("AlerterFunction", "CodeBuild"),
        "FleetFunctionHeartbeats": event("FleetFunction", "Heartbeats"),
        "FleetFunctionInventories": event("FleetFunction", "Inventories"),
        "RunningJobsRule": ("RunningJobsRule", "Properties", "EventPattern"),
    }
    for rule, path in ((r, pattern_path(r, template)) for r in GENERATED):
        written = template["Resources"]
        for key in path:
            written = written[key]
        assert resolve(written, {"AWS::AccountId": ACCOUNT}) == GENERATED[rule], rule


def test_given_a_route_naming_no_rule_of_the_template_then_the_generator_refuses() -> None:
    with pytest.raises(ValueError, match="AlertFailuresRule: no rule or function event"):
        pattern_path("AlertFailuresRule", load())  # the rule's name before SAM wrote it


def test_given_a_pattern_edited_by_hand_when_generated_then_the_routes_pattern_is_back() -> None:
    text = TEMPLATE.read_text()
    edited = text.replace("verdict: [under-used, idle]", "verdict: [idle]", 1)
    assert edited != text
    assert monitoring_template(edited) == text
    assert parse(monitoring_template(edited)) == load()


def test_given_the_dashboard_source_when_loaded_then_it_is_the_deployed_dashboard_body() -> None:
    deployed = load()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert json.loads(deployed) == yaml.safe_load(DASHBOARD.read_text())
