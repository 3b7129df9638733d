"""Enricher logic: a batch of terminal job events → one planned GetMetricData round → per job a
utilization report on the bus and an EMF record."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.aws import EventPublisher, MetricsReader
from shared.config import EnricherSettings
from shared.emf import emit_job
from shared.errors import InvalidEvent
from shared.models import ResourceKind, SageMakerEvent
from shared.observability import logger
from shared.parser import PROCESSING, SAGEMAKER_SOURCE, TRAINING, TRANSFORM
from shared.reports import REPORT_DETAIL_TYPE, SAGEWATCH_SOURCE, report_detail
from shared.router import Disposition, Router
from shared.utilization import (
    NAMESPACES,
    Assessment,
    JobKey,
    Observed,
    Usage,
    Verdict,
    assess,
    normalize,
    observe,
    plan,
)

enrichable: Router[SageMakerEvent] = Router("enricher")


@enrichable.route(SAGEMAKER_SOURCE, [TRAINING, PROCESSING, TRANSFORM], when=lambda e: e.is_terminal)
def finished_job(event: SageMakerEvent) -> SageMakerEvent:
    return event


@dataclass
class BatchResult:
    failed_message_ids: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    ignored: int = 0

    def response(self) -> dict[str, list[dict[str, str]]]:
        """SQS partial batch response: only these messages are retried (then dead-lettered)."""
        return {"batchItemFailures": [{"itemIdentifier": m} for m in self.failed_message_ids]}


class Enricher:
    def __init__(
        self,
        settings: EnricherSettings,
        metrics: MetricsReader | None = None,
        publisher: EventPublisher | None = None,
        emit: Callable[[SageMakerEvent, Assessment], None] = emit_job,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or MetricsReader()
        self.publisher = publisher or EventPublisher(settings.event_bus_name)
        self.emit = emit

    def run(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        result = BatchResult()
        jobs: dict[JobKey, tuple[SageMakerEvent, list[str]]] = {}
        for record in records:
            message_id = str(record.get("messageId"))
            job = self._accept(record, message_id, result)
            if job is not None:  # duplicates of one state change in a batch share one report
                jobs.setdefault(JobKey.of(job), (job, []))[1].append(message_id)
        if not jobs:
            return result
        try:
            assessments = self._assess([job for job, _ in jobs.values()])
        except (BotoCoreError, ClientError) as error:
            logger.warning("metrics unavailable, batch retried", extra={"reason": str(error)})
            result.failed_message_ids += [m for _, ids in jobs.values() for m in ids]
            return result
        details = [
            report_detail(job, assessments[key], self.settings.thresholds)
            for key, (job, _) in jobs.items()
        ]
        rejected = set(self.publisher.put(SAGEWATCH_SOURCE, REPORT_DETAIL_TYPE, details))
        for index, (key, (job, message_ids)) in enumerate(jobs.items()):
            if index in rejected:
                logger.warning("report not accepted by PutEvents, retried", extra={"job": job.name})
                result.failed_message_ids += message_ids
                continue
            self.emit(job, assessments[key])
            result.reports.append(details[index])
        return result

    def _accept(
        self, record: Mapping[str, Any], message_id: str, result: BatchResult
    ) -> SageMakerEvent | None:
        raw: Any = None
        try:
            raw = json.loads(str(record.get("body")))
            dispatch = enrichable.dispatch(raw)
        except (ValueError, InvalidEvent) as error:
            event_id = raw.get("id") if isinstance(raw, Mapping) else None
            logger.error(
                "poison event: reported as a batch item failure, dead-lettered after retries",
                extra={"message_id": message_id, "event_id": event_id, "reason": str(error)},
            )
            result.failed_message_ids.append(message_id)
            return None
        if dispatch.disposition is not Disposition.HANDLED:
            result.ignored += 1
            return None
        return dispatch.result

    def _assess(self, jobs: Sequence[SageMakerEvent]) -> dict[JobKey, Assessment]:
        thresholds, region = self.settings.thresholds, self.settings.region
        elsewhere = {
            JobKey.of(job): f"ran in {job.region}; metrics are read in {region} only"
            for job in jobs
            if job.region != region
        }
        local = [job for job in jobs if JobKey.of(job) not in elsewhere]
        the_plan = plan(local, thresholds, self._transform_hosts(local))
        observed = observe(self.metrics.fetch(the_plan.calls))
        skipped = elsewhere | {skip.job: skip.reason for skip in the_plan.skipped}
        assessments: dict[JobKey, Assessment] = {}
        for job in jobs:
            key = JobKey.of(job)
            if key in skipped:
                assessments[key] = Assessment(Verdict.INSUFFICIENT_DATA, Usage(), (skipped[key],))
            else:
                usage = normalize(job, observed.get(key, Observed()))
                assessments[key] = assess(job, usage, thresholds)
        return assessments

    def _transform_hosts(self, jobs: Sequence[SageMakerEvent]) -> dict[JobKey, list[str]]:
        """Transform hosts are `<job>/<instance-id>`: one ListMetrics per account finds them."""
        by_account: dict[str, list[SageMakerEvent]] = {}
        for job in jobs:
            if job.kind is ResourceKind.TRANSFORM:
                by_account.setdefault(job.account, []).append(job)
        found: dict[JobKey, list[str]] = {}
        namespace = NAMESPACES[ResourceKind.TRANSFORM]
        for account, account_jobs in by_account.items():
            hosts = self.metrics.hosts(account, namespace, [job.name for job in account_jobs])
            for job in account_jobs:
                found[JobKey.of(job)] = hosts.get(job.name, [])
        return found
