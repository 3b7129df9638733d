"""shared.config: settings parsed and validated once, failing fast with the variable's name."""

from __future__ import annotations

import pytest

from shared.config import AlerterSettings, EnricherSettings, thresholds_from
from shared.domain.utilization import Thresholds
from shared.platform.errors import ConfigError

ENRICHER_ENV = {
    "EVENT_BUS_NAME": "sagewatch",
    "AWS_REGION": "us-east-1",
    "IDEMPOTENCY_TABLE": "sagewatch-idempotency",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/enrichment-dlq",
}
ALERTER_ENV = {
    "EMAIL_TOPIC_ARN": "arn:aws:sns:us-east-1:999900001111:sagewatch-email",
    "JSON_TOPIC_ARN": "arn:aws:sns:us-east-1:999900001111:sagewatch-json",
    "CHAT_TOPIC_ARN": "arn:aws:sns:us-east-1:999900001111:sagewatch-chat",
    "AWS_REGION": "us-east-1",
    "IDEMPOTENCY_TABLE": "sagewatch-idempotency",
    "SUMMARY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/summary",
}


@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_given_no_event_bus_name_when_enricher_settings_loaded_then_config_error_naming_it(
    value: str | None,
) -> None:
    env = dict(ENRICHER_ENV)
    env.pop("EVENT_BUS_NAME")
    if value is not None:
        env["EVENT_BUS_NAME"] = value

    with pytest.raises(ConfigError, match="EVENT_BUS_NAME"):
        EnricherSettings.from_env(env)


def test_given_no_region_when_enricher_settings_loaded_then_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="AWS_REGION"):
        EnricherSettings.from_env({"EVENT_BUS_NAME": "sagewatch"})


@pytest.mark.parametrize("name", ["EMAIL_TOPIC_ARN", "JSON_TOPIC_ARN", "CHAT_TOPIC_ARN"])
@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_given_no_topic_arn_when_alerter_settings_loaded_then_config_error_naming_it(
    name: str, value: str | None
) -> None:
    env = dict(ALERTER_ENV)
    env.pop(name)
    if value is not None:
        env[name] = value

    with pytest.raises(ConfigError, match=name):
        AlerterSettings.from_env(env)


def test_given_no_idempotency_table_when_alerter_settings_loaded_then_config_error_naming_it() -> (
    None
):
    with pytest.raises(ConfigError, match="IDEMPOTENCY_TABLE"):
        AlerterSettings.from_env({k: v for k, v in ALERTER_ENV.items() if "TOPIC" in k})


def test_given_required_settings_only_when_enricher_settings_loaded_then_default_thresholds() -> (
    None
):
    settings = EnricherSettings.from_env(ENRICHER_ENV)

    assert settings.event_bus_name == "sagewatch"
    assert settings.region == "us-east-1"
    assert settings.thresholds == Thresholds(
        under_used_percent=20.0, idle_percent=2.0, min_duration_seconds=600
    )


def test_given_required_settings_only_when_alerter_settings_loaded_then_defaults() -> None:
    settings = AlerterSettings.from_env(ALERTER_ENV)

    assert settings.topics == {
        "email": ALERTER_ENV["EMAIL_TOPIC_ARN"],
        "json": ALERTER_ENV["JSON_TOPIC_ARN"],
        "chat": ALERTER_ENV["CHAT_TOPIC_ARN"],
    }
    assert settings.dashboard_name == ""
    assert settings.idempotency_table == "sagewatch-idempotency"
    assert settings.team_tag_key == "team"
    assert settings.dedup_seconds == 172_800


def test_given_overrides_when_alerter_settings_loaded_then_used() -> None:
    env = ALERTER_ENV | {"TEAM_TAG_KEY": " owner ", "DEDUP_SECONDS": "3600"}

    settings = AlerterSettings.from_env(env)

    assert settings.team_tag_key == "owner"
    assert settings.dedup_seconds == 3600


def test_given_environment_not_passed_when_settings_loaded_then_os_environ_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENRICHER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVENT_BUS_NAME", "bus-from-env")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("UNDER_USED_PERCENT", "30")

    settings = EnricherSettings.from_env()

    assert settings.event_bus_name == "bus-from-env"
    assert settings.region == "eu-west-1"
    assert settings.thresholds.under_used_percent == 30.0


def test_given_threshold_overrides_when_parsed_then_floats_and_integer_duration() -> None:
    thresholds = thresholds_from(
        {"UNDER_USED_PERCENT": "35.5", "IDLE_PERCENT": "0", "MIN_JOB_DURATION_SECONDS": " 120 "}
    )

    assert thresholds == Thresholds(
        under_used_percent=35.5, idle_percent=0.0, min_duration_seconds=120
    )
    assert isinstance(thresholds.min_duration_seconds, int)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UNDER_USED_PERCENT", "twenty"),
        ("UNDER_USED_PERCENT", "20%"),
        ("IDLE_PERCENT", "low"),
        ("MIN_JOB_DURATION_SECONDS", "10m"),
    ],
)
def test_given_non_numeric_threshold_when_enricher_settings_loaded_then_config_error_naming_it(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=rf"{name}=.*not a number"):
        EnricherSettings.from_env(ENRICHER_ENV | {name: value})


def test_given_non_numeric_dedup_seconds_when_alerter_settings_loaded_then_config_error() -> None:
    with pytest.raises(ConfigError, match=r"DEDUP_SECONDS=.*not a number"):
        AlerterSettings.from_env(ALERTER_ENV | {"DEDUP_SECONDS": "two days"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UNDER_USED_PERCENT", "0"),
        ("UNDER_USED_PERCENT", "100.1"),
        ("UNDER_USED_PERCENT", "nan"),
        ("IDLE_PERCENT", "-1"),
        ("IDLE_PERCENT", "101"),
        ("MIN_JOB_DURATION_SECONDS", "-60"),
        ("MIN_JOB_DURATION_SECONDS", "86401"),
        ("MIN_JOB_DURATION_SECONDS", "inf"),
    ],
)
def test_given_out_of_range_threshold_when_parsed_then_config_error_naming_it(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=rf"{name}=.*outside"):
        thresholds_from({name: value})


@pytest.mark.parametrize("value", ["59", "2592001"])
def test_given_out_of_range_dedup_seconds_when_alerter_settings_loaded_then_config_error(
    value: str,
) -> None:
    with pytest.raises(ConfigError, match="DEDUP_SECONDS"):
        AlerterSettings.from_env(ALERTER_ENV | {"DEDUP_SECONDS": value})


@pytest.mark.parametrize(
    ("idle", "under"),
    [("20", "20"), ("25", "20"), ("2", "1")],
    ids=["equal", "above", "above-low"],
)
def test_given_idle_not_below_under_used_when_parsed_then_config_error(
    idle: str, under: str
) -> None:
    with pytest.raises(ConfigError, match=r"IDLE_PERCENT=.* below UNDER_USED_PERCENT"):
        thresholds_from({"IDLE_PERCENT": idle, "UNDER_USED_PERCENT": under})


def test_given_idle_just_below_under_used_when_parsed_then_accepted() -> None:
    thresholds = thresholds_from({"IDLE_PERCENT": "19.9", "UNDER_USED_PERCENT": "20"})

    assert thresholds.idle_percent == 19.9
    assert thresholds.under_used_percent == 20.0


def test_given_no_threshold_settings_when_parsed_then_defaults() -> None:
    assert thresholds_from({}) == Thresholds(20.0, 2.0, 600)


def test_given_blank_threshold_setting_when_parsed_then_default() -> None:
    assert thresholds_from({"UNDER_USED_PERCENT": "  ", "IDLE_PERCENT": ""}) == Thresholds()


def test_given_data_waits_leaving_no_room_for_faults_when_loaded_then_config_error() -> None:
    with pytest.raises(ConfigError, match="MAX_DATA_WAITS"):
        EnricherSettings.from_env(ENRICHER_ENV | {"MAX_RECEIVES": "4", "MAX_DATA_WAITS": "3"})


def test_given_storm_control_off_when_alerter_loaded_then_no_summary_queue_needed() -> None:
    env = {k: v for k, v in ALERTER_ENV.items() if k != "SUMMARY_QUEUE_URL"}
    with pytest.raises(ConfigError, match="SUMMARY_QUEUE_URL"):
        AlerterSettings.from_env(env)
    assert AlerterSettings.from_env(env | {"BURST_THRESHOLD": "0"}).burst_threshold == 0
