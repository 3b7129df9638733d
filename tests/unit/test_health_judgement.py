"""An endpoint variant's health judged from its minutes, its limits from its tags, and what an
inventory snapshot may say of them (hostile input)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts.inventory import endpoint_from
from shared.domain.health import (
    DEFAULT_LIMITS,
    Limits,
    Minute,
    Signal,
    Verdict,
    judge,
    may_breach,
    with_requests,
)
from shared.fleet.health import Episode, key_of

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _minutes(*rows: tuple[float, float, float | None]) -> list[Minute]:
    return [
        Minute(T0 + timedelta(minutes=i), requests, errors, latency)
        for i, (requests, errors, latency) in enumerate(rows)
    ]


def test_given_every_minute_with_requests_above_its_limit_then_unhealthy_at_the_windows_rate() -> (
    None
):
    minutes = _minutes(*[(100, 10, 20.0)] * 8, (50, 50, 20.0), (0, 0, None))

    judgement = judge(minutes, Signal.ERRORS, 5.0, 10)

    assert judgement.verdict is Verdict.UNHEALTHY
    assert judgement.value == pytest.approx(100 * 130 / 850)  # errors over all requests
    assert (judgement.requests, judgement.breached, judgement.judged) == (850, 9, 9)


def test_given_a_minute_exactly_at_the_limit_then_it_does_not_breach() -> None:
    judgement = judge(_minutes(*[(100, 5, 1.0)] * 10), Signal.ERRORS, 5.0, 10)

    assert judgement.verdict is Verdict.HEALTHY


def test_given_some_minutes_breaching_then_mixed_and_nothing_changes() -> None:
    minutes = _minutes(*[(100, 50, 1.0), (100, 0, 1.0)] * 5)

    assert judge(minutes, Signal.ERRORS, 5.0, 10).verdict is Verdict.MIXED


def test_given_requests_in_fewer_than_half_the_minutes_then_quiet_whatever_they_say() -> None:
    minutes = _minutes(*[(10, 10, 9_000.0)] * 4, *[(0, 0, None)] * 6)

    assert judge(minutes, Signal.ERRORS, 5.0, 10).verdict is Verdict.QUIET
    assert judge(minutes, Signal.LATENCY, 100.0, 10).verdict is Verdict.QUIET
    assert judge([], Signal.ERRORS, 5.0, 10).verdict is Verdict.QUIET


def test_given_latency_then_the_mean_is_weighed_by_requests_and_minutes_without_it_not_judged() -> (
    None
):
    minutes = _minutes(
        (300, 0, 200.0), (100, 0, 600.0), *[(10, 0, None)] * 3, *[(10, 0, 150.0)] * 3
    )

    judgement = judge(minutes, Signal.LATENCY, 100.0, 10)

    assert judgement.verdict is Verdict.UNHEALTHY
    assert judgement.judged == 5
    assert judgement.value == pytest.approx((300 * 200 + 100 * 600 + 30 * 150) / 430)


# A minute as CloudWatch may have it: requests, 5XX errors (0 or a few), a latency or none; some
# minutes missing from the window.
_MINUTE = st.tuples(
    st.sampled_from([0.0, 1.0, 3.0, 100.0]),
    st.sampled_from([0.0, 0.0, 1.0, 60.0]),
    st.one_of(st.none(), st.sampled_from([20.0, 5_000.0, 5_001.0, 90_000.0])),
)


# Windows: mostly one minute repeated (so that a whole window can breach), some other or missing.
_WINDOW = _MINUTE.flatmap(
    lambda usual: st.lists(
        st.one_of(st.just(usual), st.just(usual), st.none(), _MINUTE), max_size=10
    )
)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(rows=_WINDOW, signal=st.sampled_from(Signal))
def test_given_minutes_where_none_may_breach_read_without_requests_then_never_unhealthy(
    rows: list[tuple[float, float, float | None] | None], signal: Signal
) -> None:
    """The scan reads requests only where a minute may breach (or an episode is open): the
    verdict it then skips is never one that opens an episode, and with the requests read the
    minutes are those read all at once."""
    every = _minutes(*[row or (0, 0, None) for row in rows])
    whole = [minute for minute, row in zip(every, rows, strict=True) if row]  # None: missing
    limit = DEFAULT_LIMITS.of_signal(signal)
    assert limit is not None
    unread = [replace(m, requests=0.0) for m in whole]
    verdict = judge(whole, signal, limit, 10).verdict

    if not may_breach(unread, signal, limit):
        assert verdict in (Verdict.HEALTHY, Verdict.QUIET)
        assert judge(unread, signal, limit, 10).verdict is Verdict.QUIET
    requests = [Minute(m.at, m.requests) for m in whole]
    assert with_requests(unread, requests) == whole


def test_given_requests_read_apart_then_minutes_either_read_lacks_are_kept() -> None:
    t1 = T0 + timedelta(minutes=1)
    unread = [Minute(T0, 0.0, 2.0, 30.0)]
    requests = [Minute(t1, 40.0)]

    assert with_requests(unread, requests) == [Minute(T0, 0.0, 2.0, 30.0), Minute(t1, 40.0)]


def test_given_more_errors_than_requests_in_a_minute_then_the_rate_is_capped_at_100() -> None:
    judgement = judge(_minutes(*[(1, 7, None)] * 6), Signal.ERRORS, 5.0, 10)

    assert judgement.value == 100.0


@pytest.mark.parametrize(
    ("tags", "errors", "latency", "tagged"),
    [
        ({}, 5.0, 5_000.0, set()),
        ({"sagewatch:max-5xx-percent": "0.5"}, 0.5, 5_000.0, {Signal.ERRORS}),
        ({"sagewatch:max-latency-ms": " 250 "}, 5.0, 250.0, {Signal.LATENCY}),
        ({"sagewatch:max-5xx-percent": "off", "sagewatch:max-latency-ms": "0"}, None, None,
         {Signal.ERRORS, Signal.LATENCY}),
        ({"sagewatch:max-5xx-percent": "0.0"}, None, 5_000.0, {Signal.ERRORS}),
        ({"sagewatch:max-5xx-percent": "101"}, 5.0, 5_000.0, set()),  # out of range: default
        ({"sagewatch:max-5xx-percent": "-3"}, 5.0, 5_000.0, set()),
        ({"sagewatch:max-5xx-percent": "nan"}, 5.0, 5_000.0, set()),
        ({"sagewatch:max-latency-ms": "inf"}, 5.0, 5_000.0, set()),
        ({"sagewatch:max-latency-ms": "3600001"}, 5.0, 5_000.0, set()),
        ({"sagewatch:max-latency-ms": "fast please"}, 5.0, 5_000.0, set()),
        # Below a thousandth: no limit anyone means, and less than DynamoDB keeps (1E-130).
        ({"sagewatch:max-latency-ms": "1e-200"}, 5.0, 5_000.0, set()),
        ({"sagewatch:max-5xx-percent": "0.0009"}, 5.0, 5_000.0, set()),
        ({"sagewatch:max-5xx-percent": "0.001"}, 0.001, 5_000.0, {Signal.ERRORS}),
    ],
)  # fmt: skip
def test_given_an_endpoints_tags_then_its_limits(
    tags: dict[str, str], errors: float | None, latency: float | None, tagged: set[Signal]
) -> None:
    limits = Limits.of(tags, DEFAULT_LIMITS)

    assert (limits.max_5xx_percent, limits.max_latency_ms) == (errors, latency)
    assert limits.tagged == tagged


def test_given_a_snapshots_endpoint_tags_then_only_sagewatchs_own_and_short_strings_are_kept() -> (
    None
):
    item = {
        "name": "ranker",
        "variants": [],
        "tags": {
            "sagewatch:max-latency-ms": "250",
            "sagewatch:silence": "x" * 65,  # past 64 characters
            "sagewatch:severity": ["high"],  # not a string
            "sagewatch:max-5xx-percent": "2",
            "owner": "someone@example.com",  # not sagewatch's
        },
    }

    endpoint = endpoint_from(item)

    assert dict(endpoint.tags) == {
        "sagewatch:max-latency-ms": "250",
        "sagewatch:max-5xx-percent": "2",
    }
    assert endpoint_from(endpoint.as_dict()) == endpoint  # the fleet table keeps the same shape
    assert endpoint_from({"name": "plain", "variants": [], "tags": "nope"}).tags == ()
    assert "tags" not in endpoint_from({"name": "plain", "variants": []}).as_dict()


def test_given_an_episodes_record_then_it_reads_back_and_a_closed_or_foreign_one_does_not() -> None:
    key = key_of("111122223333", "us-east-1", "ranker", "AllTraffic", Signal.LATENCY)
    record = {"id": key, "unhealthy_since": "1763640000.0", "episode": "2", "value": "250.0",
              "limit": "100.0", "alerted": True, "alone": False, "requests": "1200"}  # fmt: skip

    episode = Episode.from_record(record)

    assert episode is not None
    assert (episode.endpoint, episode.variant, episode.signal, episode.number) == (
        "ranker", "AllTraffic", Signal.LATENCY, 2,
    )  # fmt: skip
    assert episode.key == key
    assert (episode.alerted, episode.alone, episode.requests) == (True, False, 1200)
    assert Episode.from_record({k: v for k, v in record.items() if k != "requests"}) == (
        replace(episode, requests=0)  # opened before episodes kept their requests
    )
    assert (
        episode.incident
        == "111122223333|us-east-1|endpoint|ranker/AllTraffic|model-latency|1763640000"
    )
    assert Episode.from_record({k: v for k, v in record.items() if k != "unhealthy_since"}) is None
    assert Episode.from_record(record | {"id": key.replace("model-latency", "other")}) is None
    assert Episode.from_record(record | {"episode": "two"}) is None
