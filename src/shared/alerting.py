"""Alerter logic: which events alert, and publishing each incident once.

Duplicates of one state change arrive under different event ids, so the idempotency key is the
incident (account, region, resource, what happened), kept in DynamoDB by Powertools.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from shared.alerts import (
    Alert,
    attributes,
    failure_alert,
    payload,
    subject,
    text_body,
    utilization_alert,
)
from shared.aws import AlertPublisher
from shared.config import AlerterSettings
from shared.emf import emit_alert
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
@alertable.route(SAGEMAKER_SOURCE, [PROCESSING, TRANSFORM, TUNING], when=lambda e: e.is_failure)
@alertable.route(
    SAGEMAKER_SOURCE,
    [PIPELINE_EXECUTION, PIPELINE_STEP, ENDPOINT],
    when=lambda e: e.outcome is Outcome.FAILED,
)
def failed(event: SageMakerEvent) -> AlertBuilder:
    return lambda settings: failure_alert(event, settings.team_tag_key)


@alertable.route(
    SAGEWATCH_SOURCE,
    REPORT_DETAIL_TYPE,
    parse=parse_report,
    when=lambda r: r.verdict in (Verdict.UNDER_USED, Verdict.IDLE) and not r.job.is_tuning_child,
)
def wasted(report: UtilizationReport) -> AlertBuilder:
    return lambda settings: utilization_alert(report, settings.team_tag_key)


def sns_message(document: Mapping[str, Any]) -> str:
    """Per-protocol bodies: people get the text, machines the versioned JSON document."""
    machine = json.dumps(document, separators=(",", ":"), default=str)
    text = str(document["text"])
    return json.dumps(
        {
            "default": text,
            "email": text,
            "email-json": machine,
            "sqs": machine,
            "lambda": machine,
            "https": machine,
            "http": machine,
            "sms": str(document["subject"]),
        }
    )


def _mark_duplicate(response: Any, record: DataRecord) -> Any:
    """Called by Powertools only when it returns a stored result instead of publishing."""
    return {**response, "duplicate": True} if isinstance(response, dict) else response


class Alerter:
    def __init__(
        self,
        settings: AlerterSettings,
        publisher: AlertPublisher | None = None,
        store: BasePersistenceLayer | None = None,
    ) -> None:
        self.settings = settings
        self.publisher = publisher or AlertPublisher(settings.topic_arn)
        self.config = IdempotencyConfig(
            event_key_jmespath="incident",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.dedup_seconds,
            response_hook=_mark_duplicate,  # type: ignore[arg-type]
        )
        self._publish_once = idempotent_function(
            data_keyword_argument="document",
            persistence_store=store
            or DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
            config=self.config,
        )(self._publish)

    def _publish(self, document: dict[str, Any]) -> dict[str, Any]:
        message_id = self.publisher.publish(
            str(document["subject"]), sns_message(document), document["attributes"]
        )
        return {"message_id": message_id, "incident": document["incident"]}

    def handle(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """`InvalidEvent` propagates: Lambda retries, then the on-failure destination keeps it."""
        dispatch = alertable.dispatch(raw)
        if dispatch.disposition is not Disposition.HANDLED or dispatch.result is None:
            return {"outcome": dispatch.disposition.value}
        alert = dispatch.result(self.settings)
        document = payload(alert) | {"attributes": attributes(alert)}
        result = self._publish_once(document=document)
        if result.get("duplicate"):
            logger.info(
                "duplicate of an incident already alerted", extra={"incident": alert.incident}
            )
            return {"outcome": "duplicate", "incident": alert.incident}
        emit_alert(alert)
        logger.info(
            "alert published", extra={"incident": alert.incident, "subject": subject(alert)}
        )
        return {
            "outcome": "alerted",
            "incident": alert.incident,
            "message_id": result["message_id"],
        }


__all__ = ["Alerter", "alertable", "sns_message", "text_body"]
