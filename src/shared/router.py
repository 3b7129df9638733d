"""Chalice-style dispatch: logic registers by (source, detail-type), with a predicate if needed.

Unknown events are a normal, counted outcome, never an error. A test checks that every
registration agrees with the rule patterns of template.yaml.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from shared.errors import DuplicateRoute, InvalidEvent
from shared.parser import parse_event

Result = TypeVar("Result")


class Disposition(StrEnum):
    HANDLED = "handled"
    SKIPPED = "skipped"  # routed, but the predicate declined (e.g. a job still in progress)
    UNROUTED = "unrouted"  # no registration for this (source, detail-type)


@dataclass(frozen=True, slots=True)
class Dispatch(Generic[Result]):
    disposition: Disposition
    result: Result | None = None


@dataclass(frozen=True, slots=True)
class Route(Generic[Result]):
    source: str
    detail_type: str
    handler: Callable[[Any], Result]
    parse: Callable[[Any], Any]
    when: Callable[[Any], bool] | None


class Router(Generic[Result]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._routes: dict[tuple[str, str], Route[Result]] = {}
        self.counts: Counter[Disposition] = Counter()

    def route(
        self,
        source: str,
        detail_types: str | Iterable[str],
        *,
        when: Callable[[Any], bool] | None = None,
        parse: Callable[[Any], Any] = parse_event,
    ) -> Callable[[Callable[[Any], Result]], Callable[[Any], Result]]:
        types = [detail_types] if isinstance(detail_types, str) else list(detail_types)

        def register(handler: Callable[[Any], Result]) -> Callable[[Any], Result]:
            for detail_type in types:
                key = (source, detail_type)
                if key in self._routes:
                    raise DuplicateRoute(f"{self.name}: {key} is already registered")
                self._routes[key] = Route(source, detail_type, handler, parse, when)
            return handler

        return register

    @property
    def routes(self) -> tuple[Route[Result], ...]:
        return tuple(self._routes.values())

    def dispatch(self, raw: Mapping[str, Any]) -> Dispatch[Result]:
        """Parse with the route's parser and call its handler. `InvalidEvent` propagates."""
        if not isinstance(raw, Mapping):
            raise InvalidEvent(f"event is a {type(raw).__name__}, not an object")
        source, detail_type = raw.get("source"), raw.get("detail-type")
        route = (
            self._routes.get((source, detail_type))
            if isinstance(source, str) and isinstance(detail_type, str)
            else None
        )
        if route is None:
            return self._count(Dispatch(Disposition.UNROUTED))
        model = route.parse(raw)
        if route.when is not None and not route.when(model):
            return self._count(Dispatch(Disposition.SKIPPED))
        return self._count(Dispatch(Disposition.HANDLED, route.handler(model)))

    def _count(self, dispatch: Dispatch[Result]) -> Dispatch[Result]:
        self.counts[dispatch.disposition] += 1
        return dispatch
