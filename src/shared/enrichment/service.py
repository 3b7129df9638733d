"""Enricher logic: a batch of terminal job events → one planned GetMetricData round → per job,
once, a utilization report on the bus and an EMF record.

Every record ends in exactly one of: a report (published once per job, across retries and
duplicate deliveries), a retry (batch item failure: metrics not there yet, or a dependency
failed), or the dead-letter queue with its reason (poison, or out of retries).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.cloudwatch import MetricsReader
from shared.adapters.dynamodb import OnceTable
from shared.adapters.eventbridge import EventPublisher
from shared.adapters.sqs import DeadLetterQueue
from shared.config import EnricherSettings
from shared.contracts.report import REPORT_DETAIL_TYPE, SAGEWATCH_SOURCE, UtilizationReport
from shared.domain.events import SageMakerEvent
from shared.domain.parser import event_id_of, load_body, parse_event
from shared.domain.patterns import finished
from shared.domain.utilization import (
    NAMESPACES,
    WASTEFUL,
    Assessment,
    JobKey,
    Observed,
    Usage,
    Verdict,
    assess,
    merged,
    normalize,
    observe,
    plan,
    screen,
    supporting_metrics,
    thresholds_for,
)
from shared.domain.vocabulary import PROCESSING, TRAINING, TRANSFORM, ResourceKind
from shared.metrics import emit_job
from shared.platform.clock import Clock, system_clock
from shared.platform.errors import Fault, InvalidEvent, PublishError, error_code, fault_of
from shared.platform.idempotency import RETRYABLE, Once
from shared.platform.observability import logger
from shared.platform.router import Disposition, Router
from shared.ports import DeadLetters, EventSink, MetricsSource, OnceStore

enrichable: Router[None, SageMakerEvent] = Router("enricher", parse_event)


@enrichable.route(finished(TRAINING, PROCESSING, TRANSFORM), rule="EnrichRule")
def finished_job(event: SageMakerEvent, _: None) -> SageMakerEvent:
    return event


@dataclass
class _Job:
    event: SageMakerEvent
    records: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def receives(self) -> int:
        """How often SQS has delivered this job (the highest of its duplicate records)."""
        return max(_receive_count(record) for record in self.records)


def _receive_count(record: Mapping[str, Any]) -> int:
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        return 1


class Fate(StrEnum):
    """What became of one SQS record."""

    REPORTED = "reported"
    ALREADY_REPORTED = "already-reported"  # a duplicate delivery: its report was published
    IGNORED = "ignored"  # not a finished job (routed, then declined; or no route)
    WAITING = "waiting"  # no datapoints yet: back to the queue, read again later
    RETRIED = "retried"  # a transient failure: back to the queue
    DEAD_LETTERED = "dead-lettered"  # parked with its reason


RETRIED = (Fate.WAITING, Fate.RETRIED)  # fates that send a message back to the queue


@dataclass
class BatchResult:
    outcomes: dict[str, Fate] = field(default_factory=dict)  # by message id
    reports: list[dict[str, Any]] = field(default_factory=list)

    def mark(self, records: Sequence[Mapping[str, Any]], outcome: Fate) -> None:
        for record in records:
            self.outcomes[str(record.get("messageId"))] = outcome

    @property
    def failed_message_ids(self) -> list[str]:
        return [m for m, outcome in self.outcomes.items() if outcome in RETRIED]

    def count(self) -> dict[str, int]:
        return {fate.value: n for fate, n in Counter(self.outcomes.values()).items()}

    def response(self) -> dict[str, list[dict[str, str]]]:
        """SQS partial batch response: only these messages come back (after the visibility
        timeout, which is also the wait for late datapoints)."""
        return {"batchItemFailures": [{"itemIdentifier": m} for m in self.failed_message_ids]}


class Enricher:
    def __init__(
        self,
        settings: EnricherSettings,
        metrics: MetricsSource | None = None,
        publisher: EventSink | None = None,
        dead_letters: DeadLetters | None = None,
        emit: Callable[[UtilizationReport], None] = emit_job,
        records: OnceStore | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics: MetricsSource = metrics or MetricsReader()
        self.publisher: EventSink = publisher or EventPublisher(settings.event_bus_name)
        self.dead_letters: DeadLetters = dead_letters or DeadLetterQueue(
            settings.dead_letter_queue_url
        )
        self.emit = emit
        records = records or OnceTable(settings.idempotency_table)
        self.once = Once(records, "report", settings.dedup_seconds, clock)

    def run(self, records: Sequence[Mapping[str, Any]], lambda_context: Any = None) -> BatchResult:
        self.once.bind(lambda_context)
        result = BatchResult()
        jobs: dict[JobKey, _Job] = {}
        for record in records:
            event = self._accept(record, result)
            if event is not None:  # duplicates of one state change in a batch share one report
                jobs.setdefault(JobKey.of(event), _Job(event)).records.append(record)
        assessments: dict[JobKey, Assessment] = {}
        awaiting: set[JobKey] = set()
        by_account: dict[str, dict[JobKey, _Job]] = {}
        for key, job in jobs.items():
            by_account.setdefault(key.account, {})[key] = job
        for account_jobs in by_account.values():  # one account's failure stays its own
            try:
                measured, waiting = self._assess([job.event for job in account_jobs.values()])
            except RETRYABLE as error:
                for job in account_jobs.values():
                    self._retry_or_dead_letter(
                        job, f"reading metrics failed: {error}", error, result
                    )
                continue
            assessments |= measured
            awaiting |= waiting
        for key, job in jobs.items():
            if key not in assessments:
                continue
            if key in awaiting and job.receives <= self.settings.data_waits:
                logger.info("no datapoints yet, retried later", extra={"job": job.event.name})
                result.mark(job.records, Fate.WAITING)
                continue
            thresholds = thresholds_for(job.event, self.settings.thresholds)
            report = UtilizationReport.of(job.event, assessments[key], thresholds)
            detail = report.detail(self.settings.team_tag_key)
            try:
                with self.once.attempt(_key_text(key)) as progress:
                    if not progress.done:
                        self._publish(detail)
            except RETRYABLE as error:
                self._retry_or_dead_letter(
                    job, f"publishing the report failed: {error}", error, result
                )
                continue
            if progress.done:
                result.mark(job.records, Fate.ALREADY_REPORTED)
            else:
                result.mark(job.records, Fate.REPORTED)
                result.reports.append(detail)
        return result

    def _publish(self, detail: dict[str, Any]) -> None:
        """Done once per job: the report on the bus, then its EMF record, read from the report
        itself (what the alerter and the dashboard see)."""
        now = self._now()
        if self.publisher.put(SAGEWATCH_SOURCE, REPORT_DETAIL_TYPE, [detail], now):
            raise PublishError("PutEvents did not accept the utilization report")
        self.emit(UtilizationReport.from_detail(detail, time=now))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _accept(self, record: Mapping[str, Any], result: BatchResult) -> SageMakerEvent | None:
        raw: Any = None
        try:
            raw = load_body(record.get("body"))
            dispatch = enrichable.dispatch(raw, None)
        except InvalidEvent as error:  # parked alone: the rest of the batch goes on
            self._dead_letter(record, event_id_of(raw), f"invalid event: {error}", error, result)
            return None
        if dispatch.disposition is not Disposition.HANDLED:
            result.mark([record], Fate.IGNORED)
            return None
        return dispatch.result

    def _retry_or_dead_letter(
        self, job: _Job, reason: str, error: Exception, result: BatchResult
    ) -> None:
        """Retried while SQS will deliver again; on the last delivery, parked with the reason. A
        failure no retry can fix (a permission, a key, a parameter) is parked at once."""
        permanent = fault_of(error) is Fault.PERMANENT
        if permanent:
            reason = f"{reason} (not retried: {error_code(error)} needs a fix, then a redrive)"
        for record in job.records:
            if permanent or _receive_count(record) >= self.settings.max_receives:
                self._dead_letter(record, job.event.event_id, reason, error, result)
            else:
                logger.warning(
                    "job retried",
                    extra={"job": job.event.name, "message_id": record.get("messageId"),
                           "reason": reason},
                )  # fmt: skip
                result.mark([record], Fate.RETRIED)

    def _dead_letter(
        self,
        record: Mapping[str, Any],
        event_id: str | None,
        reason: str,
        error: Exception,
        result: BatchResult,
    ) -> None:
        message_id = str(record.get("messageId"))
        logger.error(
            "event dead-lettered",
            extra={"message_id": message_id, "event_id": event_id, "reason": reason},
        )
        try:
            self.dead_letters.send(str(record.get("body")), reason, event_id, type(error).__name__)
            result.mark([record], Fate.DEAD_LETTERED)
        except (BotoCoreError, ClientError):
            # Could not park it: let SQS keep it (its redrive policy is the backstop).
            result.mark([record], Fate.RETRIED)

    def _assess(
        self, jobs: Sequence[SageMakerEvent]
    ) -> tuple[dict[JobKey, Assessment], set[JobKey]]:
        """Verdicts, and the jobs that could be measured but have no datapoints yet."""
        thresholds, region = self.settings.thresholds, self.settings.region
        elsewhere = {
            JobKey.of(job): f"ran in {job.region}; metrics are read in {region} only"
            for job in jobs
            if job.region != region
        }
        local = [job for job in jobs if JobKey.of(job) not in elsewhere]
        hosts = self._transform_hosts(local)
        the_plan = plan(local, thresholds, self._now(), hosts)
        fetched = self.metrics.fetch(the_plan.calls)
        observed = observe(fetched.series)
        skipped = elsewhere | {skip.job: skip.reason for skip in the_plan.skipped}
        skipped |= {
            key: f"account {key.account} does not share its metrics here (no OAM link?)"
            for key in fetched.forbidden
        }
        assessments: dict[JobKey, Assessment] = {}
        awaiting: set[JobKey] = set()
        for job in jobs:
            key = JobKey.of(job)
            if key in skipped:
                assessments[key] = Assessment(Verdict.INSUFFICIENT_DATA, Usage(), (skipped[key],))
                continue
            seen = observed.get(key, Observed())
            if seen.datapoints == 0:
                awaiting.add(key)
            assessments[key] = assess(job, normalize(job, seen), thresholds_for(job, thresholds))
        wasteful = [j for j in local if assessments[JobKey.of(j)].verdict in WASTEFUL]
        for job, usage in self._context(wasteful, observed, hosts).items():
            assessments[JobKey.of(job)] = assess(job, usage, thresholds_for(job, thresholds))
        return assessments, awaiting

    def _context(
        self,
        jobs: Sequence[SageMakerEvent],
        observed: Mapping[JobKey, Observed],
        hosts: Mapping[JobKey, Sequence[str]],
    ) -> dict[SageMakerEvent, Usage]:
        """A second round for wasteful jobs only: the metrics their alert shows beside the ones
        that decided (memory, disk, GPU memory). The verdict stands without them: if this round
        fails, the alert goes out with less context rather than later."""
        more = plan(jobs, self.settings.thresholds, self._now(), hosts, supporting_metrics)
        if not more.calls:
            return {}
        try:
            extra = observe(self.metrics.fetch(more.calls).series)
        except RETRYABLE as error:
            logger.warning("context metrics unread", extra={"reason": str(error)[:300]})
            return {}
        usage = {}
        for job in jobs:
            key = JobKey.of(job)
            both = merged(observed.get(key, Observed()), extra.get(key, Observed()))
            usage[job] = normalize(job, both)
        return usage

    def _transform_hosts(self, jobs: Sequence[SageMakerEvent]) -> dict[JobKey, list[str]]:
        """Transform hosts are `<job>/<instance-id>`: one ListMetrics per account finds them."""
        by_account: dict[str, list[SageMakerEvent]] = {}
        for job in jobs:
            if job.kind is ResourceKind.TRANSFORM and screen(job, self.settings.thresholds) is None:
                by_account.setdefault(job.account, []).append(job)
        found: dict[JobKey, list[str]] = {}
        namespace = NAMESPACES[ResourceKind.TRANSFORM]
        for account, account_jobs in by_account.items():
            hosts = self.metrics.hosts(account, namespace, [job.name for job in account_jobs])
            for job in account_jobs:
                found[JobKey.of(job)] = hosts.get(job.name, [])
        return found


def _key_text(key: JobKey) -> str:
    return "|".join((key.account, key.region, key.kind.value, key.name))
