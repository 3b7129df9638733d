"""Alerter logic: which events alert, each incident published once, and storm control.

Duplicates of one state change arrive under different event ids, so the idempotency key is the
incident (account, region, resource, what happened), kept in DynamoDB by Powertools. Deciding
(and counting in a storm window) is done once per incident; publishing is done once per incident
and topic, so a retry after a partly failed delivery sends only what is missing.
Storm control: per account, Region and job type, the first `burst_threshold` failures of a
window alert one by one; the rest are recorded and summarized in one alert when the window ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

from shared.alerts import (
    Alert,
    AlertKind,
    burst_alert,
    failure_alert,
    utilization_alert,
    violations_alert,
)
from shared.aws import AlertPublisher, BurstLedger, SummaryQueue
from shared.config import AlerterSettings
from shared.delivery import Delivery
from shared.emf import emit_alert
from shared.errors import InvalidEvent
from shared.idempotency import RETRYABLE, Once
from shared.models import Outcome, SageMakerEvent
from shared.observability import logger
from shared.parser import (
    ENDPOINT,
    PIPELINE_EXECUTION,
    PIPELINE_STEP,
    PROCESSING,
    SAGEMAKER_SOURCE,
    TRAINING,
    TRANSFORM,
    TUNING,
)
from shared.reports import REPORT_DETAIL_TYPE, SAGEWATCH_SOURCE, UtilizationReport, parse_report
from shared.router import Disposition, Router
from shared.utilization import Verdict

AlertBuilder = Callable[[AlerterSettings], Alert]
alertable: Router[AlertBuilder] = Router("alerter")


# A tuning job's children are ordinary training events carrying TuningJobArn: the tuning job
# alerts once for all of them.
@alertable.route(SAGEMAKER_SOURCE, TRAINING, when=lambda e: e.is_failure and not e.is_tuning_child)
@alertable.route(SAGEMAKER_SOURCE, [TRANSFORM, TUNING], when=lambda e: e.is_failure)
@alertable.route(
    SAGEMAKER_SOURCE,
    [PIPELINE_EXECUTION, PIPELINE_STEP, ENDPOINT],
    when=lambda e: e.outcome is Outcome.FAILED,
)
def failed(event: SageMakerEvent) -> AlertBuilder:
    return lambda settings: failure_alert(event, settings.team_tag_key)


@alertable.route(
    SAGEMAKER_SOURCE, PROCESSING, when=lambda e: e.is_failure or e.has_monitor_violations
)
def processed(event: SageMakerEvent) -> AlertBuilder:
    """Processing jobs fail like any job; Model Monitor executions also find violations."""
    if event.has_monitor_violations:
        return lambda settings: violations_alert(event, settings.team_tag_key)
    return failed(event)


@alertable.route(
    SAGEWATCH_SOURCE,
    REPORT_DETAIL_TYPE,
    parse=parse_report,
    # A failed job already alerted as a failure; its idle hardware is not a second incident.
    when=lambda r: (
        r.verdict in (Verdict.UNDER_USED, Verdict.IDLE)
        and not r.job.is_tuning_child
        and not r.job.is_failure
    ),
)
def wasted(report: UtilizationReport) -> AlertBuilder:
    return lambda settings: utilization_alert(report, settings.team_tag_key)


class Alerter:
    def __init__(
        self,
        settings: AlerterSettings,
        publishers: Mapping[str, AlertPublisher] | None = None,  # per rendering (tests)
        ledger: BurstLedger | None = None,
        summaries: SummaryQueue | None = None,
        clock: Callable[[], float] = time.time,
        store: BasePersistenceLayer | None = None,
    ) -> None:
        self.settings = settings
        self.deliver = Delivery(settings, publishers, store)
        self.ledger = ledger or BurstLedger(settings.idempotency_table)
        self.summaries = summaries or SummaryQueue(settings.summary_queue_url)
        self.clock = clock
        self.decide = Once(
            self._decide,
            key="incident",
            table=settings.idempotency_table,
            expires_after_seconds=settings.dedup_seconds,
            store=store,
        )

    def handle(self, raw: Any, lambda_context: Any = None) -> dict[str, Any]:
        """`InvalidEvent` propagates: Lambda retries, then the on-failure destination keeps it.
        So does any other error (store, SNS): retried, never dropped, never sent twice."""
        self.decide.bind(lambda_context)
        self.deliver.once.bind(lambda_context)
        try:
            dispatch = alertable.dispatch(raw)
        except InvalidEvent as error:
            event_id = raw.get("id") if isinstance(raw, Mapping) else None
            logger.error("poison event", extra={"event_id": event_id, "reason": str(error)})
            raise
        if dispatch.disposition is not Disposition.HANDLED or dispatch.result is None:
            return {"outcome": dispatch.disposition.value}
        alert = dispatch.result(self.settings)
        decision = self.decide(
            {"incident": alert.incident, "name": alert.name, "burst": self._burst(alert)}
        )
        result: dict[str, Any] = {"outcome": decision["outcome"], "incident": alert.incident}
        if decision["outcome"] == "alerted":
            delivered = self.deliver(alert)
            result["message_ids"] = delivered["message_ids"]
            if delivered["fresh"]:
                emit_alert(alert)
            else:
                result["outcome"] = "duplicate"
        elif decision.get("duplicate"):
            result["outcome"] = "duplicate"
        logger.info(f"alert {result['outcome']}", extra={"incident": alert.incident})
        return result

    def _burst(self, alert: Alert) -> dict[str, Any] | None:
        """The storm-control window this failure falls in (None: not counted)."""
        window = self.settings.burst_window_seconds
        if alert.kind is not AlertKind.FAILURE or not self.settings.burst_threshold:
            return None
        start = int(self.clock()) // window * window
        bucket = f"burst|{alert.account}|{alert.region}|{alert.resource.value}|{start}"
        return {
            "bucket": bucket,
            "account": alert.account,
            "region": alert.region,
            "resource": alert.resource.value,
            "window_start": start,
            "window_seconds": window,
        }

    def _decide(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Done once per incident: counted in its burst window, then alerted or held back."""
        burst = payload["burst"]
        if burst is not None:
            expires = (
                burst["window_start"] + 2 * burst["window_seconds"] + self.settings.dedup_seconds
            )
            count, summarized = self.ledger.add(
                burst["bucket"], payload["incident"], payload["name"], expires
            )
            if count > self.settings.burst_threshold and not summarized:
                self.summaries.schedule(burst)  # every time: the summary itself is sent once
                return {"outcome": "suppressed", "burst": burst["bucket"]}
        return {"outcome": "alerted"}


class Summarizer:
    """Wakes when a burst window has closed; sends one summary alert per window."""

    def __init__(
        self,
        settings: AlerterSettings,
        publishers: Mapping[str, AlertPublisher] | None = None,
        ledger: BurstLedger | None = None,
        store: BasePersistenceLayer | None = None,
    ) -> None:
        self.settings = settings
        self.deliver = Delivery(settings, publishers, store)
        self.ledger = ledger or BurstLedger(settings.idempotency_table)

    def run(self, records: Sequence[Mapping[str, Any]], lambda_context: Any = None) -> list[str]:
        """Message ids to retry (SQS partial batch response)."""
        self.deliver.once.bind(lambda_context)
        failed = []
        for record in records:
            try:
                self._summarize(json.loads(str(record.get("body"))))
            except RETRYABLE as error:
                logger.warning("summary retried", extra={"reason": str(error)})
                failed.append(str(record.get("messageId")))
        return failed

    def _summarize(self, burst: dict[str, Any]) -> None:
        window = self.ledger.get(str(burst["bucket"]))
        if window is None:  # expired: its summary went out long ago
            return
        names, _ = window
        alert = burst_alert(burst, names, self.settings.burst_threshold)
        # Marked first: later failures of the window alert one by one; the summary, retried if
        # publishing fails, is still sent once per topic.
        self.ledger.mark_summarized(alert.incident)
        if self.deliver(alert)["fresh"]:
            emit_alert(alert)
            logger.info("burst summarized", extra={"incident": alert.incident, "jobs": len(names)})


__all__ = ["Alerter", "Summarizer", "alertable"]
