"""Every alert of a replay in its three renderings: the JSON document valid against
docs/alert.schema.json, the chat notification against Amazon Q's documented schema, the email
within SNS limits; and SNS subscription filter policies routing alerts by their attributes."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sagewatch.embedded import CHANNELS, EmbeddedAws, load_events, replay, replay_clock
from sagewatch.template import EVENTS, ROOT
from shared.platform.clock import FixedClock

pytestmark = pytest.mark.integration

ALERT_SCHEMA = json.loads((ROOT / "docs" / "alert.schema.json").read_text())
CHAT_SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1] / "schemas" / "amazon-q-custom-notification.schema.json"
    ).read_text()
)


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _storm(count: int) -> Iterable[dict[str, Any]]:
    failed = json.loads((EVENTS / "training-failed.json").read_text())
    for n in range(count):
        event = copy.deepcopy(failed)
        event["id"] = f"storm-{n}"
        event["detail"]["TrainingJobName"] = f"storm-job-{n:02d}"
        yield event


@pytest.fixture(scope="module")
def alerts(demo_metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """events/ with the demo metrics (every kind of alert), plus a storm (a summary alert)."""
    return list(replay([*load_events([EVENTS]), *_storm(6)], demo_metrics)["alerts"])


def test_given_replay_when_alerts_rendered_then_every_kind_is_present(
    alerts: list[dict[str, Any]],
) -> None:
    kinds = {alert["json"]["kind"] for alert in alerts}
    assert kinds == {"failure", "violations", "under-used", "idle", "unhealthy"}
    assert any(alert["json"]["context"].get("summarized here") for alert in alerts)


def test_given_every_alert_when_json_rendering_validated_then_it_matches_the_schema(
    alerts: list[dict[str, Any]],
) -> None:
    validator = _validator(ALERT_SCHEMA)
    for alert in alerts:
        errors = [error.message for error in validator.iter_errors(alert["json"])]
        assert errors == [], alert["subject"]


def test_given_every_alert_when_chat_rendering_validated_then_amazon_q_accepts_its_shape(
    alerts: list[dict[str, Any]],
) -> None:
    validator = _validator(CHAT_SCHEMA)
    for alert in alerts:
        assert alert["chat"] is not None, alert["subject"]
        errors = [error.message for error in validator.iter_errors(alert["chat"])]
        assert errors == [], alert["subject"]
        assert alert["chat"]["metadata"]["threadId"] == alert["json"]["thread_id"]
        assert alert["chat"]["metadata"]["additionalContext"]["kind"] == alert["json"]["kind"]


def test_given_every_alert_when_email_rendering_read_then_it_is_the_documents_text(
    alerts: list[dict[str, Any]],
) -> None:
    for alert in alerts:
        assert alert["email"]["subject"] == alert["json"]["subject"]
        assert len(alert["email"]["subject"]) < 100
        assert alert["email"]["body"] == alert["json"]["text"]
        assert "Dashboard: https://" in alert["email"]["body"]


def test_given_schema_when_a_field_is_unknown_or_mistyped_then_validation_fails(
    alerts: list[dict[str, Any]],
) -> None:
    validator = _validator(ALERT_SCHEMA)
    document = alerts[0]["json"]
    assert not validator.is_valid(document | {"environment": {"DB_PASSWORD": "x"}})
    assert not validator.is_valid(document | {"kind": "catastrophe"})
    assert not validator.is_valid({k: v for k, v in document.items() if k != "incident"})


# --- routing by SNS subscription filter policies ---------------------------------------------

POLICIES = {  # what a team would put on its subscription (MessageAttributes scope, the default)
    "one-account": {"account": ["111122223333"]},
    "team-vision": {"team": ["vision"]},
    "waste-only": {"kind": ["under-used", "idle"]},
    "untagged": {"team": [{"exists": False}]},
    "vision-pages": {"team": ["vision"], "severity": ["high"]},
    "production": {"environment": ["prod"]},
    "one-project": {"project": ["foundation-vision"]},
    "staging-pages": {"environment": ["staging"], "severity": ["medium"]},
    "production-waste": {"environment": ["prod"], "kind": ["under-used", "idle"]},
}


def _matches(policy: dict[str, list[Any]], attributes: dict[str, str]) -> bool:
    """The policies above, evaluated as SNS documents them (every key matches; exists false:
    absent)."""
    for key, allowed in policy.items():
        if allowed == [{"exists": False}]:
            if key in attributes:
                return False
        elif attributes.get(key) not in allowed:
            return False
    return True


@pytest.mark.parametrize("channel", CHANNELS)
def test_given_filtered_subscriptions_when_replayed_then_each_gets_only_its_alerts(
    channel: str, demo_metrics: dict[str, Any]
) -> None:
    events = load_events([EVENTS])
    with EmbeddedAws(clock=replay_clock(events)) as aws:
        sqs, sns = aws.client("sqs"), aws.client("sns")
        queues = {}
        for name, policy in POLICIES.items():
            url = sqs.create_queue(QueueName=f"{channel}-{name}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            sns.subscribe(
                TopicArn=aws.topics[channel],
                Protocol="sqs",
                Endpoint=arn["Attributes"]["QueueArn"],
                Attributes={"FilterPolicy": json.dumps(policy)},
            )
            queues[name] = url
        # The accounts' heartbeats first, as on any day but the first: their labels are known.
        heartbeats = [e for e in events if e.get("source") == "sagewatch.heartbeat"]
        for event in heartbeats:
            aws.deliver(event)
        aws.run()
        for event in events:
            if event not in heartbeats:
                aws.deliver(event)
        aws.seed_metrics(demo_metrics)
        aws.run()
        everything = aws.alerts()

        for name, url in queues.items():
            received = [json.loads(m["Body"]) for m in aws.redriver().receive_all(url)]
            expected = [a for a in everything if _matches(POLICIES[name], a["attributes"])]
            assert 0 < len(expected) < len(everything), name
            assert sorted(m["Subject"] for m in received) == sorted(a["subject"] for a in expected)


@pytest.mark.parametrize("doc", ["docs/alerts.md", "README.md"])
def test_given_docs_sample_alerts_when_compared_then_each_is_what_the_replay_sends(
    alerts: list[dict[str, Any]], doc: str
) -> None:
    samples = re.findall(r"```text\n(.*?)\n```", (ROOT / doc).read_text(), flags=re.DOTALL)
    bodies = {alert["email"]["body"] for alert in alerts}
    # failure, violations, under-used, idle (after the end, while running, its end), a refused
    # call, unhealthy (a HyperPod node; in docs/alerts.md an endpoint's health too)
    assert len(samples) == {"docs/alerts.md": 9, "README.md": 8}[doc]
    for sample in samples:
        assert sample in bodies, sample.splitlines()[0]


# --- hostile input, end to end ---------------------------------------------------------------

SNS_LIMIT = 262_144  # bytes, message and attributes together


def _hostile_failure() -> dict[str, Any]:
    """A failure whose name and (nearly event-sized) reason carry escapes, bidi controls,
    mentions and credentials."""
    event: dict[str, Any] = json.loads((EVENTS / "training-failed.json").read_text())
    event["id"] = "hostile-end-to-end"
    detail = event["detail"]
    detail["TrainingJobName"] = "job-\x1b[31m\u202e<!channel>-@here-x"
    piece = "ClientError: password='a b' <@U024BE7LH> \x1b[2J é\u202e\u200b "
    detail["FailureReason"] = (piece * 5_000)[:200_000]
    return event


def _all_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _all_strings(item)


def test_given_a_hostile_failure_when_replayed_then_each_rendering_is_clean_and_fits() -> None:
    (alert,) = replay([_hostile_failure()], clock=FixedClock(1795176000.0))["alerts"]

    assert list(_validator(ALERT_SCHEMA).iter_errors(alert["json"])) == []
    assert list(_validator(CHAT_SCHEMA).iter_errors(alert["chat"])) == []
    messages = {
        "email": alert["email"]["body"],
        "chat": json.dumps(alert["chat"], separators=(",", ":")),
        "json": json.dumps(alert["json"], separators=(",", ":")),
    }
    attributes = sum(len(k) + len(v.encode()) + 6 for k, v in alert["attributes"].items())
    for channel, message in messages.items():
        assert len(message.encode()) + attributes + len(alert["subject"]) < SNS_LIMIT, channel
    for text in [alert["subject"], *_all_strings(alert["json"]), *_all_strings(alert["chat"])]:
        assert "\x1b" not in text
        assert "\u202e" not in text
        assert "\u200b" not in text
        assert "'a b'" not in text  # the password, masked
    chat = json.dumps(alert["chat"], ensure_ascii=False)
    for mention in ("<!channel>", "<@U024BE7LH>", "@here"):
        assert mention not in chat
    assert alert["chat"]["metadata"]["threadId"] == alert["json"]["thread_id"]
