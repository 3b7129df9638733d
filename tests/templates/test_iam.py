"""Least privilege in both templates, read as deployed: template.yaml expanded by the real SAM
translator (generated function roles, policy templates, the managed policies SAM attaches), and
workload-template.yaml as it is. Every identity policy statement and every role trust policy is
walked; each failure names the template, resource, policy and statement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sagewatch.template import TEMPLATE, WORKLOAD_TEMPLATE
from tests.templates.policy_eval import (
    alternatives,
    as_document,
    as_strings,
    condition_keys,
    sam_rendered,
    statements,
)

TEMPLATES = (TEMPLATE, WORKLOAD_TEMPLATE)

# Resource "*" is accepted only for these actions, each of which has no resource type in the
# Service Authorization Reference (nothing narrower can be written). Listed by name: an action
# with a wildcard never passes.
RESOURCE_STAR_ACTIONS = frozenset(
    {
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
        # Tracing: Active; Lambda's X-Ray integration sends segments and telemetry with these.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # SageMaker List calls that take no resource (the job/endpoint/pipeline lists).
        "sagemaker:ListTrainingJobs",
        "sagemaker:ListProcessingJobs",
        "sagemaker:ListTransformJobs",
        "sagemaker:ListHyperParameterTuningJobs",
        "sagemaker:ListEndpoints",
        "sagemaker:ListApps",  # the inventory collector's Studio apps
        "sagemaker:ListNotebookInstances",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "sagemaker:ListPipelines",
        "sagemaker:ListMonitoringSchedules",
        "iam:ListAccountAliases",  # the inventory collector's account name (no resource type)
        "sagemaker:Search",  # the inventory collector's owning teams (no resource type)
        "tag:GetResources",  # and those of the ML platform's automation (no resource type)
    }
)

# AWS managed policies SAM attaches to the roles it generates, with their documents as published
# in the AWS Managed Policy reference (docs.aws.amazon.com/aws-managed-policy/latest/reference/),
# so they are checked like inline policies. A managed policy not listed here fails the walk.
AWS_MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    # service-role/AWSLambdaBasicExecutionRole, v1
    "AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    # AWSXrayWriteOnlyAccess, v2 (SAM's Tracing: Active in the aws partition)
    "AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": ["*"],
        }
    ],
    # AWSXRayDaemonWriteAccess, v2 (SAM's Tracing: Active in other partitions)
    "AWSXRayDaemonWriteAccess": [
        {
            "Sid": "AWSXRayDaemonWriteAccess",
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": ["*"],
        }
    ],
    # service-role/AWSLambdaSQSQueueExecutionRole, v1 (SAM's SQS event source)
    "AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}

SOURCE_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn"})


@dataclass(frozen=True)
class Statement:
    where: str  # template, resource, policy and statement, for failure messages
    body: dict[str, Any]


@dataclass(frozen=True)
class Role:
    logical_id: str
    where: str
    trust: list[Statement]


def _label(statement: dict[str, Any], index: int) -> str:
    return f"statement {statement['Sid']!r}" if "Sid" in statement else f"statement #{index}"


def _document_statements(where: str, document: Any) -> Iterator[Statement]:
    for option in alternatives(document):
        parsed = as_document(option)
        for index, item in enumerate(statements(parsed)):
            for statement in alternatives(item):
                yield Statement(f"{where}, {_label(statement, index)}", statement)


def _managed_statements(
    where: str, arn: Any, resources: dict[str, Any]
) -> Iterator[Statement | str]:
    """Statements of an attached managed policy, or a problem (str) if it cannot be reviewed."""
    if isinstance(arn, dict) and set(arn) == {"Ref"}:
        target = resources.get(arn["Ref"], {})
        if target.get("Type") == "AWS::IAM::ManagedPolicy":
            return  # walked as a resource of its own
    text = arn.get("Fn::Sub") if isinstance(arn, dict) else arn
    if not isinstance(text, str) or ":iam::aws:policy/" not in text:
        yield f"{where}: managed policy {arn!r} is not in the template and cannot be reviewed"
        return
    name = text.rsplit("/", 1)[1]
    if name not in AWS_MANAGED_POLICIES:
        yield (
            f"{where}: AWS managed policy {name} is not reviewed; add its published document to "
            "AWS_MANAGED_POLICIES or replace it with inline statements"
        )
        return
    for index, statement in enumerate(AWS_MANAGED_POLICIES[name]):
        yield Statement(
            f"{where}, AWS managed policy {name}, {_label(statement, index)}", statement
        )


def identity_statements(path: Path) -> tuple[list[Statement], list[str]]:
    """Every identity-policy statement of the rendered template, and the attached policies that
    cannot be reviewed."""
    resources = sam_rendered(path)["Resources"]
    found: list[Statement] = []
    problems: list[str] = []
    for logical_id, resource in resources.items():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        where = f"{path.name} {logical_id} ({kind})"
        if kind in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            for policy in props.get("Policies", []):
                for option in alternatives(policy):
                    name = option.get("PolicyName", "?")
                    place = f"{where}, policy {name!r}"
                    found += _document_statements(place, option["PolicyDocument"])
            for arn in alternatives(props.get("ManagedPolicyArns", [])):
                for item in _managed_statements(where, arn, resources):
                    if isinstance(item, Statement):
                        found.append(item)
                    else:
                        problems.append(item)
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            found += _document_statements(where, props["PolicyDocument"])
    return found, problems


def roles(path: Path) -> list[Role]:
    found = []
    for logical_id, resource in sam_rendered(path)["Resources"].items():
        if resource.get("Type") == "AWS::IAM::Role":
            where = f"{path.name} {logical_id} trust policy"
            document = resource["Properties"]["AssumeRolePolicyDocument"]
            found.append(Role(logical_id, where, list(_document_statements(where, document))))
    return found


def allows(statement: Statement) -> bool:
    return statement.body.get("Effect") == "Allow"


def _service_principals(statement: Statement) -> list[Any]:
    principal = statement.body.get("Principal")
    if not isinstance(principal, dict):
        return []
    # An intrinsic (e.g. !Sub "logs.${AWS::Region}.amazonaws.com") stands for one service.
    return [
        option if isinstance(option, str) else json.dumps(option, sort_keys=True)
        for option in alternatives(principal.get("Service"))
    ]


# ---- the rules (also run against known-bad documents below) ----------------------------------


def wildcard_action_problems(statement: Statement) -> list[str]:
    if not allows(statement):
        return []
    if "NotAction" in statement.body:
        return [f"{statement.where}: Allow with NotAction grants every other action"]
    problems = []
    for option in alternatives(statement.body.get("Action")):
        if not isinstance(option, str):
            problems.append(f"{statement.where}: action {option!r} is not a literal")
        elif "*" in option or "?" in option:
            problems.append(f"{statement.where}: wildcard action {option!r}")
    return problems


def resource_star_problems(statement: Statement) -> list[str]:
    if not allows(statement):
        return []
    if "NotResource" in statement.body:
        return [f"{statement.where}: Allow with NotResource grants every other resource"]
    resources = alternatives(statement.body.get("Resource"))
    if "*" not in resources:
        return []
    actions = [a for a in alternatives(statement.body.get("Action")) if isinstance(a, str)]
    narrower = sorted(a for a in actions if a not in RESOURCE_STAR_ACTIONS)
    if not narrower:
        return []
    return [f"{statement.where}: Resource '*' for {narrower}, outside RESOURCE_STAR_ACTIONS"]


def single_service_problems(role: Role) -> list[str]:
    allowing = [s for s in role.trust if allows(s)]
    if not allowing:
        return [f"{role.where}: trusts nobody (no Allow statement)"]
    problems = []
    services: set[str] = set()
    for statement in allowing:
        principal = statement.body.get("Principal")
        if not isinstance(principal, dict) or set(principal) != {"Service"}:
            problems.append(f"{statement.where}: principal {principal!r} is not a service")
            continue
        services.update(_service_principals(statement))
    if len(services) != 1:
        problems.append(f"{role.where}: trusts {sorted(services)}, not exactly one service")
    return problems


def source_condition_problems(role: Role, service: str) -> list[str]:
    return [
        f"{statement.where}: {service} may assume the role without an aws:SourceAccount or "
        "aws:SourceArn condition"
        for statement in role.trust
        if allows(statement)
        and service in _service_principals(statement)
        and not condition_keys(statement.body) & SOURCE_KEYS
    ]


def _all(path: Path) -> list[Statement]:
    found, _ = identity_statements(path)
    return found


# ---- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_rendered_template_when_walked_then_every_role_and_policy_is_found(
    path: Path,
) -> None:
    resources = sam_rendered(path)["Resources"]
    role_ids = {role.logical_id for role in roles(path)}
    assert role_ids, f"{path.name}: no IAM role found; the walk would prove nothing"
    # Every function's role (SAM generates one unless a Role is given) is walked.
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]
            if isinstance(role, dict) and "Fn::GetAtt" in role:
                assert role["Fn::GetAtt"][0] in role_ids, (
                    f"{path.name} {logical_id}: its role {role} was not walked"
                )
    found, _ = identity_statements(path)
    assert found, f"{path.name}: no identity policy statement found"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_every_attached_policy_when_looked_up_then_its_statements_can_be_reviewed(
    path: Path,
) -> None:
    _, problems = identity_statements(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_every_allow_statement_when_read_then_no_action_has_a_wildcard(path: Path) -> None:
    problems = [p for s in _all(path) for p in wildcard_action_problems(s)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_resource_star_when_granted_then_only_for_apis_without_resource_scoping(
    path: Path,
) -> None:
    problems = [p for s in _all(path) for p in resource_star_problems(s)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_every_role_when_its_trust_policy_is_read_then_it_trusts_one_service_only(
    path: Path,
) -> None:
    problems = [p for role in roles(path) for p in single_service_problems(role)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_a_function_role_that_may_put_events_then_it_names_the_sources_it_may_put(
    path: Path,
) -> None:
    """A function can only speak for itself (`events:source`): the enricher cannot forge a
    SageMaker event, the collector cannot forge a heartbeat. Roles EventBridge assumes to pass
    events between buses forward what their rule matched and are not function code."""
    functions = {
        role.logical_id
        for role in roles(path)
        if any("lambda.amazonaws.com" in _service_principals(s) for s in role.trust)
    }
    found, _ = identity_statements(path)
    puts = [
        s
        for s in found
        if allows(s)
        and "events:PutEvents" in as_strings(s.body.get("Action"))
        and s.where.split()[1] in functions
    ]
    assert puts, f"{path.name}: no function puts events; the check would prove nothing"
    assert [s.where for s in puts if "events:source" not in condition_keys(s.body)] == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_roles_eventbridge_assumes_when_trusted_then_source_account_or_arn_is_required(
    path: Path,
) -> None:
    problems = [
        p for r in roles(path) for p in source_condition_problems(r, "events.amazonaws.com")
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_given_lambda_execution_roles_when_trusted_then_source_account_or_arn_is_required(
    path: Path,
) -> None:
    # Supported, per the Lambda Developer Guide ("Working with AWS managed policies in the
    # execution role", docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html):
    # "When a service assumes a role in your account, you can include the aws:SourceAccount and
    # aws:SourceArn global condition context keys in your role trust policy to limit access to
    # the role to only requests that are generated by expected resources."
    problems = [
        p for r in roles(path) for p in source_condition_problems(r, "lambda.amazonaws.com")
    ]
    assert not problems, "\n".join(problems)


# ---- the rules catch what they must (so a green run means something) -------------------------


def _statement(**body: Any) -> Statement:
    return Statement("example", {"Effect": "Allow", **body})


@pytest.mark.parametrize(
    "action", ["*", "s3:*", "sqs:Send*", "sagemaker:List*", "logs:?utLogEvents"]
)
def test_given_a_wildcard_action_when_checked_then_reported(action: str) -> None:
    assert wildcard_action_problems(_statement(Action=[action], Resource="arn:aws:s3:::b"))


def test_given_a_wildcard_in_a_deny_when_checked_then_accepted() -> None:
    deny = Statement("example", {"Effect": "Deny", "Action": "sqs:*", "Resource": "*"})
    assert not wildcard_action_problems(deny)
    assert not resource_star_problems(deny)


def test_given_an_action_inside_fn_if_when_checked_then_both_branches_are_read() -> None:
    body = {"Fn::If": ["C", "sqs:SendMessage", ["s3:GetObject", "s3:*"]]}
    assert wildcard_action_problems(_statement(Action=body, Resource="arn:aws:s3:::b"))


def test_given_resource_star_when_checked_then_only_allow_listed_actions_pass() -> None:
    listed = _statement(Action=["cloudwatch:GetMetricData", "xray:PutTraceSegments"], Resource="*")
    assert not resource_star_problems(listed)
    mixed = _statement(Action=["cloudwatch:GetMetricData", "sqs:SendMessage"], Resource=["*"])
    assert resource_star_problems(mixed) == [
        "example: Resource '*' for ['sqs:SendMessage'], outside RESOURCE_STAR_ACTIONS"
    ]
    assert resource_star_problems(_statement(Action="logs:PutLogEvents", NotResource="x"))


def test_given_trust_policies_when_checked_then_two_services_or_accounts_are_reported() -> None:
    two = Role(
        "r", "r", [_statement(Principal={"Service": ["events.amazonaws.com", "a.amazonaws.com"]})]
    )
    assert single_service_problems(two)
    account = Role("r", "r", [_statement(Principal={"AWS": "arn:aws:iam::111122223333:root"})])
    assert single_service_problems(account)
    bare = _statement(Principal={"Service": "events.amazonaws.com"}, Action="sts:AssumeRole")
    assert source_condition_problems(Role("r", "r", [bare]), "events.amazonaws.com")
    scoped = Statement(
        "s", bare.body | {"Condition": {"StringEquals": {"AWS:SourceAccount": "111122223333"}}}
    )
    assert not single_service_problems(Role("r", "r", [scoped]))
    assert not source_condition_problems(Role("r", "r", [scoped]), "events.amazonaws.com")
