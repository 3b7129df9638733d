"""shared.router: Chalice-style dispatch by (source, detail-type): the route's match, then its
optional predicate; the handler gets the parsed model and the service's context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.domain.events import SageMakerEvent
from shared.domain.parser import parse_event
from shared.domain.patterns import failed
from shared.domain.vocabulary import SAGEMAKER_SOURCE
from shared.domain.vocabulary import TRAINING as TRAINING_FAMILY
from shared.platform.errors import DuplicateRoute, InvalidEvent
from shared.platform.matching import Match, every
from shared.platform.router import Disposition, Router

TRAINING = "SageMaker Training Job State Change"
TRANSFORM = "SageMaker Transform Job State Change"
RULE = "TestRule"

LoadEvent = Callable[[str], dict[str, Any]]


def _names_router(calls: list[str], when: Callable[[Any], bool] | None = None) -> Router[None, str]:
    router: Router[None, str] = Router("test", parse_event)

    @router.route(every(SAGEMAKER_SOURCE, TRAINING), rule=RULE, when=when)
    def handle(event: SageMakerEvent, _: None) -> str:
        calls.append(event.name)
        return f"handled {event.name}"

    return router


def test_given_route_registered_when_same_source_and_detail_type_registered_again_then_error() -> (
    None
):
    router: Router[None, str] = Router("test", parse_event)
    router.route(every(SAGEMAKER_SOURCE, TRAINING), rule=RULE)(lambda e, _: "first")

    with pytest.raises(DuplicateRoute, match="already registered"):
        router.route(every(SAGEMAKER_SOURCE, TRAINING), rule=RULE)(lambda e, _: "second")

    assert len(router.routes) == 1
    assert router.routes[0].handler(None, None) == "first"


def test_given_route_registered_when_list_containing_it_registered_then_error() -> None:
    router: Router[None, str] = Router("test", parse_event)
    router.route(every(SAGEMAKER_SOURCE, TRAINING), rule=RULE)(lambda e, _: "first")

    with pytest.raises(DuplicateRoute):
        router.route(Match(SAGEMAKER_SOURCE, (TRANSFORM, TRAINING)), rule=RULE)(lambda e, _: "2")


def test_given_same_detail_type_from_two_sources_when_registered_then_both_allowed() -> None:
    router: Router[None, str] = Router("test", parse_event)
    router.route(every(SAGEMAKER_SOURCE, TRAINING), rule=RULE)(lambda e, _: "aws")
    router.route(every("custom.source", TRAINING), rule=RULE, parse=lambda raw: raw)(
        lambda e, _: "custom"
    )

    assert {(r.source, r.detail_type) for r in router.routes} == {
        (SAGEMAKER_SOURCE, TRAINING),
        ("custom.source", TRAINING),
    }


def test_given_list_of_detail_types_when_registered_then_one_route_each() -> None:
    router: Router[None, str] = Router("test", parse_event)

    @router.route(Match(SAGEMAKER_SOURCE, (TRAINING, TRANSFORM)), rule=RULE)
    def handle(event: Any, _: None) -> str:
        return "ok"

    assert sorted(r.detail_type for r in router.routes) == sorted([TRAINING, TRANSFORM])
    assert all(r.handler is handle for r in router.routes)


def test_given_no_route_for_event_when_dispatched_then_unrouted_and_counted(
    load_event: LoadEvent,
) -> None:
    calls: list[str] = []
    router = _names_router(calls)

    first = router.dispatch(load_event("unknown-detail-type"), None)
    second = router.dispatch(load_event("endpoint-failed"), None)

    assert first.disposition is Disposition.UNROUTED
    assert second.disposition is Disposition.UNROUTED
    assert first.result is None
    assert router.counts[Disposition.UNROUTED] == 2
    assert router.counts[Disposition.HANDLED] == 0
    assert calls == []


def test_given_event_without_source_when_dispatched_then_unrouted_not_error() -> None:
    router = _names_router([])

    dispatch = router.dispatch({"detail": {}}, None)

    assert dispatch.disposition is Disposition.UNROUTED
    assert router.counts[Disposition.UNROUTED] == 1


def test_given_predicate_false_when_dispatched_then_skipped_counted_and_handler_not_called(
    load_event: LoadEvent,
) -> None:
    calls: list[str] = []
    router = _names_router(calls, when=lambda e: e.is_failure)

    dispatch = router.dispatch(load_event("training-completed-gpu"), None)

    assert dispatch.disposition is Disposition.SKIPPED
    assert dispatch.result is None
    assert router.counts[Disposition.SKIPPED] == 1
    assert calls == []


def test_given_predicate_true_when_dispatched_then_handled_with_handler_result(
    load_event: LoadEvent,
) -> None:
    calls: list[str] = []
    router = _names_router(calls, when=lambda e: e.is_failure)

    dispatch = router.dispatch(load_event("training-failed"), None)

    assert dispatch.disposition is Disposition.HANDLED
    assert dispatch.result == "handled forecasting-deepar-retrain-20261120-0930"
    assert calls == ["forecasting-deepar-retrain-20261120-0930"]
    assert router.counts[Disposition.HANDLED] == 1


def test_given_no_predicate_when_dispatched_then_handler_gets_parsed_model(
    load_event: LoadEvent,
) -> None:
    received: list[Any] = []
    router: Router[int, int] = Router("test", parse_event)
    router.route(every(SAGEMAKER_SOURCE, TRAINING), rule=RULE)(lambda e, n: received.append(e) or n)

    dispatch = router.dispatch(load_event("training-completed-gpu"), 7)

    assert dispatch.disposition is Disposition.HANDLED
    assert dispatch.result == 7
    assert isinstance(received[0], SageMakerEvent)
    assert received[0].name == "Vision-ResNet50-FT-20261120-0800"


def test_given_custom_parser_when_dispatched_then_handler_gets_its_output(
    load_event: LoadEvent,
) -> None:
    router: Router[None, str] = Router("test", parse_event)
    router.route(
        every("sagewatch", "Job Utilization Report"),
        rule=RULE,
        parse=lambda raw: raw["detail"]["verdict"],
    )(lambda verdict, _: f"verdict {verdict}")

    dispatch = router.dispatch(load_event("utilization-report-under-used"), None)

    assert dispatch.result == "verdict under-used"


@pytest.mark.parametrize("raw", [None, [], ["event"], "event", 42], ids=str)
def test_given_event_that_is_not_an_object_when_dispatched_then_invalid_event(raw: Any) -> None:
    router = _names_router([])

    with pytest.raises(InvalidEvent):
        router.dispatch(raw, None)

    assert sum(router.counts.values()) == 0


def test_given_routed_event_with_invalid_detail_when_dispatched_then_invalid_event_propagates(
    load_event: LoadEvent,
) -> None:
    calls: list[str] = []
    router = _names_router(calls)
    raw = load_event("training-failed")
    raw["detail"] = None

    with pytest.raises(InvalidEvent):
        router.dispatch(raw, None)

    assert calls == []


def test_given_a_match_with_clauses_when_an_event_fails_them_then_skipped_before_when(
    load_event: LoadEvent,
) -> None:
    """The match is checked in Python too: a rule may deliver other routes' events, and anyone
    may put an event on the bus."""
    asked: list[str] = []
    router: Router[None, str] = Router("test", parse_event)
    router.route(failed(TRAINING_FAMILY), rule=RULE, when=lambda e: asked.append(e.name) or True)(
        lambda e, _: "alert"
    )

    completed = router.dispatch(load_event("training-completed-gpu"), None)
    stopped = router.dispatch(load_event("training-stopped-max-runtime"), None)

    assert completed.disposition is Disposition.SKIPPED
    assert asked == ["vision-vit-huge-pretrain-20261120-0200"]
    assert stopped.result == "alert"
