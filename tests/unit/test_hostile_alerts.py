"""Hostile names and sizes in all three renderings (email, chat, JSON): names from event data
reach no reader with control, bidi or zero-width characters; every list shows a few items and
how many more; every free text is capped; every message fits SNS with its attributes."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from shared.alerting.alerts import (
    Alert,
    burst_alert,
    failure_alert,
    violations_alert,
)
from shared.alerting.render import Rendered, render
from shared.contracts.inventory import Endpoint, Variant
from shared.contracts.storm_window import StormWindow
from shared.domain.parser import parse_event
from shared.domain.vocabulary import ResourceKind
from shared.fleet.alerts import idle_endpoint_alert

LoadEvent = Callable[[str], dict[str, Any]]
TrainingEvent = Callable[..., dict[str, Any]]

SNS_LIMIT = 262_144  # bytes, message and message attributes together
SUBJECT_LIMIT = 100  # characters: "less than 100"
DASHBOARD = "https://us-east-1.console.aws.amazon.com/cloudwatch/home#dashboards/dashboard/x"
HOSTILE_NAME = "ep\x1b[31m\u202eevil\u200b\u2066\x00\x85\u2028name\x1b]0;title\x07"
INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _messages(rendered: Rendered) -> dict[str, bytes]:
    """What the delivery publishes per topic, encoded as it encodes them."""
    return {
        "email": rendered.text.encode(),
        "chat": json.dumps(rendered.chat, separators=(",", ":")).encode(),
        "json": json.dumps(rendered.document, separators=(",", ":"), default=str).encode(),
    }


def _assert_fits_sns(rendered: Rendered) -> None:
    attributes = sum(
        len(name) + len("String") + len(value.encode())
        for name, value in rendered.attributes.items()
    )
    assert attributes <= 2_048
    for channel, message in _messages(rendered).items():
        assert len(message) + attributes + 1_024 < SNS_LIMIT, channel
    assert len(rendered.subject) < SUBJECT_LIMIT
    assert all(0 < len(value) <= 256 for value in rendered.attributes.values())


def _assert_clean(rendered: Rendered) -> None:
    """No control character (but the text's newlines), no bidi control, no invisible one."""
    texts = [
        rendered.subject,
        rendered.text,
        *_strings(rendered.chat),
        *_strings(rendered.document),
        *_strings(rendered.attributes),
    ]
    for text in texts:
        bad = [
            f"U+{ord(ch):04X}"
            for ch in text
            if ch != "\n" and (unicodedata.category(ch).startswith("C") or ch in INVISIBLE)
        ]
        assert bad == [], text[:120]
        assert "\u2028" not in text
        assert "[31m" not in text  # the whole escape sequence, not just ESC
        assert "0;title" not in text


# --- names from event data ------------------------------------------------------------------


def test_given_hostile_schedule_and_endpoint_names_when_violations_rendered_then_all_clean(
    load_event: LoadEvent,
) -> None:
    raw = load_event("processing-monitor-violations")
    raw["detail"]["Environment"] = {
        "sagemaker_monitoring_schedule_name": "sched\x1b[2J\u202efdp.exe\u200b",
        "sagemaker_endpoint_name": HOSTILE_NAME,
    }

    rendered = render(violations_alert(parse_event(raw), "team"), DASHBOARD)

    _assert_clean(rendered)
    assert "schedfdp.exe" in rendered.text  # readable, in its logical order
    assert "epevil" in rendered.text


def test_given_hostile_inventory_names_when_idle_endpoint_rendered_then_all_clean() -> None:
    endpoint = Endpoint(
        HOSTILE_NAME,
        (Variant("All\x1b[1mTraffic\u202e", "ml.m5.large\u2067", 1),),
    )

    rendered = render(
        idle_endpoint_alert("777788889999", "us-east-1", endpoint, 24, "2026-11-20"), DASHBOARD
    )

    _assert_clean(rendered)
    assert "AllTraffic: ml.m5.large x 1" in rendered.text


def test_given_hostile_job_name_and_team_when_failure_rendered_then_all_clean(
    training_event: TrainingEvent,
) -> None:
    event = training_event(
        TrainingJobName="job\x1b[31m\u202e-\u200bx\x9b31m",
        TrainingJobStatus="Failed",
        SecondaryStatus="Failed\x1b[0m\u2069",
        Tags={"team": "vis\u202eion\x1b[5m"},
    )

    rendered = render(failure_alert(parse_event(event), "team"), DASHBOARD)

    _assert_clean(rendered)
    assert rendered.attributes["team"] == "vision"


# --- sizes ----------------------------------------------------------------------------------


def _huge_endpoint() -> Endpoint:
    """A forged inventory: 500 variants with 250-character names, each its own type."""
    return Endpoint(
        "forecasting-demand-realtime",
        tuple(Variant("v" * 245 + f"{n:05d}", f"ml.g5.{n}xlarge", 1) for n in range(500)),
    )


def test_given_an_endpoint_with_500_long_variants_when_idle_alert_rendered_then_it_fits_sns() -> (
    None
):
    alert = idle_endpoint_alert("777788889999", "us-east-1", _huge_endpoint(), 24, "2026-11-20")

    rendered = render(alert, DASHBOARD)

    _assert_fits_sns(rendered)
    variants = rendered.document["context"]["variants"]
    assert variants.endswith(" more")
    assert len(variants) <= 2_048
    assert variants.count(": ml.g5.") <= 20  # a few items, then how many more
    assert f"and {500 - variants.count(': ml.g5.')} more" in variants
    assert rendered.document["instance_type"].endswith(" more")
    assert len(rendered.chat["content"]["description"]) <= 3_000


def test_given_5000_job_names_in_a_burst_when_summarized_then_a_few_listed_and_it_fits() -> None:
    names = [f"forecasting-nightly-{n:05d}-" + "x" * 230 for n in range(5_000)]
    burst = StormWindow.of("777788889999", "us-east-1", ResourceKind.TRAINING, 1795176000, 600)

    rendered = render(burst_alert(burst, names, 3), DASHBOARD)

    _assert_fits_sns(rendered)
    jobs = rendered.document["context"]["jobs"]
    listed = jobs.count("forecasting-nightly-")
    assert 1 <= listed <= 20
    assert jobs.endswith(f"and {5_000 - listed} more")
    assert len(jobs) <= 2_048
    assert rendered.document["context"]["summarized here"] == "4997"


def test_given_a_1_mb_reason_and_oversized_names_when_rendered_then_every_rendering_fits(
    load_event: LoadEvent,
) -> None:
    raw = load_event("pipeline-step-failed")
    arn = raw["detail"]["pipelineArn"] + "-" + "p" * 300_000  # beyond any real pipeline name
    raw["detail"]["pipelineArn"] = arn
    raw["detail"]["pipelineExecutionArn"] = arn + "/execution/" + "e" * 300_000
    raw["detail"]["failureReason"] = "ClientError: " + "<!channel> `x` é\u202e " * 70_000
    assert len(raw["detail"]["failureReason"]) > 1_000_000

    alert = failure_alert(parse_event(raw), "team")
    rendered = render(alert, DASHBOARD)

    _assert_fits_sns(rendered)
    _assert_clean(rendered)
    assert len(alert.name) <= 256
    assert len(alert.headline) <= 1_024
    assert len(alert.incident) <= 1_024
    assert rendered.text.startswith("Pipeline nlp-intentclassifier-train-ppp")


def test_given_an_oversized_region_and_team_when_rendered_then_attribute_values_are_bounded(
    training_event: TrainingEvent,
) -> None:
    event = training_event(TrainingJobStatus="Failed", Tags={"team": "t" * 5_000})
    alert = failure_alert(parse_event(event), "team")  # the parser refuses such a Region

    rendered = render(replace(alert, region="us-east-1" + "x" * 5_000), DASHBOARD)

    _assert_fits_sns(rendered)


@pytest.mark.parametrize(
    "sample", ["training-failed", "processing-monitor-violations", "endpoint-failed"]
)
def test_given_any_field_too_large_when_rendered_then_the_last_guard_still_fits_sns(
    load_event: LoadEvent, sample: str
) -> None:
    """However the fields add up (here a dashboard link of 400 KB), each encoded message stays
    under SNS's limit: the final guarantee does not rely on each field's own cap."""
    event = parse_event(load_event(sample))
    alert: Alert = (
        violations_alert(event, "team")
        if event.has_monitor_violations
        else failure_alert(event, "team")
    )

    rendered = render(alert, "https://" + "d" * 400_000)

    _assert_fits_sns(rendered)
    assert rendered.document["schema"] == "sagewatch.alert/v1"
    assert rendered.chat["version"] == "1.0"
