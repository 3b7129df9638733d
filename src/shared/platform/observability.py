"""Powertools Logger and (opt-in) Tracer, set up once for every function, and the EMF records
of its metrics."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter
from aws_lambda_powertools.shared.constants import PRETTY_INDENT
from aws_lambda_powertools.shared.functions import powertools_dev_is_set

SERVICE = "sagewatch"
METRICS_NAMESPACE = "SageWatch"

_RESERVED = frozenset(RESERVED_LOG_ATTRS)
# Powertools' default templates of the record's own keys, and what each gives.
_TEMPLATES: dict[str, tuple[str, Callable[[logging.Formatter, logging.LogRecord], str]]] = {
    "level": ("%(levelname)s", lambda _, record: record.levelname),
    "location": ("%(funcName)s:%(lineno)d", lambda _, r: f"{r.funcName}:{r.lineno}"),
    "timestamp": ("%(asctime)s", lambda formatter, record: formatter.formatTime(record)),
}
# What Powertools would decode as JSON rather than keep as text (json.loads' first characters).
_JSON_STARTS = frozenset('{["-0123456789')
_JSON_WORDS = frozenset({"true", "false", "null", "NaN", "Infinity"})


class LineFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log line, written in one pass for the usual record: a text message with
    no arguments, exception or per-call keys, under the default key templates. Every sent alert
    writes one, and Powertools' own pass (a copy of the record, a linear search of its reserved
    names per attribute, an attempt to decode every message as JSON) was a tenth of the
    alerter's work per alert. Any other record is Powertools' to format; tests/unit/
    test_log_line.py holds the two to the same lines."""

    def __init__(self) -> None:
        encoder = json.JSONEncoder(
            default=str,
            separators=(",", ":"),
            ensure_ascii=False,
            indent=PRETTY_INDENT if powertools_dev_is_set() else None,  # as Powertools' own
        )
        super().__init__(json_serializer=encoder.encode)

    def format(self, record: logging.LogRecord) -> str:
        message = record.msg
        if (
            record.args
            or record.exc_info
            or record.stack_info
            or type(message) is not str
            or (text := message.strip())[:1] in _JSON_STARTS
            or text in _JSON_WORDS
            or self.thread_safe_get_current_keys()
        ):
            return super().format(record)
        line: dict[str, Any] = {}
        for key, value in self.log_format.items():
            if value and key in _RESERVED:
                template, made = _TEMPLATES.get(key, ("", None))
                if value != template or made is None:
                    return super().format(record)  # a template of the caller's own
                value = made(self, record)
            line[key] = value
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                line[key] = value
        line["message"] = message  # over an extra of that name, as Powertools has it
        line["stack_trace"] = None  # Powertools sets both, whatever the extras say
        line["xray_trace_id"] = self._get_latest_trace_id()
        return self.serialize(log={k: v for k, v in line.items() if v is not None})


logger = Logger(service=SERVICE, logger_formatter=LineFormatter())

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
    fields = _COMPACT({**(properties or {}), **dimensions, **values})
    print(f'{{"_aws":{{"Timestamp":{int(time.time() * 1000)},"CloudWatchMetrics":'
          f"{_directives(tuple(dimensions), tuple(values))}}},{fields[1:]}")  # fmt: skip


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


@lru_cache(maxsize=64)  # a few shapes: every record of one is the same but for its time
def _directives(dimensions: tuple[str, ...], names: tuple[str, ...]) -> str:
    return _COMPACT(
        [
            {
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [list(dimensions)],
                "Metrics": [{"Name": name, "Unit": "Count"} for name in names],
            }
        ]
    )
