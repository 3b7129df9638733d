from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sagewatch.embedded import EmbeddedAws
from sagewatch.template import EVENTS
from sagewatch.workload import EmbeddedWorkload
from shared.platform.clock import Clock, FixedClock

DEMO_METRICS = Path(__file__).resolve().parents[2] / "sagewatch" / "data" / "demo-metrics.json"


# Just after the last event in events/: the tests run on the samples' day, never the wall clock
# (CloudWatch's retention tiers, storm windows and heartbeat ages all depend on it).
SAMPLES_SETTLED = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


def sample_clock() -> FixedClock:
    return FixedClock(SAMPLES_SETTLED.timestamp())


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


class Stacks:
    """The embedded monitoring stack a module's tests share: each test gets it reset, as a new
    `EmbeddedAws(parameters, faults, clock)` would be (moto is not stopped and started again,
    the stack's clients are kept).

    moto is one fake per process: two stacks entered at once would provision into the same
    backends. So one stack at most is alive; it is left before each test that does not ask
    for it (that test may replay, or enter its own) and when a test wants other parameters."""

    def __init__(self) -> None:
        self._live: EmbeddedAws | None = None
        self._parameters: dict[str, str] = {}

    def reset(
        self,
        parameters: Mapping[str, str] | None = None,
        faults: str | None = None,
        *,
        clock: Clock,
    ) -> EmbeddedAws:
        wanted = dict(parameters or {})
        if self._live is not None and wanted == self._parameters:
            return self._live.reset(faults, clock)
        self.close()
        self._live = EmbeddedAws(wanted, faults, clock).__enter__()
        self._parameters = wanted
        return self._live

    def close(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _module_stacks() -> Iterator[Stacks]:
    shared = Stacks()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def stacks(_module_stacks: Stacks) -> Stacks:
    """The module's shared stack, for fixtures that reset it with their parameters or clock."""
    return _module_stacks


@pytest.fixture(autouse=True)
def _one_stack_at_a_time(request: pytest.FixtureRequest, _module_stacks: Stacks) -> None:
    if "stacks" not in request.fixturenames:
        _module_stacks.close()


@pytest.fixture
def aws(stacks: Stacks) -> EmbeddedAws:
    """The monitoring account on moto, provisioned from template.yaml (as new for each test)."""
    return stacks.reset(clock=sample_clock())


@pytest.fixture(scope="session")
def demo_metrics() -> dict[str, Any]:
    return json.loads(DEMO_METRICS.read_text())


WORKLOAD_ACCOUNT = "444455556666"


@pytest.fixture
def wired(stacks: Stacks) -> Iterator[tuple[EmbeddedAws, EmbeddedWorkload]]:
    """The monitoring stack and one workload account whose forwarding it admits."""
    aws = stacks.reset({"WorkloadAccountIds": WORKLOAD_ACCOUNT}, clock=sample_clock())
    workload = EmbeddedWorkload(aws, WORKLOAD_ACCOUNT).deploy()
    try:
        yield aws, workload
    finally:
        workload.close()
