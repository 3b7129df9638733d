"""sagewatch.metrics_format: a --metrics file is checked before a replay, each mistake named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagewatch.metrics_format import check_metrics
from sagewatch.template import ROOT

SERIES = {
    "namespace": "/aws/sagemaker/TrainingJobs",
    "metric": "GPUUtilization",
    "dimensions": {"Host": "job/algo-1"},
    "start": "2026-11-20T08:05:00Z",
    "end": "2026-11-20T10:05:00Z",
    "every_seconds": 600,
    "value": [6, 11, 9],
}


def test_given_the_demo_metrics_when_checked_then_they_follow_the_format() -> None:
    check_metrics(json.loads((ROOT / "sagewatch" / "data" / "demo-metrics.json").read_text()))
    check_metrics({"series": [SERIES, SERIES | {"value": 3.5}]})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([SERIES], 'an object with a "series" list'),
        ({"series": [SERIES, "x"]}, r"series\[1\] is not an object"),
        ({"series": [{"namespace": "n"}]}, r"series\[0\] lacks metric, dimensions, start, end"),
        ({"series": [SERIES | {"metric": 5}]}, r"series\[0\]\.metric is not a name"),
        ({"series": [SERIES | {"dimensions": {"Host": 1}}]}, "dimensions is not an object"),
        ({"series": [SERIES | {"end": SERIES["start"]}]}, "start before end"),
        ({"series": [SERIES | {"start": "yesterday"}]}, "start before end"),
        ({"series": [SERIES | {"every_seconds": 0}]}, "every_seconds is not a positive"),
        ({"series": [SERIES | {"value": ["high"]}]}, "value is not a number"),
        ({"series": [SERIES | {"value": []}]}, "value is not a number"),
    ],
)
def test_given_a_mistake_when_checked_then_it_is_named_with_its_series(
    document: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_metrics(document)
