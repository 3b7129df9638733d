from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sagewatch.embedded import EmbeddedAws
from sagewatch.template import EVENTS
from sagewatch.workload import EmbeddedWorkload
from shared.clock import FixedClock

DEMO_METRICS = Path(__file__).resolve().parents[2] / "sagewatch" / "data" / "demo-metrics.json"


# Just after the last event in events/: the tests run on the samples' day, never the wall clock
# (CloudWatch's retention tiers, storm windows and heartbeat ages all depend on it).
SAMPLES_SETTLED = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


def sample_clock() -> FixedClock:
    return FixedClock(SAMPLES_SETTLED.timestamp())


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    """The monitoring account on moto, provisioned from template.yaml."""
    with EmbeddedAws(clock=sample_clock()) as embedded:
        yield embedded


@pytest.fixture(scope="session")
def demo_metrics() -> dict[str, Any]:
    return json.loads(DEMO_METRICS.read_text())


WORKLOAD_ACCOUNT = "444455556666"


@pytest.fixture
def wired() -> Iterator[tuple[EmbeddedAws, EmbeddedWorkload]]:
    """The monitoring stack and one workload account whose forwarding it admits."""
    with EmbeddedAws({"WorkloadAccountIds": WORKLOAD_ACCOUNT}, clock=sample_clock()) as aws:
        workload = EmbeddedWorkload(aws, WORKLOAD_ACCOUNT).deploy()
        try:
            yield aws, workload
        finally:
            workload.close()
