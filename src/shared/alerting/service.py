"""Alerter logic: which events alert, each incident published once, and storm control.

Duplicates of one state change arrive under different event ids, so the do-once key is the
incident (account, region, resource, what happened): one DynamoDB record per incident
(`platform.idempotency.Once`). Deciding (and counting in a storm window) is done once per
incident, and so is publishing to each topic: a retry after a partly failed delivery sends only
what is missing.
Storm control: per account, Region and job type, the first `burst_threshold` failures of a
window alert one by one; the rest are recorded and summarized in one alert when the window ends.
A summary is never dropped: the window's record outlives every message that can ask for its
summary, and a message that outlives it still alerts with what it carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from shared.adapters.dynamodb import BurstLedger
from shared.adapters.sqs import DeadLetterQueue, SummaryQueue, park
from shared.alerting.alerts import (
    LIST_LIMIT,
    Alert,
    AlertKind,
    JobSays,
    automation_alert,
    burst_alert,
    failure_alert,
    refused_call_alert,
    rollback_alert,
    utilization_alert,
    violations_alert,
    waste_follow_up,
)
from shared.alerting.clusters import cluster_alert, cluster_error_alert, node_alert, troubled
from shared.alerting.delivery import AlertOutcome, Delivery
from shared.config import AlerterSettings
from shared.contracts.report import (
    REPORT_DETAIL_TYPE,
    SAGEWATCH_SOURCE,
    UtilizationReport,
)
from shared.contracts.storm_window import StormWindow
from shared.domain.automation import (
    BUILDS_FAILED,
    EXECUTIONS_FAILED,
    PIPELINES_FAILED,
    AutomationRun,
)
from shared.domain.events import SageMakerEvent
from shared.domain.parser import check_depth, event_id_of, parse_event
from shared.domain.patterns import (
    ClusterError,
    ClusterState,
    MonitorViolations,
    NodeUnhealthy,
    RollingBack,
    failed,
    hyperpod_news,
    refused_calls,
)
from shared.domain.utilization import WASTEFUL
from shared.domain.vocabulary import (
    ENDPOINT,
    FEATURE_GROUP,
    HUMAN_LOOP,
    HYPERPOD_CLUSTER,
    HYPERPOD_EVENT,
    HYPERPOD_NODE_HEALTH,
    IMAGE,
    IMAGE_VERSION,
    LABELING_JOB,
    MONITORING_SCHEDULE,
    NOTEBOOK,
    PIPELINE_EXECUTION,
    PIPELINE_STEP,
    PROCESSING,
    SAGEMAKER_SOURCE,
    TRACKING_SERVER_FAILURES,
    TRAINING,
    TRANSFORM,
    TUNING,
)
from shared.metrics import emit_alert
from shared.platform.clock import Clock, system_clock
from shared.platform.errors import Fault, InvalidEvent, error_code, fault_of
from shared.platform.idempotency import RETRYABLE, Progress
from shared.platform.matching import Match, OneOf
from shared.platform.observability import logger
from shared.platform.router import Disposition, Router
from shared.ports import (
    AccountLabels,
    AlertChannel,
    DeadLetters,
    OnceStore,
    StormLedger,
    SummaryScheduler,
)

# The summary dead-letter queue's MessageRetentionPeriod (template.yaml; a test checks the two).
# A window's record is kept at least this long after the window, so any summary message still
# held, even redriven from that queue on its last day, finds the window's jobs and its mark.
SUMMARY_RETENTION_SECONDS = 14 * 86_400

alertable: Router[AlerterSettings, Alert] = Router("alerter", parse_event)
# Their failures alert as failures of low severity (`alerts.LOW_STAKES`).
LOW_STAKES_FAMILIES = (
    NOTEBOOK, FEATURE_GROUP, IMAGE, IMAGE_VERSION, LABELING_JOB, HUMAN_LOOP, MONITORING_SCHEDULE
)  # fmt: skip
FAILURES = "AlerterFunctionFailures"
# In a held-back incident's progress: the storm window whose summary names it, until scheduled.
SUMMARY, SCHEDULED = "summary", "scheduled"


# A tuning job's children are ordinary training events carrying TuningJobArn: the tuning job
# alerts once for all of them.
@alertable.route(failed(TRAINING), rule=FAILURES, when=lambda e: not e.is_tuning_child)
@alertable.route(failed(TRANSFORM, TUNING, PIPELINE_EXECUTION, PIPELINE_STEP), rule=FAILURES)
@alertable.route(failed(*LOW_STAKES_FAMILIES), rule=FAILURES)
def failure(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    return failure_alert(event, settings.team_tag_key)


@alertable.route(
    Match(SAGEMAKER_SOURCE, TRACKING_SERVER_FAILURES), rule="AlerterFunctionTrackingServers"
)
def tracking_server(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    """An MLflow tracking server operation failed: the detail-type itself says so."""
    return failure(event, settings)


@alertable.route(failed(ENDPOINT).also(RollingBack()), rule=FAILURES)
def endpoint(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    """Endpoints fail like jobs; an update SageMaker rolls back is a deployment that failed."""
    if RollingBack()(event):
        return rollback_alert(event, settings.team_tag_key)
    return failure(event, settings)


@alertable.route(failed(PROCESSING).also(MonitorViolations()), rule=FAILURES)
def processed(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    """Processing jobs fail like any job; Model Monitor executions also find violations."""
    if event.has_monitor_violations:
        return violations_alert(event, settings.team_tag_key)
    return failure(event, settings)


@alertable.route(refused_calls(), rule=FAILURES)
def refused(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    """A job, endpoint or execution that never started: CloudTrail is the only witness."""
    return refused_call_alert(event)


@alertable.route(
    hyperpod_news(HYPERPOD_CLUSTER.detail_type, ClusterState()), rule=FAILURES, when=troubled
)
def cluster(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    """A HyperPod cluster failed, rolls back an update, or runs short of instances."""
    return cluster_alert(event, settings.team_tag_key)


@alertable.route(hyperpod_news(HYPERPOD_NODE_HEALTH, NodeUnhealthy()), rule=FAILURES)
def node(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    """A HyperPod node failed its health checks; its jobs stop until it is repaired."""
    return node_alert(event, settings.team_tag_key)


@alertable.route(hyperpod_news(HYPERPOD_EVENT, ClusterError()), rule=FAILURES)
def cluster_error(event: SageMakerEvent, settings: AlerterSettings) -> Alert:
    """An operation on a HyperPod cluster, instance group or instance failed."""
    return cluster_error_alert(event, settings.team_tag_key)


@alertable.route(EXECUTIONS_FAILED, rule="AlerterFunctionStepFunctions", parse=AutomationRun.parse)
@alertable.route(PIPELINES_FAILED, rule="AlerterFunctionCodePipeline", parse=AutomationRun.parse)
@alertable.route(BUILDS_FAILED, rule="AlerterFunctionCodeBuild", parse=AutomationRun.parse)
def automation(run: AutomationRun, settings: AlerterSettings) -> Alert:
    """The ML platform's automation outside SageMaker: an execution or build that failed."""
    return automation_alert(run)


@alertable.route(
    Match(
        SAGEWATCH_SOURCE,
        (REPORT_DETAIL_TYPE,),
        (OneOf("verdict", WASTEFUL, lambda r: r.verdict),),
        # Only this account's enricher: a workload account may put events on the bus, and must
        # not be able to forge reports about others' jobs.
        own_account=True,
    ),
    rule="AlerterFunctionUtilization",
    parse=UtilizationReport.parse,
    when=lambda r: not r.job.is_tuning_child,
)
def wasted(report: UtilizationReport, settings: AlerterSettings) -> Alert:
    """A failed job already alerted: its waste is an update of that incident, not a new one."""
    if report.job.is_failure:
        return waste_follow_up(report, settings.team_tag_key)
    return utilization_alert(report, settings.team_tag_key)


class Alerter:
    def __init__(
        self,
        settings: AlerterSettings,
        publishers: Mapping[str, AlertChannel] | None = None,  # per rendering (tests)
        ledger: StormLedger | None = None,
        summaries: SummaryScheduler | None = None,
        clock: Clock = system_clock,
        records: OnceStore | None = None,
        labels: AccountLabels | None = None,
    ) -> None:
        self.settings = settings
        self.deliver = Delivery(settings, publishers, records, clock, labels)
        self.ledger: StormLedger = ledger or BurstLedger(settings.idempotency_table)
        self.summaries: SummaryScheduler = summaries or SummaryQueue(settings.summary_queue_url)
        self.clock = clock

    def handle(self, raw: Any, lambda_context: Any = None) -> dict[str, Any]:
        """`InvalidEvent` propagates: Lambda retries, then the on-failure destination keeps it.
        So does any other error (store, SNS): retried, never dropped, never sent twice."""
        self.deliver.once.bind(lambda_context)
        try:
            dispatch = alertable.dispatch(check_depth(raw), self.settings)
        except InvalidEvent as error:
            logger.error("poison event", extra={"event_id": event_id_of(raw), "reason": str(error)})
            raise
        if dispatch.disposition is not Disposition.HANDLED or dispatch.result is None:
            return {"outcome": dispatch.disposition.value}
        says = JobSays.of(_tags_of(dispatch.model))
        if says.silenced:  # still archived, and on the dashboard
            logger.info(
                "alert silenced by its job's tag", extra={"incident": dispatch.result.incident}
            )
            return {"outcome": "silenced", "incident": dispatch.result.incident}
        alert = says.applied(dispatch.result)
        delivered = self.deliver(
            alert, lambda progress: self._decide(alert, progress), self._schedule
        )
        if delivered.outcome is AlertOutcome.ALERTED:
            emit_alert(alert)
        result: dict[str, Any] = {"outcome": delivered.outcome, "incident": alert.incident}
        if delivered.message_ids:
            result["message_ids"] = dict(delivered.message_ids)
        logger.info(f"alert {delivered.outcome}", extra={"incident": alert.incident})
        return result

    def _decide(self, alert: Alert, progress: Progress) -> AlertOutcome:
        """Done once per incident: a failure is counted in its storm-control window, then
        alerted or held back for the window's summary. An alert with a window of its own (a
        HyperPod cluster's) is the only one of its window sent alone."""
        seconds = self.settings.burst_window_seconds
        if not self.settings.burst_threshold:
            return AlertOutcome.ALERTED
        start = int(self.clock()) // seconds * seconds
        kept = max(self.settings.dedup_seconds, SUMMARY_RETENTION_SECONDS)
        if alert.follows:  # updates of failures, bounded like them, without a summary of their own
            bucket = f"updates|{alert.account}|{alert.region}|{alert.resource.value}|{start}"
            count, _ = self.ledger.add(bucket, alert.incident, alert.name, start + seconds + kept)
            if count > self.settings.burst_threshold:
                return AlertOutcome.SUPPRESSED  # the dashboard's waste table still lists it
            return AlertOutcome.ALERTED
        scope, listed = alert.storm or ("", alert.name)
        if not scope and alert.kind is not AlertKind.FAILURE:
            return AlertOutcome.ALERTED
        window = StormWindow.of(
            alert.account, alert.region, alert.resource, start, seconds, scope, alert.kind
        )
        threshold = _sent_alone(window, self.settings)
        expires = window.window_start + 2 * window.window_seconds + kept
        count, summarized = self.ledger.add(window.bucket, alert.incident, listed, expires)
        if count > threshold and not summarized:
            # Every time (the summary itself is sent once), by `_schedule` once this decision is
            # noted: a retry after the scheduling failed schedules it without deciding again.
            progress.sent[SUMMARY] = json.dumps(replace(window, failures=count).message())
            return AlertOutcome.SUPPRESSED
        return AlertOutcome.ALERTED

    def _schedule(self, progress: Progress) -> None:
        """The summary of the window that holds this alert back, unless already scheduled."""
        window = progress.sent.get(SUMMARY)
        if window and window != SCHEDULED:
            self.summaries.schedule(StormWindow.parse(window))
            progress.sent[SUMMARY] = SCHEDULED


class Summarizer:
    """Wakes when a burst window has closed; sends one summary alert per window."""

    def __init__(
        self,
        settings: AlerterSettings,
        publishers: Mapping[str, AlertChannel] | None = None,
        ledger: StormLedger | None = None,
        records: OnceStore | None = None,
        dead_letters: DeadLetters | None = None,
        clock: Clock = system_clock,
        labels: AccountLabels | None = None,
    ) -> None:
        self.settings = settings
        # A summary's record outlives its window's (a message redriven from the summary
        # dead-letter queue on its last day finds what it already sent, to which topics).
        kept = max(settings.dedup_seconds, SUMMARY_RETENTION_SECONDS)
        kept += 2 * settings.burst_window_seconds
        self.deliver = Delivery(settings, publishers, records, clock, labels, kept)
        self.ledger: StormLedger = ledger or BurstLedger(settings.idempotency_table)
        # The summary queue's own dead-letter queue; without one (tests), a malformed message is
        # left to the queue's redrive policy.
        url = settings.dead_letter_queue_url
        self.dead_letters: DeadLetters | None = dead_letters or (
            DeadLetterQueue(url) if url else None
        )

    def run(self, records: Sequence[Mapping[str, Any]], lambda_context: Any = None) -> list[str]:
        """Message ids to retry (SQS partial batch response)."""
        self.deliver.once.bind(lambda_context)
        failed = []
        for record in records:
            try:
                self._summarize(StormWindow.parse(record.get("body")))
            except InvalidEvent as error:  # parked alone: the rest of the batch goes on
                if not self._park(record, f"invalid storm window: {error}", error):
                    failed.append(str(record.get("messageId")))
            except RETRYABLE as error:
                if fault_of(error) is Fault.PERMANENT:  # a setting to fix: retries only wait
                    reason = f"summary failed: {error} (not retried: {error_code(error)} needs a"
                    if self._park(record, f"{reason} fix, then a redrive)", error):
                        continue
                logger.warning("summary retried", extra={"reason": str(error)})
                failed.append(str(record.get("messageId")))
        return failed

    def _park(self, record: Mapping[str, Any], reason: str, error: Exception) -> bool:
        """A message that cannot be summarized as it is, in the dead-letter queue with its
        reason; False if it could not be parked (then the queue's redrive policy parks it)."""
        logger.error(
            "summary message dead-lettered",
            extra={"message_id": record.get("messageId"), "reason": reason},
        )
        return park(self.dead_letters, record, reason, error)

    def _summarize(self, window: StormWindow) -> None:
        # Read and marked in one write: failures counted later alert one by one. The summary,
        # retried if publishing fails, is still sent once per topic.
        recorded = self.ledger.summarize(window.bucket)
        threshold = _sent_alone(window, self.settings)
        count, names = recorded or (max(window.failures, threshold + 1), [])
        alert = _summary_alert(window, count, names, threshold, expired=recorded is None)
        if self.deliver(alert).outcome is AlertOutcome.ALERTED:
            emit_alert(alert)
            logger.info(
                "burst summarized",
                extra={"incident": alert.incident, "jobs": count, "expired": recorded is None},
            )


def _tags_of(model: Any) -> tuple[tuple[str, str], ...]:
    """The tags of the job an alert is about (a report carries sagewatch's own)."""
    job = model.job if isinstance(model, UtilizationReport) else model
    return job.tags if isinstance(job, SageMakerEvent) else ()


def _sent_alone(window: StormWindow, settings: AlerterSettings) -> int:
    """How many incidents of a window alert one by one: of a scope's (one cluster's), the first."""
    return 1 if window.scope else settings.burst_threshold


def _summary_alert(
    window: StormWindow, count: int, names: list[str], threshold: int, expired: bool
) -> Alert:
    """`burst_alert` for `count` failures of which the ledger lists only `names` (none once
    expired). It counts the names it is given: so it gets them padded to the count, and lists
    only the real ones ("and N more" counts the rest)."""
    padded = names + [""] * max(count - len(names), 0)
    alert = burst_alert(window, padded, threshold, min(LIST_LIMIT, len(names)))
    if not expired:
        return alert
    listed = "problems" if window.scope else "jobs"
    what = "problems" if window.scope else "failed"
    note = f"at least {count} {what}; their names expired with the window's record"
    return replace(alert, context=tuple((k, note if k == listed else v) for k, v in alert.context))


__all__ = ["AlertOutcome", "Alerter", "Summarizer", "alertable"]
