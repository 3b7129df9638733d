"""workload-template.yaml's spoke side, read as deployed for given parameter values: the forwarding
rule for sagewatch's own events, the heartbeat schedule, the inventory collector (its role holds
exactly the KPI classes' declared actions), the refresh path and the default bus policy that
admits the monitoring account's refresh requests and nothing else."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest
from moto.events.models import EventPattern

from sagewatch import spoke
from sagewatch.template import WORKLOAD_TEMPLATE, load
from tests.templates.policy_eval import (
    Caller,
    Rendered,
    Request,
    as_strings,
    is_allowed,
    placeholder,
)

WORKLOAD = "111122223333"
MONITORING = "999988887777"
OTHER = "444455556666"
REGION = "us-east-1"
BUS_ARN = f"arn:aws:events:{REGION}:{MONITORING}:event-bus/sagewatch"
DEFAULT_BUS = f"arn:aws:events:{REGION}:{WORKLOAD}:event-bus/default"
STACK = "sagewatch-workload"
STACK_UUID = "5d6f7a80-1b2c-11ef-9a3b-0e1f2a3b4c5d"
# StackSets name their stacks StackSet-<stack set name>-<uuid>: long.
STACKSET_STACK = (
    "StackSet-sagewatch-workload-organization-wide-0c4b1a7e-8f2d-4c4e-9d8e-7f6a5b4c3d2e"
)
NOW = datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
TEMPLATE_BODY_LIMIT = 51_200  # bytes: create-stack-set --template-body (docs use it)
FORWARD_TARGET_KEYS = {"Id", "Arn", "RoleArn", "RetryPolicy", "DeadLetterConfig"}
SAGEMAKER_ARN = re.compile(r"\$\{[A-Za-z]+\}")


def render(stack: str = STACK, **parameters: str) -> Rendered:
    """The workload template as CloudFormation deploys it in account WORKLOAD."""
    rendered = Rendered(load(WORKLOAD_TEMPLATE), {"MonitoringBusArn": BUS_ARN, **parameters})
    rendered.values["AWS::AccountId"] = WORKLOAD
    rendered.values["AWS::StackName"] = stack
    rendered.values["AWS::StackId"] = (
        f"arn:aws:cloudformation:{REGION}:{WORKLOAD}:stack/{stack}/{STACK_UUID}"
    )
    return rendered


def props(rendered: Rendered, logical_id: str) -> dict[str, Any]:
    resolved: dict[str, Any] = rendered.resolve(
        rendered.template["Resources"][logical_id]["Properties"]
    )
    return resolved


def default_bus_rules(rendered: Rendered) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, _ in rendered.resources("AWS::Events::Rule"):
        properties = props(rendered, logical_id)
        if properties.get("EventBusName", "default") == "default":
            yield logical_id, properties


def forwarding_rules(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """Rules on the default bus with a target on the monitoring bus."""
    return {
        logical_id: properties
        for logical_id, properties in default_bus_rules(rendered)
        if any(t["Arn"] == BUS_ARN for t in properties["Targets"])
    }


def event(source: str, detail_type: str, account: str = WORKLOAD) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": "2026-11-20T09:41:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"request_id": "r-1"},
    }


HEARTBEAT = event(spoke.HEARTBEAT_SOURCE, spoke.HEARTBEAT_DETAIL_TYPE)
SNAPSHOT = event(spoke.INVENTORY_SOURCE, spoke.INVENTORY_DETAIL_TYPE)
REFRESH = event(spoke.REFRESH_SOURCE, spoke.REFRESH_DETAIL_TYPE, account=MONITORING)
SAGEMAKER = event("aws.sagemaker", "SageMaker Training Job State Change")


def matches(pattern: dict[str, Any], sample: dict[str, Any]) -> bool:
    """Does the rule pattern match the event? (moto's EventBridge pattern engine)"""
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(sample))


# ---- forwarding ------------------------------------------------------------------------------


@pytest.mark.parametrize("api_calls", ["true", "false"])
def test_given_the_sagewatch_rule_when_read_then_it_forwards_exactly_the_two_own_sources(
    api_calls: str,
) -> None:
    rules = forwarding_rules(render(ForwardApiCalls=api_calls))
    pattern = rules["SagewatchEventsRule"]["EventPattern"]
    assert pattern == {
        "source": [spoke.HEARTBEAT_SOURCE, spoke.INVENTORY_SOURCE],
        "account": [WORKLOAD],
    }
    # Plain strings: no prefix/anything-but/wildcard matcher that could take in more sources.
    assert all(isinstance(source, str) for source in pattern["source"])


def test_given_forwarding_rules_when_compared_then_the_sagewatch_rule_forwards_as_others() -> None:
    rules = forwarding_rules(render())
    (sagemaker_target,) = rules["SageMakerServiceEventsRule"]["Targets"]
    (own_target,) = rules["SagewatchEventsRule"]["Targets"]
    assert set(own_target) == FORWARD_TARGET_KEYS
    assert own_target == sagemaker_target
    assert own_target["RoleArn"] == placeholder("ForwardingRole", "Arn")
    assert own_target["DeadLetterConfig"] == {
        "Arn": placeholder("ForwardingDeadLetterQueue", "Arn")
    }


@pytest.mark.parametrize("api_calls", ["true", "false"])
def test_given_every_forwarding_rule_when_the_dlq_policy_is_read_then_it_may_dead_letter(
    api_calls: str,
) -> None:
    rendered = render(ForwardApiCalls=api_calls)
    policy = props(rendered, "ForwardingDeadLetterQueuePolicy")["PolicyDocument"]
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    allowed = set(as_strings(allow["Condition"]["ArnEquals"]["aws:SourceArn"]))
    rules = forwarding_rules(rendered)
    assert "SagewatchEventsRule" in rules
    assert allowed == {placeholder(rule, "Arn") for rule in rules}


@pytest.mark.parametrize(
    ("sample", "forwarded_by"),
    [
        (HEARTBEAT, {"SagewatchEventsRule"}),
        (SNAPSHOT, {"SagewatchEventsRule"}),
        (SAGEMAKER, {"SageMakerServiceEventsRule"}),
        (REFRESH, set()),  # never sent back to the monitoring account
        (event(spoke.HEARTBEAT_SOURCE, spoke.HEARTBEAT_DETAIL_TYPE, account=OTHER), set()),
        (event(spoke.REFRESH_SOURCE, spoke.REFRESH_DETAIL_TYPE), set()),
        (event("sagewatch.heartbeats", spoke.HEARTBEAT_DETAIL_TYPE), set()),
    ],
    ids=["heartbeat", "snapshot", "sagemaker", "refresh", "foreign", "local-refresh", "near"],
)
def test_given_an_event_on_the_default_bus_when_rules_match_then_only_the_right_one_forwards(
    sample: dict[str, Any], forwarded_by: set[str]
) -> None:
    rules = forwarding_rules(render(ForwardApiCalls="true"))
    hits = {rule for rule, p in rules.items() if matches(p["EventPattern"], sample)}
    assert hits == forwarded_by


def test_given_a_refresh_request_when_rules_match_then_only_the_refresh_rule_runs_it() -> None:
    rendered = render()
    hits = {rule for rule, p in default_bus_rules(rendered) if matches(p["EventPattern"], REFRESH)}
    assert hits == {"InventoryRefreshRule"}
    refresh = props(rendered, "InventoryRefreshRule")
    for other in (HEARTBEAT, SNAPSHOT, SAGEMAKER):
        assert not matches(refresh["EventPattern"], other)
    (target,) = refresh["Targets"]
    assert target["Arn"] == placeholder(spoke.COLLECTOR_FUNCTION, "Arn")
    assert "RoleArn" not in target  # Lambda targets use the function's resource policy
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600


def test_given_the_refresh_rule_when_it_invokes_then_the_permission_names_that_rule_only() -> None:
    rendered = render()
    permission = props(rendered, "InventoryRefreshPermission")
    assert permission == {
        "FunctionName": placeholder(spoke.COLLECTOR_FUNCTION, "Arn"),
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
        "SourceAccount": WORKLOAD,
        "SourceArn": placeholder("InventoryRefreshRule", "Arn"),
    }


# ---- heartbeat -------------------------------------------------------------------------------


def test_given_labels_and_an_interval_when_rendered_then_heartbeat_is_the_documented_event() -> (
    None
):
    schedule = props(
        render(Project="vision", Environment="prod", HeartbeatMinutes="10"), "HeartbeatSchedule"
    )
    assert schedule["ScheduleExpression"] == "rate(10 minutes)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == DEFAULT_BUS
    assert target["RoleArn"] == placeholder("HeartbeatRole", "Arn")
    assert target["EventBridgeParameters"] == {
        "Source": spoke.HEARTBEAT_SOURCE,
        "DetailType": spoke.HEARTBEAT_DETAIL_TYPE,
    }
    assert json.loads(target["Input"]) == {
        "interval_minutes": 10,
        "project": "vision",
        "environment": "prod",
        "stack": STACK,
        "template_version": "2",
    }
    retry = target["RetryPolicy"]
    assert 0 < retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 5 * 60  # never older than the shortest beat


def test_given_no_labels_when_rendered_then_heartbeat_and_collector_say_unknown() -> None:
    rendered = render()
    heartbeat = json.loads(props(rendered, "HeartbeatSchedule")["Target"]["Input"])
    assert heartbeat["project"] == heartbeat["environment"] == "unknown"
    assert heartbeat["interval_minutes"] == 15
    variables = props(rendered, spoke.COLLECTOR_FUNCTION)["Environment"]["Variables"]
    assert variables == {
        "SAGEWATCH_PROJECT": "unknown",
        "SAGEWATCH_ENVIRONMENT": "unknown",
        "FORWARDING_DEAD_LETTER_QUEUE_URL": placeholder("ForwardingDeadLetterQueue"),
        "TEAM_TAG_KEY": "team",
        "ML_AUTOMATION_PREFIX": "ml-",
    }


@pytest.mark.parametrize(
    ("minutes", "project", "environment"), [(15, "", ""), (5, "vision", "prod"), (60, "", "dev")]
)
def test_given_parameters_when_the_helper_renders_the_heartbeat_then_it_equals_the_template(
    minutes: int, project: str, environment: str
) -> None:
    rendered = render(HeartbeatMinutes=str(minutes), Project=project, Environment=environment)
    sent = json.loads(props(rendered, "HeartbeatSchedule")["Target"]["Input"])
    helper = spoke.heartbeat_detail(
        interval_minutes=minutes, project=project, environment=environment, stack=STACK
    )
    assert helper == sent


@pytest.mark.parametrize("parameter", ["Project", "Environment"])
@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("vision", True),
        ("ml-platform_2.0", True),
        ("a" * 64, True),
        ('vi"sion', False),  # would break the heartbeat's JSON
        ("vi\\sion", False),
        ("vision prod", False),
        ("-vision", False),
        ("{x}", False),
    ],
)
def test_given_a_label_when_validated_then_only_json_safe_values_are_accepted(
    parameter: str, value: str, accepted: bool
) -> None:
    spec = load(WORKLOAD_TEMPLATE)["Parameters"][parameter]
    valid = re.fullmatch(spec["AllowedPattern"], value) is not None
    assert (valid and len(value) <= spec["MaxLength"]) is accepted


@pytest.mark.parametrize(
    ("parameter", "default", "low", "high"),
    [("HeartbeatMinutes", 15, 5, 60), ("CollectorMinutes", 60, 15, 1440)],
)
def test_given_the_interval_parameters_when_read_then_defaults_and_bounds_are_documented(
    parameter: str, default: int, low: int, high: int
) -> None:
    spec = load(WORKLOAD_TEMPLATE)["Parameters"][parameter]
    assert (spec["Type"], spec["Default"], spec["MinValue"], spec["MaxValue"]) == (
        "Number",
        default,
        low,
        high,
    )


def test_given_the_scheduler_roles_when_read_then_each_may_do_one_thing() -> None:
    rendered = render()
    expected = {
        "HeartbeatRole": ("events:PutEvents", DEFAULT_BUS),
        "InventoryScheduleRole": (
            "lambda:InvokeFunction",
            placeholder(spoke.COLLECTOR_FUNCTION, "Arn"),
        ),
    }
    for role, (action, resource) in expected.items():
        properties = props(rendered, role)
        (trust,) = properties["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": WORKLOAD}}
        (policy,) = properties["Policies"]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement == {"Effect": "Allow", "Action": action, "Resource": resource}


def test_given_the_inventory_schedule_when_rendered_then_it_invokes_the_collector() -> None:
    schedule = props(render(CollectorMinutes="30"), "InventorySchedule")
    assert schedule["ScheduleExpression"] == "rate(30 minutes)"
    assert schedule["FlexibleTimeWindow"]["MaximumWindowInMinutes"] < 15  # < the shortest rate
    assert schedule["Target"]["Arn"] == placeholder(spoke.COLLECTOR_FUNCTION, "Arn")
    assert json.loads(schedule["Target"]["Input"]) == {"trigger": "schedule"}


# ---- the default bus policy ------------------------------------------------------------------


def bus_policy(rendered: Rendered) -> dict[str, Any]:
    properties = props(rendered, "RefreshRequestsBusPolicy")
    assert "EventBusName" not in properties  # the default bus
    assert set(properties) == {"StatementId", "Statement"}  # the Statement form, not legacy
    return {"Sid": properties["StatementId"], **properties["Statement"]}


def put(
    account: str,
    source: str | None = spoke.REFRESH_SOURCE,
    detail_type: str | None = spoke.REFRESH_DETAIL_TYPE,
    action: str = "events:PutEvents",
    bus: str = DEFAULT_BUS,
) -> Request:
    context: dict[str, str | list[str]] = {}
    if source is not None:
        context["events:source"] = [source]
    if detail_type is not None:
        context["events:detail-type"] = detail_type
    return Request(Caller(account), action, bus, context)


def test_given_a_refresh_request_from_the_monitoring_account_when_evaluated_then_allowed() -> None:
    statement = bus_policy(render())
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MONITORING}:root"}
    assert is_allowed([statement], put(MONITORING))


@pytest.mark.parametrize(
    "request_",
    [
        put(OTHER),
        put(MONITORING, source=spoke.HEARTBEAT_SOURCE),
        put(MONITORING, source=spoke.INVENTORY_SOURCE),
        put(MONITORING, source="aws.sagemaker"),
        put(MONITORING, source=None),
        put(MONITORING, detail_type="SageMaker Inventory Snapshot"),
        put(MONITORING, detail_type=None),
        put(MONITORING, action="events:PutRule"),
        put(MONITORING, bus=f"arn:aws:events:{REGION}:{WORKLOAD}:event-bus/other"),
    ],
    ids=[
        "other-account",
        "heartbeat-source",
        "inventory-source",
        "aws-source",
        "no-source",
        "other-detail-type",
        "no-detail-type",
        "other-action",
        "other-bus",
    ],
)
def test_given_anything_but_a_refresh_request_when_evaluated_then_denied(request_: Request) -> None:
    assert not is_allowed([bus_policy(render())], request_)


def test_given_another_monitoring_bus_when_rendered_then_the_policy_follows_its_account() -> None:
    rendered = Rendered(
        load(WORKLOAD_TEMPLATE),
        {"MonitoringBusArn": f"arn:aws:events:eu-west-1:{OTHER}:event-bus/sagewatch"},
    )
    statement = bus_policy(rendered)
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}


@pytest.mark.parametrize("stack", [STACK, STACKSET_STACK, "s" + "x" * 127])
def test_given_any_stack_name_when_rendered_then_the_statement_id_is_valid_and_stack_unique(
    stack: str,
) -> None:
    rendered = render(stack=stack)
    statement_id = props(rendered, "RefreshRequestsBusPolicy")["StatementId"]
    assert re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", statement_id), statement_id
    assert statement_id == f"sagewatch-refresh-{STACK_UUID}"
    output = rendered.resolve(rendered.template["Outputs"]["RefreshStatementId"]["Value"])
    assert output == statement_id


# ---- the collector ---------------------------------------------------------------------------


def test_given_the_collector_when_read_then_it_is_self_contained_inline_python() -> None:
    template = load(WORKLOAD_TEMPLATE)
    assert "Transform" not in template  # StackSets with service-managed permissions refuse it
    assert "CodeUri" not in json.dumps(template)
    rendered = render()
    function = props(rendered, spoke.COLLECTOR_FUNCTION)
    assert set(function["Code"]) == {"ZipFile"}
    assert (function["Runtime"], function["Handler"], function["Architectures"]) == (
        "python3.11",
        "index.handler",
        ["arm64"],
    )
    assert (function["Timeout"], function["MemorySize"]) == (300, 256)
    assert function["Role"] == placeholder(spoke.COLLECTOR_ROLE, "Arn")
    log_group = function["LoggingConfig"]["LogGroup"]
    assert log_group == placeholder("InventoryCollectorLogGroup")
    logs = props(rendered, "InventoryCollectorLogGroup")
    assert 1 <= logs["RetentionInDays"] <= 365


def test_given_the_template_when_measured_then_it_fits_a_stack_set_template_body() -> None:
    assert len(WORKLOAD_TEMPLATE.read_bytes()) < TEMPLATE_BODY_LIMIT


def test_given_the_collector_module_when_loaded_then_it_speaks_the_spoke_contract() -> None:
    collector = spoke.load_collector()
    assert (collector.SOURCE, collector.DETAIL_TYPE) == (
        spoke.INVENTORY_SOURCE,
        spoke.INVENTORY_DETAIL_TYPE,
    )
    assert (collector.REFRESH_SOURCE, collector.REFRESH_DETAIL_TYPE) == (
        spoke.REFRESH_SOURCE,
        spoke.REFRESH_DETAIL_TYPE,
    )
    assert tuple(collector.REGISTRY) == spoke.KPI_NAMES
    refresh = props(render(), "InventoryRefreshRule")["EventPattern"]
    assert refresh == {
        "source": [spoke.REFRESH_SOURCE],
        "detail-type": [spoke.REFRESH_DETAIL_TYPE],
        "account": [MONITORING],  # a request put by anyone else is not answered
    }


# ---- the collector's permissions: exactly what its KPI classes declare ------------------------

# Besides the KPIs' SageMaker actions, the collector writes its log and puts its snapshot.
COLLECTOR_OWN_ACTIONS = {
    "logs:CreateLogStream": [placeholder("InventoryCollectorLogGroup", "Arn")],
    "logs:PutLogEvents": [placeholder("InventoryCollectorLogGroup", "Arn")],
    "events:PutEvents": [DEFAULT_BUS],
    # The forwarding dead-letter queue's depth, reported with each snapshot.
    "sqs:GetQueueAttributes": [placeholder("ForwardingDeadLetterQueue", "Arn")],
    # The account's alias, its name in alerts (IAM takes no resource for it).
    "iam:ListAccountAliases": ["*"],
}


def role_grants(rendered: Rendered, role: str) -> dict[str, list[str]]:
    """action → resources granted by the role's Allow statements (the role has no Deny)."""
    grants: dict[str, list[str]] = {}
    for policy in props(rendered, role)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not {"NotAction", "NotResource"} & set(statement)
            # The only condition: the snapshot is the one event the collector may put.
            if "Condition" in statement:
                assert statement["Action"] == "events:PutEvents"
                assert statement["Condition"] == {
                    "StringEquals": {"events:source": spoke.INVENTORY_SOURCE}
                }
            for action in as_strings(statement["Action"]):
                grants.setdefault(action, []).extend(as_strings(statement["Resource"]))
    return grants


def permission_problems(granted: set[str], registry: dict[str, Any]) -> list[str]:
    declared = {action for kpi in registry.values() for action in kpi.actions}
    declared |= set(spoke.load_collector().TEAMS_ACTIONS)  # the owning teams, beside the KPIs
    wanted = declared | set(COLLECTOR_OWN_ACTIONS)
    return [f"declared by a KPI but not granted: {a}" for a in sorted(wanted - granted)] + [
        f"granted but declared by no KPI: {a}" for a in sorted(granted - wanted)
    ]


def test_given_the_collector_role_when_compared_then_it_grants_exactly_the_kpis_actions() -> None:
    collector = spoke.load_collector()
    grants = role_grants(render(), spoke.COLLECTOR_ROLE)
    assert permission_problems(set(grants), collector.REGISTRY) == []
    for action, resources_ in COLLECTOR_OWN_ACTIONS.items():
        assert grants[action] == resources_, action


def test_given_a_kpi_without_its_permission_when_compared_then_the_gap_is_reported() -> None:
    collector = spoke.load_collector()
    grants = set(role_grants(render(), spoke.COLLECTOR_ROLE))

    # A KPI class the collector module does not know (its classes are loaded at run time).
    models_in_service = type(
        "ModelsInService",
        (collector.Kpi,),
        {"name": "models", "actions": ("sagemaker:ListModels",)},
    )

    registry = {**collector.REGISTRY, "models": models_in_service}
    assert permission_problems(grants, registry) == [
        "declared by a KPI but not granted: sagemaker:ListModels"
    ]
    fewer = {k: v for k, v in collector.REGISTRY.items() if k != "studio_apps_in_service"}
    assert permission_problems(grants, fewer) == [
        "granted but declared by no KPI: sagemaker:ListApps"
    ]


def _iam_reference() -> dict[str, Any]:
    """cfn-lint's copy of the Service Authorization Reference (actions and resource types)."""
    text = resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def test_given_the_kpis_actions_when_scoped_then_star_only_where_no_resource_type_exists() -> None:
    reference = _iam_reference()
    sagemaker = reference["sagemaker"]
    grants = role_grants(render(), spoke.COLLECTOR_ROLE)
    checked = 0
    for action, granted in grants.items():
        service, name = action.split(":")
        if service not in ("sagemaker", "tag"):
            continue
        checked += 1
        types = reference[service]["Actions"][name.lower()].get("Resources", [])
        if not types:
            assert granted == ["*"], f"{action} takes no resource: it needs '*'"
            continue
        assert "*" not in granted, f"{action} supports resource scoping: {types}"
        formats = [
            SAGEMAKER_ARN.sub("[^:]+", f) + "$"
            for t in types
            for f in sagemaker["Resources"][t]["ARNFormats"]
        ]
        assert any(re.match(f, arn) for f in formats for arn in granted), (action, granted)
        for arn in granted:
            assert arn.startswith(f"arn:aws:sagemaker:{REGION}:{WORKLOAD}:"), arn
    collector = spoke.load_collector()
    declared = {a for k in collector.REGISTRY.values() for a in k.actions}
    assert checked == len(declared | set(collector.TEAMS_ACTIONS))


# ---- the documented contract ----------------------------------------------------------------

DOC = WORKLOAD_TEMPLATE.parent / "docs" / "workload-template.md"


def documented_example(heading: str) -> dict[str, Any]:
    """The first JSON block under `heading` in docs/workload-template.md."""
    text = DOC.read_text().split(f"\n{heading}\n", 1)[1]
    block = text.split("```json\n", 1)[1].split("\n```", 1)[0]
    example: dict[str, Any] = json.loads(block)
    return example


def test_given_the_documented_heartbeat_when_compared_then_the_template_sends_that_shape() -> None:
    example = documented_example("### Heartbeat event")
    sent = json.loads(props(render(), "HeartbeatSchedule")["Target"]["Input"])
    assert set(example) == set(sent)
    assert {k: type(v) for k, v in example.items()} == {k: type(v) for k, v in sent.items()}


def test_given_the_documented_snapshot_when_compared_then_the_collector_sends_that_shape() -> None:
    example = documented_example("### Snapshot event")
    collector = spoke.load_collector()
    # A client that fails every call: each KPI lands in `errors`, the envelope is complete.
    sent = collector.snapshot(
        object(), project="p", environment="e", trigger="schedule", request_id=None, now=NOW,
        alias=lambda: None,
    )  # fmt: skip
    assert set(example) == set(sent)
    assert set(sent["errors"]) == set(spoke.KPI_NAMES)
    assert set(example["kpis"]) | set(example["errors"]) == set(spoke.KPI_NAMES)
    assert not set(example["kpis"]) & set(example["errors"])


# ---- parameters ------------------------------------------------------------------------------


def test_given_the_console_parameter_groups_when_read_then_every_parameter_is_in_one() -> None:
    template = load(WORKLOAD_TEMPLATE)
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"])
    assert len(grouped) == len(set(grouped))


def _without_docstrings(tree: ast.Module) -> str:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and body:
            first = body[0]
            if (
                len(body) > 1
                and isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                body.pop(0)
    return ast.dump(tree)


def test_given_the_templates_collector_then_it_is_the_same_program_as_its_source() -> None:
    """`make generate` writes inline/collector.py into the template without its docstrings and
    comments, a space per indentation level (the template must stay under 51,200 bytes): the
    same program, statement for statement."""
    resource = load(WORKLOAD_TEMPLATE)["Resources"][spoke.COLLECTOR_FUNCTION]
    copy = resource["Properties"]["Code"]["ZipFile"]
    source = spoke.COLLECTOR.read_text()

    assert ast.dump(ast.parse(copy)) == _without_docstrings(ast.parse(source))
    assert "#" not in copy.replace('"#', "")  # no comment left (a "#" in a string would be)
