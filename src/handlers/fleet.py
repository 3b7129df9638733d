"""Fleet Lambda: heartbeats and inventory snapshots from the workload accounts, and scheduled
actions ({"action": "watch" | "hourly" | "refresh" | "idle-endpoints"})."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.config import FleetSettings
from shared.fleet.service import Fleet
from shared.platform.clock import Clock, system_clock
from shared.platform.observability import logger, traced

# The seam: the embedded AWS and tests set their own clock here, before the first invocation.
clock: Clock = system_clock


@cache
def _fleet() -> Fleet:
    return Fleet(FleetSettings.from_env(), clock=clock)


@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _fleet().handle(event, context)
