"""The contracts between sagewatch's parts (the utilization report, the storm window, the stored
inventory): each model's serializer and parser agree with each other and with the schema in docs/,
and a version or record a reader cannot read is refused with its reason."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.contracts.inventory import Endpoint, Snapshot, StoredInventory, Variant, parse_snapshot
from shared.contracts.report import SCHEMA_VERSION, UtilizationReport
from shared.contracts.storm_window import StormWindow
from shared.domain.vocabulary import ResourceKind
from shared.platform.errors import InvalidEvent

ROOT = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())
# Every report `sagewatch replay events` produces, recorded (tests/integration/test_replay.py).
REPORTS: list[dict[str, Any]] = json.loads((ROOT / "tests/golden/replay-reports.json").read_text())
TEAM_TAG = "team"


def _ids(report: dict[str, Any]) -> str:
    return str(report["detail"]["job"]["name"])


@pytest.mark.parametrize("event", REPORTS, ids=_ids)
def test_every_recorded_report_is_valid_against_the_published_schema(event: dict[str, Any]) -> None:
    errors = [e.message for e in Draft202012Validator(REPORT_SCHEMA).iter_errors(event["detail"])]

    assert errors == []


@pytest.mark.parametrize("event", REPORTS, ids=_ids)
def test_a_report_read_back_writes_the_same_detail(event: dict[str, Any]) -> None:
    report = UtilizationReport.parse(event)

    assert report.detail(TEAM_TAG) == event["detail"]
    assert UtilizationReport.parse(event | {"detail": report.detail(TEAM_TAG)}) == report


def test_the_schema_names_exactly_the_fields_the_model_writes() -> None:
    detail = UtilizationReport.parse(REPORTS[0]).detail(TEAM_TAG)
    job_schema = REPORT_SCHEMA["properties"]["job"]

    assert set(REPORT_SCHEMA["properties"]) == set(REPORT_SCHEMA["required"]) == set(detail)
    assert set(job_schema["properties"]) == set(job_schema["required"]) == set(detail["job"])
    assert REPORT_SCHEMA["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_the_recorded_reports_cover_every_verdict_with_and_without_waste() -> None:
    verdicts = {event["detail"]["verdict"] for event in REPORTS}
    wasted = [event for event in REPORTS if event["detail"]["waste"]]

    assert {"ok", "under-used", "idle", "insufficient-data"} <= verdicts
    assert wasted
    assert len(wasted) < len(REPORTS)


@pytest.mark.parametrize("version", [None, 0, 2, "1", True])
def test_a_report_of_another_schema_version_is_refused_by_name(version: Any) -> None:
    event = REPORTS[0] | {"detail": REPORTS[0]["detail"] | {"schema_version": version}}

    with pytest.raises(InvalidEvent, match=r"report schema_version .* is not 1"):
        UtilizationReport.parse(event)


def test_a_report_with_a_malformed_field_is_refused_with_its_reason() -> None:
    detail = REPORTS[0]["detail"] | {"thresholds": {"idle_percent": "low"}}

    with pytest.raises(InvalidEvent, match="malformed utilization report"):
        UtilizationReport.parse(REPORTS[0] | {"detail": detail})


WINDOW = StormWindow.of("444455556666", "eu-west-1", ResourceKind.PROCESSING, 1_795_176_000, 600)


def test_a_storm_window_read_back_is_the_same_window() -> None:
    sent = replace(WINDOW, failures=12)

    assert StormWindow.parse(json.dumps(sent.message())) == sent
    assert StormWindow.parse(sent.message()) == sent
    assert sent.bucket == "burst|444455556666|eu-west-1|processing|1795176000"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": 2}, "version is not a whole number 1..1"),
        ({"bucket": "incident|x"}, "bucket is not a burst window"),
        ({"resource": "spaceship"}, "resource is not a kind of resource"),
        ({"window_seconds": 0}, "window_seconds is not a whole number"),
        ({"failures": True}, "failures is not a whole number"),
    ],
)
def test_a_storm_window_that_is_not_version_1_or_malformed_is_refused_by_name(
    change: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        StormWindow.parse(WINDOW.message() | change)


def _snapshot(at: datetime, *endpoints: Endpoint) -> Snapshot:
    return Snapshot("444455556666", "eu-west-1", at, "vision", "prod", {}, endpoints)


GPU = Endpoint("ranker", (Variant("main", "ml.g5.xlarge", 2), Variant("canary", None, 0)))
SERVERLESS = Endpoint("embedder", (Variant("all", None, 0, serverless=True),))
DAY_1 = datetime(2026, 11, 20, 12, tzinfo=UTC)
DAY_2 = datetime(2026, 11, 21, 12, tzinfo=UTC)


def test_a_stored_inventory_read_back_is_the_same_inventory() -> None:
    stored = StoredInventory.after(_snapshot(DAY_1, GPU, SERVERLESS), None)
    # As DynamoDB returns it: numbers as text.
    record = stored.record() | {"collected_at": str(stored.collected_at)}

    assert StoredInventory.from_record(record) == stored
    assert stored.first_seen == {"ranker": DAY_1.timestamp(), "embedder": DAY_1.timestamp()}


def test_a_later_snapshot_keeps_first_sightings_and_drops_endpoints_gone() -> None:
    first = StoredInventory.after(_snapshot(DAY_1, GPU, SERVERLESS), None)

    later = StoredInventory.after(_snapshot(DAY_2, GPU, Endpoint("new", ())), first)

    assert later.collected_at == DAY_2.timestamp()
    assert later.first_seen == {"ranker": DAY_1.timestamp(), "new": DAY_2.timestamp()}


def test_a_list_that_may_leave_endpoints_out_keeps_the_first_sighting_of_those_it_does() -> None:
    first = StoredInventory.after(_snapshot(DAY_1, GPU, SERVERLESS), None)
    cut = replace(_snapshot(DAY_2, Endpoint("new", ())), endpoints_complete=False)

    later = StoredInventory.after(cut, first)
    again = StoredInventory.after(_snapshot(DAY_2 + timedelta(hours=1), GPU), later)

    assert [e.name for e in later.endpoints] == ["new"]  # only what it lists is checked
    assert not later.complete
    assert StoredInventory.from_record(later.record()) == later
    assert again.first_seen == {"ranker": DAY_1.timestamp()}  # its idle clock ran on
    assert again.complete


@pytest.mark.parametrize(
    ("kpi", "complete"),
    [
        ({"count": 1, "items": [GPU.as_dict()], "truncated": False}, True),
        ({"count": 101, "items": [GPU.as_dict()], "truncated": True}, False),  # 100 newest
        (None, False),  # ListEndpoints failed: named in `errors`, not listed
    ],
)
def test_a_snapshot_says_whether_its_endpoint_list_is_whole(
    kpi: dict[str, Any] | None, complete: bool
) -> None:
    kpis = {"endpoints_in_service": kpi} if kpi else {}
    raw = {
        "id": "s", "source": "sagewatch.inventory", "account": "444455556666",
        "detail-type": "SageMaker Inventory Snapshot", "region": "eu-west-1",
        "time": DAY_1.isoformat(), "detail": {"kpis": kpis},
    }  # fmt: skip
    assert parse_snapshot(raw).endpoints_complete is complete


@pytest.mark.parametrize(
    "change",
    [
        {"endpoints": "not json"},
        {"endpoints": '[{"name": "-bad-", "variants": []}]'},
        {"first_seen": "[]"},
        {"collected_at": "yesterday"},
        {"account": None} | {"region": None, "endpoints": None},
    ],
)
def test_an_unreadable_inventory_record_is_refused_by_name(change: dict[str, Any]) -> None:
    record = StoredInventory.after(_snapshot(DAY_1, GPU), None).record() | change

    with pytest.raises(InvalidEvent, match="unreadable inventory record"):
        StoredInventory.from_record(record)
