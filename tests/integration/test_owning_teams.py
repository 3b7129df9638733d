"""The team of an endpoint or a pipeline, whose alerts have no tags to read it from (issue 14,
part 3): the workload's inventory collector names the owners of its tagged endpoints and
pipelines (SageMaker Search), the fleet keeps them beside the account's heartbeat record, and
every alert about them carries the team, in its text and as the `team` attribute."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagewatch import moto_patches, spoke
from shared.adapters.dynamodb import FleetTable
from shared.alerting.alerts import Alert, AlertKind
from shared.alerting.delivery import Delivery
from shared.config import AlerterSettings, FleetSettings
from shared.contracts.inventory import StoredInventory, parse_snapshot
from shared.contracts.labels import MAX_OWNED, Labels, owned
from shared.domain.vocabulary import ResourceKind
from shared.fleet.service import Fleet
from shared.platform.clock import FixedClock
from tests.fakes import MemoryFleetTable, MemoryOnce, NoInvocations, Recorder
from tests.unit.conftest import read_event
from tests.unit.test_labels import ENV, FLEET_ENV, _alerter  # shared set-ups

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
NOW = datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
NLP, FORECASTING = "444455556666", "777788889999"
AT = datetime(2026, 11, 20, 6, tzinfo=UTC).timestamp()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    moto_patches.install()  # SageMaker Search's `Exists` on a tag (moto reads a Value)
    with mock_aws():
        yield


@pytest.fixture
def collector() -> ModuleType:
    return spoke.load_collector()


def _pipeline(sagemaker: Any, name: str, tags: dict[str, str]) -> None:
    sagemaker.create_pipeline(
        PipelineName=name, RoleArn=ROLE, Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
    )  # fmt: skip


def _endpoint(sagemaker: Any, name: str, tags: dict[str, str]) -> None:
    if not sagemaker.list_models()["Models"]:
        sagemaker.create_model(
            ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i"}
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "m",
                                 "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        )  # fmt: skip
    sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName="c",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )  # fmt: skip


# ---- the collector ---------------------------------------------------------------------------


def test_given_tagged_resources_when_collected_then_the_snapshot_names_their_teams(
    aws: None, collector: ModuleType
) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    _pipeline(sagemaker, "nlp-intentclassifier-train", {"team": "nlp-platform", "cost": "x"})
    _pipeline(sagemaker, "untagged-pipeline", {})
    _pipeline(sagemaker, "other-key-pipeline", {"owner": "someone"})
    _endpoint(sagemaker, "Forecasting-Demand", {"team": "demand-planning"})
    _endpoint(sagemaker, "untagged-endpoint", {})

    detail = collector.snapshot(
        sagemaker, project="p", environment="e", trigger="schedule", request_id=None, now=NOW,
        names=(), team_tag_key="team",
    )  # fmt: skip

    assert detail["teams"] == {
        "endpoint": {"Forecasting-Demand": "demand-planning"},
        "pipeline": {"nlp-intentclassifier-train": "nlp-platform"},
    }
    assert detail["errors"] == {}


def test_given_more_tagged_pipelines_than_reported_then_at_most_max_items_are_read(
    aws: None, collector: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "MAX_ITEMS", 2)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    for index in range(3):
        _pipeline(sagemaker, f"pipeline-{index}", {"team": "t"})

    assert len(collector.teams(sagemaker, "team")["pipeline"]) == 2


class RefusedSearch:
    """A SageMaker client whose Search is refused (a role without sagemaker:Search)."""

    def get_paginator(self, operation: str) -> Any:
        assert operation == "search"
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
        raise ClientError(error, "Search")  # type: ignore[arg-type]


def test_given_search_refused_then_the_snapshot_goes_out_with_the_reason(
    collector: ModuleType,
) -> None:
    detail = collector.snapshot(
        RefusedSearch(), project="p", environment="e", trigger="schedule", request_id=None,
        now=NOW, names=(), team_tag_key="team",
    )  # fmt: skip

    assert detail["teams"] is None
    assert detail["errors"] == {"teams": "AccessDeniedException: not authorized"}


def test_given_no_team_tag_key_then_nothing_is_searched(collector: ModuleType) -> None:
    detail = collector.snapshot(
        RefusedSearch(), project="p", environment="e", trigger="schedule", request_id=None,
        now=NOW, names=(),
    )  # fmt: skip

    assert (detail["teams"], detail["errors"]) == (None, {})


def test_given_tagged_state_machines_then_those_of_the_ml_prefix_name_their_teams(
    aws: None, collector: ModuleType
) -> None:
    states = boto3.client("stepfunctions", region_name=REGION)
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    for name, tags in (
        ("ml-vision-retrain-and-deploy", {"team": "vision", "cost": "x"}),
        ("ml-untagged", {}),
        ("billing-nightly-etl", {"team": "billing"}),  # not the ML platform's
    ):
        states.create_state_machine(
            name=name, definition=definition, roleArn=ROLE,
            tags=[{"key": k, "value": v} for k, v in tags.items()],
        )  # fmt: skip
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)

    found = collector.automation_teams(tagging, "team", "ml-")

    assert found == {
        "state-machine": {"ml-vision-retrain-and-deploy": "vision"},
        "codepipeline": {},
        "codebuild": {},
    }


class Tagging:
    """GetResources' pages, for the resource types moto's tagging API does not list."""

    def __init__(self, *pages: list[dict[str, Any]]) -> None:
        self.pages = list(pages)
        self.asked: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> Any:
        assert operation == "get_resources"
        return self

    def paginate(self, **params: Any) -> Any:
        self.asked.append(params)
        return [{"ResourceTagMappingList": page} for page in self.pages]


def _tagged(arn: str, team: str | None = "mlops") -> dict[str, Any]:
    return {"ResourceARN": arn, "Tags": [{"Key": "team", "Value": team}] if team else []}


def test_given_pipelines_and_projects_then_their_arns_name_them_and_the_rest_are_skipped(
    collector: ModuleType,
) -> None:
    base = f"arn:aws:{{}}:{REGION}:{FORECASTING}:{{}}"
    tagging = Tagging(
        [
            _tagged(base.format("codepipeline", "ml-forecasting-deploy")),
            _tagged(base.format("codepipeline", "webhook:ml-hook")),  # not a pipeline
            _tagged(base.format("codebuild", "project/ml-forecasting-eval-image"), "x" * 99),
            _tagged(base.format("codebuild", "report-group/ml-reports")),  # not a project
        ],
        [
            _tagged(base.format("states", "stateMachine:ml-train")),
            _tagged(base.format("codebuild", "project/web-frontend")),  # not the ML prefix
            _tagged(base.format("sqs", "ml-queue")),  # no type asked for
            _tagged("not-an-arn"),
            _tagged(base.format("codepipeline", "ml-untagged"), None),
        ],
    )

    found = collector.automation_teams(tagging, "team", "ml-")

    assert found == {
        "state-machine": {"ml-train": "mlops"},
        "codepipeline": {"ml-forecasting-deploy": "mlops"},
        "codebuild": {"ml-forecasting-eval-image": "x" * 64},
    }
    assert tagging.asked == [
        {
            "TagFilters": [{"Key": "team"}],
            "ResourceTypeFilters": ["states:stateMachine", "codepipeline", "codebuild:project"],
        }
    ]


def test_given_the_tagging_api_refused_then_the_sagemaker_teams_still_go_out(
    aws: None, collector: ModuleType
) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    _pipeline(sagemaker, "nlp-intentclassifier-train", {"team": "nlp-platform"})

    def refused(key: str) -> dict[str, dict[str, str]]:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "tag:GetResources"}}
        raise ClientError(error, "GetResources")  # type: ignore[arg-type]

    detail = collector.snapshot(
        sagemaker, project="p", environment="e", trigger="schedule", request_id=None, now=NOW,
        names=(), team_tag_key="team", automation=refused,
    )  # fmt: skip

    assert detail["teams"] == {
        "endpoint": {},
        "pipeline": {"nlp-intentclassifier-train": "nlp-platform"},
    }
    assert detail["errors"] == {"automation_teams": "AccessDeniedException: tag:GetResources"}


# ---- the snapshot, as hostile input ------------------------------------------------------------


def _snapshot(teams: Any, account: str = FORECASTING, time: str = "2026-11-20T12:00:04Z") -> Any:
    raw = read_event("inventory-snapshot")
    raw["detail"]["teams"] = teams
    raw["account"], raw["time"] = account, time
    raw["detail"]["collected_at"] = time
    return raw


def test_given_a_snapshots_teams_then_names_are_keyed_whatever_their_case() -> None:
    snapshot = parse_snapshot(
        _snapshot({"endpoint": {"Forecasting-Demand": " demand planning "}, "pipeline": {}})
    )

    assert snapshot.teams == {"endpoint/forecasting-demand": "demand planning"}
    assert snapshot.teams.get(owned("endpoint", "FORECASTING-demand")) == "demand planning"


@pytest.mark.parametrize(
    ("teams", "kept", "error"),
    [
        (None, None, None),  # a collector without a team tag key: not reported
        ("all of them", None, None),
        ({"endpoint": ["a"]}, {}, None),
        ({"pipeline": {"../../etc": "t", "ok": "<b>t</b>", "bad name!": "t"}},
         {"pipeline/ok": "_b_t_/b_"}, "2 owning teams dropped"),
        ({"pipeline": {"p": 42, "q": "", "r": None}}, {}, "3 owning teams dropped"),
        ({"pipeline": {"p" * 257: "t"}}, {}, "1 owning teams dropped"),
        ({"pipeline": {"t" * 9: "x" * 100}}, {"pipeline/ttttttttt": "x" * 64}, None),
        ({"notebook": {"n": "t"}}, {}, None),  # only the kinds sagewatch alerts on
    ],
)  # fmt: skip
def test_given_hostile_teams_then_only_valid_ones_are_kept_and_the_rest_named(
    teams: Any, kept: Any, error: str | None
) -> None:
    snapshot = parse_snapshot(_snapshot(teams))

    assert snapshot.teams == kept
    assert (snapshot.errors.get("teams") or "").startswith(error or "")
    assert ("teams" in snapshot.errors) is (error is not None)


@pytest.mark.parametrize(
    ("kind", "name", "kept"),
    [
        ("state-machine", "ml-vision-retrain-and-deploy", True),
        ("state-machine", "m" * 81, False),  # Step Functions' 80
        ("state-machine", "ml-train+eval(v2)", True),  # Step Functions refuses only a few
        ("state-machine", "ml-modèle", True),
        ("state-machine", "ml train", False),
        ("state-machine", "ml/train", False),
        ("state-machine", "ml#train", False),
        ("codepipeline", "ml-forecasting.deploy@v2", True),
        ("codepipeline", "p" * 101, False),  # CodePipeline's 100
        ("codebuild", "ml_eval-image", True),
        ("codebuild", "b" * 256, False),  # CodeBuild's 255
        ("codebuild", "-leading-dash", False),
        ("codebuild", "has space", False),
        ("codepipeline", "ml:pipe", False),
    ],
)
def test_given_automation_owners_then_names_are_held_to_their_services_rules(
    kind: str, name: str, kept: bool
) -> None:
    snapshot = parse_snapshot(_snapshot({kind: {name: "mlops"}}))

    assert snapshot.teams == ({owned(kind, name): "mlops"} if kept else {})


def test_given_more_teams_than_allowed_then_the_first_max_owned_are_kept() -> None:
    named = {f"pipeline-{i}": "t" for i in range(MAX_OWNED + 5)}

    snapshot = parse_snapshot(_snapshot({"pipeline": named}))

    assert snapshot.teams is not None
    assert len(snapshot.teams) == MAX_OWNED
    assert snapshot.errors["teams"].startswith("5 owning teams dropped")


# ---- the fleet table: DynamoDB (moto) and the in-memory one alike -----------------------------


@pytest.fixture(params=["dynamodb", "memory"])
def table(request: pytest.FixtureRequest, aws: None) -> Any:
    if request.param == "memory":
        return MemoryFleetTable()
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="fleet", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )  # fmt: skip
    return FleetTable("fleet", dynamodb)


def _stored(at: float, teams: dict[str, str] | None, previous: Any = None) -> StoredInventory:
    raw = _snapshot(
        None if teams is None else {"pipeline": teams},
        account=NLP,
        time=datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    raw["region"] = "eu-west-1"
    return StoredInventory.after(parse_snapshot(raw), previous)


def test_given_snapshots_out_of_order_then_the_latest_teams_stay(table: Any) -> None:
    table.put_inventory(_stored(AT + 200, {"p": "new-team"}).record(), 10**10)
    table.put_inventory(_stored(AT + 100, {"p": "old-team"}).record(), 10**10)

    assert table.teams(NLP, "eu-west-1") == {"pipeline/p": "new-team"}
    assert table.teams(FORECASTING, "eu-west-1") == {}  # an account it never heard of


def test_given_a_snapshot_without_teams_then_the_kept_teams_stay(table: Any) -> None:
    first = _stored(AT + 100, {"p": "team"})

    table.put_inventory(_stored(AT + 200, None, previous=first).record(), 10**10)

    assert table.teams(NLP, "eu-west-1") == {"pipeline/p": "team"}


def test_given_aliases_out_of_order_then_the_latest_names_the_account(table: Any) -> None:
    table.put_heartbeat(NLP, "eu-west-1", 1.0, 15, {"project": "nlp", "environment": "prod"})

    table.name_account(NLP, "eu-west-1", 200.0, "nlp-prod")
    table.name_account(NLP, "eu-west-1", 100.0, "nlp-old")

    assert table.labels(NLP, "eu-west-1").account_name == "nlp-prod"


def test_given_teams_then_the_heartbeat_record_stays_as_small_as_before(table: Any) -> None:
    """Heartbeats rewrite it every few minutes and every alert reads it: the teams (up to 200
    names) live in the inventory record, written once per snapshot."""
    table.put_heartbeat(NLP, "eu-west-1", 1.0, 15, {"project": "nlp", "environment": "prod"})
    table.put_inventory(_stored(AT, {"p": "team"}).record(), 10**10)

    assert table.labels(NLP, "eu-west-1") == Labels("nlp", "prod")


# ---- the alerts -------------------------------------------------------------------------------


def _fleet(table: MemoryFleetTable) -> Fleet:
    return Fleet(
        FleetSettings.from_env(FLEET_ENV), table=table, activity=NoInvocations(),
        refresher=Recorder(), publishers={c: Recorder() for c in ("email", "json", "chat")},
        records=MemoryOnce(),
    )  # fmt: skip


def test_given_a_pipelines_team_in_a_snapshot_then_its_failure_names_the_team() -> None:
    table = MemoryFleetTable()
    table.put_heartbeat(NLP, "eu-west-1", 1.0, 15, {"project": "nlp", "environment": "prod"})
    _fleet(table).handle(read_event("inventory-snapshot-nlp"))
    alerter, channels = _alerter(table)

    alerter.handle(read_event("pipeline-execution-failed"))

    [published] = channels["json"].items
    assert published["attributes"]["team"] == "nlp-platform"
    assert json.loads(published["message"])["team"] == "nlp-platform"
    assert "| Team nlp-platform |" in channels["email"].items[0]["message"]


@pytest.mark.parametrize(
    ("sample", "kind", "name"),
    [
        ("codebuild-build-failed", "codebuild", "ml-forecasting-eval-image"),
        ("codepipeline-execution-failed", "codepipeline", "ml-forecasting-deploy"),
    ],
)
def test_given_an_automation_owner_in_a_snapshot_then_its_failure_names_the_team(
    sample: str, kind: str, name: str
) -> None:
    table = MemoryFleetTable()
    table.put_heartbeat(FORECASTING, REGION, 1.0, 15, {"project": "f", "environment": "prod"})
    owners = _snapshot({kind: {name: "forecasting-mlops"}}, time="2026-11-20T10:00:00Z")
    _fleet(table).handle(owners)
    alerter, channels = _alerter(table)

    alerter.handle(read_event(sample))

    [published] = channels["json"].items
    assert published["attributes"]["team"] == "forecasting-mlops"


def test_given_another_account_names_the_pipeline_then_its_team_is_not_taken() -> None:
    table = MemoryFleetTable()
    for account in (NLP, FORECASTING):
        table.put_heartbeat(account, "eu-west-1", 1.0, 15, {"project": "x", "environment": "prod"})
    hostile = _snapshot(
        {"pipeline": {"nlp-intentclassifier-train": "attacker"}}, account=FORECASTING
    )
    hostile["region"] = "eu-west-1"
    _fleet(table).handle(hostile)
    alerter, channels = _alerter(table)

    alerter.handle(read_event("pipeline-execution-failed"))

    assert "team" not in channels["json"].items[0]["attributes"]


def _endpoint_alert(name: str, team: str | None = None) -> Alert:
    return Alert(
        kind=AlertKind.IDLE, incident=f"idle-{name}", account=FORECASTING, region=REGION,
        resource=ResourceKind.ENDPOINT, name=name, status="InService",
        headline=f"endpoint {name} served no request in 24 hours", team=team,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("alert", "team"),
    [
        (_endpoint_alert("FORECASTING-demand-realtime"), "demand-planning"),  # any case
        (_endpoint_alert("forecasting-demand-realtime", team="own-tag"), "own-tag"),
        (_endpoint_alert("forecasting-unlisted"), None),
    ],
)
def test_given_an_endpoint_alert_then_the_snapshots_team_fills_only_a_missing_one(
    alert: Alert, team: str | None
) -> None:
    table = MemoryFleetTable()
    table.put_heartbeat(FORECASTING, REGION, 1.0, 15, {"project": "f", "environment": "prod"})
    _fleet(table).handle(read_event("inventory-snapshot"))
    settings = AlerterSettings.from_env(ENV | {"FLEET_TABLE": "fleet"})
    delivery = Delivery(settings, labels=table, clock=FixedClock(0.0))

    assert delivery.labelled(alert).team == team


class CountingTeams:
    def __init__(self) -> None:
        self.asked = 0

    def labels(self, account: str, region: str) -> Labels | None:
        return Labels("f", "prod")

    def teams(self, account: str, region: str) -> dict[str, str]:
        self.asked += 1
        if account == NLP:  # its table throttled
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}
            raise ClientError(error, "GetItem")  # type: ignore[arg-type]
        return {"endpoint/forecasting-demand-realtime": "demand-planning"}


def test_given_endpoint_alerts_then_teams_are_read_once_a_while_and_only_for_them() -> None:
    source, clock = CountingTeams(), FixedClock(0.0)
    delivery = Delivery(AlerterSettings.from_env(ENV), labels=source, clock=clock)
    failure = replace(_endpoint_alert("x"), resource=ResourceKind.TRAINING)

    for _ in range(3):
        assert delivery.labelled(_endpoint_alert("forecasting-demand-realtime")).team
    delivery.labelled(failure)
    assert source.asked == 1
    unread = replace(_endpoint_alert("forecasting-demand-realtime"), account=NLP)
    assert delivery.labelled(unread).team is None  # its team unread: the alert still goes


def test_given_names_longer_than_sagemaker_allows_then_they_are_dropped() -> None:
    long_endpoint, long_pipeline = "e" + "-" * 62 + "e", "p" + "-" * 5_000 + "p"

    snapshot = parse_snapshot(
        _snapshot({"endpoint": {long_endpoint: "t"}, "pipeline": {long_pipeline: "t"}})
    )

    assert snapshot.teams == {}
    assert snapshot.errors["teams"].startswith("2 owning teams dropped")
