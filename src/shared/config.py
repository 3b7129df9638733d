"""Settings from environment variables, parsed and validated once at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.domain.health import DEFAULT_LIMITS, HEALTH_WINDOW_MINUTES, MAX_LATENCY_MS, Limits
from shared.domain.portal import Portal
from shared.domain.utilization import Thresholds
from shared.platform.errors import ConfigError


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required and not set")
    return value


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw} is outside {low:g}..{high:g}")
    return value


def _endpoint_limits(env: Mapping[str, str]) -> Limits:
    """The limits of endpoints without tags of their own; 0 turns a signal off."""
    errors = _number(env, "ENDPOINT_MAX_5XX_PERCENT", DEFAULT_LIMITS.max_5xx_percent or 0, 0, 100)
    latency = _number(
        env, "ENDPOINT_MAX_LATENCY_MS", DEFAULT_LIMITS.max_latency_ms or 0, 0, MAX_LATENCY_MS
    )
    return Limits(errors or None, latency or None)


def thresholds_from(env: Mapping[str, str]) -> Thresholds:
    default = Thresholds()  # the one place defaults live; a test holds template.yaml to them
    under = _number(env, "UNDER_USED_PERCENT", default.under_used_percent, 1, 100)
    idle = _number(env, "IDLE_PERCENT", default.idle_percent, 0, 100)
    if idle >= under:
        raise ConfigError(f"IDLE_PERCENT={idle:g} must be below UNDER_USED_PERCENT={under:g}")
    duration = _number(env, "MIN_JOB_DURATION_SECONDS", default.min_duration_seconds, 0, 86_400)
    return Thresholds(under, idle, int(duration))


def _team_tag_key(env: Mapping[str, str]) -> str:
    return env.get("TEAM_TAG_KEY", "").strip() or "team"


def _portal(env: Mapping[str, str]) -> Portal | None:
    return Portal.of(
        env.get("ACCESS_PORTAL_URL", ""),
        env.get("ACCESS_ROLE_NAME", ""),
        env.get("MONITORING_ACCOUNT_ID", "").strip(),
    )


def _dedup_seconds(env: Mapping[str, str]) -> int:
    return int(_number(env, "DEDUP_SECONDS", 172_800, 60, 2_592_000))


@dataclass(frozen=True, slots=True)
class EnricherSettings:
    event_bus_name: str
    region: str  # metrics are readable only in this region (OAM links are regional)
    thresholds: Thresholds
    idempotency_table: str
    dead_letter_queue_url: str
    max_receives: int  # the enrichment queue's maxReceiveCount
    data_waits: int  # receives spent waiting for late datapoints before "insufficient data"
    dedup_seconds: int
    team_tag_key: str  # the one tag a report carries (tags may hold anything)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EnricherSettings:
        env = os.environ if env is None else env
        max_receives = int(_number(env, "MAX_RECEIVES", 5, 2, 100))
        data_waits = int(_number(env, "MAX_DATA_WAITS", 2, 0, 50))
        if data_waits > max_receives - 2:
            raise ConfigError(
                f"MAX_DATA_WAITS={data_waits} must leave two receives for faults "
                f"(MAX_RECEIVES={max_receives})"
            )
        return cls(
            event_bus_name=_required(env, "EVENT_BUS_NAME"),
            region=_required(env, "AWS_REGION"),
            thresholds=thresholds_from(env),
            idempotency_table=_required(env, "IDEMPOTENCY_TABLE"),
            dead_letter_queue_url=_required(env, "DEAD_LETTER_QUEUE_URL"),
            max_receives=max_receives,
            data_waits=data_waits,
            dedup_seconds=_dedup_seconds(env),
            team_tag_key=_team_tag_key(env),
        )


@dataclass(frozen=True, slots=True)
class AlerterSettings:
    topics: dict[str, str]  # rendering (email, json, chat) → the SNS topic that carries it
    idempotency_table: str
    team_tag_key: str
    dedup_seconds: int
    burst_threshold: int  # failures alerted one by one per window; 0 turns storm control off
    burst_window_seconds: int
    summary_queue_url: str
    region: str = ""
    dashboard_name: str = ""  # the dashboard every alert links to ("" for none)
    dead_letter_queue_url: str = ""  # the summarizer's: where a malformed window is parked
    portal: Portal | None = None  # links through the access portal, when one is configured
    fleet_table: str = ""  # the accounts' labels (their heartbeats), for every alert

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlerterSettings:
        env = os.environ if env is None else env
        threshold = int(_number(env, "BURST_THRESHOLD", 3, 0, 1000))
        return cls(
            topics={
                channel: _required(env, f"{channel.upper()}_TOPIC_ARN")
                for channel in ("email", "json", "chat")
            },
            idempotency_table=_required(env, "IDEMPOTENCY_TABLE"),
            team_tag_key=_team_tag_key(env),
            dedup_seconds=_dedup_seconds(env),
            burst_threshold=threshold,
            burst_window_seconds=int(_number(env, "BURST_WINDOW_SECONDS", 600, 60, 900)),
            summary_queue_url=_required(env, "SUMMARY_QUEUE_URL") if threshold else "",
            region=_required(env, "AWS_REGION"),
            dashboard_name=env.get("DASHBOARD_NAME", "").strip(),
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL", "").strip(),
            portal=_portal(env),
            fleet_table=env.get("FLEET_TABLE", "").strip(),
        )


def _accounts(env: Mapping[str, str]) -> frozenset[str]:
    raw = [a.strip() for a in env.get("WORKLOAD_ACCOUNT_IDS", "").split(",") if a.strip()]
    if bad := [a for a in raw if not (a.isdigit() and len(a) == 12)]:
        raise ConfigError(f"WORKLOAD_ACCOUNT_IDS has {bad[0]!r}, not a 12-digit account id")
    return frozenset(raw)


@dataclass(frozen=True, slots=True)
class FleetSettings:
    """The fleet function: heartbeats, inventory snapshots, watchdog, idle endpoints, refresh."""

    table: str
    topics: dict[str, str]
    idempotency_table: str
    region: str  # endpoint metrics are readable only in this Region (OAM links are Regional)
    configured_accounts: frozenset[str]  # expected to send heartbeats even if never heard
    forget_after_seconds: int  # a source silent this long is no longer expected (unless configured)
    idle_endpoint_hours: int
    dedup_seconds: int
    event_bus_name: str = ""  # refresh requests leave from this bus, through rules
    refresh_role_arn: str = ""  # the role those rules deliver to workload buses with
    refresh_rule_prefix: str = "sagewatch-refresh"
    oam_sink_arn: str = ""  # none: other accounts' endpoint metrics cannot be read here
    dashboard_name: str = ""
    team_tag_key: str = "team"
    never_heard_grace_seconds: int = 86_400  # to onboard a configured account before it pages
    idle_alerts_per_account: int = 3  # past this, one alert names an account's idle endpoints
    thresholds: Thresholds = field(default_factory=Thresholds)  # the enricher's: running jobs too
    in_flight_idle_seconds: int = 1_800  # a running job idle this long alerts
    dead_letter_queue_url: str = ""  # where unreadable job state changes are parked
    portal: Portal | None = None  # links through the access portal, when one is configured
    endpoint_health_minutes: int = HEALTH_WINDOW_MINUTES  # 0: endpoints' health is not watched
    endpoint_limits: Limits = DEFAULT_LIMITS  # the limits of endpoints without tags of their own

    @property
    def fleet_table(self) -> str:
        return self.table

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FleetSettings:
        env = os.environ if env is None else env
        return cls(
            table=_required(env, "FLEET_TABLE"),
            topics={
                channel: _required(env, f"{channel.upper()}_TOPIC_ARN")
                for channel in ("email", "json", "chat")
            },
            idempotency_table=_required(env, "IDEMPOTENCY_TABLE"),
            region=_required(env, "AWS_REGION"),
            configured_accounts=_accounts(env),
            forget_after_seconds=int(_number(env, "FORGET_SILENT_AFTER_DAYS", 7, 1, 90) * 86_400),
            idle_endpoint_hours=int(_number(env, "IDLE_ENDPOINT_HOURS", 24, 1, 336)),
            dedup_seconds=_dedup_seconds(env),
            event_bus_name=_required(env, "EVENT_BUS_NAME"),
            refresh_role_arn=_required(env, "REFRESH_ROLE_ARN"),
            refresh_rule_prefix=_required(env, "REFRESH_RULE_PREFIX"),
            oam_sink_arn=env.get("OAM_SINK_ARN", "").strip(),
            dashboard_name=env.get("DASHBOARD_NAME", "").strip(),
            team_tag_key=_team_tag_key(env),
            never_heard_grace_seconds=int(
                _number(env, "NEVER_HEARD_GRACE_HOURS", 24, 0, 720) * 3600
            ),
            idle_alerts_per_account=int(_number(env, "BURST_THRESHOLD", 3, 0, 1000)),
            thresholds=thresholds_from(env),
            in_flight_idle_seconds=int(_number(env, "IN_FLIGHT_IDLE_MINUTES", 30, 10, 720) * 60),
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL", "").strip(),
            portal=_portal(env),
            endpoint_health_minutes=int(
                _number(env, "ENDPOINT_HEALTH_MINUTES", HEALTH_WINDOW_MINUTES, 0, 60)
            ),
            endpoint_limits=_endpoint_limits(env),
        )
