"""The clock port: seconds since the epoch. `system_clock` is the only wall-clock read the
functions make; services take a `Clock` so tests and the embedded AWS can fix the time
(`FixedClock`: the replay tool runs on the events' own time with it)."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def system_clock() -> float:
    return time.time()


class FixedClock:
    """A clock that stands still until moved: tests and the embedded AWS set the time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


__all__ = ["Clock", "FixedClock", "system_clock"]
