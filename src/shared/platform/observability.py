"""Powertools Logger and (opt-in) Tracer, set up once for every function."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = "sagewatch"
METRICS_NAMESPACE = "SageWatch"

logger = Logger(service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def traced(handler: Handler) -> Handler:
    """Powertools Tracer around a handler when X-Ray tracing is on (EnableTracing). Off, the
    X-Ray SDK is never imported: it alone costs ~150 ms of every cold start."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true"):
        return handler
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer(service=SERVICE).capture_lambda_handler(handler))


def count_ignored(function: str, disposition: str, raw: Any) -> None:
    """An event a function was given and did not act on (no route for it, or its route declined
    it): logged with what it was, counted in `IgnoredEvents` per function."""
    fields = raw if isinstance(raw, dict) else {}
    logger.info(
        f"event {disposition}",
        extra={
            key: str(fields.get(key))[:100] for key in ("id", "account", "source", "detail-type")
        },
    )
    record = EphemeralMetrics(namespace=METRICS_NAMESPACE, service="")
    record.add_dimension("Function", function)
    record.add_metric("IgnoredEvents", MetricUnit.Count, 1)
    record.flush_metrics()
