"""The log line's own formatter (shared.platform.observability.LineFormatter) writes what
Powertools' formatter writes, record for record, and takes its one-pass path for the usual record
only."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from shared.platform.observability import LineFormatter, logger

MESSAGES = [
    "alert alerted", "fleet alert", "", "   ", "  padded  ", "true story", "nullable", "NaNs",
    "Infinity and beyond", "line\nbreak", "ünïcode ✓",
]  # fmt: skip
JSON_MESSAGES = ["true", " null ", "NaN", "Infinity", "-1", "42", '{"a": 1}', " [1, 2]", '"q"']
EXTRAS: list[dict[str, Any]] = [
    {}, {"incident": "111122223333|us-east-1|training|job-1|failed"}, {"gone": None},
    {"stack_trace": "mine"}, {"exception": "mine", "exception_name": "Mine"},
    {"xray_trace_id": "mine"}, {"message": "another"}, {"count": 3, "ratio": 0.5, "ok": True},
    {"nested": {"a": [1, "b"]}}, {"odd": object},
]  # fmt: skip
APPENDED: list[dict[str, Any]] = [
    {},
    {"cold_start": True, "function_name": "fn", "function_memory_size": 256,
     "function_arn": "arn:aws:lambda:us-east-1:111122223333:function:fn",
     "function_request_id": "c6af9ac6-7b61-11e6-9a41-93e812345678"},
    {"service": None, "sampling_rate": 0.1},
]  # fmt: skip


def _record(message: Any, extra: dict[str, Any], args: Any = (), exc_info: Any = None) -> Any:
    record = logging.LogRecord(
        "sagewatch", logging.INFO, "/var/task/shared/alerting/service.py", 242, message, args,
        exc_info, func="handle",
    )  # fmt: skip
    record.created, record.msecs = 1796185801.093, 93.0
    record.__dict__.update(extra)
    return record


def _pair(appended: dict[str, Any]) -> tuple[LineFormatter, LambdaPowertoolsFormatter]:
    ours = LineFormatter()
    theirs = LambdaPowertoolsFormatter(json_serializer=ours.json_serializer)
    for formatter in (ours, theirs):
        formatter.append_keys(**{"service": "sagewatch"} | appended)
    return ours, theirs


@pytest.fixture
def powertools_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records passed on to Powertools' own format."""
    calls: list[str] = []
    original = LambdaPowertoolsFormatter.format

    def counted(self: LambdaPowertoolsFormatter, record: logging.LogRecord) -> str:
        if isinstance(self, LineFormatter):
            calls.append(str(record.msg))
        return original(self, record)

    monkeypatch.setattr(LambdaPowertoolsFormatter, "format", counted)
    return calls


@pytest.mark.parametrize("appended", APPENDED)
@pytest.mark.parametrize("extra", EXTRAS)
@pytest.mark.parametrize("trace", [None, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"])
def test_given_a_usual_record_then_its_line_is_powertools_line_in_one_pass(
    appended: dict[str, Any],
    extra: dict[str, Any],
    trace: str | None,
    powertools_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if trace:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", trace)
    else:
        monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    ours, theirs = _pair(appended)

    for message in MESSAGES:
        record = _record(message, extra)
        assert ours.format(record) == theirs.format(record)
    assert powertools_calls == []


@pytest.mark.parametrize(
    ("message", "args", "exc_info", "context"),
    [(m, (), None, {}) for m in JSON_MESSAGES]
    + [
        ("alert %s", ("alerted",), None, {}),
        ({"structured": True}, (), None, {}),
        ("failed", (), (ValueError, ValueError("boom"), None), {}),
        ("alert alerted", (), None, {"tenant": "x"}),
    ],
)
def test_given_any_other_record_then_powertools_formats_it(
    message: Any, args: Any, exc_info: Any, context: dict[str, Any], powertools_calls: list[str]
) -> None:
    ours, theirs = _pair({})
    for formatter in (ours, theirs):
        formatter.thread_safe_append_keys(**context)
    try:
        record = _record(message, {"incident": "i"}, args, exc_info)
        assert ours.format(record) == theirs.format(record)
    finally:
        ours.thread_safe_clear_keys()
    assert powertools_calls == [str(message)]


def test_given_a_template_of_the_callers_own_then_powertools_formats_it(
    powertools_calls: list[str],
) -> None:
    ours, theirs = _pair({})
    for formatter in (ours, theirs):
        formatter.append_keys(location="%(module)s", name="%(name)s")

    record = _record("alert alerted", {})

    assert ours.format(record) == theirs.format(record)
    assert json.loads(ours.format(record))["location"] == "service"
    assert powertools_calls == ["alert alerted"] * 2


def test_the_functions_logger_writes_its_lines_with_it(capsys: pytest.CaptureFixture[str]) -> None:
    handler: Any = logger.registered_handler
    previous, handler.stream = handler.stream, sys.stdout
    try:
        logger.info("alert alerted", extra={"incident": "i"})
    finally:
        handler.stream = previous

    line = json.loads(capsys.readouterr().out)
    assert isinstance(logger.registered_formatter, LineFormatter)
    assert line["message"] == "alert alerted"
    assert line["incident"] == "i"
    assert line["level"] == "INFO"
    assert line["location"].startswith("test_the_functions_logger_writes_its_lines_with_it:")


def test_given_powertools_dev_mode_then_lines_are_indented_as_powertools_indents_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_DEV", "1")
    with pytest.warns(UserWarning, match="POWERTOOLS_DEV"):
        ours, theirs = LineFormatter(), LambdaPowertoolsFormatter()
    record = _record("alert alerted", {"incident": "i"})

    assert ours.format(record) == theirs.format(record)
    assert '\n    "message":"alert alerted"' in ours.format(record)
