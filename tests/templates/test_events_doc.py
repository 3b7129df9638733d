"""docs/events.md gives every SageMaker detail-type a decision, and stays true to the code.

The committed document is read back here (with a parser of its own, not the generator's) and
compared with the routes as they are registered when the test runs: a type a route takes has a
row; a row says alert today exactly when an alerting route takes the type (directly, or through
the enricher's utilization report); every type of AWS's list (sagewatch/data/sagemaker-events.json)
has a row. The checks are shown to fail on a document or routes that disagree."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from sagewatch import events_doc
from sagewatch.events_doc import (
    ALERT_KINDS,
    DOC,
    UNDOCUMENTED,
    Decision,
    dashboard_widgets,
    reference,
    render,
    resource_of,
    severity,
    today,
)
from sagewatch.generate import GENERATED, ROUTERS
from sagewatch.template import EVENTS
from shared.alerting.alerts import Alert, AlertKind, Severity
from shared.alerting.service import alertable
from shared.config import AlerterSettings
from shared.contracts.report import REPORT_DETAIL_TYPE, SAGEWATCH_SOURCE
from shared.domain.parser import parse_event
from shared.domain.vocabulary import FAMILIES, SAGEMAKER_SOURCE
from shared.enrichment.service import enrichable
from shared.platform.matching import Match
from shared.platform.router import Route, Router

REF = reference()
OWN = "Other sources: sagewatch's own events and the ML platform's automation"
SETTINGS = AlerterSettings(
    topics={}, idempotency_table="t", team_tag_key="team", dedup_seconds=3600,
    burst_threshold=3, burst_window_seconds=600, summary_queue_url="unused",
)  # fmt: skip


# ---- the document, read back ---------------------------------------------------------------------
def rows(text: str) -> dict[tuple[str, str], str]:
    """(source, detail-type) → the row's Today cell, from the generated part's tables."""
    generated = text[text.index(events_doc.BEGIN) : text.index(events_doc.END)]
    found: dict[tuple[str, str], str] = {}
    section = ""
    for line in generated.splitlines():
        if line.startswith("### "):
            section = line[4:]
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if section == OWN:
            key, cell = (cells[0].strip("`"), cells[1].strip("`")), cells[3]
        else:
            key, cell = (SAGEMAKER_SOURCE, cells[0].strip("`")), cells[2]
        assert key not in found, f"two rows for {key}"
        found[key] = cell
    return found


def decision_of(cell: str) -> str:
    match = re.match(r"\*\*([a-z ]+)\*\*", cell)
    assert match, f"no decision in {cell!r}"
    return match.group(1)


def discrepancies(
    text: str,
    routers: Iterable[Router[Any, Any]],
    alerter: Router[Any, Any] = alertable,
    enricher: Router[Any, Any] = enrichable,
) -> list[str]:
    """What the document says that the routes (or AWS's list) contradict."""
    routers = tuple(routers)
    table = rows(text)
    taken = {(r.source, r.detail_type) for router in routers for r in router.routes}
    problems = [f"{key}: taken by a route, no row" for key in sorted(taken - set(table))]
    problems += [
        f"{dt}: in AWS's list, no row"
        for dt in REF.documented
        if (SAGEMAKER_SOURCE, dt) not in table
    ]
    # The alerting routes' types, and the types whose utilization report alerts.
    alerting = alerter.routes if any(r is alerter for r in routers) else ()
    enriching = enricher.routes if any(r is enricher for r in routers) else ()
    alerts = {r.detail_type for r in alerting if r.source == SAGEMAKER_SOURCE}
    enriched = {r.detail_type for r in enriching if r.source == SAGEMAKER_SOURCE}
    if any((r.source, r.detail_type) == (SAGEWATCH_SOURCE, REPORT_DETAIL_TYPE) for r in alerting):
        alerts |= enriched
    shown = set(dashboard_widgets()) | enriched
    for (source, detail_type), cell in table.items():
        if source != SAGEMAKER_SOURCE:
            continue
        said = decision_of(cell)
        expected = (
            Decision.ALERT
            if detail_type in alerts
            else Decision.DASHBOARD
            if detail_type in shown
            else Decision.ARCHIVE
        )
        if said != expected:
            problems.append(f"{detail_type}: the document says {said}, the routes {expected}")
    return problems


# ---- the committed document ----------------------------------------------------------------------
def test_given_the_committed_doc_when_generated_again_then_nothing_changes() -> None:
    text = DOC.read_text()
    assert events_doc.write(text, ROUTERS) == text, "run `make generate`"
    assert GENERATED[DOC](text) == text  # and `generate --check` (make templates) checks it


def test_given_the_routes_of_now_then_the_committed_doc_agrees_with_them() -> None:
    assert discrepancies(DOC.read_text(), ROUTERS) == []


def test_given_aws_list_then_every_documented_type_has_exactly_one_row_in_the_doc() -> None:
    table = rows(DOC.read_text())
    sagemaker = [dt for source, dt in table if source == SAGEMAKER_SOURCE]
    assert set(REF.documented) <= set(sagemaker)
    assert len(sagemaker) == len(set(sagemaker))


def test_given_the_routes_then_every_sagemaker_type_they_take_is_in_aws_list() -> None:
    taken = {r.detail_type for router in ROUTERS for r in router.routes}
    taken_sagemaker = {
        r.detail_type for router in ROUTERS for r in router.routes if r.source == SAGEMAKER_SOURCE
    }
    assert taken_sagemaker <= set(REF.documented)
    assert UNDOCUMENTED not in DOC.read_text()
    assert taken - taken_sagemaker <= set(REF.own)  # sagewatch's own types are described


# ---- the checks fail when document and routes part -----------------------------------------------
def test_given_a_row_removed_then_the_check_names_the_type() -> None:
    text = DOC.read_text()
    line = next(x for x in text.splitlines() if x.startswith("| `SageMaker Model State Change`"))
    problems = discrepancies(text.replace(line + "\n", ""), ROUTERS)
    assert problems == ["SageMaker Model State Change: in AWS's list, no row"]


def test_given_an_alerting_type_said_archive_only_then_the_check_names_it() -> None:
    text = DOC.read_text()
    line = next(x for x in text.splitlines() if x.startswith("| `SageMaker Endpoint State Change`"))
    edited = line.replace("**alert**", "**archive only**")
    problems = discrepancies(text.replace(line, edited), ROUTERS)
    assert problems == [
        "SageMaker Endpoint State Change: the document says archive only, the routes alert"
    ]


def _alerter_taking(*detail_types: str) -> Router[Any, Any]:
    router: Router[Any, Any] = Router("alerter", parse_event)

    @router.route(Match(SAGEMAKER_SOURCE, detail_types), rule="AlerterFunctionFailures")
    def failure(event: Any, settings: Any) -> None:
        return None

    return router


def test_given_a_new_alerting_route_then_the_committed_doc_no_longer_holds() -> None:
    alerter = _alerter_taking("SageMaker Model State Change", "SageMaker Widget State Change")
    problems = discrepancies(DOC.read_text(), (alerter,), alerter=alerter)
    assert "SageMaker Model State Change: the document says archive only, the routes alert" in (
        problems
    )
    assert "('aws.sagemaker', 'SageMaker Widget State Change'): taken by a route, no row" in (
        problems
    )


def test_given_a_new_alerting_route_when_generated_then_its_rows_say_alert() -> None:
    alerter = _alerter_taking("SageMaker Model State Change", "SageMaker Widget State Change")
    text = "\n".join(render((alerter,), alerter=alerter))
    table = rows(text)
    assert decision_of(table[(SAGEMAKER_SOURCE, "SageMaker Model State Change")]) == "alert"
    assert decision_of(table[(SAGEMAKER_SOURCE, "SageMaker Widget State Change")]) == "alert"
    assert f"### {UNDOCUMENTED}" in text  # a type AWS's list lacks: test above then fails
    # and the generated document passes the check against those routes
    assert discrepancies(text, (alerter,), alerter=alerter) == []


def test_given_a_doc_without_its_markers_then_the_generator_refuses() -> None:
    with pytest.raises(ValueError, match="markers"):
        events_doc.write("# events\n", ROUTERS)


# ---- alert kinds: what the handlers really send --------------------------------------------------
def _samples() -> list[tuple[str, dict[str, Any]]]:
    samples = [(path.stem, json.loads(path.read_text())) for path in sorted(EVENTS.glob("*.json"))]
    by_name = dict(samples)
    idle = json.loads(json.dumps(by_name["utilization-report-under-used"]))
    idle["detail"]["verdict"] = "idle"
    refused = json.loads(json.dumps(by_name["cloudtrail-create-training-job"]))
    refused["detail"].update(errorCode="ResourceLimitExceeded", errorMessage="quota")
    hung = json.loads(json.dumps(idle))  # a failed job's waste: an update of its failure
    hung["detail"]["job"].update(status="Stopped", secondary_status="MaxRuntimeExceeded")
    failed = json.loads(json.dumps(by_name["hyperpod-cluster-short"]))
    failed["detail"].update(ClusterStatus="Failed", FailureMessage="lifecycle script failed")
    return [
        *samples,
        ("report:idle", idle),
        ("report:hung", hung),
        ("cloudtrail:refused", refused),
        ("hyperpod:failed", failed),
    ]


def _alerted() -> Iterator[tuple[Route[Any, Any], Alert]]:
    """Each sample's route and the alert it makes, for the samples a route takes."""
    for _, event in _samples():
        for route in alertable.routes:
            if (route.source, route.detail_type) != (event["source"], event["detail-type"]):
                continue
            model = route.parse(event)
            if route.accepts(model):
                yield route, route.handler(model, SETTINGS)


def _sent() -> dict[str, set[AlertKind]]:
    """handler → the alert kinds it sent for the samples its route takes."""
    sent: dict[str, set[AlertKind]] = {}
    for route, alert in _alerted():
        sent.setdefault(route.handler.__name__, set()).add(alert.kind)
    return sent


def test_given_every_alerting_route_then_the_doc_knows_its_kinds() -> None:
    handlers = {route.handler.__name__ for route in alertable.routes}
    assert handlers <= set(ALERT_KINDS), "add the new handler's alert kinds to ALERT_KINDS"


def test_given_the_samples_when_alerted_then_each_handler_sends_the_kinds_the_doc_says() -> None:
    sent = _sent()
    handlers = {route.handler.__name__ for route in alertable.routes}
    # Every alerting handler is exercised (a new one: add a sample to events/, or a variant above).
    assert set(sent) == handlers
    for handler, kinds in sent.items():
        assert kinds == set(ALERT_KINDS[handler]), handler


def test_given_a_kind_then_its_severity_in_the_doc_is_the_alerts() -> None:
    state = today(
        SAGEMAKER_SOURCE, "SageMaker Processing Job State Change", ROUTERS, dashboard_widgets()
    )
    assert state.kinds == (
        AlertKind.FAILURE,
        AlertKind.VIOLATIONS,
        AlertKind.UNDER_USED,
        AlertKind.IDLE,
    )
    cell = rows(DOC.read_text())[(SAGEMAKER_SOURCE, "SageMaker Processing Job State Change")]
    assert "`failure` (high)" in cell
    assert "`violations` (medium)" in cell
    assert "`under-used` (low), `idle` (medium)" in cell


def test_given_a_done_plan_then_the_code_pages_with_the_planned_severity() -> None:
    widgets = dashboard_widgets()
    checked = 0
    for family in REF.families.values():
        plan = family.plan
        now = today(SAGEMAKER_SOURCE, family.detail_type, ROUTERS, widgets)
        if plan is None or plan.decision is not Decision.ALERT or now.decision is not plan.decision:
            continue
        sent = {severity(kind, resource_of(family.detail_type)) for kind in now.kinds}
        assert plan.severity in sent, family.detail_type
        checked += 1
    assert checked >= 15  # HyperPod, refused calls, notebooks, images, ... tracking servers


def test_given_the_samples_when_alerted_then_each_alert_has_its_documented_severity() -> None:
    for route, alert in _alerted():
        documented = severity(alert.kind, resource_of(route.detail_type))
        assert alert.severity.value == documented, route.detail_type


# ---- the data: AWS's list and the plans ----------------------------------------------------------
def test_given_the_data_then_it_names_its_source_and_holds_the_families_the_code_knows() -> None:
    assert (
        REF.source == "https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-sagemaker.html"
    )
    assert {family.detail_type for family in FAMILIES} <= set(REF.documented)
    assert "AWS API Call via CloudTrail" in REF.documented
    assert all(dt.startswith("SageMaker ") for dt in REF.documented[:-1])


def test_given_the_plans_then_each_has_an_issue_and_alerts_a_known_severity() -> None:
    severities = {s.value for s in Severity}
    for family in REF.families.values():
        if family.plan is None:
            assert family.keep or family.detail_type in {
                r.detail_type for router in ROUTERS for r in router.routes
            }, f"{family.detail_type}: no plan and no reason to keep it as it is"
            continue
        assert family.plan.issue == 15, family.detail_type  # every SageMaker family is issue 15's
        if family.plan.decision is Decision.ALERT:
            assert family.plan.severity in severities, family.detail_type


def test_given_the_plans_then_none_is_below_what_the_code_already_does() -> None:
    widgets = dashboard_widgets()
    for family in REF.families.values():
        now = today(SAGEMAKER_SOURCE, family.detail_type, ROUTERS, widgets)
        if family.plan is not None:
            assert family.plan.decision.rank >= now.decision.rank, family.detail_type
