"""The `--metrics` file format (docs/metrics-format.md), checked before a replay starts: a
mistake is named with the series it is in, never a traceback from the middle of a replay."""

from __future__ import annotations

from typing import Any

from shared.domain.parser import parse_time

REQUIRED = ("namespace", "metric", "dimensions", "start", "end", "value")


def check_metrics(document: Any) -> None:
    """Raise ValueError naming the first series (by index) that does not follow the format."""
    if not isinstance(document, dict) or not isinstance(document.get("series"), list):
        raise ValueError('a metrics file is an object with a "series" list')
    for index, series in enumerate(document["series"]):
        where = f"series[{index}]"
        if not isinstance(series, dict):
            raise ValueError(f"{where} is not an object")
        missing = [key for key in REQUIRED if key not in series]
        if missing:
            raise ValueError(f"{where} lacks {', '.join(missing)}")
        for key in ("namespace", "metric"):
            if not isinstance(series[key], str) or not series[key]:
                raise ValueError(f"{where}.{key} is not a name")
        dimensions = series["dimensions"]
        if not isinstance(dimensions, dict) or not all(
            isinstance(v, str) for v in dimensions.values()
        ):
            raise ValueError(f"{where}.dimensions is not an object of strings")
        start, end = parse_time(series["start"]), parse_time(series["end"])
        if start is None or end is None or start >= end:
            raise ValueError(f"{where} needs ISO-8601 start before end")
        every = series.get("every_seconds", 60)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"{where}.every_seconds is not a positive whole number")
        values = series["value"] if isinstance(series["value"], list) else [series["value"]]
        if not values or not all(_number(v) for v in values):
            raise ValueError(f"{where}.value is not a number or a list of numbers")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
