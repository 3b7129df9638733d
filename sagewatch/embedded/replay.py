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
from shared.domain.parser import parse_time
from shared.platform.clock import Clock, FixedClock

# What the template's fleet schedules played between the events send, and how often (seconds;
# the template's rate for the endpoint health check).
HEALTH_EVERY = 300


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
    every = {
        "in-flight": int(aws.parameters["InFlightCheckMinutes"]) * 60,
        "endpoint-health": HEALTH_EVERY if int(aws.parameters["EndpointHealthMinutes"]) else 0,
    }
    every = {action: seconds for action, seconds in every.items() if seconds}
    schedule = _Schedule(aws, clock, every) if every and isinstance(clock, FixedClock) else None
    with aws:
        if metrics:
            aws.seed_metrics(metrics)
        if schedule:  # the schedule's ticks fall between the events: they come in time order
            events = sorted(events, key=_time_of)
        for index, event in enumerate(events, 1):
            if schedule:
                schedule.until(_time_of(event))
            for copy in range(duplicates):
                aws.deliver(_redelivered(event, copy))
            if progress:
                progress(index)
            if run_every and index % run_every == 0:
                aws.run()
        if schedule:
            schedule.until(schedule.end)
        aws.run()
        return aws.summary() | {"faults_injected": dict(aws.injector.injected)}


class _Schedule:
    """The fleet's checks on their schedules, played at their own times between the events: the
    running jobs and endpoints they see are those whose events came before. Everything else runs
    on the replay's time (just after the last event)."""

    def __init__(
        self, aws: MemoryAws | EmbeddedAws, clock: FixedClock, every: Mapping[str, int]
    ) -> None:
        self.aws, self.clock, self.every = aws, clock, dict(every)
        self.end = clock.now
        self.next: dict[str, float] = {}

    def until(self, at: float) -> None:
        """Every tick up to `at` (an event's time), each after the functions caught up."""
        if not self.next:
            if at > 0:
                self.next = {action: (at // s + 1) * s for action, s in self.every.items()}
            return
        while True:
            action = min(self.next, key=lambda a: (self.next[a], a))  # ties: in name order
            if self.next[action] > min(at, self.end):
                return
            self.aws.run()
            self.clock.now = self.next[action]
            try:
                self.aws.schedule("fleet", {"action": action})
                self.aws.run()
            finally:
                self.clock.now = self.end
            self.next[action] += self.every[action]


def _time_of(event: Any) -> float:
    """An event's time (events without one first, as they would reach the bus right away)."""
    when = parse_time(event.get("time")) if isinstance(event, dict) else None
    return when.timestamp() if when else 0.0


def _redelivered(event: Any, copy: int) -> Any:
    if copy == 0 or not isinstance(event, dict):
        return event
    return event | {"id": f"{event.get('id', 'event')}-redelivery-{copy}"}
