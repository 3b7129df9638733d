"""Summarizer Lambda: closed burst windows (SQS, delayed by the window) → one summary alert each."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.alerting.service import Summarizer
from shared.config import AlerterSettings
from shared.platform.observability import logger, traced


@cache
def _summarizer() -> Summarizer:
    return Summarizer(AlerterSettings.from_env())


@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failed = _summarizer().run(event.get("Records", []), context)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
