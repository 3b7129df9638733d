"""Who may put events on the monitoring bus and link metrics to the sink, decided by evaluating
the rendered resource policies of template.yaml (as the SAM translator outputs it) for given
WorkloadAccountIds / OrganizationPaths, with IAM semantics. Plus two structural rules for every
resource policy: no Principal "*" without an organization or source condition, and TLS-only
queues and topics."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from sagewatch.template import TEMPLATE, WORKLOAD_TEMPLATE
from tests.templates.policy_eval import (
    Caller,
    Rendered,
    Request,
    Unsupported,
    alternatives,
    as_document,
    as_strings,
    is_allowed,
    like,
    placeholder,
    principal_is_anyone,
    sam_rendered,
    statements,
)

ORG = "o-a1b2c3d4e5"
ROOT = f"{ORG}/r-ab12"
OU_ML = f"{ROOT}/ou-ab12-11111111"
OU_ML_TEAM = f"{OU_ML}/ou-ab12-22222222"  # nested under OU_ML
OU_SIBLING = f"{ROOT}/ou-ab12-33333333"
OU_LONGER_ID = f"{ROOT}/ou-ab12-111111119"  # its id starts with OU_ML's id: a sibling all the same
OTHER_ORG = "o-zz99887766"
OTHER_ORG_OU = f"{OTHER_ORG}/r-zz99/ou-zz99-11111111"

LISTED = "111111111111"
ALSO_LISTED = "333333333333"
UNLISTED = "222222222222"

Decision = Callable[[Rendered, Caller], bool]


def render(accounts: Sequence[str] = (), paths: Sequence[str] = ()) -> Rendered:
    return Rendered(
        sam_rendered(TEMPLATE),
        {"WorkloadAccountIds": list(accounts), "OrganizationPaths": list(paths)},
    )


# ---- the two surfaces ------------------------------------------------------------------------


def _bus_id(rendered: Rendered) -> str:
    buses = [i for i, _ in rendered.resources("AWS::Events::EventBus")]
    assert len(buses) == 1, f"expected one event bus in template.yaml, found {buses}"
    return buses[0]


def bus_statements(rendered: Rendered) -> list[dict[str, Any]]:
    """The statements of every policy on the monitoring bus (resource policies deployed for these
    parameter values)."""
    bus = _bus_id(rendered)
    bus_props = rendered.template["Resources"][bus].get("Properties", {})
    names = {placeholder(bus), rendered.resolve(bus_props.get("Name"))}
    found = []
    if "Policy" in bus_props:
        found += statements(as_document(rendered.resolve(bus_props["Policy"])))
    for logical_id, resource in rendered.resources("AWS::Events::EventBusPolicy"):
        props = rendered.resolve(resource["Properties"])
        if props.get("EventBusName") not in names:
            continue  # a policy of another bus (no EventBusName: the default bus)
        if "Policy" in props:
            found += statements(as_document(props["Policy"]))
        elif "Statement" in props:
            found.append({"Sid": props.get("StatementId", logical_id), **props["Statement"]})
        else:
            raise Unsupported(f"{logical_id}: legacy Principal/Action/Condition properties")
    return found


def sink_statements(rendered: Rendered) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (logical_id, statements(as_document(rendered.resolve(resource["Properties"]["Policy"]))))
        for logical_id, resource in rendered.resources("AWS::Oam::Sink")
    ]


FORWARDED_SOURCES = ["aws.sagemaker"]  # what a workload's forwarding rule puts, most often


def bus_allows(
    rendered: Rendered, caller: Caller, sources: Sequence[str] = FORWARDED_SOURCES
) -> bool:
    """May `caller` call events:PutEvents on the monitoring bus, with events of these sources?"""
    request = Request(
        caller,
        "events:PutEvents",
        placeholder(_bus_id(rendered), "Arn"),
        {"events:source": list(sources)} if sources else {},
    )
    return is_allowed(bus_statements(rendered), request)


def sink_allows(rendered: Rendered, caller: Caller) -> bool:
    """May `caller` create an OAM link sharing metrics with the sink? (No sink: nobody.)"""
    return any(
        is_allowed(
            policy,
            Request(
                caller,
                "oam:CreateLink",
                placeholder(sink, "Arn"),
                {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]},
            ),
        )
        for sink, policy in sink_statements(rendered)
    )


SURFACES = pytest.mark.parametrize(
    "allows", [bus_allows, sink_allows], ids=["bus PutEvents", "sink CreateLink"]
)


# ---- who is allowed --------------------------------------------------------------------------


@SURFACES
def test_given_a_listed_account_when_it_calls_then_allowed(allows: Decision) -> None:
    rendered = render(accounts=[LISTED, ALSO_LISTED])
    assert allows(rendered, Caller(LISTED))
    assert allows(rendered, Caller(ALSO_LISTED, OU_SIBLING))


@SURFACES
def test_given_an_unlisted_account_when_it_calls_then_denied(allows: Decision) -> None:
    assert not allows(render(accounts=[LISTED]), Caller(UNLISTED))
    assert not allows(render(accounts=[LISTED], paths=[OU_ML]), Caller(UNLISTED, OU_SIBLING))


@SURFACES
def test_given_an_account_in_a_listed_ou_when_it_calls_then_allowed(allows: Decision) -> None:
    assert allows(render(paths=[OU_ML]), Caller(UNLISTED, OU_ML))


@SURFACES
def test_given_an_account_in_an_ou_nested_under_a_listed_ou_when_it_calls_then_allowed(
    allows: Decision,
) -> None:
    assert allows(render(paths=[OU_ML]), Caller(UNLISTED, OU_ML_TEAM))
    assert allows(render(paths=[OU_SIBLING, OU_ML]), Caller(UNLISTED, OU_ML_TEAM))


@SURFACES
def test_given_an_account_in_a_sibling_ou_when_it_calls_then_denied(allows: Decision) -> None:
    assert not allows(render(paths=[OU_ML]), Caller(UNLISTED, OU_SIBLING))
    assert not allows(render(paths=[OU_ML]), Caller(UNLISTED, ROOT))  # directly under the root
    assert not allows(render(paths=[OU_ML]), Caller(UNLISTED, OU_LONGER_ID))


@SURFACES
def test_given_an_account_of_a_different_organization_when_it_calls_then_denied(
    allows: Decision,
) -> None:
    assert not allows(render(paths=[ORG]), Caller(UNLISTED, OTHER_ORG_OU))
    assert not allows(render(paths=[OU_ML]), Caller(UNLISTED, OTHER_ORG_OU))
    assert not allows(render(paths=[ORG]), Caller(UNLISTED))  # in no organization


@SURFACES
def test_given_the_whole_organization_path_when_any_of_its_accounts_calls_then_allowed(
    allows: Decision,
) -> None:
    rendered = render(paths=[ORG])
    for path in (ROOT, OU_ML, OU_ML_TEAM, OU_SIBLING, OU_LONGER_ID):
        assert allows(rendered, Caller(UNLISTED, path)), path


@SURFACES
def test_given_nothing_listed_when_anyone_calls_then_denied(allows: Decision) -> None:
    rendered = render()
    for caller in (Caller(LISTED), Caller(UNLISTED, OU_ML), Caller(UNLISTED, ORG)):
        assert not allows(rendered, caller), caller


@pytest.mark.parametrize(
    ("sources", "allowed"),
    [
        (["aws.sagemaker"], True),
        (["sagewatch.heartbeat", "sagewatch.inventory"], True),
        (["sagewatch"], False),  # the enricher's utilization reports
        (["sagewatch.monitoring"], False),  # inventory refresh requests
        (["aws.sagemaker", "sagewatch"], False),  # one forged entry spoils the call
        (["com.example.anything"], False),
        ([], False),  # no source in the request: the key is absent
    ],
)
@pytest.mark.parametrize("paths", [[], [OU_ML]], ids=["listed account", "organization path"])
def test_given_a_workload_account_when_it_puts_events_then_only_forwarded_sources_are_allowed(
    sources: list[str], allowed: bool, paths: list[str]
) -> None:
    rendered = render(accounts=[] if paths else [LISTED], paths=paths)
    caller = Caller(LISTED, OU_ML) if paths else Caller(LISTED)

    assert bus_allows(rendered, caller, sources) is allowed


CALLERS = (
    Caller(LISTED),
    Caller(LISTED, OU_SIBLING),
    Caller(ALSO_LISTED, OTHER_ORG_OU),
    Caller(UNLISTED),
    Caller(UNLISTED, ROOT),
    Caller(UNLISTED, OU_ML),
    Caller(UNLISTED, OU_ML_TEAM),
    Caller(UNLISTED, OU_SIBLING),
    Caller(UNLISTED, OU_LONGER_ID),
    Caller(UNLISTED, OTHER_ORG_OU),
    Caller(LISTED, name="user/someone"),
)


def expected(accounts: Sequence[str], paths: Sequence[str], caller: Caller) -> bool:
    """The intended rule: a listed account, or an account at or below a listed path."""
    below = caller.org_path is not None and any(
        f"{caller.org_path}/".startswith(f"{path}/") for path in paths
    )
    return caller.account in accounts or below


@pytest.mark.parametrize("accounts", [[], [LISTED], [LISTED, ALSO_LISTED]], ids=str)
@pytest.mark.parametrize(
    "paths", [[], [ORG], [OU_ML], [OU_ML, OU_SIBLING], [OTHER_ORG_OU]], ids=str
)
def test_given_a_grid_of_accounts_paths_and_callers_when_evaluated_then_bus_and_sink_agree(
    accounts: list[str], paths: list[str]
) -> None:
    rendered = render(accounts, paths)
    mismatches = [
        f"{caller}: bus={bus}, sink={sink}, intended={want}"
        for caller in CALLERS
        for bus, sink, want in [
            (
                bus_allows(rendered, caller),
                sink_allows(rendered, caller),
                expected(accounts, paths, caller),
            )
        ]
        if not bus == sink == want
    ]
    assert not mismatches, f"accounts={accounts} paths={paths}\n" + "\n".join(mismatches)


# ---- every resource policy of both templates -------------------------------------------------

# Resource types whose policy (resource-based) is a property, and that property.
POLICY_PROPERTIES = {
    "AWS::Events::EventBus": "Policy",
    "AWS::Oam::Sink": "Policy",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SQS::QueueInlinePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SNS::TopicInlinePolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::Logs::ResourcePolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
}
EXAMPLE_VALUES: dict[str, str | list[str]] = {
    "WorkloadAccountIds": [LISTED],
    "OrganizationPaths": [OU_ML],
    "AlertEmail": "alerts@example.com",
    "OpsEmail": "ops@example.com",
    "KmsKeyArn": "arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "MonitoringBusArn": "arn:aws:events:us-east-1:999999999999:event-bus/sagewatch",
    "OamSinkIdentifier": "arn:aws:oam:us-east-1:999999999999:sink/a1b2c3d4-5678-90ab-cdef-1111",
}
REQUIRED = ("MonitoringBusArn",)  # no default


def parameter_sets(template: dict[str, Any]) -> list[dict[str, str | list[str]]]:
    """Defaults; and every example value with each "true"/"false" switch on, then off: between
    them, every conditional resource policy is rendered."""
    declared = template.get("Parameters", {})
    examples = {k: v for k, v in EXAMPLE_VALUES.items() if k in declared}
    switches = [
        k
        for k, spec in declared.items()
        if {"true", "false"} <= set(map(str, spec.get("AllowedValues", [])))
    ]
    defaults = {k: examples[k] for k in REQUIRED if k in examples}
    return [
        defaults,
        examples | dict.fromkeys(switches, "true"),
        examples | dict.fromkeys(switches, "false"),
    ]


def resource_policies(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, statement) for every statement of every resource policy, under every parameter
    set. AWS::Lambda::Permission is read as the statement it adds to the function's policy."""
    template = sam_rendered(path)
    for parameters in parameter_sets(template):
        rendered = Rendered(template, parameters)
        for logical_id, resource in rendered.resources(
            *POLICY_PROPERTIES, "AWS::Lambda::Permission", "AWS::Events::EventBusPolicy"
        ):
            kind, props = resource["Type"], resource.get("Properties", {})
            where = f"{path.name} {logical_id} ({kind})"
            if kind == "AWS::Lambda::Permission":
                yield where, _permission_statement(rendered.resolve(props))
                continue
            if kind == "AWS::Events::EventBusPolicy":
                props = rendered.resolve(props)
                if "Statement" in props:
                    yield where, {"Sid": props.get("StatementId"), **props["Statement"]}
                    continue
                document = props.get("Policy")
            else:
                document = rendered.resolve(props.get(POLICY_PROPERTIES[kind]))
            if document is None:
                continue
            for index, statement in enumerate(statements(as_document(document))):
                label = statement.get("Sid") or f"#{index}"
                yield f"{where}, statement {label}", statement


def _permission_statement(props: dict[str, Any]) -> dict[str, Any]:
    principal = props["Principal"]
    if principal != "*":
        key = "Service" if principal.endswith(".amazonaws.com") else "AWS"
        principal = {key: principal}
    condition: dict[str, dict[str, Any]] = {}
    for prop, key, operator in (
        ("SourceAccount", "aws:SourceAccount", "StringEquals"),
        ("SourceArn", "aws:SourceArn", "ArnLike"),
        ("PrincipalOrgID", "aws:PrincipalOrgID", "StringEquals"),
    ):
        if prop in props:
            condition.setdefault(operator, {})[key] = props[prop]
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": props["Action"],
        "Condition": condition,
    }


LIMITING_KEYS = frozenset(
    {"aws:principalorgid", "aws:principalorgpaths", "aws:sourceaccount", "aws:sourcearn"}
)


def is_tls_deny(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Deny" or not principal_is_anyone(statement.get("Principal")):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        if operator in ("Bool", "BoolIfExists"):
            for key, value in keys.items():
                if key.lower() == "aws:securetransport" and [
                    str(v).lower() for v in alternatives(value)
                ] == ["false"]:
                    return True
    return False


def _limits_the_caller(statement: dict[str, Any]) -> bool:
    """A positive organization/source test (not negated, not IfExists: those pass callers that
    lack the key)."""
    return any(
        key.lower() in LIMITING_KEYS and "Not" not in operator and "IfExists" not in operator
        for operator, keys in (statement.get("Condition") or {}).items()
        for key in keys
    )


def anyone_problems(where: str, statement: dict[str, Any]) -> list[str]:
    if "NotPrincipal" in statement and statement.get("Effect") == "Allow":
        return [f"{where}: Allow with NotPrincipal grants everyone else"]
    if not principal_is_anyone(statement.get("Principal")):
        return []
    if _limits_the_caller(statement) or is_tls_deny(statement):
        return []
    return [
        f"{where}: Principal '*' without an aws:PrincipalOrgID, aws:PrincipalOrgPaths, "
        "aws:SourceAccount or aws:SourceArn condition (or an aws:SecureTransport deny)"
    ]


@pytest.mark.parametrize("path", [TEMPLATE, WORKLOAD_TEMPLATE], ids=lambda p: p.name)
def test_given_every_resource_policy_when_read_then_no_anyone_principal_lacks_a_limiting_condition(
    path: Path,
) -> None:
    policies = list(resource_policies(path))
    assert policies, f"{path.name}: no resource policy found; the check would prove nothing"
    problems = sorted(
        {p for where, statement in policies for p in anyone_problems(where, statement)}
    )
    assert not problems, "\n".join(problems)


def test_given_anyone_principals_when_checked_then_only_limited_ones_pass() -> None:
    bare = {"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents"}
    assert anyone_problems("x", bare)
    assert anyone_problems("x", bare | {"Principal": {"AWS": ["*"]}})
    org = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{ORG}/*"]}}
    assert not anyone_problems("x", bare | {"Condition": org})
    negated = {"StringNotEquals": {"aws:SourceAccount": LISTED}}
    assert anyone_problems("x", bare | {"Condition": negated})
    if_exists = {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}}
    assert anyone_problems("x", bare | {"Condition": if_exists})
    tls = {"Bool": {"aws:SecureTransport": "false"}}
    assert not anyone_problems("x", bare | {"Effect": "Deny", "Condition": tls})
    assert anyone_problems("x", bare | {"Condition": tls})  # an Allow over plain HTTP: anyone


# ---- TLS-only queues and topics --------------------------------------------------------------

QUEUE_AND_TOPIC_POLICIES = {
    "AWS::SQS::QueuePolicy": ("Queues", "AWS::SQS::Queue", "sqs:SendMessage"),
    "AWS::SQS::QueueInlinePolicy": ("Queue", "AWS::SQS::Queue", "sqs:SendMessage"),
    "AWS::SNS::TopicPolicy": ("Topics", "AWS::SNS::Topic", "sns:Publish"),
    "AWS::SNS::TopicInlinePolicy": ("TopicArn", "AWS::SNS::Topic", "sns:Publish"),
}


def _queue_and_topic_policies(
    path: Path,
) -> Iterator[tuple[Rendered, str, str, list[str], list[dict[str, Any]]]]:
    """(rendered, where, kind, targets, statements) of every deployed queue/topic policy."""
    template = sam_rendered(path)
    for parameters in parameter_sets(template):
        rendered = Rendered(template, parameters)
        for logical_id, resource in rendered.resources(*QUEUE_AND_TOPIC_POLICIES):
            kind = resource["Type"]
            props = rendered.resolve(resource["Properties"])
            targets = as_strings(props[QUEUE_AND_TOPIC_POLICIES[kind][0]])
            document = statements(as_document(props["PolicyDocument"]))
            yield rendered, f"{path.name} {logical_id} ({kind})", kind, targets, document


def test_given_every_queue_and_topic_policy_when_read_then_it_denies_requests_without_tls() -> None:
    missing = sorted(
        {
            f"{where}: no Deny with Bool aws:SecureTransport 'false' for Principal '*'"
            for _, where, _, _, document in _queue_and_topic_policies(TEMPLATE)
            if not any(is_tls_deny(s) for s in document)
        }
    )
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("path", [TEMPLATE, WORKLOAD_TEMPLATE], ids=lambda p: p.name)
def test_given_every_queue_and_topic_when_deployed_then_a_policy_denies_it_without_tls(
    path: Path,
) -> None:
    covered: set[str] = set()
    for _, _, kind, targets, document in _queue_and_topic_policies(path):
        action = QUEUE_AND_TOPIC_POLICIES[kind][2]
        denies = [s for s in document if is_tls_deny(s)]
        for target in targets:
            logical_id = target.strip("{}")
            arn = placeholder(logical_id, "Arn") if kind.startswith("AWS::SQS") else target
            if any(
                any(like(a, action, case_sensitive=False) for a in as_strings(s.get("Action")))
                and any(like(r, arn) for r in as_strings(s.get("Resource")))
                for s in denies
            ):
                covered.add(logical_id)
    template = sam_rendered(path)
    wanted = {t for _, (_, t, _) in QUEUE_AND_TOPIC_POLICIES.items()}
    uncovered = sorted(
        f"{path.name} {logical_id} ({resource['Type']}): no policy denies it without TLS"
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in wanted and logical_id not in covered
    )
    assert not uncovered, "\n".join(uncovered)


# ---- the evaluator follows IAM (so the decisions above mean something) -----------------------


def _put(caller: Caller, **context: str | list[str]) -> Request:
    return Request(
        caller, "events:PutEvents", "arn:aws:events:us-east-1:999999999999:event-bus/b", context
    )


def _org_statement(pattern: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": "arn:aws:events:us-east-1:999999999999:event-bus/b",
        "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [pattern]}},
    }


def test_given_org_path_patterns_when_evaluated_then_the_slash_before_the_star_matters() -> None:
    assert is_allowed([_org_statement(f"{OU_ML}/*")], _put(Caller(UNLISTED, OU_ML_TEAM)))
    assert not is_allowed([_org_statement(f"{OU_ML}/*")], _put(Caller(UNLISTED, OU_LONGER_ID)))
    assert is_allowed([_org_statement(f"{OU_ML}*")], _put(Caller(UNLISTED, OU_LONGER_ID)))
    assert not is_allowed([_org_statement(f"{OU_ML}/*")], _put(Caller(UNLISTED)))  # no org


def test_given_account_principals_when_evaluated_then_ids_and_root_arns_name_the_account() -> None:
    base = {"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}
    for principal in (LISTED, f"arn:aws:iam::{LISTED}:root", [ALSO_LISTED, LISTED]):
        statement = base | {"Principal": {"AWS": principal}}
        assert is_allowed([statement], _put(Caller(LISTED))), principal
        assert not is_allowed([statement], _put(Caller(UNLISTED))), principal
    role = base | {"Principal": {"AWS": f"arn:aws:iam::{LISTED}:role/other"}}
    assert not is_allowed([role], _put(Caller(LISTED)))
    service = base | {"Principal": {"Service": "events.amazonaws.com"}}
    assert not is_allowed([service], _put(Caller(LISTED)))


def test_given_conditions_when_evaluated_then_iam_set_semantics_apply() -> None:
    base = {"Effect": "Allow", "Principal": "*", "Action": "oam:CreateLink", "Resource": "*"}
    only_metrics = base | {
        "Condition": {
            "ForAllValues:StringEquals": {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]}
        }
    }
    link = Request(Caller(LISTED), "oam:CreateLink", "sink")
    metrics = Request(
        Caller(LISTED), "oam:CreateLink", "sink", {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]}
    )
    logs = Request(
        Caller(LISTED),
        "oam:CreateLink",
        "sink",
        {"oam:ResourceTypes": ["AWS::CloudWatch::Metric", "AWS::Logs::LogGroup"]},
    )
    assert is_allowed([only_metrics], metrics)
    assert not is_allowed([only_metrics], logs)
    assert is_allowed([only_metrics], link)  # ForAllValues over no values is true, as in IAM
    account = base | {"Condition": {"StringEquals": {"aws:PrincipalAccount": LISTED}}}
    assert is_allowed([account], link)
    assert not is_allowed([account], Request(Caller(UNLISTED), "oam:CreateLink", "sink"))
    arn = base | {"Condition": {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{LISTED}:role/*"}}}
    assert is_allowed([arn], link)
    assert not is_allowed([arn], Request(Caller(LISTED, name="user/u"), "oam:CreateLink", "sink"))


def test_given_an_allow_and_a_matching_deny_when_evaluated_then_the_deny_wins() -> None:
    allow = {"Effect": "Allow", "Principal": {"AWS": LISTED}, "Action": "sqs:*", "Resource": "*"}
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    send = Request(Caller(LISTED), "sqs:SendMessage", "q")
    assert is_allowed([allow, deny], send)
    assert not is_allowed(
        [allow, deny],
        Request(Caller(LISTED), "sqs:SendMessage", "q", {"aws:SecureTransport": "false"}),
    )
    assert not is_allowed([deny], send)  # no Allow: implicitly denied
