"""The in-memory stack (sagewatch/embedded/memory.py) against moto: the same events give the same
replay, whole (alerts, reports, archive, dead letters, EMF metrics, AWS calls, invocations), in
the same order. The moto stack is the reference: its services are AWS's as moto plays them, its
functions build their own adapters on boto3. Event ids EventBridge and SQS make up are masked."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bench.fleet import FleetSpec, generate
from sagewatch.embedded import load_events, replay
from sagewatch.template import EVENTS, ROOT
from shared.enrichment.service import Enricher

pytestmark = pytest.mark.integration

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SAMPLES = load_events([EVENTS])
FAILED = json.loads((EVENTS / "training-failed.json").read_text())
DEMO_METRICS = json.loads((ROOT / "sagewatch" / "data" / "demo-metrics.json").read_text())
# A small fleet day: a tuning burst, failures in one storm window (storm control, summaries),
# transform hosts found by ListMetrics, duplicate deliveries, jobs without datapoints.
FLEET = generate(
    FleetSpec(
        seed=3, accounts=3, training=60, processing=15, transform=8, tuning=1,
        children_per_tuning=20, pipelines=3, endpoints=3, failure_rate=0.2,
    )
)  # fmt: skip


def _masked(result: dict[str, Any]) -> Any:
    return json.loads(_UUID.sub("<uuid>", json.dumps(result, default=str)))


def _both(events: list[Any], metrics: dict[str, Any] | None = None, **options: Any) -> None:
    moto = _masked(replay(events, metrics, stack="moto", **options))
    memory = _masked(replay(events, metrics, stack="memory", **options))
    for key in moto:  # one key at a time: a failure names the part that differs
        assert memory[key] == moto[key], key
    assert memory.keys() == moto.keys()


def _hostile() -> Iterator[Any]:
    """What the functions refuse: a bus refusal, an event the enricher parks and the alerter
    fails on (Lambda retries it, then its on-failure destination keeps it); and a large one."""
    yield ["not", "an", "event"]
    failed = copy.deepcopy(FAILED)
    failed["id"] = "poison-1"
    failed["detail"]["TrainingJobName"] = {"not": "a name"}
    yield failed
    large = copy.deepcopy(FAILED)  # near SQS's limit once JSON escapes it
    large["id"], large["detail"]["TrainingJobName"] = "large-1", "large-job"
    large["detail"]["FailureReason"] = ("é\u202e <@U024BE7LH> " * 12_000)[:190_000]
    yield large


def test_given_events_folder_when_replayed_on_both_stacks_then_the_same() -> None:
    _both(SAMPLES, DEMO_METRICS)


def test_given_duplicates_storm_and_poison_when_replayed_on_both_stacks_then_the_same() -> None:
    storm = []
    for n in range(7):
        event = copy.deepcopy(FAILED)
        event["id"], event["detail"]["TrainingJobName"] = f"storm-{n}", f"storm-job-{n}"
        storm.append(event)
    _both([*SAMPLES, *storm, *_hostile()], duplicates=2, run_every=4)


def test_given_a_fleet_day_when_replayed_on_both_stacks_then_the_same() -> None:
    _both(FLEET.events, {"series": FLEET.series}, run_every=50)


def test_given_an_enricher_that_crashes_when_replayed_on_both_stacks_then_redriven_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whole batches fail until the enrichment queue's redrive policy moves them."""
    run = Enricher.run

    def crashing(self: Enricher, records: Any, lambda_context: Any = None) -> Any:
        if any('"TrainingJobStatus": "Completed"' in str(r.get("body")) for r in records):
            raise RuntimeError("the enricher died")
        return run(self, records, lambda_context)

    monkeypatch.setattr(Enricher, "run", crashing)
    events = [e for e in SAMPLES if "Job State Change" in e["detail-type"]]
    _both(events, run_every=3)


def test_given_faults_when_replayed_in_memory_then_refused() -> None:
    with pytest.raises(ValueError, match="moto"):
        replay(SAMPLES[:1], faults="sns.Publish=5xx", stack="memory")
