"""`sagewatch replay` and the demo: events through a new embedded stack, and what came of them.

The stack is in memory (memory.py: the functions' own code at fleet scale), or on moto
(stack.py) when faults are injected: they answer botocore's requests where moto does. Both
give the same result (tests/integration/test_replay_engines.py holds them to it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from sagewatch.embedded.inputs import replay_clock
from sagewatch.embedded.memory import MemoryAws
from sagewatch.embedded.stack import EmbeddedAws
from shared.platform.clock import Clock


def replay(
    events: Iterable[Any],
    metrics: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
    duplicates: int = 1,
    faults: str | None = None,
    run_every: int | None = None,
    clock: Clock | None = None,
    stack: Literal["memory", "moto"] | None = None,
) -> dict[str, Any]:
    """Deliver every event `duplicates` times (each copy under its own event id, as SageMaker's
    repeated deliveries are) with `faults` injected, run everything, and report. `run_every`
    lets the functions work between deliveries (as in a long day) instead of once at the end
    (as in a burst). The clock defaults to the events' own time (`replay_clock`). `stack`:
    "memory" (the default without faults) or "moto" (the default, and the only one, with)."""
    events = list(events)
    clock = clock or replay_clock(events)
    stack = stack or ("moto" if faults else "memory")
    if stack == "memory" and faults:
        raise ValueError("faults are injected on the moto stack only")
    aws: MemoryAws | EmbeddedAws = (
        MemoryAws(parameters, clock)
        if stack == "memory"
        else EmbeddedAws(parameters, faults, clock)
    )
    with aws:
        if metrics:
            aws.seed_metrics(metrics)
        for index, event in enumerate(events, 1):
            for copy in range(duplicates):
                aws.deliver(_redelivered(event, copy))
            if progress:
                progress(index)
            if run_every and index % run_every == 0:
                aws.run()
        aws.run()
        return aws.summary() | {"faults_injected": dict(aws.injector.injected)}


def _redelivered(event: Any, copy: int) -> Any:
    if copy == 0 or not isinstance(event, dict):
        return event
    return event | {"id": f"{event.get('id', 'event')}-redelivery-{copy}"}
