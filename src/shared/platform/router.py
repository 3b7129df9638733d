"""Chalice-style dispatch: each route declares, once, the events it takes (a `Match`: the
EventBridge pattern and the same test on the parsed event) and the template rule that delivers
them; `make generate` writes the rules' patterns from these registrations.

Unknown and declined events are a normal, counted outcome, never an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from shared.platform.errors import DuplicateRoute, InvalidEvent
from shared.platform.matching import Match
from shared.platform.observability import count_ignored

Context = TypeVar("Context")  # what the service gives every handler: settings, adapters, itself
Result = TypeVar("Result")


class Disposition(StrEnum):
    HANDLED = "handled"
    SKIPPED = "skipped"  # routed, but declined (e.g. a job still in progress, a tuning child)
    UNROUTED = "unrouted"  # no registration for this (source, detail-type)


@dataclass(frozen=True, slots=True)
class Dispatch(Generic[Result]):
    disposition: Disposition
    result: Result | None = None
    model: Any = None  # what the route's parser made of the event


@dataclass(frozen=True, slots=True)
class Route(Generic[Context, Result]):
    source: str
    detail_type: str
    handler: Callable[[Any, Context], Result]
    parse: Callable[[Any], Any]
    match: Match
    rule: str  # the template rule (logical id) whose pattern delivers these events
    when: Callable[[Any], bool] | None  # what no pattern can say (e.g. not a tuning child)

    def accepts(self, model: Any) -> bool:
        return self.match.accepts(model) and (self.when is None or self.when(model))


class Router(Generic[Context, Result]):
    def __init__(self, name: str, parse: Callable[[Any], Any] | None = None) -> None:
        self.name = name
        self.parse = parse  # the routes' parser unless a route names its own
        self._routes: dict[tuple[str, str], Route[Context, Result]] = {}
        self.counts: Counter[Disposition] = Counter()

    def route(
        self,
        match: Match,
        *,
        rule: str,
        when: Callable[[Any], bool] | None = None,
        parse: Callable[[Any], Any] | None = None,
    ) -> Callable[[Callable[[Any, Context], Result]], Callable[[Any, Context], Result]]:
        parser = parse or self.parse
        if parser is None:
            raise TypeError(f"{self.name}: a route needs a parser (the router's or its own)")

        def register(handler: Callable[[Any, Context], Result]) -> Callable[[Any, Context], Result]:
            for detail_type in match.detail_types:
                key = (match.source, detail_type)
                if key in self._routes:
                    raise DuplicateRoute(f"{self.name}: {key} is already registered")
                self._routes[key] = Route(
                    match.source, detail_type, handler, parser, match, rule, when
                )
            return handler

        return register

    @property
    def routes(self) -> tuple[Route[Context, Result], ...]:
        return tuple(self._routes.values())

    def dispatch(self, raw: Mapping[str, Any], context: Context) -> Dispatch[Result]:
        """Parse with the route's parser and call its handler with the model and `context`.
        `InvalidEvent` propagates."""
        if not isinstance(raw, Mapping):
            raise InvalidEvent(f"event is a {type(raw).__name__}, not an object")
        source, detail_type = raw.get("source"), raw.get("detail-type")
        route = (
            self._routes.get((source, detail_type))
            if isinstance(source, str) and isinstance(detail_type, str)
            else None
        )
        if route is None:
            return self._count(Dispatch(Disposition.UNROUTED), raw)
        model = route.parse(raw)
        if not route.accepts(model):
            return self._count(Dispatch(Disposition.SKIPPED), raw)
        return self._count(Dispatch(Disposition.HANDLED, route.handler(model, context), model), raw)

    def _count(self, dispatch: Dispatch[Result], raw: Mapping[str, Any]) -> Dispatch[Result]:
        self.counts[dispatch.disposition] += 1
        if dispatch.disposition is not Disposition.HANDLED:
            count_ignored(self.name, dispatch.disposition.value, raw)
        return dispatch
