"""Project and Environment on every alert, from the account's heartbeats, and the severity its
Environment sets (issue 14, part 3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import FleetTable
from shared.alerting.alerts import AlertKind, Severity, severity_of
from shared.alerting.labels import CACHED_SECONDS, CachedLabels
from shared.alerting.service import Alerter
from shared.config import AlerterSettings, FleetSettings
from shared.contracts.inventory import parse_snapshot
from shared.contracts.labels import Labels
from shared.domain.vocabulary import ResourceKind
from shared.fleet.service import Fleet
from shared.platform.clock import FixedClock
from tests.fakes import MemoryFleetTable, MemoryLedger, MemoryOnce, NoInvocations, Recorder
from tests.unit.conftest import read_event

ENV = {
    "EMAIL_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:e",
    "JSON_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:j",
    "CHAT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:c",
    "IDEMPOTENCY_TABLE": "t", "SUMMARY_QUEUE_URL": "https://sqs/q", "AWS_REGION": "us-east-1",
}  # fmt: skip
FORECASTING = "777788889999"  # training-failed.json's account
FLEET_ENV = ENV | {
    "FLEET_TABLE": "fleet", "EVENT_BUS_NAME": "b", "REFRESH_ROLE_ARN": "arn:aws:iam::1:role/r",
    "REFRESH_RULE_PREFIX": "p",
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "resource", "environment", "expected"),
    [
        (AlertKind.FAILURE, ResourceKind.TRAINING, None, Severity.HIGH),
        (AlertKind.FAILURE, ResourceKind.TRAINING, "prod", Severity.HIGH),
        (AlertKind.FAILURE, ResourceKind.TRAINING, "Production", Severity.HIGH),
        (AlertKind.FAILURE, ResourceKind.TRAINING, "prd-eu", Severity.HIGH),
        (AlertKind.FAILURE, ResourceKind.TRAINING, "live", Severity.HIGH),
        (AlertKind.FAILURE, ResourceKind.TRAINING, "staging", Severity.MEDIUM),
        (AlertKind.IDLE, ResourceKind.TRAINING, "dev", Severity.LOW),
        (AlertKind.UNDER_USED, ResourceKind.TRAINING, "dev", Severity.LOW),
        (AlertKind.FAILURE, ResourceKind.NOTEBOOK, "dev", Severity.LOW),
        (AlertKind.OPS, ResourceKind.ACCOUNT, "dev", Severity.HIGH),  # coverage: never lowered
    ],
)
def test_given_an_environment_then_the_severity_is_the_kinds_or_one_step_lower(
    kind: AlertKind, resource: ResourceKind, environment: str | None, expected: Severity
) -> None:
    assert severity_of(kind, resource, environment) is expected


@pytest.mark.parametrize(
    ("project", "environment", "expected"),
    [
        ("nlp", "prod", Labels("nlp", "prod")),
        ("unknown", "unknown", Labels(None, None)),  # what a stack without the parameters sends
        ("", "  ", Labels(None, None)),
        ("p" * 100, "dev", Labels("p" * 64, "dev")),
    ],
)
def test_given_heartbeat_labels_then_unknown_ones_are_none(
    project: str, environment: str, expected: Labels
) -> None:
    assert Labels.of(project, environment) == expected


class CountingLabels:
    def __init__(self, found: Labels | None) -> None:
        self.found, self.asked = found, 0

    def labels(self, account: str, region: str) -> Labels | None:
        self.asked += 1
        return self.found


def test_given_labels_then_read_once_per_account_and_region_for_five_minutes() -> None:
    source, clock = CountingLabels(Labels("nlp", "prod")), FixedClock(1_000.0)
    cached = CachedLabels(source, clock)

    for _ in range(3):
        assert cached.labels("444455556666", "eu-west-1") == Labels("nlp", "prod")
    cached.labels("444455556666", "us-east-1")
    clock.advance(CACHED_SECONDS)
    cached.labels("444455556666", "eu-west-1")

    assert source.asked == 3


def test_given_an_account_not_heard_yet_then_it_is_asked_again_next_time() -> None:
    source = CountingLabels(None)
    cached = CachedLabels(source, FixedClock(0.0))

    cached.labels("444455556666", "eu-west-1")
    cached.labels("444455556666", "eu-west-1")

    assert source.asked == 2


def _alerter(labels: Any) -> tuple[Alerter, dict[str, Recorder]]:
    channels = {c: Recorder() for c in ("email", "json", "chat")}
    alerter = Alerter(
        AlerterSettings.from_env(ENV), publishers=channels, ledger=MemoryLedger(),
        summaries=Recorder(), records=MemoryOnce(), labels=labels,
    )  # fmt: skip
    return alerter, channels


def test_given_a_staging_account_then_its_failure_is_medium_and_labelled_everywhere() -> None:
    table = MemoryFleetTable()
    labels = {"project": "demand", "environment": "staging"}
    table.put_heartbeat(FORECASTING, "us-east-1", 1.0, 15, labels)
    alerter, channels = _alerter(table)

    alerter.handle(read_event("training-failed"))

    [published] = channels["json"].items
    document = json.loads(published["message"])
    assert (document["project"], document["environment"]) == ("demand", "staging")
    assert document["severity"] == "medium"
    assert published["attributes"] == {
        "severity": "medium", "kind": "failure", "account": FORECASTING, "region": "us-east-1",
        "job_type": "training", "team": "forecasting", "project": "demand",
        "environment": "staging",
    }  # fmt: skip
    text = channels["email"].items[0]["message"]
    assert "| Team forecasting | Project demand | Environment staging" in text
    assert "*Environment* staging" in channels["chat"].items[0]["message"]


def test_given_an_account_never_heard_then_no_label_attributes_and_the_kinds_severity() -> None:
    alerter, channels = _alerter(MemoryFleetTable())

    alerter.handle(read_event("training-failed"))

    [published] = channels["json"].items
    assert "environment" not in published["attributes"]
    assert "project" not in published["attributes"]
    assert published["attributes"]["severity"] == "high"


class ThrottledLabels:
    def labels(self, account: str, region: str) -> Labels | None:
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}
        raise ClientError(error, "GetItem")  # type: ignore[arg-type]


def test_given_labels_unreadable_then_the_alert_still_goes_out_without_them() -> None:
    alerter, channels = _alerter(ThrottledLabels())

    result = alerter.handle(read_event("training-failed"))

    assert result["outcome"] == "alerted"
    assert len(channels["json"].items) == 1


@pytest.mark.integration  # moto
def test_given_the_dynamodb_fleet_table_then_labels_come_from_the_heartbeat(
    fleet_dynamodb: Any,
) -> None:
    table = FleetTable("fleet", fleet_dynamodb)
    labels = {"project": "demand", "environment": "unknown"}
    table.put_heartbeat(FORECASTING, "us-east-1", 1.0, 15, labels)

    table.name_account(FORECASTING, "us-east-1", 2.0, "forecasting-staging")
    # no heartbeat there:
    table.name_account(FORECASTING, "eu-west-1", 2.0, "forecasting-staging")

    assert table.labels(FORECASTING, "us-east-1") == Labels("demand", None, "forecasting-staging")
    assert table.labels(FORECASTING, "eu-west-1") is None
    assert len(table.sources()[0]) == 1


@pytest.mark.parametrize(
    ("alias", "kept"),
    [("vision-prod", "vision-prod"), ("Vision", None), ("a--b", None), ("x", None),
     ("<script>", None), (42, None)],
)  # fmt: skip
def test_given_a_snapshots_alias_then_only_what_iam_allows_is_read(alias: Any, kept: Any) -> None:
    raw = read_event("inventory-snapshot")
    raw["detail"]["account_alias"] = alias

    assert parse_snapshot(raw).alias == kept


def test_given_a_snapshot_with_an_alias_then_later_alerts_name_the_account() -> None:
    table = MemoryFleetTable()
    fleet = Fleet(
        FleetSettings.from_env(FLEET_ENV), table=table, activity=NoInvocations(),
        refresher=Recorder(), publishers={c: Recorder() for c in ("email", "json", "chat")},
        records=MemoryOnce(),
    )  # fmt: skip
    table.put_heartbeat(FORECASTING, "us-east-1", 1.0, 15, {"project": "f", "environment": "dev"})
    fleet.handle(read_event("inventory-snapshot"))
    alerter, channels = _alerter(table)

    alerter.handle(read_event("training-failed"))

    [published] = channels["json"].items
    document = json.loads(published["message"])
    assert document["account_name"] == "forecasting-staging"
    assert published["attributes"]["account_name"] == "forecasting-staging"
    text = channels["email"].items[0]["message"]
    assert "Account 777788889999 (forecasting-staging) | Region us-east-1" in text


def test_given_a_snapshot_before_any_heartbeat_then_no_source_is_made_of_its_alias() -> None:
    table = MemoryFleetTable()

    table.name_account(FORECASTING, "us-east-1", 2.0, "forecasting-staging")

    assert table.sources() == ([], {})
    assert table.labels(FORECASTING, "us-east-1") is None
