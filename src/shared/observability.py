"""Powertools Logger and (opt-in) Tracer, set up once for every function."""

from __future__ import annotations

import os
from collections.abc import Callable
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
