from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagewatch.embedded import EmbeddedAws
from sagewatch.template import EVENTS

DEMO_METRICS = Path(__file__).resolve().parents[2] / "sagewatch" / "data" / "demo-metrics.json"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    """The monitoring account on moto, provisioned from template.yaml."""
    with EmbeddedAws() as embedded:
        yield embedded


@pytest.fixture(scope="session")
def demo_metrics() -> dict[str, Any]:
    return json.loads(DEMO_METRICS.read_text())
