"""Fleet Lambda: heartbeats and inventory snapshots from the workload accounts, and scheduled
actions ({"action": "watch" | "hourly" | "refresh" | "idle-endpoints"})."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.config import FleetSettings
from shared.observability import logger, traced
from shared.watchdog import Fleet


@cache
def _fleet() -> Fleet:
    return Fleet(FleetSettings.from_env())


@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _fleet().handle(event, context)
