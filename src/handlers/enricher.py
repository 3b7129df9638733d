"""Enricher Lambda: an SQS batch of finished jobs → utilization reports (partial batch response)."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.config import EnricherSettings
from shared.enrichment.service import Enricher
from shared.platform.clock import Clock, system_clock
from shared.platform.observability import logger, traced

# The seam: the embedded AWS and tests set their own clock here, before the first invocation.
clock: Clock = system_clock


@cache
def _enricher() -> Enricher:
    return Enricher(EnricherSettings.from_env(), clock=clock)


@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = _enricher().run(event.get("Records", []), context)
    logger.info("batch enriched", extra=result.count())
    return result.response()
