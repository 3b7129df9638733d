"""`sagewatch doctor`: check the wiring between one workload account and the monitoring account,
end to end, and say what is wrong and how to fix it.

Each check reads what is deployed (never the templates), so it finds drift and manual changes:
the monitoring stack's outputs, the bus policy, the workload account's forwarding rules and
their role, its heartbeat schedule, its OAM link, and finally a probe event put on the workload
account's default bus that must show up in the monitoring account's archive.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sagewatch.onboard import allowed_by_bus_policy

Clients = Callable[[str], Any]  # service name → boto3 client of that account and Region
REQUIRED_OUTPUTS = ("EventBusArn", "EventBusName", "ArchiveLogGroupName")
FORWARDED_SOURCES = ("aws.sagemaker", "sagewatch.heartbeat")
PROBE_SOURCE, PROBE_DETAIL_TYPE = "sagewatch.heartbeat", "sagewatch Doctor Probe"


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # ok, fail, warn, skip
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail, "fix": self.fix}


def _deploy_fix(bus: str) -> str:
    return (
        "deploy workload-template.yaml in this account and Region with "
        f"MonitoringBusArn={bus} (`sagewatch onboard` prints the command)"
    )


class Doctor:
    def __init__(
        self,
        outputs: Mapping[str, str],
        account: str,
        monitoring: Clients,
        workload: Clients,
        wait: Callable[[], None] = lambda: time.sleep(5),
        probe_attempts: int = 24,
    ) -> None:
        self.outputs = outputs
        self.account = account
        self.monitoring = monitoring
        self.workload = workload
        self.wait = wait  # between probe polls (the embedded AWS forwards here instead)
        self.probe_attempts = probe_attempts
        self.forwarding: list[dict[str, Any]] = []  # targets that point at the monitoring bus

    def run(self) -> list[Finding]:
        findings = [self.stack_outputs()]
        if findings[0].status == "fail":
            return findings
        for check in (self.bus_policy, self.forwarding_rules, self.forwarding_role):
            findings.append(check())
        findings.append(self.heartbeat_schedule())
        findings.append(self.metrics_link())
        blocked = any(f.status == "fail" for f in findings)
        findings.append(
            Finding("probe event", "skip", "not sent: fix the failures above first")
            if blocked
            else self.probe()
        )
        return findings

    # ---- the checks ------------------------------------------------------------------------
    def stack_outputs(self) -> Finding:
        missing = [key for key in REQUIRED_OUTPUTS if key not in self.outputs]
        if missing:
            return Finding(
                "monitoring stack",
                "fail",
                f"outputs {', '.join(missing)} missing",
                "check --stack and --region: they must name the deployed sagewatch template.yaml",
            )
        return Finding("monitoring stack", "ok", f"bus {self.outputs['EventBusArn']}")

    def bus_policy(self) -> Finding:
        described = self.monitoring("events").describe_event_bus(Name=self.outputs["EventBusName"])
        policy = described.get("Policy")
        if self.account in allowed_by_bus_policy(policy):
            return Finding("bus policy", "ok", f"account {self.account} may put events")
        if policy and "aws:PrincipalOrg" in policy:
            return Finding(
                "bus policy",
                "warn",
                f"account {self.account} is not named; it may put events only through the "
                "organization paths in the policy (not verifiable from here)",
                "if events do not arrive, add the account's OU path to OrganizationPaths",
            )
        return Finding(
            "bus policy",
            "fail",
            f"the bus policy does not let account {self.account} put events",
            "add the account to the monitoring stack's WorkloadAccountIds (or its OU path to "
            "OrganizationPaths) and deploy the monitoring stack again",
        )

    def forwarding_rules(self) -> Finding:
        bus = self.outputs["EventBusArn"]
        events = self.workload("events")
        forwarding = []
        for rule in _paginate(events, "list_rules", "Rules", EventBusName="default"):
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName="default")
            for target in targets.get("Targets", []):
                if target.get("Arn") == bus:
                    pattern = json.loads(rule.get("EventPattern") or "{}")
                    forwarding.append(rule | {"Target": target, "Pattern": pattern})
        self.forwarding = forwarding
        if not forwarding:
            return Finding(
                "forwarding rules", "fail", f"no rule sends events to {bus}", _deploy_fix(bus)
            )
        sources = {
            source
            for rule in forwarding
            for pattern in [rule["Pattern"], *rule["Pattern"].get("$or", [])]  # either way
            for source in pattern.get("source", [])
        }
        problems = [
            f"{rule['Name']} is {rule.get('State')}"
            for rule in forwarding
            if rule.get("State") != "ENABLED"
        ]
        problems += [
            f"{rule['Name']} has no RoleArn"
            for rule in forwarding
            if not rule["Target"].get("RoleArn")
        ]
        problems += [
            f"{rule['Name']} has no dead-letter queue"
            for rule in forwarding
            if not rule["Target"].get("DeadLetterConfig", {}).get("Arn")
        ]
        problems += [f"nothing forwards source {s}" for s in FORWARDED_SOURCES if s not in sources]
        if problems:
            return Finding("forwarding rules", "fail", "; ".join(problems), _deploy_fix(bus))
        return Finding(
            "forwarding rules",
            "ok",
            f"{len(forwarding)} rules forward {', '.join(sorted(sources))}",
        )

    def forwarding_role(self) -> Finding:
        if not self.forwarding:
            return Finding("forwarding role", "skip", "no forwarding rule to check")
        bus, iam = self.outputs["EventBusArn"], self.workload("iam")
        problems = []
        for arn in sorted(
            {rule["Target"]["RoleArn"] for rule in self.forwarding if rule["Target"].get("RoleArn")}
        ):
            name = arn.rsplit("/", 1)[-1]
            try:
                role = iam.get_role(RoleName=name)["Role"]
            except iam.exceptions.NoSuchEntityException:
                problems.append(f"role {name} does not exist")
                continue
            trust = json.dumps(role.get("AssumeRolePolicyDocument", {}))
            if "events.amazonaws.com" not in trust:
                problems.append(f"role {name} does not trust events.amazonaws.com")
            if not _allows_put_events(iam, name, bus):
                problems.append(f"role {name} may not call events:PutEvents on {bus}")
        if problems:
            return Finding("forwarding role", "fail", "; ".join(problems), _deploy_fix(bus))
        return Finding("forwarding role", "ok", "trusted by EventBridge, may put events on the bus")

    def heartbeat_schedule(self) -> Finding:
        scheduler = self.workload("scheduler")
        for summary in _paginate(scheduler, "list_schedules", "Schedules"):
            schedule = scheduler.get_schedule(
                Name=summary["Name"], GroupName=summary.get("GroupName", "default")
            )
            source = schedule.get("Target", {}).get("EventBridgeParameters", {}).get("Source")
            if source == "sagewatch.heartbeat":
                if schedule.get("State") != "ENABLED":
                    return Finding(
                        "heartbeat",
                        "fail",
                        f"schedule {summary['Name']} is {schedule.get('State')}: the watchdog "
                        "will report this account silent",
                        "enable the schedule again, or redeploy the workload stack",
                    )
                return Finding(
                    "heartbeat",
                    "ok",
                    f"schedule {summary['Name']}: {schedule.get('ScheduleExpression')}",
                )
        return Finding(
            "heartbeat",
            "fail",
            "no heartbeat schedule: the watchdog cannot tell this account from a broken one",
            _deploy_fix(self.outputs["EventBusArn"]),
        )

    def metrics_link(self) -> Finding:
        sink = self.outputs.get("OamSinkArn")
        if not sink:
            return Finding(
                "metrics link", "skip", "the monitoring stack has no OAM sink (CreateOamSink)"
            )
        try:
            oam = self.workload("oam")
        except LookupError as error:
            return Finding("metrics link", "skip", str(error))
        for link in _paginate(oam, "list_links", "Items"):
            detail = oam.get_link(Identifier=link["Arn"])
            if detail.get("SinkArn") == sink:
                if "AWS::CloudWatch::Metric" not in detail.get("ResourceTypes", []):
                    return Finding(
                        "metrics link",
                        "fail",
                        "the link does not share metrics",
                        _deploy_fix(self.outputs["EventBusArn"]),
                    )
                return Finding("metrics link", "ok", f"linked to {sink}")
        return Finding(
            "metrics link",
            "fail",
            f"no OAM link to {sink}: utilization reads will be Forbidden (insufficient-data)",
            f"deploy the workload stack with OamSinkIdentifier={sink} (same Region as the sink)",
        )

    def probe(self) -> Finding:
        marker = f"sagewatch-doctor-{uuid.uuid4()}"
        self.workload("events").put_events(
            Entries=[
                {
                    "Source": PROBE_SOURCE,
                    "DetailType": PROBE_DETAIL_TYPE,
                    "Detail": json.dumps({"probe": marker}),
                    "EventBusName": "default",
                }
            ]
        )
        logs = self.monitoring("logs")
        group = self.outputs["ArchiveLogGroupName"]
        since = int((time.time() - 60) * 1000)  # only this probe's minutes, not the archive
        for _ in range(self.probe_attempts):
            self.wait()
            pages = _paginate(
                logs, "filter_log_events", "events",
                logGroupName=group, filterPattern=f'"{marker}"', startTime=since,
            )  # fmt: skip
            if next(iter(pages), None) is not None:
                return Finding("probe event", "ok", f"arrived in {group}")
        return Finding(
            "probe event",
            "fail",
            f"a probe put on the default bus did not reach {group}",
            "check the forwarding dead-letter queue (its messages carry the error) and the "
            "monitoring stack's TargetDeadLetterQueue (`sagewatch redrive --dry-run`)",
        )


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterable[dict[str, Any]]:
    """List calls with NextToken (nextToken for Logs), whether or not the client offers a
    paginator for them."""
    while True:
        page = getattr(client, operation)(**kwargs)
        yield from page.get(key, [])
        token_key = "nextToken" if "nextToken" in page else "NextToken"
        if not page.get(token_key):
            return
        kwargs[token_key] = page[token_key]


def _allows_put_events(iam: Any, role: str, bus: str) -> bool:
    documents = [
        iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role).get("PolicyNames", [])
    ]
    for document in documents:
        document = json.loads(document) if isinstance(document, str) else document
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            actions = statement.get("Action", [])
            resources = statement.get("Resource", [])
            actions = [actions] if isinstance(actions, str) else actions
            resources = [resources] if isinstance(resources, str) else resources
            if (
                statement.get("Effect") == "Allow"
                and {"events:PutEvents", "events:*"} & set(actions)
                and {bus, "*"} & set(resources)
            ):
                return True
    return False
