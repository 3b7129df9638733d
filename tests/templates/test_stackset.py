"""The Organizations StackSet in template.yaml: created only when OUs are given, deploys the
workload template itself, to every account of the OUs but the monitoring one, automatically."""

from __future__ import annotations

from typing import Any

from sagewatch.template import ROOT, WORKLOAD_TEMPLATE, condition, load, parameter_defaults

TEMPLATE = load()
STACKSET: dict[str, Any] = TEMPLATE["Resources"]["WorkloadStackSet"]
PROPS: dict[str, Any] = STACKSET["Properties"]


def _groups() -> list[dict[str, Any]]:
    groups = []
    for group in PROPS["StackInstancesGroup"]:
        if "Fn::If" in group:
            _, group, _ = group["Fn::If"]
        groups.append(group)
    return groups


def test_given_no_ou_when_deployed_then_no_stackset_and_given_ous_then_one() -> None:
    defaults = parameter_defaults()

    assert STACKSET["Condition"] == "DeployStackSet"
    assert not condition("DeployStackSet", defaults, TEMPLATE)
    assert condition(
        "DeployStackSet", defaults | {"OrganizationalUnitIds": "ou-ab12-11111111"}, TEMPLATE
    )


def test_given_the_stackset_then_service_managed_auto_deployed_with_the_workload_body() -> None:
    assert PROPS["PermissionModel"] == "SERVICE_MANAGED"
    assert PROPS["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert PROPS["CallAs"] == {"Ref": "StackSetCallAs"}
    assert (ROOT / PROPS["TemplateURL"]).resolve() == WORKLOAD_TEMPLATE.resolve()
    assert "CAPABILITY_IAM" in PROPS["Capabilities"]


def test_given_every_instances_group_then_it_targets_the_ous_without_the_monitoring_account() -> (
    None
):
    groups = _groups()

    assert len(groups) == 2  # this Region (with the metrics link), other Regions (without)
    for group in groups:
        targets = group["DeploymentTargets"]
        assert targets["OrganizationalUnitIds"] == {"Ref": "OrganizationalUnitIds"}
        assert targets["AccountFilterType"] == "DIFFERENCE"
        assert targets["Accounts"] == [{"Ref": "AWS::AccountId"}]
    assert groups[0]["Regions"] == [{"Ref": "AWS::Region"}]
    assert groups[1]["ParameterOverrides"] == [
        {"ParameterKey": "OamSinkIdentifier", "ParameterValue": ""}
    ]


def test_given_the_parameters_passed_then_the_workload_template_declares_each() -> None:
    workload = load(WORKLOAD_TEMPLATE)["Parameters"]
    passed = {p["ParameterKey"] for p in PROPS["Parameters"]}

    assert passed == {
        "MonitoringBusArn", "OamSinkIdentifier", "Project", "Environment", "TeamTagKey",
        "MlAutomationPrefix",
    }  # fmt: skip
    assert passed <= set(workload)
    required = {name for name, spec in workload.items() if "Default" not in spec}
    assert required <= passed  # nothing left for StackSets to fail on
