"""A workload account on the embedded AWS, beside the embedded monitoring stack.

It stands up what workload-template.yaml deploys for the hop to the monitoring account (the
forwarding rules on the default bus, their role and dead-letter queue, the heartbeat schedule,
the refresh rule running the inventory collector's inline code) in its own moto account, reached
through STS AssumeRole as one would with real credentials. moto would forward cross-account
events itself, but rewrites their account and id and ignores roles
and bus policies; here the hop is played as EventBridge plays it: the rule must be enabled, its
role must exist and allow PutEvents on the bus, and the bus policy must let the account in, or
the event goes to the rule's dead-letter queue with the reason.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from sagewatch import moto_patches, spoke
from sagewatch import template as cfn
from sagewatch.doctor import _allows_put_events
from sagewatch.embedded import REGION, EmbeddedAws, sdk_client
from sagewatch.onboard import allowed_by_bus_policy

Forwarder = moto_patches.TargetRoute  # rule, target, event
_FORWARDERS = moto_patches.TARGET_ROUTES  # target ARN (monitoring bus, collector) → its stand-in
_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SAGEWATCH_PROJECT",
    "TEAM_TAG_KEY",
)  # fmt: skip


class EmbeddedWorkload:
    def __init__(self, monitoring: EmbeddedAws, account: str, region: str = REGION) -> None:
        self.monitoring = monitoring
        self.account = account
        self.region = region
        self.bus_arn = monitoring.bus_arn
        credentials = monitoring.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/sagewatch-embedded", RoleSessionName="workload"
        )["Credentials"]
        self._session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        self._credentials = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        self._clients: dict[str, Any] = {}
        self.forwarded: list[dict[str, Any]] = []
        self.collected: list[dict[str, Any]] = []  # what each collector run returned
        self.dead_letters: list[dict[str, Any]] = []

    def client(self, service: str) -> Any:
        if service == "oam":
            raise LookupError("the embedded AWS has no OAM (moto does not implement it)")
        if service not in self._clients:  # one each, from the embedded AWS's SDK session
            self._clients[service] = sdk_client(service, self._credentials, self.region)
        return self._clients[service]

    # ---- deploy ----------------------------------------------------------------------------
    def deploy(self) -> EmbeddedWorkload:
        """The forwarding half of workload-template.yaml, with its own patterns and settings."""
        template = cfn.load(cfn.WORKLOAD_TEMPLATE)
        resources = template["Resources"]
        # The stack's defaults (the ML automation's name prefix among them) and pseudo parameters.
        values = {k: p["Default"] for k, p in template["Parameters"].items() if "Default" in p}
        values |= cfn.pseudo_parameters(self.account, self.region)
        sqs, iam, events = self.client("sqs"), self.client("iam"), self.client("events")
        queue = sqs.create_queue(QueueName="sagewatch-forwarding-dlq")["QueueUrl"]
        self.dead_letter_arn = sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        role = iam.create_role(
            RoleName="sagewatch-forwarding",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]
        for policy in resources["ForwardingRole"]["Properties"]["Policies"]:
            iam.put_role_policy(
                RoleName="sagewatch-forwarding",
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(
                    cfn.resolve(policy["PolicyDocument"], {"MonitoringBusArn": self.bus_arn})
                ),
            )
        for logical_id, resource in resources.items():
            props = resource["Properties"]
            if resource["Type"] != "AWS::Events::Rule" or props.get("EventBusName") != "default":
                continue
            if props["Targets"][0]["Arn"] != {"Ref": "MonitoringBusArn"}:
                continue  # the refresh rule: it runs the collector, not part of the hop
            events.put_rule(
                Name=logical_id,
                EventBusName="default",
                EventPattern=json.dumps(cfn.resolve(props["EventPattern"], values)),
                State=props.get("State", "ENABLED"),
            )
            events.put_targets(
                Rule=logical_id,
                EventBusName="default",
                Targets=[
                    {
                        "Id": "SagewatchMonitoringBus",
                        "Arn": self.bus_arn,
                        "RoleArn": role["Arn"],
                        "DeadLetterConfig": {"Arn": self.dead_letter_arn},
                    }
                ],
            )
        schedule = resources["HeartbeatSchedule"]["Properties"]
        self.client("scheduler").create_schedule(
            Name="sagewatch-heartbeat",
            ScheduleExpression="rate(15 minutes)",
            FlexibleTimeWindow={"Mode": "OFF"},
            State=schedule["State"],
            Target={
                "Arn": f"arn:aws:events:{self.region}:{self.account}:event-bus/default",
                "RoleArn": f"arn:aws:iam::{self.account}:role/sagewatch-heartbeat",
                "EventBridgeParameters": schedule["Target"]["EventBridgeParameters"],
                "Input": json.dumps(spoke.heartbeat_detail(project="embedded")),
            },
        )
        refresh = resources["InventoryRefreshRule"]["Properties"]
        self.collector_arn = (
            f"arn:aws:lambda:{self.region}:{self.account}:function:sagewatch-workload-inventory"
        )
        events.put_rule(
            Name="InventoryRefreshRule",
            EventBusName="default",
            EventPattern=json.dumps(
                cfn.resolve(refresh["EventPattern"], {"MonitoringBusArn": self.bus_arn})
            ),
        )
        events.put_targets(
            Rule="InventoryRefreshRule",
            EventBusName="default",
            Targets=[{"Id": "InventoryCollector", "Arn": self.collector_arn}],
        )
        moto_patches.route_event_targets()  # these targets are played here, not by moto
        _FORWARDERS[self.bus_arn] = self._hop
        _FORWARDERS[self.collector_arn] = self._collect
        _FORWARDERS[self.default_bus_arn] = self._receive
        return self

    @property
    def default_bus_arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account}:event-bus/default"

    def _receive(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
        """A monitoring-account rule delivers to this account's default bus. EventBridge keeps
        the envelope (the account is the sender's); moto would put a new event of ours."""
        from moto.events.models import events_backends

        bus: Any = events_backends[self.account][self.region].event_buses["default"]
        for receiving in list(bus.rules.values()):
            receiving.send_to_targets(dict(event), transform_input=False)

    def _collect(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
        """The inventory collector (the template's inline code) as Lambda runs it here: with
        this account's credentials, on the event the refresh rule delivers."""
        credentials = self._session.get_credentials()
        assert credentials is not None  # the session was made from assumed credentials
        saved = {k: os.environ.get(k) for k in _CREDENTIAL_VARIABLES}
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": credentials.access_key,
                "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                "AWS_SESSION_TOKEN": credentials.token or "",
                "SAGEWATCH_PROJECT": "embedded",
                "TEAM_TAG_KEY": "team",  # the template's default
            }
        )
        default_session, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, None  # new credentials
        try:
            self.collected.append(spoke.load_collector().handler(event, None))
        finally:
            boto3.DEFAULT_SESSION = default_session
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # ---- the hop ---------------------------------------------------------------------------
    def _hop(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
        reason = self._refusal(target)
        if reason:
            self.dead_letters.append({"rule": rule.name, "reason": reason, "event": event})
            return
        self.forwarded.append(event)
        self.monitoring.deliver(
            {k: v for k, v in event.items() if k != "ingestion-time"} | {"account": self.account}
        )

    def _refusal(self, target: dict[str, Any]) -> str | None:
        """Why EventBridge would not deliver, or None."""
        iam = self.client("iam")
        name = str(target.get("RoleArn", "")).rsplit("/", 1)[-1]
        if not name:
            return "no RoleArn on a cross-account target"
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            return f"role {name} does not exist"
        if not _allows_put_events(iam, name, self.bus_arn):
            return f"role {name} may not put events on {self.bus_arn}"
        policy = (
            self.monitoring.client("events")
            .describe_event_bus(Name=self.monitoring.bus_name)
            .get("Policy")
        )
        if self.account not in allowed_by_bus_policy(policy):
            return f"the monitoring bus policy does not allow account {self.account}"
        return None

    def close(self) -> None:
        _FORWARDERS.pop(self.bus_arn, None)
        _FORWARDERS.pop(self.collector_arn, None)
        _FORWARDERS.pop(self.default_bus_arn, None)
