"""A route's events as one declaration: the EventBridge pattern its rule delivers and the same test
on the parsed event (a rule may deliver several routes' events, and a workload account can put
anything on the bus, so the code checks again what the pattern promised)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Clause(Protocol):
    """One alternative of a route's `detail` pattern."""

    def pattern(self) -> dict[str, Any]: ...

    def __call__(self, model: Any) -> bool: ...


@dataclass(frozen=True, slots=True)
class Match:
    """A route's events: a source, its detail-types and, if any, the detail alternatives."""

    source: str
    detail_types: tuple[str, ...]
    clauses: tuple[Clause, ...] = ()  # none: every event of these detail-types
    own_account: bool = False  # only events this account puts (never a workload account's)

    def accepts(self, model: Any) -> bool:
        return not self.clauses or any(clause(model) for clause in self.clauses)

    def also(self, *clauses: Clause) -> Match:
        return Match(self.source, self.detail_types, (*self.clauses, *clauses), self.own_account)


@dataclass(frozen=True, slots=True)
class OneOf:
    """A detail field with one of these values; `read` takes it from the parsed model."""

    field: str
    values: tuple[str, ...]
    read: Callable[[Any], str]

    def pattern(self) -> dict[str, Any]:
        return {self.field: list(self.values)}

    def __call__(self, model: Any) -> bool:
        return self.read(model) in self.values


def every(source: str, detail_type: str) -> Match:
    return Match(source, (detail_type,))
