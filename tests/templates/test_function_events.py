"""The rules that invoke a function are the function's SAM events (EventBridgeRule, Schedule):
SAM writes each rule and the permission to invoke the function from it. Read as deployed (SAM's
own translator), they must be what the hand-written rules and permissions were: the same bus,
retries and dead letters, permissions scoped to their rule, and a dead-letter queue that takes
exactly the rules that send to it."""

from __future__ import annotations

from typing import Any

from sagewatch.template import deployed, function_events, load

RESOURCES: dict[str, Any] = deployed()["Resources"]
RETRY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
DEAD_LETTERS = {"Arn": {"Fn::GetAtt": ["TargetDeadLetterQueue", "Arn"]}}


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


def _function_rules() -> dict[str, str]:
    """Deployed rules whose target is a function: rule -> function."""
    functions = _of_type("AWS::Lambda::Function")
    found = {}
    for name, rule in _of_type("AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            arn = target["Arn"]
            if "Fn::GetAtt" in arn and arn["Fn::GetAtt"][0] in functions:
                found[name] = arn["Fn::GetAtt"][0]
    return found


def test_given_the_functions_events_then_sam_names_each_rule_function_and_event() -> None:
    events = function_events()

    assert {rule: function for rule, (function, _) in events.items()} == _function_rules()
    assert set(events) == {
        "AlerterFunctionFailures",
        "AlerterFunctionUtilization",
        "AlerterFunctionTrackingServers",
        "AlerterFunctionStepFunctions",
        "AlerterFunctionCodePipeline",
        "AlerterFunctionCodeBuild",
        "FleetFunctionHeartbeats",
        "FleetFunctionInventories",
        "FleetFunctionWatch",
        "FleetFunctionHourly",
        "FleetFunctionInFlight",
        "FleetFunctionEndpointHealth",
    }
    raw = load()["Resources"]
    assert not [k for k, v in raw.items() if v["Type"] == "AWS::Lambda::Permission"]
    assert set(events).isdisjoint(raw)  # written by SAM only


def test_given_each_rule_that_invokes_a_function_then_one_permission_scoped_to_it() -> None:
    permissions = list(_of_type("AWS::Lambda::Permission").items())

    for rule, function in _function_rules().items():
        scoped = [
            name
            for name, permission in permissions
            if permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule, "Arn"]}
        ]
        assert scoped == [f"{rule}Permission"], rule
        assert RESOURCES[f"{rule}Permission"]["Properties"] == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": function},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
        }
    assert all("SourceArn" in p["Properties"] for _, p in permissions)


def test_given_the_bus_rules_of_the_functions_then_they_retry_a_day_and_keep_dead_letters() -> None:
    for rule in (
        "AlerterFunctionFailures",
        "AlerterFunctionUtilization",
        "AlerterFunctionTrackingServers",
        "AlerterFunctionStepFunctions",
        "AlerterFunctionCodePipeline",
        "AlerterFunctionCodeBuild",
    ):
        props = RESOURCES[rule]["Properties"]
        assert props["EventBusName"] == {"Ref": "EventBus"}
        (target,) = props["Targets"]
        assert (target["Id"], target["RetryPolicy"], target["DeadLetterConfig"]) == (
            "alerter",
            RETRY,
            DEAD_LETTERS,
        )
    for rule in ("FleetFunctionHeartbeats", "FleetFunctionInventories"):
        (target,) = RESOURCES[rule]["Properties"]["Targets"]
        assert (target["Id"], target["RetryPolicy"], target["DeadLetterConfig"]) == (
            "fleet",
            RETRY,
            DEAD_LETTERS,
        )


def test_given_the_fleet_schedules_then_they_run_on_the_default_bus_with_their_action() -> None:
    for rule, rate, action in (
        ("FleetFunctionWatch", "rate(5 minutes)", "watch"),
        ("FleetFunctionHourly", "rate(1 hour)", "hourly"),
    ):
        props = RESOURCES[rule]["Properties"]
        assert "EventBusName" not in props
        assert "EventPattern" not in props
        assert props["ScheduleExpression"] == rate
        (target,) = props["Targets"]
        assert target["Input"] == f'{{"action": "{action}"}}'


def test_given_the_target_dead_letter_queue_then_exactly_the_rules_sending_to_it_may_send() -> None:
    sending = {
        name: rule.get("Condition")
        for name, rule in _of_type("AWS::Events::Rule").items()
        if any(t.get("DeadLetterConfig") == DEAD_LETTERS for t in rule["Properties"]["Targets"])
    }
    policy = RESOURCES["TargetDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    allowed = {}
    for arn in allow["Condition"]["ArnEquals"]["aws:SourceArn"]:
        if "Fn::If" in arn:  # a conditional rule: allowed when it exists
            condition, arn, _ = arn["Fn::If"]
            allowed[arn["Fn::GetAtt"][0]] = condition
        else:
            allowed[arn["Fn::GetAtt"][0]] = None

    assert allowed == sending
    assert {"AlerterFunctionFailures", "FleetFunctionInventories"} <= set(allowed)


def test_given_a_schedule_turned_off_by_a_parameter_then_its_rule_is_deployed_disabled() -> None:
    """SAM drops a Schedule's `Enabled` that is not a literal (the rule would always run): the
    checks a parameter can turn off say so in `State`, which SAM keeps."""
    rules = _of_type("AWS::Events::Rule")
    raw = load()["Resources"]["FleetFunction"]["Properties"]["Events"]

    for event, condition in (
        ("InFlight", "ChecksRunningJobs"),
        ("EndpointHealth", "ChecksEndpointHealth"),
    ):
        assert "Enabled" not in raw[event]["Properties"]
        assert rules[f"FleetFunction{event}"]["Properties"]["State"] == {
            "Fn::If": [condition, "ENABLED", "DISABLED"]
        }
