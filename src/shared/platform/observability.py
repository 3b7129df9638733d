"""Powertools Logger and (opt-in) Tracer, set up once for every function, and the EMF records
of its metrics."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger

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
    emit_metrics({"Function": function}, {"IgnoredEvents": 1})


def emit_metrics(
    dimensions: Mapping[str, str],
    counts: Mapping[str, float],
    properties: Mapping[str, Any] | None = None,
) -> None:
    """One CloudWatch embedded metric format record on stdout (Lambda sends it to the function's
    log group, which makes the metrics): `counts` (unit Count) by all of `dimensions` together,
    and `properties` as log fields only. The format is four keys of JSON: written here rather
    than through Powertools' Metrics, whose validation and flush took ~35 µs a record (more than
    parsing the event)."""
    values = {name: float(value) for name, value in counts.items()}
    if not values or not all(map(math.isfinite, values.values())):
        raise ValueError(f"metric values must be finite numbers: {dict(counts)}")
    directive = {
        "Namespace": METRICS_NAMESPACE,
        "Dimensions": [list(dimensions)],
        "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
    }
    record = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]},
        **(properties or {}),
        **dimensions,
        **values,
    }
    print(json.dumps(record, separators=(",", ":")))
