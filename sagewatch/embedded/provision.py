"""The monitoring stack's resources, created in moto from template.yaml: the bus and its policy,
the rules with the template's own patterns and targets, the queues with their redrive policies,
the topics, the tables, and each function's environment as the template resolves it.

Where a rule targets a function, the target is the function's stand-in queue (`invocations`):
the runtime invokes the function from it. Each topic has a capture queue subscribed, which
receives what a subscriber would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3

from sagewatch import template as cfn

ACCOUNT = "123456789012"  # moto's default account plays the monitoring account
REGION = "us-east-1"
ARCHIVE_LOG_GROUP = "/aws/events/sagewatch-archive"
TABLE = "sagewatch-idempotency"
FLEET_TABLE = "sagewatch-fleet"
STACK = DASHBOARD = "sagewatch"  # the embedded stack's name (and its dashboard's)
MOTO_CREDENTIALS = dict.fromkeys(
    ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"), "testing"
)  # moto's default account
MOTO_ENVIRONMENT = {name.upper(): value for name, value in MOTO_CREDENTIALS.items()} | {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}  # what the functions' own clients find (moto's default account)
CHANNELS = ("email", "json", "chat")  # the alert renderings, one SNS topic each

FUNCTIONS = {
    "enricher": "EnricherFunction",
    "alerter": "AlerterFunction",
    "summarizer": "SummarizerFunction",
    "fleet": "FleetFunction",
}
ASYNC_FUNCTIONS = ("alerter", "fleet")  # invoked by rules: Lambda's async retries apply
ARCHIVE_TARGET = "ArchiveLogGroup"  # the rule target that archives (every other is a queue)


@cache
def _sdk_session() -> boto3.session.Session:
    """One SDK session for every embedded client: a new session reads the SDK's data files (the
    service models, endpoints) again, which was most of what provisioning a stack cost. Made on
    first use, after moto's import has registered its stubber with the sessions made from then."""
    import moto.core.models  # noqa: F401

    return boto3.session.Session(region_name=REGION)


def sdk_client(service: str, credentials: Mapping[str, str], region: str = REGION) -> Any:
    """A client of the account `credentials` belong to (on moto: the access key's account)."""
    session: Any = _sdk_session()
    return session.client(service, region_name=region, **credentials)


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def invocations_queue(function: str) -> str:
    """The queue standing in for a function as a rule target (or an async invoke)."""
    return f"{function}-invocations"


def capture_queue(channel: str) -> str:
    """The queue subscribed to a rendering's topic."""
    return f"{channel}-capture"


def queue_url(name: str) -> str:
    """A queue's URL as moto makes it (the in-memory stack names its queues the same)."""
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def topic_arn(channel: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:sagewatch-{channel}"


def event_bus_arn(name: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"


# The queue each rule target delivers to (functions: their stand-in queue); the archive aside.
TARGET_QUEUES = {
    "EnrichmentQueue": "enrichment",
    "RunningJobsQueue": "running-jobs",
    **{FUNCTIONS[f]: invocations_queue(f) for f in ASYNC_FUNCTIONS},
}
REDRIVEN = (  # queue, its logical id, its dead-letter queue
    ("enrichment", "EnrichmentQueue", "enrichment-dlq"),
    ("summary", "SummaryQueue", "summary-dlq"),
    ("running-jobs", "RunningJobsQueue", "running-jobs-dlq"),
)
REDRIVEN_QUEUES = tuple(queue for queue, _, _ in REDRIVEN)


@dataclass(frozen=True)
class Limits:
    """The template's settings the runtime plays by."""

    max_receives: dict[str, int]  # per redriven queue: its maxReceiveCount
    async_attempts: int  # Lambda's async invocation: the first attempt and the retries


def limits() -> Limits:
    resources = cfn.load()["Resources"]
    max_receives = {
        queue: int(
            cfn.resolve(resources[logical_id]["Properties"]["RedrivePolicy"], {})["maxReceiveCount"]
        )
        for queue, logical_id, _ in REDRIVEN
    }
    invoke_config = resources["AlerterFunction"]["Properties"]["EventInvokeConfig"]
    return Limits(max_receives, 1 + int(invoke_config["MaximumRetryAttempts"]))


EMBEDDED_SINK = f"arn:aws:oam:{REGION}:{ACCOUNT}:sink/embedded"


def function_environments(
    parameters: Mapping[str, str],
    bus_name: str,
    queues: Mapping[str, str],
    topics: Mapping[str, str],
) -> dict[str, dict[str, str]]:
    """Each function's environment as the template resolves it for this stack's resources."""
    refs = dict(parameters) | {
        "EventBus": bus_name,
        **{f"{channel.capitalize()}Topic": arn for channel, arn in topics.items()},
        "Dashboard": DASHBOARD,
        "IdempotencyTable": TABLE,
        "FleetTable": FLEET_TABLE,
        "RefreshRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/sagewatch-refresh",
        "AWS::StackName": STACK,
        "AWS::AccountId": ACCOUNT,
        "EnrichmentDeadLetterQueue": queues["enrichment-dlq"],
        "SummaryQueue": queues["summary"],
        "SummaryDeadLetterQueue": queues["summary-dlq"],
        "RunningJobsDeadLetterQueue": queues["running-jobs-dlq"],
    }
    env = {
        name: cfn.function_environment(logical_id, refs) for name, logical_id in FUNCTIONS.items()
    }
    # moto has no OAM, and its CloudWatch reads every account's metrics as this one's: as if
    # every workload account were linked to a sink, which the fleet function's checks need.
    env["fleet"]["OAM_SINK_ARN"] = env["fleet"]["OAM_SINK_ARN"] or EMBEDDED_SINK
    return env


@dataclass(frozen=True)
class Resources:
    """What provisioning made, and the template's settings the runtime plays by."""

    bus_name: str
    bus_arn: str
    queues: dict[str, str]  # name → URL
    topics: dict[str, str]  # channel → ARN
    function_env: dict[str, dict[str, str]]  # function → its environment variables
    enrichment_max_receives: int  # the enrichment queue's maxReceiveCount
    async_attempts: int  # Lambda's async invocation: the first attempt and the retries

    def outputs(self) -> dict[str, str]:
        """The monitoring stack's outputs, for this embedded stack (no OAM sink: moto has none)."""
        return {
            "EventBusArn": self.bus_arn,
            "EventBusName": self.bus_name,
            "WorkloadParameterOverrides": f"MonitoringBusArn={self.bus_arn}",
            "TeamTagKey": self.function_env["alerter"]["TEAM_TAG_KEY"],
            **{f"{c.capitalize()}TopicArn": arn for c, arn in self.topics.items()},
            "ArchiveLogGroupName": ARCHIVE_LOG_GROUP,
            "FleetTableName": FLEET_TABLE,
        }


def provision(client: Callable[[str], Any], parameters: Mapping[str, str]) -> Resources:
    """The stack's resources in moto, through the monitoring account's `client(service)`."""
    events, sqs, sns, logs = (client(s) for s in ("events", "sqs", "sns", "logs"))
    bus_name = parameters["EventBusName"]
    bus_arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
    allowed = [a for a in parameters["WorkloadAccountIds"].split(",") if a.strip()]
    if allowed:  # BusPolicyAccounts
        statement = {
            "Sid": "sagewatch-workload-accounts",
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a.strip()}:root" for a in allowed]},
            "Action": "events:PutEvents",
            "Resource": bus_arn,
        }
        events.put_permission(
            EventBusName=bus_name,
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
    logs.create_log_group(logGroupName=ARCHIVE_LOG_GROUP)

    resources = cfn.load()["Resources"]
    queues = {
        name: sqs.create_queue(QueueName=name)["QueueUrl"]
        for name in (
            *(dlq for _, _, dlq in REDRIVEN), "target-dlq",
            *map(invocations_queue, ASYNC_FUNCTIONS),
            *map(capture_queue, CHANNELS),
        )
    }  # fmt: skip
    # DelaySeconds left at 0: the embedded run does not wait (summaries run when all is idle).
    settings = limits()
    for queue, _, dlq in REDRIVEN:
        policy = {
            "deadLetterTargetArn": queue_arn(dlq),
            "maxReceiveCount": str(settings.max_receives[queue]),
        }
        queues[queue] = sqs.create_queue(
            QueueName=queue, Attributes={"RedrivePolicy": json.dumps(policy)}
        )["QueueUrl"]

    # One topic per rendering; a queue subscribed to each receives what a subscriber would.
    topics = {
        channel: sns.create_topic(Name=f"sagewatch-{channel}")["TopicArn"] for channel in CHANNELS
    }
    for channel, topic in topics.items():
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(capture_queue(channel)))
    for name, logical_id in ((TABLE, "IdempotencyTable"), (FLEET_TABLE, "FleetTable")):
        table = resources[logical_id]["Properties"]
        client("dynamodb").create_table(
            TableName=name,
            KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            BillingMode=table["BillingMode"],
        )

    arns = {
        ARCHIVE_TARGET: f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{ARCHIVE_LOG_GROUP}",
        **{target: queue_arn(queue) for target, queue in TARGET_QUEUES.items()},
    }
    for rule in cfn.bus_rules(ACCOUNT):
        events.put_rule(
            Name=rule.logical_id,
            EventBusName=bus_name,
            EventPattern=json.dumps(rule.pattern),
        )
        events.put_targets(
            Rule=rule.logical_id,
            EventBusName=bus_name,
            Targets=[{"Id": t, "Arn": arns[t]} for t in rule.targets],
        )
    return Resources(
        bus_name=bus_name,
        bus_arn=bus_arn,
        queues=queues,
        topics=topics,
        function_env=function_environments(parameters, bus_name, queues, topics),
        enrichment_max_receives=settings.max_receives["enrichment"],
        async_attempts=settings.async_attempts,
    )
