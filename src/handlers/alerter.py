"""Alerter Lambda: one EventBridge event (failure or utilization report) → at most one SNS alert."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.alerting.service import Alerter
from shared.config import AlerterSettings
from shared.platform.clock import Clock, system_clock
from shared.platform.observability import logger, traced

# The seam: the embedded AWS and tests set their own clock here, before the first invocation.
clock: Clock = system_clock


@cache
def _alerter() -> Alerter:
    return Alerter(AlerterSettings.from_env(), clock=clock)


@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _alerter().handle(event, context)
