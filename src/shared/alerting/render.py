"""An alert in the three forms its readers need: email (subject and plain text), chat (the Amazon
Q Developer custom notification schema, for Slack and Teams) and a versioned JSON document for
machines, plus the SNS message attributes subscription filter policies match on.

Every rendering is built from the same `Alert` and passes its free text through the sanitizer of
its medium (`shared.egress`): nothing reaches a reader that the alert model does not carry.
Each rendering also ends with a size guard: whatever its fields add up to, the message fits SNS.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from shared.alerting.alerts import Alert, AlertKind, aws_side_step
from shared.alerting.formats import chat_plain, for_email, for_markdown, no_mentions
from shared.contracts.alert_document import AlertDocument
from shared.domain.patterns import ROLLING_BACK
from shared.domain.portal import Portal
from shared.domain.vocabulary import ENDPOINT, ResourceKind

ALERT_SCHEMA = "sagewatch.alert/v1"
SUBJECT_LIMIT = 99  # SNS: "less than 100 characters"
CHAT_TITLE_LIMIT = 250
CHAT_DESCRIPTION_LIMIT = 3000  # Slack shows at most 3,000 characters of a text block
SNS_LIMIT = 262_144  # bytes: one message and its message attributes together
ATTRIBUTE_LIMIT = 64  # characters of one attribute value: six of them take well under 2 KB
MESSAGE_LIMIT = SNS_LIMIT - 8_192  # bytes of one encoded message: room for attributes, subject


@dataclass(frozen=True, slots=True)
class Rendered:
    """What the alerter publishes for one alert."""

    subject: str
    text: str  # email, SMS fallback and the `default` body
    chat: dict[str, Any]  # Amazon Q Developer custom notification
    document: dict[str, Any]  # sagewatch.alert/v1 for SQS, Lambda, HTTP(S) and email-json
    attributes: dict[str, str]  # SNS message attributes (filter policies)
    chat_message: str  # `chat` and `document` as published (`encoded`)
    document_message: str


@dataclass(frozen=True, slots=True)
class _Parts:
    """What several renderings of one alert show: made once per alert."""

    links: dict[str, str]
    subject: str
    attributes: dict[str, str]
    thread: str
    labels: list[tuple[str, str]]  # who owns it, what the account is for
    facts: list[tuple[str, str]]
    step: str  # the next step
    signed_in: bool = False  # the links sign in to their account (the access portal's)

    def labelled(self, alert: Alert, labels: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """Each link's label; without the portal, the account it must be opened in beside
        every link into the workload account (the dashboard is this account's)."""
        found = []
        for key, url in self.links.items():
            label = labels[key] if labels else key.capitalize()
            if not self.signed_in and key != "dashboard":
                label += f" (account {alert.account})"
            found.append((label, url))
        return found


def _parts(alert: Alert, dashboard_url: str | None, portal: Portal | None = None) -> _Parts:
    return _Parts(
        links(alert, dashboard_url, portal),
        subject(alert),
        attributes(alert),
        thread_id(alert),
        _labels(alert),
        _facts(alert),
        next_step(alert),
        signed_in=portal is not None,
    )


def render(
    alert: Alert, dashboard_url: str | None = None, portal: Portal | None = None
) -> Rendered:
    parts = _parts(alert, dashboard_url, portal)
    text = text_body(alert, dashboard_url, parts)
    chat, chat_message = _chat_fitted(alert, parts)
    machine, document_message = _fitted(_document(alert, parts, text))
    return Rendered(
        subject=parts.subject,
        text=text,
        chat=chat,
        document=machine,
        attributes=parts.attributes,
        chat_message=chat_message,
        document_message=document_message,
    )


# --- links ----------------------------------------------------------------------------------

_CONSOLE_PATHS = {
    ResourceKind.TRAINING: "jobs",
    ResourceKind.PROCESSING: "processing-jobs",
    ResourceKind.TRANSFORM: "transform-jobs",
    ResourceKind.TUNING: "hyper-tuning-jobs",
    ResourceKind.ENDPOINT: "endpoints",
    ResourceKind.HYPERPOD_CLUSTER: "cluster-management",  # by name, as AWS's HyperPod CLI links
    ResourceKind.NOTEBOOK: "notebook-instances",
}
# Ground Truth has a console of its own (as AWS's SageMaker components for Kubeflow link it).
_GROUND_TRUTH = "sagemaker/groundtruth?region={region}#/labeling-jobs/details/{name}"
_LOG_GROUPS = {
    ResourceKind.TRAINING: "/aws/sagemaker/TrainingJobs",
    ResourceKind.PROCESSING: "/aws/sagemaker/ProcessingJobs",
    ResourceKind.TRANSFORM: "/aws/sagemaker/TransformJobs",
    ResourceKind.TUNING: "/aws/sagemaker/TrainingJobs",
    ResourceKind.NOTEBOOK: "/aws/sagemaker/NotebookInstances",  # <name>/jupyter.log, ...
    ResourceKind.LABELING_JOB: "/aws/sagemaker/LabelingJobs",
}


def console(region: str) -> str:
    if region.startswith("cn-"):
        return f"https://{region}.console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return f"https://{region}.console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def dashboard_link(region: str, name: str) -> str:
    return f"{console(region)}/cloudwatch/home?region={region}#dashboards/dashboard/{quote(name)}"


def _logs_url(base: str, region: str, group: str, stream_prefix: str | None = None) -> str:
    url = f"{base}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{_twice(group)}"
    return url + f"$3FlogStreamNameFilter$3D{_twice(stream_prefix)}" if stream_prefix else url


@lru_cache(maxsize=64)  # mostly the four log groups
def _twice(text: str) -> str:
    """The console encodes the fragment's path twice ('/' → %2F → $252F), its query once ($3F)."""
    return quote(quote(text, safe=""), safe="").replace("%", "$")


def links(
    alert: Alert, dashboard_url: str | None = None, portal: Portal | None = None
) -> dict[str, str]:
    """The job in the SageMaker console, its logs (in the workload account) and the dashboard;
    through the access portal's shortcut links when there is one (each opens its own
    account)."""
    base, region, name = console(alert.region), alert.region, alert.name
    result: dict[str, str] = {}
    path = _CONSOLE_PATHS.get(alert.resource)
    if alert.summary:
        if path:
            result["console"] = f"{base}/sagemaker/home?region={region}#/{path}"
        if group := _LOG_GROUPS.get(alert.resource):
            result["logs"] = _logs_url(base, region, group)
    else:
        if path:
            result["console"] = f"{base}/sagemaker/home?region={region}#/{path}/{quote(name)}"
        elif alert.resource is ResourceKind.PIPELINE_EXECUTION:
            result["console"] = f"{base}/sagemaker/home?region={region}#/pipelines"
        elif alert.run and (page := _AUTOMATION_PAGES.get(alert.resource)):
            result["console"] = f"{base}/" + page(alert)
        elif alert.resource is ResourceKind.LABELING_JOB:
            result["console"] = f"{base}/" + _GROUND_TRUTH.format(region=region, name=quote(name))
        elif alert.resource is ResourceKind.API_CALL:  # the refusal, and where quotas are raised
            result["events"] = (
                f"{base}/cloudtrailv2/home?region={region}#/events?EventName={quote(name)}"
            )
            if alert.status in _QUOTA_CODES:
                result["quotas"] = f"{base}/servicequotas/home/services/sagemaker/quotas"
        if alert.resource is ResourceKind.ENDPOINT:
            result["logs"] = _logs_url(base, region, f"/aws/sagemaker/Endpoints/{name}")
            if alert.kind in (AlertKind.UNHEALTHY, AlertKind.IDLE):  # its traffic, errors, latency
                result["metrics"] = (
                    f"{base}/cloudwatch/home?region={region}#metricsV2:graph=~();"
                    f"search={quote(name)};namespace=AWS/SageMaker;"
                    "dimensions=EndpointName,VariantName"
                )
        elif alert.resource is ResourceKind.CODEBUILD_BUILD and alert.run:
            stream = alert.run.rsplit(":", 1)[-1]  # a build logs to the stream of its id
            result["logs"] = _logs_url(base, region, f"/aws/codebuild/{name}", stream)
        elif group := _LOG_GROUPS.get(alert.resource):
            result["logs"] = _logs_url(base, region, group, name)
    if portal:
        result = {label: portal.link(url, alert.account) for label, url in result.items()}
    if dashboard_url:
        if portal and portal.monitoring_account:
            dashboard_url = portal.link(dashboard_url, portal.monitoring_account)
        result["dashboard"] = dashboard_url
    return result


def _partition(region: str) -> str:
    return (
        "aws-cn"
        if region.startswith("cn-")
        else ("aws-us-gov" if region.startswith("us-gov-") else "aws")
    )


# An automation run's console page (the consoles' own routes; AWS documents none of them).
_AUTOMATION_PAGES: dict[ResourceKind, Callable[[Alert], str]] = {
    ResourceKind.STATE_MACHINE_EXECUTION: lambda a: (
        f"states/home?region={a.region}#/v2/executions/details/"
        + quote(
            f"arn:{_partition(a.region)}:states:{a.region}:{a.account}:execution:{a.name}:{a.run}",
            safe="",
        )
    ),
    ResourceKind.CODEPIPELINE_EXECUTION: lambda a: (
        f"codesuite/codepipeline/pipelines/{_segment(a.name)}/executions/"
        f"{_segment(a.run or '')}/timeline?region={a.region}"
    ),
    ResourceKind.CODEBUILD_BUILD: lambda a: (
        f"codesuite/codebuild/{a.account}/projects/{_segment(a.name)}/build/"
        f"{_segment(a.run or '')}/?region={a.region}"
    ),
}


def _segment(text: str) -> str:
    """One path segment of a name from an event: `/` encoded, and `.` or `..` too (a browser
    would resolve them to another page)."""
    quoted = quote(text, safe="")
    return quoted.replace(".", "%2E") if quoted.strip(".") == "" else quoted


# --- shared wording -------------------------------------------------------------------------

_TAGS = {
    AlertKind.FAILURE: "FAILED",
    AlertKind.VIOLATIONS: "VIOLATIONS",
    AlertKind.UNDER_USED: "UNDER-USED",
    AlertKind.IDLE: "IDLE",
    AlertKind.OPS: "OPS",
    AlertKind.UNHEALTHY: "UNHEALTHY",
}
_NEXT_STEPS = {
    AlertKind.UNDER_USED: "Consider a smaller or CPU instance type, or larger batches.",
    AlertKind.IDLE: "The hardware did almost nothing: check the job's input and its instance type.",
    AlertKind.VIOLATIONS: (
        "Read the execution's constraint_violations.json and compare the endpoint's recent "
        "traffic with the baseline; retrain or update the baseline."
    ),
}
_OPS_NEXT_STEPS = {
    "silent": (
        "Check the account's sagewatch stack (forwarding rules, heartbeat schedule, forwarding "
        "dead-letter queue) and the bus policy here, or run `sagewatch doctor`."
    ),
    "recovered": "Events flow again; redrive what its forwarding dead-letter queue held back.",
    "dead-letters": (
        "Read the reason in the messages' attributes (ERROR_CODE, ERROR_MESSAGE) in that account's "
        "ForwardingDeadLetterQueue, fix it (often the bus policy here: run `sagewatch doctor`), "
        "then put the events on its default bus again."
    ),
}
_IDLE_ENDPOINT_STEP = (
    "If nobody needs it, delete the endpoint, or move it to serverless or asynchronous inference."
)
_ROLLBACK_STEP = (
    "Find what stopped the deployment (its guardrail alarms, the new variant's logs and health "
    "check) before updating the endpoint again."
)
_FAILURE_NEXT_STEPS = {
    ResourceKind.ENDPOINT: "Check the endpoint's logs and health check, then update the endpoint.",
    ResourceKind.PIPELINE_EXECUTION: "Open the failed step's logs, fix, and retry the execution.",
    ResourceKind.NOTEBOOK: "Read the reason and the notebook's logs (its lifecycle configuration "
    "script, subnet and role), fix, then start the notebook instance again.",
    ResourceKind.FEATURE_GROUP: "Check the feature group's role and offline store (the S3 bucket, "
    "Glue and Lake Formation permissions), then create it again.",
    ResourceKind.IMAGE: "Check the image's role and its ECR repository, then create or update "
    "the image again.",
    ResourceKind.IMAGE_VERSION: "Check that the container image exists in ECR and the image's "
    "role may pull it, then create the version again.",
    ResourceKind.LABELING_JOB: "The event carries no reason: open the labeling job (its input "
    "manifest, role and workteam are the usual causes) and its logs.",
    ResourceKind.HUMAN_LOOP: "Check the loop's input against its flow definition's task "
    "template, then start the human loop again.",
    ResourceKind.MONITORING_SCHEDULE: "Its endpoint is no longer monitored, so no violations "
    "alert will come: check the schedule's role, baseline and the endpoint's data capture, then "
    "recreate the schedule.",
    ResourceKind.TRACKING_SERVER: "Check the tracking server's role and artifact store (S3), "
    "then retry the operation from SageMaker Studio.",
    ResourceKind.STATE_MACHINE_EXECUTION: "Open the execution's event history to find the state "
    "that failed, fix it, then redrive the execution or start it again.",
    ResourceKind.CODEPIPELINE_EXECUTION: "Open the failed action's details (its build or "
    "deployment logs), fix, then retry the failed stage.",
    ResourceKind.CODEBUILD_BUILD: "Read the failed phase in the build's logs, fix, then start "
    "the build again.",
}
# A refused call, by its error code (alert.status); the rest: read the refusal in CloudTrail.
_REFUSED_CALL_STEPS = {
    "ResourceLimitExceeded": "Request a higher SageMaker quota (Service Quotas) or use another "
    "instance type, then start it again.",
    "ServiceQuotaExceededException": "Request a higher SageMaker quota (Service Quotas), then "
    "start it again.",
    "AccessDenied": "Grant the caller the permission named above, then start it again.",
    "AccessDeniedException": "Grant the caller the permission named above, then start it again.",
}
_QUOTA_CODES = frozenset({"ResourceLimitExceeded", "ServiceQuotaExceededException"})


def next_step(alert: Alert) -> str:
    if alert.kind is AlertKind.OPS:
        return _OPS_NEXT_STEPS[alert.status]
    if alert.resource is ResourceKind.API_CALL:
        return _REFUSED_CALL_STEPS.get(
            alert.status,
            "Read the refusal in the CloudTrail event below, fix the request, then start it again.",
        )
    if alert.step:  # its builder knew best
        return alert.step
    if alert.kind is AlertKind.IDLE and alert.resource is ResourceKind.ENDPOINT:
        return _IDLE_ENDPOINT_STEP
    if alert.resource is ResourceKind.ENDPOINT and ENDPOINT.normalize(alert.status) == ROLLING_BACK:
        return _ROLLBACK_STEP
    if alert.kind is AlertKind.FAILURE:
        return aws_side_step(alert.reason) or _FAILURE_NEXT_STEPS.get(
            alert.resource, "Open the logs below, fix the cause, and re-run."
        )
    return _NEXT_STEPS[alert.kind]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _single_line(text: str) -> str:
    printable = text if text.isprintable() else "".join(ch for ch in text if ch.isprintable())
    return " ".join(printable.split())  # str.split's whitespace is re's \s


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if round(seconds) < 60:  # a short run: "42s", not "0m"
        return f"{round(seconds)}s"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _account(alert: Alert) -> str:
    return f"{alert.account} ({alert.account_name})" if alert.account_name else alert.account


def _labels(alert: Alert) -> list[tuple[str, str]]:
    """Who owns it and what the account is for, where known."""
    found = [("Team", _team(alert)), ("Project", alert.project), ("Environment", alert.environment)]
    return [(label, value) for label, value in found if value]


def _team(alert: Alert) -> str | None:
    return (alert.team or "")[:ATTRIBUTE_LIMIT] or None


def _facts(alert: Alert) -> list[tuple[str, str]]:
    """The labelled facts every rendering shows, in reading order (values are plain text)."""
    facts = [("Status", alert.status)]
    facts += [(label[:1].upper() + label[1:], value) for label, value in alert.context]
    if alert.instance_type:
        facts.append(("Hardware", f"{alert.instance_type} x {alert.instance_count}"))
    ran = _duration(alert.duration_seconds)
    ended = alert.ended_at.strftime("%Y-%m-%d %H:%M UTC") if alert.ended_at else None
    if ran:
        facts.append(("Ran", f"{ran}, ended {ended}" if ended else ran))
    elif ended:  # no run time: an endpoint's state change, or a job that never started
        ran_at_all = alert.resource.is_job or alert.resource is ResourceKind.PIPELINE_EXECUTION
        facts.append(("Ended" if ran_at_all else "Time", ended))
    measured = [(k, v) for k, v in alert.utilization if v is not None]
    if measured:
        facts.append(
            (
                "Utilization",
                ", ".join(
                    f"{k.removesuffix('_percent').replace('_', ' ')} {v:.1f}%" for k, v in measured
                ),
            )
        )
    if alert.waste:
        facts.append(("Wasted", waste_sentence(alert)))
    return facts


def waste_sentence(alert: Alert) -> str:
    waste = alert.waste
    if waste is None:
        return ""
    text = f"{waste.wasted_instance_hours:g} of {waste.instance_hours:g} instance-hours"
    if waste.estimated_usd is not None:
        text += (
            f", about ${waste.estimated_usd:,.2f} (estimate: on-demand list prices for "
            f"{alert.region} as of {waste.price_as_of})"
        )
    return text


# --- email ----------------------------------------------------------------------------------


def subject(alert: Alert) -> str:
    """ASCII, one line, under 100 characters; the name is shortened, never the facts around it."""
    what, name = alert.subject_of or (alert.resource.label, alert.name)
    update = " update:" if alert.follows else ""
    prefix = f"[sagewatch] {_TAGS[alert.kind]}{update} {what} "
    suffix = f" ({alert.account} {alert.region})"
    name = _ascii(name)
    room = SUBJECT_LIMIT - len(prefix) - len(suffix)
    if len(name) > room:
        name = name[: max(room - 3, 0)] + "..."
    return _single_line(prefix + name + suffix)[:SUBJECT_LIMIT]


def text_body(alert: Alert, dashboard_url: str | None = None, parts: _Parts | None = None) -> str:
    """Plain text an on-call engineer reads in ten seconds: what, where, why, what next."""
    lines = [alert.headline[:1].upper() + alert.headline[1:], ""]
    parts = parts or _parts(alert, dashboard_url)
    where = [f"Account {_account(alert)}", f"Region {alert.region}"]
    where += [f"{label} {value}" for label, value in parts.labels]
    lines.append(" | ".join(where))
    lines += [f"{label}: {value}" for label, value in parts.facts]
    if alert.reason:
        lines += ["", "Why:", *("  " + line for line in for_email(alert.reason).splitlines())]
    lines += ["", f"Next: {parts.step}"]
    lines += [f"{label}: {url}" for label, url in parts.labelled(alert)]
    return _fit_text("\n".join(lines))


# --- chat (Amazon Q Developer in chat applications) -----------------------------------------

_EMOJI = {
    AlertKind.FAILURE: ":rotating_light:",
    AlertKind.VIOLATIONS: ":warning:",
    AlertKind.UNDER_USED: ":hourglass_flowing_sand:",
    AlertKind.IDLE: ":zzz:",
    AlertKind.OPS: ":satellite_antenna:",
    AlertKind.UNHEALTHY: ":stethoscope:",
}
# The console link of an automation run opens its own service's console.
_CONSOLES = {
    ResourceKind.STATE_MACHINE_EXECUTION: {"console": "Step Functions console"},
    ResourceKind.CODEPIPELINE_EXECUTION: {"console": "CodePipeline console"},
    ResourceKind.CODEBUILD_BUILD: {"console": "CodeBuild console"},
}
_LINK_LABELS = {
    "console": "SageMaker console", "logs": "CloudWatch logs", "dashboard": "Dashboard",
    "events": "CloudTrail events", "quotas": "Service Quotas", "metrics": "CloudWatch metrics",
}  # fmt: skip


def thread_id(alert: Alert) -> str:
    """One chat thread per job, endpoint, pipeline execution or storm window: updates group."""
    if alert.thread:
        about = alert.thread
    elif alert.summary or alert.run or alert.resource is ResourceKind.PIPELINE_EXECUTION:
        about = alert.incident  # one thread per execution or build
    else:
        about = "|".join((alert.account, alert.region, alert.resource.value, alert.name))
    # `thread` is grouping, never shown: kept as given, lone surrogates and all.
    return "sagewatch-" + hashlib.sha256(about.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def chat_notification(alert: Alert, dashboard_url: str | None = None) -> dict[str, Any]:
    """The custom notification schema (version 1.0, source custom); client-markdown text with
    every untrusted value escaped so it cannot mention, link or format."""
    return _chat_fitted(alert, _parts(alert, dashboard_url))[0]


def _chat_fitted(alert: Alert, parts: _Parts) -> tuple[dict[str, Any], str]:
    """The notification and its encoding, mention-free. JSON writes `<`, `>` and `@` as they
    are: where its encoding has none, no string of it does (the common case, no second pass)."""
    notification, message = _fitted(_chat(alert, parts))
    if "<" in message or ">" in message or "@" in message:
        notification, message = _fitted(_no_mentions_anywhere(notification))
    return notification, message


def _chat(alert: Alert, parts: _Parts) -> dict[str, Any]:
    where = f"*Account* {chat_plain(_account(alert))} · *Region* {alert.region}"
    where += "".join(f" · *{label}* {chat_plain(value)}" for label, value in parts.labels)
    lines = [where, *(f"*{label}*: {chat_plain(value)}" for label, value in parts.facts)]
    description = "\n".join(lines)[: CHAT_DESCRIPTION_LIMIT - 100]
    reason = alert.reason or ""
    while reason:  # the reason, shortened until its (escaped) block fits
        why = "\n*Why*:\n" + for_markdown(reason)
        overflow = len(description) + len(why) - CHAT_DESCRIPTION_LIMIT
        if overflow <= 0:
            description += why
            break
        reason = reason[: len(reason) - overflow - 1].rstrip() + "…" if len(reason) > 20 else ""
    steps = [parts.step]
    labels = _LINK_LABELS | _CONSOLES.get(alert.resource, {})
    steps += [f"[{label}]({url})" for label, url in parts.labelled(alert, labels)]
    headline = chat_plain(alert.headline)
    title = f"{_EMOJI[alert.kind]} {headline[:1].upper()}{headline[1:]}"
    return {
        "version": "1.0",
        "source": "custom",
        "id": hashlib.sha256(alert.incident.encode()).hexdigest()[:32],
        "content": {
            "textType": "client-markdown",
            "title": title[:CHAT_TITLE_LIMIT],
            "description": description,
            "nextSteps": steps,
            "keywords": [alert.kind.value, alert.resource.value, alert.account, alert.region],
        },
        "metadata": {
            "threadId": parts.thread,
            "summary": parts.subject,
            "eventType": f"sagewatch.{alert.kind.value}",
            "additionalContext": parts.attributes | {"incident": alert.follows or alert.incident},
        },
    }


def _no_mentions_anywhere(value: Any) -> Any:
    """Every string of the notification, metadata included: chat clients show those too."""
    if isinstance(value, str):
        return no_mentions(value)
    if isinstance(value, dict):
        return {key: _no_mentions_anywhere(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_no_mentions_anywhere(item) for item in value]
    return value


# --- machines -------------------------------------------------------------------------------


def attributes(alert: Alert) -> dict[str, str]:
    """SNS message attributes for subscription filter policies (low cardinality). An alert
    without a team tag has no `team` attribute (match it with {"exists": false})."""
    values = {
        "severity": alert.severity.value,
        "kind": alert.kind.value,
        "account": alert.account,
        "region": alert.region,
        "job_type": alert.resource.value,
        "team": _team(alert) or "",
        "project": alert.project or "",
        "environment": alert.environment or "",
        "account_name": alert.account_name or "",
    }
    return {name: value[:ATTRIBUTE_LIMIT] for name, value in values.items() if value}


def document(alert: Alert, dashboard_url: str | None) -> dict[str, Any]:
    """The versioned machine-readable document (docs/alerts.md, docs/alert.schema.json)."""
    parts = _parts(alert, dashboard_url)
    return _fit(_document(alert, parts, text_body(alert, dashboard_url, parts)))


def _document(alert: Alert, parts: _Parts, text: str) -> dict[str, Any]:
    document: AlertDocument = {
        "schema": ALERT_SCHEMA,
        "incident": alert.follows or alert.incident,
        "update": alert.follows is not None,
        "thread_id": parts.thread,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "account": alert.account,
        "region": alert.region,
        "resource_type": alert.resource.value,
        "name": alert.name,
        "status": alert.status,
        "headline": alert.headline,
        "reason": alert.reason,
        "team": alert.team,
        "project": alert.project,
        "environment": alert.environment,
        "account_name": alert.account_name,
        "instance_type": alert.instance_type,
        "instance_count": alert.instance_count,
        "duration_seconds": alert.duration_seconds,
        "ended_at": alert.ended_at.isoformat() if alert.ended_at else None,
        "utilization": dict(alert.utilization),
        "waste": alert.waste.as_dict() if alert.waste else None,
        "context": dict(alert.context),
        "links": parts.links,
        "next_step": parts.step,
        "subject": parts.subject,
        "text": text,
        "attributes": parts.attributes,
    }
    return dict(document)


# --- size: the last guard of every rendering ------------------------------------------------
# Every field is bounded where it is made; this guarantees the sum, whatever it comes to.


def encoded(payload: dict[str, Any]) -> str:
    """A JSON rendering as the delivery publishes it (ASCII: its length is its size)."""
    return _ENCODE(payload)


_ENCODE = json.JSONEncoder(separators=(",", ":"), default=str).encode  # one, not one a call


def _fit_text(text: str) -> str:
    data = text.encode()
    if len(data) <= MESSAGE_LIMIT:
        return text
    note = "\n… (shortened to fit SNS's message size limit)"
    return data[: MESSAGE_LIMIT - len(note.encode())].decode(errors="ignore") + note


def _fit(payload: dict[str, Any]) -> dict[str, Any]:
    return _fitted(payload)[0]


def _fitted(payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Halves the longest string until the encoded message fits under MESSAGE_LIMIT; the
    payload and its encoding."""
    while len(message := encoded(payload)) > MESSAGE_LIMIT:
        parent, key, value = max(_strings(payload), key=lambda found: len(found[2]))
        if len(value) < 2:
            raise ValueError("an alert rendering has too many fields to fit SNS")
        parent[key] = value[: len(value) // 2] + "…"
    return payload, message


def _strings(value: Any) -> list[tuple[Any, Any, str]]:
    """(container, key, string) for every string in nested dicts and lists."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    found: list[tuple[Any, Any, str]] = []
    for key, item in items:
        if isinstance(item, str):
            found.append((value, key, item))
        elif isinstance(item, dict | list):
            found += _strings(item)
    return found
