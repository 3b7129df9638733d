"""An endpoint variant's health, judged from its minutes (issue 16, part 2): the share of its
requests answered with a 5XX error, and its model's average latency, against its limits.

A minute breaches when its value is above the variant's limit. A signal is unhealthy when every
minute of the window that served requests breached, healthy when none did; either verdict needs
requests in at least half of the window's minutes (a quiet endpoint is not judged). Between the
two nothing changes, so an episode opens once and closes once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.vocabulary import MAX_5XX_TAG, MAX_LATENCY_TAG

HEALTH_WINDOW_MINUTES = 10  # the sustained span, by default
# CloudWatch has an endpoint's minute a little after it ends: the newest minutes judged are this
# far back, so a minute not yet published never reads as a minute without requests.
METRIC_DELAY_SECONDS = 120
MAX_LATENCY_MS = 3_600_000  # an hour: no tag may ask for more (a real-time call lasts minutes)
# The least a tag may ask for (of a percent, of a millisecond): below it no limit anyone means,
# and a number DynamoDB cannot keep (it refuses less than 1E-130) must not stop an account's check.
LEAST_LIMIT = 0.001


class Signal(StrEnum):
    ERRORS = "5xx-rate"
    LATENCY = "model-latency"

    @property
    def label(self) -> str:
        return "5XX error rate" if self is Signal.ERRORS else "model latency"

    @property
    def tag(self) -> str:
        return MAX_5XX_TAG if self is Signal.ERRORS else MAX_LATENCY_TAG

    def shown(self, value: float) -> str:
        return f"{value:.1f}%" if self is Signal.ERRORS else f"{value:,.0f} ms"


class Verdict(StrEnum):
    UNHEALTHY = "unhealthy"  # every minute with requests breached
    HEALTHY = "healthy"  # no minute breached
    MIXED = "mixed"  # some did: an open episode stays open, none opens
    QUIET = "quiet"  # too few minutes with requests to say


@dataclass(frozen=True, slots=True)
class Limits:
    """A variant's limits (None: that signal is not judged), and what its tags ask of alerts."""

    max_5xx_percent: float | None
    max_latency_ms: float | None
    tagged: frozenset[Signal] = frozenset()  # the limits its own tags set

    @classmethod
    def of(cls, tags: Mapping[str, str], defaults: Limits) -> Limits:
        """An endpoint's tags over the defaults; a tag that is no number in range is ignored,
        `0` or `off` turns its signal off."""
        errors = _limit(tags.get(MAX_5XX_TAG), 100.0)
        latency = _limit(tags.get(MAX_LATENCY_TAG), MAX_LATENCY_MS)
        return cls(
            defaults.max_5xx_percent if errors is _UNSET else errors,
            defaults.max_latency_ms if latency is _UNSET else latency,
            frozenset(
                signal
                for signal, value in ((Signal.ERRORS, errors), (Signal.LATENCY, latency))
                if value is not _UNSET
            ),
        )

    def of_signal(self, signal: Signal) -> float | None:
        return self.max_5xx_percent if signal is Signal.ERRORS else self.max_latency_ms

    @property
    def judged(self) -> frozenset[Signal]:
        """The signals with a limit (only their metrics are read: each one read is billed)."""
        return frozenset(signal for signal in Signal if self.of_signal(signal) is not None)


_UNSET = -1.0  # a tag absent, or unreadable: the default holds


def _limit(value: str | None, most: float) -> float | None:
    if value is None:
        return _UNSET
    text = value.strip().lower()
    if text in ("off", "0"):
        return None
    try:
        number = float(text)
    except ValueError:
        return _UNSET
    if number == 0:  # "0.0" turns it off as "0" does
        return None
    return number if math.isfinite(number) and LEAST_LIMIT <= number <= most else _UNSET


@dataclass(frozen=True, slots=True)
class Minute:
    """One minute of a variant: its requests, those answered 5XX, its model's mean latency."""

    at: datetime
    requests: float
    errors: float = 0.0
    latency_ms: float | None = None

    def value(self, signal: Signal) -> float | None:
        """The signal's value this minute (None: no requests, nothing to judge)."""
        if self.requests <= 0:
            return None
        if signal is Signal.ERRORS:
            return 100.0 * min(self.errors, self.requests) / self.requests
        return self.latency_ms


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    value: float  # over the window: the 5XX share of all requests, or the requests' mean latency
    requests: int  # in the window
    breached: int  # minutes above the limit
    judged: int  # minutes with requests


@dataclass(frozen=True, slots=True)
class Breach:
    """What opens a variant's episode: when its window began, its value and requests over that
    window, the limit broken, and whether it pages alone or in the summary of the scan that
    opened it (`batch`: the first key that scan opened). Decided when it opens, so that a scan
    sending it again sends the same alerts."""

    since: float
    value: float
    requests: int
    limit: float
    alone: bool
    batch: str


def judge(
    minutes: Sequence[Minute], signal: Signal, limit: float, window_minutes: int
) -> Judgement:
    judged = [(m, v) for m in minutes if (v := m.value(signal)) is not None]
    breached = sum(1 for _, value in judged if value > limit)
    requests = sum(m.requests for m, _ in judged)
    if signal is Signal.ERRORS:
        value = (
            100.0 * sum(min(m.errors, m.requests) for m, _ in judged) / requests if judged else 0.0
        )
    else:  # each minute's mean, weighed by its requests
        value = sum(v * m.requests for m, v in judged) / requests if judged else 0.0
    if len(judged) < math.ceil(window_minutes / 2):
        verdict = Verdict.QUIET
    elif breached == len(judged):
        verdict = Verdict.UNHEALTHY
    elif breached == 0:
        verdict = Verdict.HEALTHY
    else:
        verdict = Verdict.MIXED
    return Judgement(verdict, value, round(requests), breached, len(judged))


def may_breach(minutes: Sequence[Minute], signal: Signal, limit: float) -> bool:
    """Whether minutes read without their requests hold one that could breach: a 5XX error, or a
    mean latency above the limit. Where none can, the window is healthy or quiet, and neither
    opens an episode: its requests (a third metric, billed) need not be read."""
    if signal is Signal.ERRORS:
        return any(minute.errors > 0 for minute in minutes)
    return any(m.latency_ms is not None and m.latency_ms > limit for m in minutes)


def with_requests(minutes: Sequence[Minute], requests: Sequence[Minute]) -> list[Minute]:
    """Minutes read without their requests, given those read on their own (either may lack a
    minute the other has)."""
    served = {minute.at: minute.requests for minute in requests}
    read = {minute.at: minute for minute in minutes}
    return [
        Minute(at, served.get(at, 0.0), read[at].errors, read[at].latency_ms)
        if at in read
        else Minute(at, served[at])
        for at in sorted(read.keys() | served.keys())
    ]


DEFAULT_LIMITS = Limits(max_5xx_percent=5.0, max_latency_ms=5_000.0)
