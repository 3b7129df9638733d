"""Alerter Lambda: one EventBridge event (failure or utilization report) → at most one SNS alert."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.alerting import Alerter
from shared.config import AlerterSettings
from shared.errors import InvalidEvent
from shared.observability import logger, tracer


@cache
def _alerter() -> Alerter:
    return Alerter(AlerterSettings.from_env())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    alerter = _alerter()
    alerter.once.config.register_lambda_context(context)
    try:
        return alerter.handle(event)
    except InvalidEvent as error:
        event_id = event.get("id") if isinstance(event, dict) else None
        logger.error("poison event", extra={"event_id": event_id, "reason": str(error)})
        raise
