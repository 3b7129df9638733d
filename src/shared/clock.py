"""The clock port: seconds since the epoch. `system_clock` is the only wall-clock read the
functions make; services take a `Clock` so tests and the embedded AWS can fix the time."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def system_clock() -> float:
    return time.time()


__all__ = ["Clock", "system_clock"]
