"""HyperPod clusters: the three detail-types parsed, the clauses that route them, the alerts they
make (kinds, incidents, steps, links, what never leaves the account), storm control per cluster
through the alerter and the summarizer on fakes, and the storm window's scope and kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.alerting.alerts import Alert, AlertKind, Severity
from shared.alerting.clusters import (
    ERROR_STEP,
    REPAIRING_STEP,
    ROLLBACK_STEP,
    SHORT_STEP,
    UNREPAIRED_STEP,
    cluster_alert,
    cluster_error_alert,
    node_alert,
    troubled,
)
from shared.alerting.render import attributes, links, next_step, render, thread_id
from shared.alerting.service import Alerter, Summarizer, alertable
from shared.config import AlerterSettings
from shared.contracts.storm_window import StormWindow
from shared.domain.events import ClusterGroup, SageMakerEvent
from shared.domain.parser import parse_event
from shared.domain.patterns import (
    CLUSTER_ROLLING_BACK,
    ClusterError,
    ClusterState,
    NodeUnhealthy,
    RollingBack,
)
from shared.domain.vocabulary import Outcome, ResourceKind
from shared.platform.clock import FixedClock
from shared.platform.errors import InvalidEvent
from shared.platform.router import Disposition
from tests.fakes import MemoryLedger, MemoryOnce, Recorder
from tests.unit.conftest import read_event

LoadEvent = Callable[[str], dict[str, Any]]

TEAM_TAG = "team"
REGION = "us-east-1"
WINDOW_SECONDS = 600
START = 1_795_168_800  # 2026-11-20T10:00Z: a window's start (a multiple of its length)
CHANNELS = ("email", "json", "chat")
SETTINGS = AlerterSettings(
    topics={c: f"arn:aws:sns:{REGION}:123456789012:{c}" for c in CHANNELS},
    idempotency_table="t", team_tag_key=TEAM_TAG, dedup_seconds=3600, burst_threshold=3,
    burst_window_seconds=WINDOW_SECONDS, summary_queue_url="unused", region=REGION,
)  # fmt: skip

CAPACITY = "hyperpod-cluster-event-capacity"
INFO = "hyperpod-cluster-event-info"
SHORT = "hyperpod-cluster-short"
HEALTHY = "hyperpod-node-healthy"
UNHEALTHY = "hyperpod-node-unhealthy"
UNHEALTHY_TOO = "hyperpod-node-unhealthy-same-cluster"
SAMPLES = (CAPACITY, INFO, SHORT, HEALTHY, UNHEALTHY, UNHEALTHY_TOO)

NODE_CLUSTER = "vision-llm-pretrain"  # the node samples' cluster (account 111122223333)
CAPACITY_STEP = "Retry later, or with another instance type or Region: AWS had no capacity for it."
NO_CAPACITY = (
    "We currently do not have sufficient capacity to launch new ml.p5.48xlarge instances. "
    "Please try again."
)


def _parsed(name: str) -> SageMakerEvent:
    return parse_event(read_event(name))


def _state(status: str, **detail: Any) -> dict[str, Any]:
    """The short-cluster sample (InService, g5-workers Degraded 6 of 8) with its ClusterStatus
    and other detail fields replaced."""
    event = read_event(SHORT)
    event["detail"]["ClusterStatus"] = status
    event["detail"].update(detail)
    return event


def _all_in_service() -> dict[str, Any]:
    event = read_event(SHORT)
    for group in event["detail"]["InstanceGroups"]:
        group["Status"] = "InService"
        group["CurrentCount"] = group["TargetCount"]
    return event


def _node(n: int, cluster: str = NODE_CLUSTER, event_id: str | None = None) -> dict[str, Any]:
    event = read_event(UNHEALTHY)
    event["id"] = event_id or f"node-{cluster}-{n}"
    event["detail"]["ClusterName"] = cluster
    event["detail"]["InstanceId"] = f"i-{n:017x}"
    return event


def _failed_cluster(n: int) -> dict[str, Any]:
    event = _state("Failed", ClusterName=f"failed-cluster-{n}", FailureMessage="boom")
    event["id"] = f"failed-{n}"
    return event


def _channels() -> dict[str, Recorder]:
    return {channel: Recorder() for channel in CHANNELS}


def _documents(channels: dict[str, Recorder]) -> list[dict[str, Any]]:
    """The alerts sent, as their JSON renderings (every alert goes to every channel)."""
    assert len({len(recorder.items) for recorder in channels.values()}) == 1
    return [json.loads(message["message"]) for message in channels["json"].items]


def _alerter(channels: dict[str, Recorder], ledger: MemoryLedger, summaries: Recorder) -> Alerter:
    return Alerter(
        SETTINGS, publishers=channels, ledger=ledger, summaries=summaries,
        clock=FixedClock(START + 300), records=MemoryOnce(),
    )  # fmt: skip


def _dispatched(raw: dict[str, Any]) -> Alert | None:
    dispatch = alertable.dispatch(raw, SETTINGS)
    return dispatch.result if dispatch.disposition is Disposition.HANDLED else None


def _alert(raw: dict[str, Any]) -> Alert:
    alert = _dispatched(raw)
    assert alert is not None, "expected the event to alert"
    return alert


# ---- 1. parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "name", "status", "outcome"),
    [
        (CAPACITY, "nlp-instruct-tune", "Error", Outcome.FAILED),
        (INFO, "nlp-instruct-tune", "", Outcome.UNKNOWN),  # no EventLevel at all
        (SHORT, "forecast-foundation", "InService", Outcome.SUCCEEDED),
        (HEALTHY, NODE_CLUSTER, "Healthy", Outcome.SUCCEEDED),
        (UNHEALTHY, NODE_CLUSTER, "Unhealthy", Outcome.FAILED),
        (UNHEALTHY_TOO, NODE_CLUSTER, "Unhealthy", Outcome.FAILED),
    ],
)
def test_given_each_hyperpod_sample_when_parsed_then_a_cluster_named_with_its_outcome(
    load_event: LoadEvent, sample: str, name: str, status: str, outcome: Outcome
) -> None:
    event = parse_event(load_event(sample))

    assert event.kind is ResourceKind.HYPERPOD_CLUSTER
    assert (event.name, event.status, event.outcome) == (name, status, outcome)
    assert event.cluster is not None


def test_given_an_unhealthy_node_event_when_parsed_then_node_repair_and_reason_are_facts() -> None:
    event = _parsed(UNHEALTHY)

    assert event.cluster is not None
    assert event.cluster.node == "i-0c4a7e19b2d83f561"
    assert event.cluster.repair_action == "Replace"
    assert event.cluster.recommendation == "SageMaker HyperPod is replacing the faulty node."
    assert event.failure_reason is not None
    assert event.failure_reason.startswith("HyperPod Health Monitoring Agent (HMA)")
    assert "NvidiaErrorTerminate" in event.failure_reason
    assert event.tag("team") == "vision"
    assert event.arn == "arn:aws:sagemaker:us-east-1:111122223333:cluster/k2x7qp4mfa9c"


def test_given_a_healthy_node_event_when_parsed_then_its_reason_is_not_a_failure() -> None:
    event = _parsed(HEALTHY)

    assert event.outcome is Outcome.SUCCEEDED
    assert event.failure_reason is None
    assert event.cluster is not None
    assert event.cluster.node == "i-0e7b2a5c9d14f3086"


def test_given_a_cluster_error_event_when_parsed_then_its_ids_description_and_time_are_kept() -> (
    None
):
    event = _parsed(CAPACITY)

    assert event.cluster is not None
    assert event.cluster.event_id == "83ea0bb5-be77-45e8-a458-0a87f778a205"
    assert event.cluster.node == "i-0391f86fa0fe0d465"
    assert event.cluster.instance_group == "p5-workers"
    assert event.cluster.about == "Instance"
    assert event.cluster.description == (
        "Instance creation in Cluster nlp-instruct-tune and InstanceGroup p5-workers failed"
    )
    assert event.failure_reason == NO_CAPACITY
    # EventTime 1795169709350 (epoch milliseconds), not the envelope's 10:15:09Z.
    assert event.ended_at == datetime(2026, 11, 20, 10, 15, 9, 350_000, tzinfo=UTC)


def test_given_a_cluster_state_change_when_parsed_then_groups_with_counts_and_short_ones() -> None:
    event = _parsed(SHORT)

    assert event.cluster is not None
    assert event.cluster.groups == (
        ClusterGroup("controller", "InService", "ml.m5.2xlarge", current=1, target=1),
        ClusterGroup("g5-workers", "Degraded", "ml.g5.48xlarge", current=6, target=8),
    )
    assert [g.name for g in event.cluster.short_groups] == ["g5-workers"]
    assert event.failure_reason is None  # FailureMessage "" is no reason
    assert event.created_at == datetime(2026, 11, 19, 9, 20, tzinfo=UTC)


@pytest.mark.parametrize("union_key", ["Instance", "InstanceGroup", "Cluster"])
def test_given_a_failure_message_under_any_event_metadata_key_when_parsed_then_it_is_the_reason(
    union_key: str,
) -> None:
    raw = read_event(CAPACITY)
    raw["detail"]["EventDetails"]["EventDetails"]["EventMetadata"] = {
        union_key: {"FailureMessage": f"{union_key} went wrong"}
    }

    assert parse_event(raw).failure_reason == f"{union_key} went wrong"


@pytest.mark.parametrize(
    "details",
    [
        pytest.param(None, id="missing"),
        pytest.param("EventDetails", id="text"),
        pytest.param([{"ClusterName": "x"}], id="list"),
        pytest.param(7, id="number"),
    ],
)
def test_given_event_details_missing_or_not_an_object_when_parsed_then_invalid_naming_it(
    details: Any,
) -> None:
    raw = read_event(CAPACITY)
    if details is None:
        del raw["detail"]["EventDetails"]
    else:
        raw["detail"]["EventDetails"] = details

    with pytest.raises(InvalidEvent, match=r"detail\.EventDetails is missing or not an object"):
        parse_event(raw)


@pytest.mark.parametrize(
    ("sample", "path"),
    [
        (CAPACITY, ("EventDetails", "ClusterName")),
        (UNHEALTHY, ("ClusterName",)),
        (SHORT, ("ClusterName",)),
    ],
)
def test_given_cluster_name_missing_when_parsed_then_invalid_naming_its_path(
    sample: str, path: tuple[str, ...]
) -> None:
    raw = read_event(sample)
    holder = raw["detail"]
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]

    with pytest.raises(InvalidEvent) as raised:
        parse_event(raw)
    assert "detail." + ".".join(path) + " is missing" in str(raised.value)


def test_given_instance_groups_an_object_not_a_list_when_parsed_then_one_group() -> None:
    raw = read_event(SHORT)
    raw["detail"]["InstanceGroups"] = raw["detail"]["InstanceGroups"][1]

    event = parse_event(raw)

    assert event.cluster is not None
    assert [(g.name, g.status, g.current, g.target) for g in event.cluster.groups] == [
        ("g5-workers", "Degraded", 6, 8)
    ]
    assert troubled(event)


def test_given_groups_with_odd_counts_and_entries_when_parsed_then_tolerated_not_errors() -> None:
    raw = read_event(SHORT)
    raw["detail"]["InstanceGroups"] = [
        "not a group",
        None,
        {"InstanceGroupName": "a", "Status": "Failed", "CurrentCount": "six", "TargetCount": []},
        {"Status": "Degraded", "CurrentCount": "2", "TargetCount": 4.0},
        {"InstanceGroupName": "c", "Status": "InService", "CurrentCount": True},
    ]

    event = parse_event(raw)

    assert event.cluster is not None
    assert [(g.name, g.status, g.current, g.target) for g in event.cluster.groups] == [
        ("a", "Failed", None, None),
        ("unnamed group", "Degraded", 2, 4),
        ("c", "InService", None, None),
    ]
    assert [g.name for g in event.cluster.short_groups] == ["a", "unnamed group"]


def test_given_a_node_event_without_health_summary_when_alerted_then_unknown_and_skipped() -> None:
    raw = read_event(UNHEALTHY)
    del raw["detail"]["HealthSummary"]

    event = parse_event(raw)

    assert (event.status, event.outcome, event.failure_reason) == ("", Outcome.UNKNOWN, None)
    assert alertable.dispatch(raw, SETTINGS).disposition is Disposition.SKIPPED


def test_given_a_numeric_health_status_when_parsed_then_unknown_not_an_error() -> None:
    raw = read_event(UNHEALTHY)
    raw["detail"]["HealthSummary"]["HealthStatus"] = 3

    event = parse_event(raw)

    assert (event.status, event.outcome, event.failure_reason) == ("", Outcome.UNKNOWN, None)
    assert not NodeUnhealthy()(event)


# ---- 2. clauses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "state", "node", "error", "rolling_back"),
    [
        (CAPACITY, False, False, True, False),
        (INFO, False, False, False, False),
        (SHORT, True, False, False, False),
        (HEALTHY, False, False, False, False),
        (UNHEALTHY, False, True, False, False),
        (UNHEALTHY_TOO, False, True, False, False),
    ],
)
def test_given_each_sample_when_matched_then_only_its_own_clause_accepts_it(
    sample: str, state: bool, node: bool, error: bool, rolling_back: bool
) -> None:
    event = _parsed(sample)

    assert ClusterState()(event) is state
    assert NodeUnhealthy()(event) is node
    assert ClusterError()(event) is error
    assert CLUSTER_ROLLING_BACK(event) is rolling_back


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        pytest.param({"EventLevel": "Warn"}, False, id="warn"),
        pytest.param({"EventLevel": "error"}, False, id="lower-case-error"),
        pytest.param({"EventLevel": "Info"}, False, id="info"),
        pytest.param({"EventLevel": None}, False, id="null"),
        pytest.param({}, True, id="error"),
    ],
)
def test_given_cluster_event_levels_when_matched_then_only_error_is_a_cluster_error(
    change: dict[str, Any], accepted: bool
) -> None:
    raw = read_event(CAPACITY)
    raw["detail"]["EventDetails"].update(change)

    assert ClusterError()(parse_event(raw)) is accepted


def test_given_an_empty_health_status_when_matched_then_unhealthy_as_the_rule_reads_it() -> None:
    raw = read_event(UNHEALTHY)
    raw["detail"]["HealthSummary"]["HealthStatus"] = ""

    event = parse_event(raw)

    assert event.outcome is Outcome.FAILED
    assert NodeUnhealthy()(event)


def test_given_cluster_status_rolling_back_when_matched_then_only_the_cluster_clause_accepts() -> (
    None
):
    rolling = parse_event(_state("RollingBack"))
    endpoint = _parsed("endpoint-rolling-back")

    assert CLUSTER_ROLLING_BACK(rolling)
    assert not RollingBack()(rolling)  # the endpoint's clause
    assert not CLUSTER_ROLLING_BACK(endpoint)
    assert CLUSTER_ROLLING_BACK.pattern() == {"ClusterStatus": ["RollingBack"]}


def test_given_a_state_change_without_cluster_status_when_matched_then_not_a_cluster_state() -> (
    None
):
    raw = read_event(SHORT)
    del raw["detail"]["ClusterStatus"]

    assert not ClusterState()(parse_event(raw))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(_state("Failed"), True, id="failed"),
        pytest.param(_state("RollingBack"), True, id="rolling-back"),
        pytest.param(read_event(SHORT), True, id="degraded-group"),
        pytest.param(_all_in_service(), False, id="all-in-service"),
        pytest.param(
            _state("Updating", InstanceGroups=[{"InstanceGroupName": "g", "Status": "Failed"}]),
            True,
            id="failed-group",
        ),
        pytest.param(
            _state("Creating", InstanceGroups=[{"InstanceGroupName": "g", "Status": "Creating"}]),
            False,
            id="creating",
        ),
    ],
)
def test_given_cluster_states_when_judged_then_troubled_only_for_failure_rollback_or_short(
    raw: dict[str, Any], expected: bool
) -> None:
    event = parse_event(raw)

    assert troubled(event) is expected
    assert (_dispatched(raw) is not None) is expected


# ---- 3. alerts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "severity"),
    [
        pytest.param(_state("Failed"), AlertKind.FAILURE, Severity.HIGH, id="failed"),
        pytest.param(_state("RollingBack"), AlertKind.FAILURE, Severity.HIGH, id="rolling-back"),
        pytest.param(read_event(UNHEALTHY), AlertKind.UNHEALTHY, Severity.MEDIUM, id="node"),
        pytest.param(read_event(CAPACITY), AlertKind.UNHEALTHY, Severity.MEDIUM, id="error"),
        pytest.param(read_event(SHORT), AlertKind.UNHEALTHY, Severity.MEDIUM, id="short"),
    ],
)
def test_given_each_troubled_cluster_when_alerted_then_its_kind_and_severity(
    raw: dict[str, Any], kind: AlertKind, severity: Severity
) -> None:
    alert = _alert(raw)

    assert (alert.kind, alert.severity) == (kind, severity)
    assert alert.resource is ResourceKind.HYPERPOD_CLUSTER


def test_given_node_events_when_alerted_then_one_incident_per_node_and_day() -> None:
    first = node_alert(parse_event(_node(1)), TEAM_TAG)
    again = node_alert(parse_event(_node(1, event_id="another-delivery")), TEAM_TAG)
    other_node = node_alert(parse_event(_node(2)), TEAM_TAG)
    next_day_raw = _node(1)
    next_day_raw["time"] = "2026-11-21T00:05:00Z"
    next_day = node_alert(parse_event(next_day_raw), TEAM_TAG)

    assert first.incident == again.incident
    assert first.incident == (
        f"111122223333|us-east-1|hyperpod-cluster|{NODE_CLUSTER}|unhealthy|i-00000000000000001|"
        "2026-11-20"
    )
    assert other_node.incident != first.incident
    assert next_day.incident != first.incident
    assert next_day.incident.endswith("|2026-11-21")


def test_given_a_cluster_event_delivered_twice_when_alerted_then_its_event_id_is_the_incident() -> (
    None
):
    raw = read_event(CAPACITY)
    duplicate = read_event(CAPACITY)
    duplicate["id"] = "another-delivery"
    duplicate["time"] = "2026-11-20T10:16:00Z"

    first = cluster_error_alert(parse_event(raw), TEAM_TAG)
    again = cluster_error_alert(parse_event(duplicate), TEAM_TAG)

    assert first.incident == again.incident
    assert first.incident.endswith("|nlp-instruct-tune|error|83ea0bb5-be77-45e8-a458-0a87f778a205")


def test_given_a_cluster_failed_twice_under_one_name_when_alerted_then_two_incidents() -> None:
    before = cluster_alert(parse_event(_state("Failed")), TEAM_TAG)
    recreated = cluster_alert(parse_event(_state("Failed", CreationTime=1795200000000)), TEAM_TAG)

    assert before.incident.endswith("|forecast-foundation|failed|2026-11-19T09:20:00+00:00")
    assert recreated.incident != before.incident


@pytest.mark.parametrize(
    ("raw", "headline", "storm"),
    [
        pytest.param(
            _state("Failed"), "HyperPod cluster forecast-foundation failed", None, id="failed"
        ),
        pytest.param(
            _state("RollingBack"),
            "HyperPod cluster forecast-foundation is rolling back its update: the previous "
            "configuration stays",
            None,
            id="rolling-back",
        ),
        pytest.param(
            read_event(UNHEALTHY),
            f"HyperPod cluster {NODE_CLUSTER}: node i-0c4a7e19b2d83f561 is unhealthy, repair: "
            "Replace",
            (NODE_CLUSTER, "node i-0c4a7e19b2d83f561 Unhealthy"),
            id="node-replaced",
        ),
        pytest.param(
            read_event(UNHEALTHY_TOO),
            f"HyperPod cluster {NODE_CLUSTER}: node i-09f3b6d2e71a4c805 is unhealthy",
            (NODE_CLUSTER, "node i-09f3b6d2e71a4c805 Unhealthy"),
            id="node-not-repaired",
        ),
        pytest.param(
            read_event(CAPACITY),
            "HyperPod cluster nlp-instruct-tune: Instance creation in Cluster nlp-instruct-tune "
            "and InstanceGroup p5-workers failed",
            (
                "nlp-instruct-tune",
                "i-0391f86fa0fe0d465: Instance creation in Cluster nlp-instruct-tune and "
                "InstanceGroup p5-workers failed",
            ),
            id="error",
        ),
        pytest.param(
            read_event(SHORT),
            "HyperPod cluster forecast-foundation runs short of instances: g5-workers Degraded, "
            "6 of 8 ml.g5.48xlarge",
            ("forecast-foundation", "instance groups short: g5-workers Degraded, 6 of 8 "
             "ml.g5.48xlarge"),
            id="short",
        ),
    ],
)  # fmt: skip
def test_given_each_troubled_cluster_when_alerted_then_its_headline_and_storm_scope(
    raw: dict[str, Any], headline: str, storm: tuple[str, str] | None
) -> None:
    alert = _alert(raw)

    assert alert.headline == headline
    assert alert.storm == storm
    assert alert.name == raw["detail"].get("ClusterName", "nlp-instruct-tune")


@pytest.mark.parametrize(
    ("raw", "step"),
    [
        pytest.param(read_event(UNHEALTHY), REPAIRING_STEP, id="replace"),
        pytest.param(read_event(UNHEALTHY_TOO), UNREPAIRED_STEP, id="none"),
        pytest.param(read_event(CAPACITY), CAPACITY_STEP, id="error-capacity-first"),
        pytest.param(read_event(SHORT), SHORT_STEP, id="short"),
        pytest.param(_state("RollingBack"), ROLLBACK_STEP, id="rolling-back"),
        pytest.param(
            _state("Failed", FailureMessage=NO_CAPACITY), CAPACITY_STEP, id="failed-capacity"
        ),
    ],
)
def test_given_each_troubled_cluster_when_rendered_then_its_next_step(
    raw: dict[str, Any], step: str
) -> None:
    assert next_step(_alert(raw)) == step


def test_given_a_cluster_error_without_a_capacity_reason_when_rendered_then_the_error_step() -> (
    None
):
    raw = read_event(CAPACITY)
    metadata = raw["detail"]["EventDetails"]["EventDetails"]["EventMetadata"]
    metadata["Instance"]["FailureMessage"] = "Lifecycle script on_create.sh exited with 1"

    assert next_step(_alert(raw)) == ERROR_STEP


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "https://us-east-1.console.aws.amazon.com"),
        ("cn-north-1", "https://cn-north-1.console.amazonaws.cn"),
        ("us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com"),
    ],
)
def test_given_a_cluster_alert_in_any_partition_when_linked_then_its_cluster_management_page(
    region: str, host: str
) -> None:
    raw = read_event(UNHEALTHY)
    raw["region"] = region

    found = links(_alert(raw))

    assert found == {
        "console": f"{host}/sagemaker/home?region={region}#/cluster-management/{NODE_CLUSTER}"
    }


def test_given_an_unhealthy_node_alert_when_rendered_then_sns_attributes_filter_it() -> None:
    alert = _alert(read_event(UNHEALTHY))

    assert attributes(alert) == {
        "severity": "medium",
        "kind": "unhealthy",
        "account": "111122223333",
        "region": "us-east-1",
        "job_type": "hyperpod-cluster",
        "team": "vision",
    }
    assert render(alert).subject == (
        f"[sagewatch] UNHEALTHY HyperPod cluster {NODE_CLUSTER} (111122223333 us-east-1)"
    )


FORBIDDEN = (
    "ExecutionRole",
    "hyperpod-execution",
    "arn:aws:iam",
    "sg-0a1b2c3d4e5f60718",
    "subnet-0f1e2d3c4b5a69788",
    "VpcConfig",
    "s3://",
    "forecasting-hyperpod",
    "on_create.sh",
    "OnCreate",
    "arn:aws:eks",
    "NodeLogicalId",
    "df268d19-f035-4f28-9b80-b956b92ae21e",
)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(read_event(SHORT), id="short"),
        pytest.param(_state("Failed"), id="failed"),
        pytest.param(_state("RollingBack"), id="rolling-back"),
        pytest.param(read_event(CAPACITY), id="error"),
    ],
)
def test_given_a_cluster_with_roles_vpc_and_scripts_when_rendered_then_none_of_them_leave(
    raw: dict[str, Any],
) -> None:
    rendered = render(_alert(raw), "https://dashboard.example/sagewatch")

    everything = "\n".join(
        [
            rendered.subject,
            rendered.text,
            rendered.chat_message,
            rendered.document_message,
            json.dumps(rendered.attributes),
        ]
    )
    assert [secret for secret in FORBIDDEN if secret in everything] == []


def test_given_a_short_group_with_a_non_numeric_count_when_alerted_then_no_none_in_text() -> None:
    raw = read_event(SHORT)
    raw["detail"]["InstanceGroups"][1]["CurrentCount"] = "six"

    alert = _alert(raw)

    assert "None" not in alert.headline
    assert "None" not in dict(alert.context)["instance groups"]


# ---- 4. storm control through the alerter and the summarizer -------------------------------


def test_given_five_unhealthy_nodes_of_one_cluster_when_alerted_then_first_sent_rest_held() -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries)

    outcomes = [alerter.handle(_node(n))["outcome"] for n in range(5)]

    assert outcomes == ["alerted"] + ["suppressed"] * 4
    [sent] = _documents(channels)
    assert sent["headline"] == f"HyperPod cluster {NODE_CLUSTER}: node i-00000000000000000 is " + (
        "unhealthy, repair: Replace"
    )
    bucket = f"burst|111122223333|{REGION}|hyperpod-cluster|{NODE_CLUSTER}|{START}"
    assert {window["bucket"] for window in summaries.items} == {bucket}
    assert {(w["scope"], w["kind"]) for w in summaries.items} == {(NODE_CLUSTER, "unhealthy")}
    assert summaries.items[-1]["failures"] == 5


def test_given_a_storm_on_one_cluster_when_another_cluster_fails_then_it_alerts_on_its_own() -> (
    None
):
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries)
    for n in range(3):
        alerter.handle(_node(n))

    other = alerter.handle(_node(9, cluster="speech-asr-train"))
    more = alerter.handle(_node(10, cluster="speech-asr-train"))

    assert (other["outcome"], more["outcome"]) == ("alerted", "suppressed")
    assert [d["name"] for d in _documents(channels)] == [NODE_CLUSTER, "speech-asr-train"]
    assert {w["scope"] for w in summaries.items} == {NODE_CLUSTER, "speech-asr-train"}


def test_given_the_same_node_delivered_three_times_when_alerted_then_one_incident() -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries)

    results = [alerter.handle(_node(1, event_id=f"delivery-{n}")) for n in range(3)]

    assert [r["outcome"] for r in results] == ["alerted", "duplicate", "duplicate"]
    assert len({r["incident"] for r in results}) == 1
    assert len(_documents(channels)) == 1
    assert summaries.items == []
    [window] = ledger.windows.values()
    assert window["incidents"] == {results[0]["incident"]}


def test_given_failed_clusters_when_alerted_then_counted_in_the_kind_wide_failure_window() -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries)

    outcomes = [alerter.handle(_failed_cluster(n))["outcome"] for n in range(4)]

    assert outcomes == ["alerted"] * 3 + ["suppressed"]  # the burst threshold, 3, not 1
    [window] = summaries.items
    assert window["bucket"] == f"burst|777788889999|{REGION}|hyperpod-cluster|{START}"
    assert (window["scope"], window["kind"]) == ("", "failure")


def test_given_a_held_back_cluster_storm_when_summarized_then_one_summary_in_its_thread() -> None:
    channels, ledger, summaries = _channels(), MemoryLedger(), Recorder()
    alerter = _alerter(channels, ledger, summaries)
    for n in range(5):
        alerter.handle(_node(n))
    [first] = _documents(channels)
    summarizer = Summarizer(SETTINGS, publishers=channels, ledger=ledger, records=MemoryOnce())
    records = [{"messageId": f"m{i}", "body": json.dumps(w)} for i, w in enumerate(summaries.items)]

    assert summarizer.run(records) == []

    [summary] = _documents(channels)[1:]  # four messages, one summary
    assert summary["kind"] == "unhealthy"
    assert summary["severity"] == "medium"
    assert summary["name"] == NODE_CLUSTER
    assert summary["headline"] == f"HyperPod cluster {NODE_CLUSTER}: 5 problems within 10 minutes"
    problems = summary["context"]["problems"]
    assert [f"node i-{n:017x} Unhealthy" in problems for n in range(5)] == [True] * 5
    assert summary["context"]["alerted one by one"] == "1"
    assert summary["context"]["summarized here"] == "4"
    assert summary["links"]["console"] == (
        f"https://{REGION}.console.aws.amazon.com/sagemaker/home?region={REGION}"
        f"#/cluster-management/{NODE_CLUSTER}"
    )
    assert summary["thread_id"] == first["thread_id"]
    assert summary["thread_id"] == thread_id(node_alert(parse_event(_node(0)), TEAM_TAG))


def test_given_a_cluster_window_whose_record_expired_when_summarized_then_it_says_so() -> None:
    channels = _channels()
    window = StormWindow.of(
        "111122223333", REGION, ResourceKind.HYPERPOD_CLUSTER, START, WINDOW_SECONDS,
        NODE_CLUSTER, "unhealthy",
    )  # fmt: skip
    body = json.dumps({**window.message(), "failures": 4})
    summarizer = Summarizer(
        SETTINGS, publishers=channels, ledger=MemoryLedger(), records=MemoryOnce()
    )

    assert summarizer.run([{"messageId": "m", "body": body}]) == []

    [summary] = _documents(channels)
    assert summary["headline"] == f"HyperPod cluster {NODE_CLUSTER}: 4 problems within 10 minutes"
    assert "expired" in summary["context"]["problems"]


# ---- 5. the storm window ------------------------------------------------------------------

CLUSTER_WINDOW = StormWindow.of(
    "111122223333", REGION, ResourceKind.HYPERPOD_CLUSTER, START, WINDOW_SECONDS,
    NODE_CLUSTER, "unhealthy",
)  # fmt: skip


def test_given_a_scoped_window_when_keyed_then_its_bucket_is_not_the_kind_wide_one() -> None:
    wide = StormWindow.of("111122223333", REGION, ResourceKind.HYPERPOD_CLUSTER, START, 600)
    other = StormWindow.of(
        "111122223333", REGION, ResourceKind.HYPERPOD_CLUSTER, START, 600, "other", "unhealthy"
    )

    assert wide.bucket == f"burst|111122223333|{REGION}|hyperpod-cluster|{START}"
    assert CLUSTER_WINDOW.bucket == (
        f"burst|111122223333|{REGION}|hyperpod-cluster|{NODE_CLUSTER}|{START}"
    )
    assert len({wide.bucket, CLUSTER_WINDOW.bucket, other.bucket}) == 3
    assert (wide.scope, wide.kind) == ("", "failure")


def test_given_a_scoped_window_when_sent_and_read_back_then_scope_and_kind_are_kept() -> None:
    message = CLUSTER_WINDOW.message()

    assert StormWindow.parse(json.dumps(message)) == CLUSTER_WINDOW
    assert StormWindow.parse(message) == CLUSTER_WINDOW
    assert (message["scope"], message["kind"]) == (NODE_CLUSTER, "unhealthy")


def test_given_a_message_from_before_scopes_when_parsed_then_a_kind_wide_failure_window() -> None:
    older = StormWindow.of("111122223333", REGION, ResourceKind.TRAINING, START, 600).message()
    del older["scope"], older["kind"]

    window = StormWindow.parse(json.dumps(older))

    assert (window.scope, window.kind) == ("", "failure")
    assert window.bucket == f"burst|111122223333|{REGION}|training|{START}"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"kind": "ops"}, id="ops"),
        pytest.param({"kind": "bogus"}, id="bogus"),
        pytest.param({"kind": ""}, id="empty"),
        pytest.param({"kind": None}, id="null"),
        pytest.param({"scope": 7}, id="scope-not-text"),
    ],
)
def test_given_a_window_of_a_kind_not_summarized_when_parsed_then_invalid(
    change: dict[str, Any],
) -> None:
    with pytest.raises(InvalidEvent, match=r"storm window (kind|scope)"):
        StormWindow.parse(CLUSTER_WINDOW.message() | change)


def test_given_a_node_fault_that_reads_like_throttling_when_alerted_then_its_own_step() -> None:
    raw = read_event(UNHEALTHY)
    raw["detail"]["HealthSummary"]["HealthStatusReason"] = "fault type GpuThermalThrottling"

    assert next_step(_alert(raw)) == REPAIRING_STEP  # a hardware fault, not AWS's API throttling


@pytest.mark.parametrize(
    ("reason", "capacity"),
    [
        ("InsufficientInstanceCapacity: no ml.p5.48xlarge", True),
        (NO_CAPACITY, True),
        ("not enough capacity in us-east-1a", True),
        ("The Availability Zone has sufficient capacity; the lifecycle script failed", False),
    ],
)
def test_given_a_cluster_error_when_its_failure_names_capacity_then_the_capacity_step(
    reason: str, capacity: bool
) -> None:
    raw = read_event(CAPACITY)
    metadata = raw["detail"]["EventDetails"]["EventDetails"]["EventMetadata"]
    metadata["Instance"]["FailureMessage"] = reason

    assert (next_step(_alert(raw)) == CAPACITY_STEP) is capacity
