"""Publishing an alert: one SNS topic per rendering, once per incident."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from shared.adapters.dynamodb import FleetTable, OnceTable
from shared.adapters.sns import AlertPublisher
from shared.alerting.alerts import Alert
from shared.alerting.labels import CachedLabels
from shared.alerting.render import Rendered, dashboard_link, render
from shared.contracts.labels import owned
from shared.domain.portal import Portal
from shared.domain.vocabulary import ResourceKind
from shared.platform.clock import Clock, system_clock
from shared.platform.idempotency import RETRYABLE, Once, Progress
from shared.platform.observability import logger
from shared.ports import AccountLabels, AlertChannel, OnceStore


class AlertOutcome(StrEnum):
    """What became of an alert."""

    ALERTED = "alerted"
    SUPPRESSED = "suppressed"  # counted in a storm window: the window's summary will name it
    DUPLICATE = "duplicate"  # this incident was decided (or delivered) before


@dataclass(frozen=True)
class Delivered:
    outcome: AlertOutcome
    message_ids: Mapping[str, str]  # per rendering, sent now or before


class DeliverySettings(Protocol):
    """What publishing needs (the alerter's and the fleet function's settings both have it)."""

    @property
    def topics(self) -> Mapping[str, str]: ...  # rendering (email, json, chat) → topic ARN
    @property
    def idempotency_table(self) -> str: ...
    @property
    def dedup_seconds(self) -> int: ...
    @property
    def region(self) -> str: ...
    @property
    def dashboard_name(self) -> str: ...
    @property
    def portal(self) -> Portal | None: ...
    @property
    def fleet_table(self) -> str: ...  # where the accounts' labels are ("" for none)


class Delivery:
    """Publishes an alert to one topic per rendering, each at most once per incident.

    One topic per rendering, not one topic with per-protocol bodies: SNS sends message attributes
    only with String-structured messages, and Amazon Q Developer subscribes over HTTPS, where
    machines want the JSON document. So every topic gets a plain message and the same attributes,
    and subscription filter policies work the same on all three."""

    def __init__(
        self,
        settings: DeliverySettings,
        publishers: Mapping[str, AlertChannel] | None = None,
        records: OnceStore | None = None,
        clock: Clock = system_clock,
        labels: AccountLabels | None = None,
        kept_seconds: int | None = None,
    ) -> None:
        """`kept_seconds`: how long an incident's record (what it sent, to which topics) is kept;
        the dedup setting's by default."""
        if labels is None and settings.fleet_table:
            labels = FleetTable(settings.fleet_table)
        self.labels = CachedLabels(labels, clock) if labels else None
        self.dashboard_url = (
            dashboard_link(settings.region, settings.dashboard_name)
            if settings.dashboard_name
            else None
        )
        self.portal = settings.portal
        self.publishers: dict[str, AlertChannel] = dict(publishers or {}) or {
            channel: AlertPublisher(arn) for channel, arn in settings.topics.items()
        }
        self.once = Once(
            records or OnceTable(settings.idempotency_table),
            "alert",
            settings.dedup_seconds if kept_seconds is None else kept_seconds,
            clock,
        )

    def __call__(
        self,
        alert: Alert,
        decide: Callable[[Progress], AlertOutcome] = lambda _: AlertOutcome.ALERTED,
        held: Callable[[Progress], None] = lambda _: None,
    ) -> Delivered:
        """Once per incident: `decide` whether it alerts (storm control), then publish; `held`
        follows up one it holds back (its summary scheduled), from what `decide` noted in the
        progress. A retry after a partly failed delivery publishes only to the topics still
        missing, or follows up again: the decision is never made twice."""
        with self.once.attempt(alert.incident) as progress:
            if progress.done:
                return Delivered(AlertOutcome.DUPLICATE, self._published(progress))
            if progress.outcome is None:
                progress.outcome = decide(progress)
            if progress.outcome != AlertOutcome.ALERTED:
                held(progress)  # if it fails, the record keeps the decision for the retry
                return Delivered(AlertOutcome(progress.outcome), {})
            missing = [channel for channel in self.publishers if channel not in progress.sent]
            if missing:
                rendered = render(self.labelled(alert), self.dashboard_url, self.portal)
                for channel in missing:
                    progress.sent[channel] = self.publishers[channel].publish(
                        rendered.subject, _message(rendered, channel), rendered.attributes
                    )
            fresh = AlertOutcome.ALERTED if missing else AlertOutcome.DUPLICATE
            return Delivered(fresh, self._published(progress))

    def _published(self, progress: Progress) -> dict[str, str]:
        """Each topic's message id (the progress also holds what `decide` noted)."""
        return {key: sent for key, sent in progress.sent.items() if key in self.publishers}

    def labelled(self, alert: Alert) -> Alert:
        """The alert with its account's Project, Environment (which set its severity) and
        name, and the team its snapshots say owns the endpoint or pipeline (if it has none)."""
        if self.labels is None or alert.project or alert.environment or alert.account_name:
            return alert
        try:
            found = self.labels.labels(alert.account, alert.region)
        except RETRYABLE as error:  # an alert without its labels, rather than none
            logger.warning("account labels unread", extra={"reason": str(error)[:300]})
            return alert
        if found is None:
            return alert
        return replace(
            alert,
            project=found.project,
            environment=found.environment,
            account_name=found.account_name,
            team=alert.team or self._owner(alert),
        )

    def _owner(self, alert: Alert) -> str | None:
        """The team the account's inventory names for the endpoint, pipeline, state machine,
        CodePipeline pipeline or CodeBuild project, if any."""
        kind = _OWNED.get(alert.resource)
        if kind is None or self.labels is None:
            return None
        try:
            return self.labels.teams(alert.account, alert.region).get(owned(kind, alert.name))
        except RETRYABLE as error:  # an alert without its team, rather than none
            logger.warning("owning teams unread", extra={"reason": str(error)[:300]})
            return None


# Alerts about resources whose team the account's inventory snapshots name (`labels.OWNED_KINDS`).
_OWNED = {
    ResourceKind.ENDPOINT: "endpoint",
    ResourceKind.PIPELINE_EXECUTION: "pipeline",
    ResourceKind.PIPELINE_STEP: "pipeline",
    ResourceKind.STATE_MACHINE_EXECUTION: "state-machine",
    ResourceKind.CODEPIPELINE_EXECUTION: "codepipeline",
    ResourceKind.CODEBUILD_BUILD: "codebuild",
}


def _message(rendered: Rendered, channel: str) -> str:
    if channel == "json":
        return rendered.document_message
    if channel == "chat":
        return rendered.chat_message
    return rendered.text
