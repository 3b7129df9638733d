"""Links through an IAM Identity Center access portal (issue 14, part 3): every link of an alert
opens the alert's account with the configured role; without a portal, each link says which
account to open it in."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.alerting.alerts import Alert, failure_alert
from shared.alerting.render import dashboard_link, links, render
from shared.alerting.service import Alerter
from shared.config import AlerterSettings, FleetSettings
from shared.domain.parser import parse_event
from shared.domain.portal import Portal
from shared.platform.errors import ConfigError
from tests.fakes import MemoryLedger, MemoryOnce, Recorder
from tests.unit.conftest import read_event

START = "https://d-1234567890.awsapps.com/start"
MONITORING = "123456789012"
PORTAL = Portal(START, "ReadOnlyAccess", MONITORING)
DASHBOARD = dashboard_link("us-east-1", "sagewatch")
ENV = {
    "EMAIL_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:e",
    "JSON_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:j",
    "CHAT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:c",
    "IDEMPOTENCY_TABLE": "t", "SUMMARY_QUEUE_URL": "https://sqs/q", "AWS_REGION": "us-east-1",
    "DASHBOARD_NAME": "sagewatch",
}  # fmt: skip


def _alert() -> Alert:
    return failure_alert(parse_event(read_event("training-failed")), "team")


def _shortcut(url: str) -> tuple[str, dict[str, str]]:
    """The portal URL's start and its fragment's query, decoded."""
    start, fragment = url.split("/#/console?", 1)
    return start, {k: v[0] for k, v in parse_qs(fragment, strict_parsing=True).items()}


def test_given_a_portal_then_every_workload_link_opens_the_alerts_account_with_the_role() -> None:
    alert = _alert()
    plain = links(alert, DASHBOARD)

    through = links(alert, DASHBOARD, PORTAL)

    assert through.keys() == plain.keys() == {"console", "logs", "dashboard"}
    for label, url in through.items():
        start, query = _shortcut(url)
        account = MONITORING if label == "dashboard" else alert.account
        assert (start, query["account_id"], query["role_name"]) == (
            START,
            account,
            "ReadOnlyAccess",
        )
        assert query["destination"] == plain[label]  # the same console page, exactly


def test_given_a_portal_without_the_monitoring_account_then_the_dashboard_link_is_plain() -> None:
    through = links(_alert(), DASHBOARD, Portal(START, "ReadOnlyAccess"))

    assert through["dashboard"] == DASHBOARD
    assert through["console"].startswith(f"{START}/#/console?account_id=777788889999&")


def test_given_a_destination_with_its_own_query_and_fragment_then_it_is_one_encoded_value() -> None:
    url = links(_alert(), None, PORTAL)["logs"]

    fragment = url.split("#", 1)[1]
    assert fragment.count("#") == 0  # nothing of the destination escapes its value
    assert fragment.count("?") == 1
    assert "$252F" not in fragment  # encoded once more: $ → %24
    assert urlsplit(_shortcut(url)[1]["destination"]).netloc == "us-east-1.console.aws.amazon.com"


def test_given_no_portal_then_each_workload_link_names_its_account_in_email_and_chat() -> None:
    rendered = render(_alert(), DASHBOARD)

    lines = [line for line in rendered.text.splitlines() if "https://" in line]
    assert lines[0].startswith("Console (account 777788889999): https://us-east-1.console")
    assert lines[1].startswith("Logs (account 777788889999): ")
    assert lines[2].startswith("Dashboard: ")  # this account's
    steps = rendered.chat["content"]["nextSteps"]
    assert any(step.startswith("[SageMaker console (account 777788889999)](") for step in steps)


def test_given_a_portal_then_the_links_need_no_account_beside_them() -> None:
    rendered = render(_alert(), DASHBOARD, PORTAL)

    assert "(account " not in rendered.text
    assert f"Console: {START}/#/console?account_id=777788889999&" in rendered.text
    assert rendered.document["links"]["console"].startswith(START)


@pytest.mark.parametrize(
    ("url", "role", "problem"),
    [
        ("http://d-1234567890.awsapps.com/start", "ReadOnly", "ACCESS_PORTAL_URL"),
        ("https://d-1.awsapps.com/start?x=<script>", "ReadOnly", "ACCESS_PORTAL_URL"),
        (START, "", "ACCESS_ROLE_NAME"),
        ("", "ReadOnly", "ACCESS_PORTAL_URL"),
        (START, "Read Only", "ACCESS_ROLE_NAME"),
        (START, "x" * 65, "ACCESS_ROLE_NAME"),
    ],
)
def test_given_a_half_or_wrong_portal_setting_then_a_config_error_names_it(
    url: str, role: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        Portal.of(url, role)


def test_given_the_settings_then_the_portal_comes_from_the_environment() -> None:
    none = AlerterSettings.from_env(ENV)
    some = AlerterSettings.from_env(
        ENV | {"ACCESS_PORTAL_URL": START + "/", "ACCESS_ROLE_NAME": "ReadOnlyAccess",
               "MONITORING_ACCOUNT_ID": MONITORING}
    )  # fmt: skip

    assert none.portal is None
    assert some.portal == PORTAL  # the trailing slash dropped
    with pytest.raises(ConfigError, match="MONITORING_ACCOUNT_ID"):
        FleetSettings.from_env({"MONITORING_ACCOUNT_ID": "12", "ACCESS_PORTAL_URL": START,
                                "ACCESS_ROLE_NAME": "ReadOnlyAccess"} | ENV | {
                                    "FLEET_TABLE": "f", "EVENT_BUS_NAME": "b",
                                    "REFRESH_ROLE_ARN": "arn:aws:iam::1:role/r",
                                    "REFRESH_RULE_PREFIX": "p"})  # fmt: skip


def test_given_an_alerter_with_a_portal_then_what_it_publishes_links_through_it() -> None:
    settings = AlerterSettings.from_env(
        ENV | {"ACCESS_PORTAL_URL": START, "ACCESS_ROLE_NAME": "ReadOnlyAccess",
               "MONITORING_ACCOUNT_ID": MONITORING}
    )  # fmt: skip
    channels = {c: Recorder() for c in ("email", "json", "chat")}
    alerter = Alerter(
        settings, publishers=channels, ledger=MemoryLedger(), summaries=Recorder(),
        records=MemoryOnce(),
    )  # fmt: skip

    alerter.handle(read_event("training-failed"))

    [published] = channels["json"].items
    document = json.loads(published["message"])
    assert {_shortcut(url)[1]["account_id"] for url in document["links"].values()} == {
        "777788889999",
        MONITORING,
    }
