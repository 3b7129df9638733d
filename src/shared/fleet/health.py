"""Production endpoint health (issue 16, part 2): a serving endpoint that answers with errors or
slows down, in any workload account, with no setup per endpoint.

A scheduled scan reads, over the metrics link, each in-service variant's last minutes
(Invocations, Invocation5XXErrors, ModelLatency: one query each, 1-minute periods) and judges
them (`domain.health`). Each variant's signal has its episodes in the fleet table: one opens
when it turns unhealthy (one alert), and closes when it is healthy again or its endpoint is gone
(one follow-up). Limits come from the endpoint's own tags (`sagewatch:max-5xx-percent`,
`sagewatch:max-latency-ms`, read by each account's inventory collector), else from the stack's
parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.alerting.alerts import Alert, AlertKind, JobSays, incident_key, listing
from shared.domain.health import Breach, Judgement, Limits, Signal
from shared.domain.text import one_line
from shared.domain.vocabulary import ResourceKind

KEY_PREFIX = "health|"


# ---- the fleet table's record of a variant's signal --------------------------------------------


def key_of(account: str, region: str, endpoint: str, variant: str, signal: Signal) -> str:
    return "|".join((KEY_PREFIX.rstrip("|"), account, region, endpoint, variant, signal.value))


@dataclass(frozen=True, slots=True)
class Episode:
    """An open episode of one variant's signal, as the fleet table keeps it."""

    account: str
    region: str
    endpoint: str
    variant: str
    signal: Signal
    number: int
    since: float  # the start of the window that opened it
    value: float  # over that window
    limit: float
    alerted: bool
    alone: bool  # pages on its own (else it is named in its scan's summary)
    requests: int = 0  # over that window
    batch: str = ""  # the scan that opened it (`Breach.batch`)
    expires: int = 0  # when its record goes unless a scan keeps it

    @classmethod
    def opened(
        cls, account: str, region: str, endpoint: str, variant: str, signal: Signal,
        number: int, breach: Breach,
        expires: int,
    ) -> Episode:  # fmt: skip
        return cls(
            account, region, endpoint, variant, signal, number, breach.since, breach.value,
            breach.limit, alerted=False, alone=breach.alone, requests=breach.requests,
            batch=breach.batch, expires=expires,
        )  # fmt: skip

    @property
    def key(self) -> str:
        return key_of(self.account, self.region, self.endpoint, self.variant, self.signal)

    @property
    def incident(self) -> str:
        return incident_key(
            self.account,
            self.region,
            ResourceKind.ENDPOINT,
            f"{self.endpoint}/{self.variant}",
            self.signal.value,
            str(int(self.since)),
        )

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> Episode | None:
        """None for a record without an open episode, or one this code cannot read."""
        try:
            _, account, region, endpoint, variant, signal = str(record["id"]).split("|")
            if "unhealthy_since" not in record:
                return None
            return cls(
                account,
                region,
                endpoint,
                variant,
                Signal(signal),
                int(str(record["episode"])),
                float(str(record["unhealthy_since"])),
                float(str(record["value"])),
                float(str(record["limit"])),
                record.get("alerted") in (True, "true"),
                record.get("alone") in (True, "true"),
                int(float(str(record.get("requests", 0)))),
                str(record.get("batch", "")),
                int(float(str(record.get("expiration", 0)))),
            )
        except (KeyError, ValueError, OverflowError):
            return None


# ---- alerts --------------------------------------------------------------------------------


def unhealthy_alert(
    episode: Episode,
    window_minutes: int,
    limits: Limits,
    says: JobSays,
    team: str | None = None,
) -> Alert:
    """A variant whose errors or latency stayed above its limit for the whole window (the
    window that opened its episode, also when a later scan sends it again)."""
    signal = episode.signal
    said = "its tag " + signal.tag if signal in limits.tagged else "the stack's default"
    context = (
        ("variant", episode.variant),
        (signal.label, f"{signal.shown(episode.value)} over {window_minutes} min"),
        ("limit", f"{signal.shown(episode.limit)} ({said})"),
        ("traffic", f"{episode.requests:,} requests in {window_minutes} min"),
        ("since", f"{_at(episode.since):%Y-%m-%d %H:%M} UTC"),
    )
    what = "answers with errors" if signal is Signal.ERRORS else "is slow"
    return says.applied(
        Alert(
            kind=AlertKind.UNHEALTHY,
            incident=episode.incident,
            account=episode.account,
            region=episode.region,
            resource=ResourceKind.ENDPOINT,
            name=episode.endpoint,
            status="InService",
            headline=f"endpoint {one_line(episode.endpoint)} {what}: {signal.label} "
            f"{signal.shown(episode.value)} above {signal.shown(episode.limit)} for "
            f"{window_minutes} min (variant {one_line(episode.variant)})",
            reason=f"{signal.label} above {signal.shown(episode.limit)} in every minute with "
            f"requests of the last {window_minutes} min",
            team=team,
            context=context,
            step=ERRORS_STEP if signal is Signal.ERRORS else LATENCY_STEP,
        )
    )


def recovered_alert(
    episode: Episode,
    judgement: Judgement | None,
    now: float,
    says: JobSays,
    team: str | None = None,
) -> Alert:
    """The follow-up when the signal is back under its limit for a whole window, or the variant
    is no longer in service (judgement None: its endpoint deleted, or the variant replaced)."""
    signal, lasted = episode.signal, _span(now - episode.since)
    if judgement is None:
        status, headline = (
            "gone",
            (
                f"endpoint {one_line(episode.endpoint)} is no longer in service with variant "
                f"{one_line(episode.variant)} (its {signal.label} was above "
                f"{signal.shown(episode.limit)} for {lasted})"
            ),
        )
    else:
        status, headline = (
            "recovered",
            (
                f"endpoint {one_line(episode.endpoint)} recovered: {signal.label} "
                f"{signal.shown(judgement.value)}, under {signal.shown(episode.limit)} again "
                f"after {lasted} (variant {one_line(episode.variant)})"
            ),
        )
    return says.applied(
        Alert(
            kind=AlertKind.UNHEALTHY,
            incident=f"{episode.incident}|{status}",
            account=episode.account,
            region=episode.region,
            resource=ResourceKind.ENDPOINT,
            name=episode.endpoint,
            status=status,
            headline=headline,
            team=team,
            context=(("variant", episode.variant),),
            step=RECOVERED_STEP,
            follows=episode.incident,
        )
    )


def unhealthy_summary(account: str, region: str, episodes: Sequence[Episode]) -> Alert:
    """Storm control: past the threshold, one alert names an account's variants that turned
    unhealthy in the same scan (their recoveries are not paged: the dashboard shows them). Its
    incident is that scan's (their window's start and batch): a scan that sends it again (its
    marks were lost) sends the same incident, naming those of them still not marked."""
    names = [f"{e.endpoint}/{e.variant} ({e.signal.label})" for e in episodes]
    what = f"{len(episodes)} endpoint variants"
    first = min(episodes, key=lambda e: (e.since, e.batch))
    return Alert(
        kind=AlertKind.UNHEALTHY,
        incident=incident_key(
            account,
            region,
            ResourceKind.ENDPOINT,
            "*",
            "unhealthy",
            str(int(first.since)),
            hashlib.sha256(first.batch.encode()).hexdigest()[:12],
        ),
        account=account,
        region=region,
        resource=ResourceKind.ENDPOINT,
        name=what,
        status="InService",
        headline=f"{what} answer with errors or slowly",
        reason="errors or latency above their limits for a whole window, on many endpoints at "
        "once: often a shared dependency",
        context=(("variants", listing(names)),),
        summary=True,
        step=ERRORS_STEP,
        subject_of=("", f"{what} unhealthy"),
    )


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _span(seconds: float) -> str:
    minutes = max(round(seconds / 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes} min"


ERRORS_STEP = (
    "Open the endpoint's logs (model container errors, out of memory, a failing dependency) and "
    "its recent deployments; roll back a new model version if the errors began with it."
)
LATENCY_STEP = (
    "Check the variant's CPU, GPU and memory and its instance count (scale out, or check its "
    "autoscaling), and what changed in its model or its inputs."
)
RECOVERED_STEP = (
    "Nothing to do: it serves under its limits again. If it breaches again, a new alert follows."
)
