"""What a route takes, declared once: the EventBridge pattern its rule delivers, and the same
test on the parsed event (a rule may deliver several routes' events, and a workload account can
put anything on the bus, so the code checks again what the pattern promised).

`make generate` writes each rule's `EventPattern` in template.yaml from these; a test checks that
both sides agree on AWS's own matching engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.vocabulary import MONITOR_VIOLATIONS, PROCESSING, SAGEMAKER_SOURCE, Family, Outcome


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
class Status:
    """The family's statuses with these outcomes (every spelling)."""

    family: Family
    outcomes: frozenset[Outcome]

    def pattern(self) -> dict[str, Any]:
        return {self.family.status_key: list(self.family.statuses(*self.outcomes))}

    def __call__(self, model: Any) -> bool:
        return bool(model.kind is self.family.kind and model.outcome in self.outcomes)


@dataclass(frozen=True, slots=True)
class StoppedBySageMaker:
    """Stopped, with a SecondaryStatus that says SageMaker stopped it (out of time)."""

    family: Family

    def pattern(self) -> dict[str, Any]:
        return {
            self.family.status_key: list(self.family.statuses(Outcome.STOPPED)),
            "SecondaryStatus": list(self.family.stopped_by_sagemaker),
        }

    def __call__(self, model: Any) -> bool:
        return bool(
            model.kind is self.family.kind
            and model.outcome is Outcome.STOPPED
            and model.secondary_status in self.family.stopped_by_sagemaker
        )


@dataclass(frozen=True, slots=True)
class MonitorViolations:
    """A Model Monitor execution that found violations: its status stays Completed, its exit
    message says so."""

    def pattern(self) -> dict[str, Any]:
        return {
            PROCESSING.status_key: list(PROCESSING.statuses(Outcome.SUCCEEDED)),
            "ExitMessage": [{"prefix": MONITOR_VIOLATIONS}],
        }

    def __call__(self, model: Any) -> bool:
        return bool(model.has_monitor_violations)


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


def _sagemaker(families: Sequence[Family], clauses: list[Clause]) -> Match:
    return Match(SAGEMAKER_SOURCE, tuple(f.detail_type for f in families), tuple(clauses))


def finished(*families: Family) -> Match:
    """Terminal state changes: succeeded, failed or stopped."""
    ended = frozenset({Outcome.SUCCEEDED, Outcome.FAILED, Outcome.STOPPED})
    return _sagemaker(families, [Status(f, ended) for f in families])


def failed(*families: Family) -> Match:
    """Failures as on-call sees them: failed, or stopped by SageMaker because out of time."""
    clauses: list[Clause] = []
    for family in families:
        clauses.append(Status(family, frozenset({Outcome.FAILED})))
        if family.stopped_by_sagemaker:
            clauses.append(StoppedBySageMaker(family))
    return _sagemaker(families, clauses)


def every(source: str, detail_type: str) -> Match:
    return Match(source, (detail_type,))
