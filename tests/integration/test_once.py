"""Do-once records: `OnceTable` against moto's DynamoDB (its condition expressions evaluated for
real) and the `MemoryOnce` fake the unit tests use, held to the same behaviour case by case."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from shared.adapters.dynamodb import OnceTable
from shared.platform.clock import FixedClock
from shared.platform.idempotency import LAMBDA_MAX_SECONDS, InProgress, Once, Progress
from shared.ports import OnceStore
from tests.fakes import MemoryOnce

pytestmark = pytest.mark.integration

T0 = 1_795_168_800.0
DAY = 86_400


@pytest.fixture(params=["dynamodb", "memory"])
def records(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[OnceStore]:
    if request.param == "memory":
        yield MemoryOnce()
        return
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="once",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        yield OnceTable("once", dynamodb)


class Context:
    """A Lambda context with `seconds` left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def once(records: OnceStore, clock: FixedClock) -> Once:
    return Once(records, "alert", DAY, clock)


def publish(sent: list[str], fail_on: str | None = None) -> Callable[[Progress], None]:
    """Sends to each rendering the progress lacks, failing at `fail_on`."""

    def run(progress: Progress) -> None:
        for channel in ("email", "json", "chat"):
            if channel in progress.sent:
                continue
            if channel == fail_on:
                raise RuntimeError(f"{channel} refused")
            sent.append(channel)
            progress.sent[channel] = f"id-{channel}"

    return run


def test_a_new_key_is_done_once_and_its_repeats_find_what_it_did(records: OnceStore) -> None:
    clock, sent = FixedClock(T0), list[str]()
    for _ in range(3):
        with once(records, clock).attempt("incident-1") as progress:
            if not progress.done:
                progress.outcome = "alerted"
                publish(sent)(progress)
        clock.advance(60)

    assert sent == ["email", "json", "chat"]
    assert progress.done
    assert progress.outcome == "alerted"
    assert progress.sent == {"email": "id-email", "json": "id-json", "chat": "id-chat"}


def test_a_failed_attempt_keeps_its_progress_and_the_retry_resumes_after_it(
    records: OnceStore,
) -> None:
    clock, sent = FixedClock(T0), list[str]()

    def alert(fail_on: str | None) -> None:
        with once(records, clock).attempt("incident-1") as progress:
            progress.outcome = "alerted"
            publish(sent, fail_on)(progress)

    with pytest.raises(RuntimeError, match="json refused"):
        alert(fail_on="json")

    with once(records, clock).attempt("incident-1") as retried:
        assert not retried.done
        assert (retried.outcome, retried.sent) == ("alerted", {"email": "id-email"})
        publish(sent)(retried)

    assert sent == ["email", "json", "chat"]  # email once, then only what was missing


def test_a_key_held_by_a_live_attempt_is_refused_until_its_lease_ends(records: OnceStore) -> None:
    clock = FixedClock(T0)
    holder = once(records, clock)
    holder.bind(Context(seconds=30))
    crashed = holder.attempt("incident-1")  # entered, then the invocation dies: never settled
    crashed.__enter__().outcome = "alerted"

    with pytest.raises(InProgress, match="being handled by another attempt"):
        once(records, clock).attempt("incident-1").__enter__()
    clock.advance(31)
    with once(records, clock).attempt("incident-1") as retried:
        assert not retried.done  # the crashed attempt's outcome was never stored


def test_without_a_lambda_context_a_claim_is_held_as_long_as_a_function_may_run(
    records: OnceStore,
) -> None:
    clock = FixedClock(T0)
    crashed = once(records, clock).attempt("incident-1")  # kept: never exited
    crashed.__enter__()

    clock.advance(LAMBDA_MAX_SECONDS - 1)
    with pytest.raises(InProgress):
        once(records, clock).attempt("incident-1").__enter__()
    clock.advance(2)
    retried = once(records, clock).attempt("incident-1")
    assert retried.__enter__() == Progress()


def test_an_expired_record_is_a_new_key_with_nothing_of_the_old_one(records: OnceStore) -> None:
    clock, sent = FixedClock(T0), list[str]()
    with once(records, clock).attempt("incident-1") as progress:
        progress.outcome = "suppressed"
    clock.advance(DAY + 1)

    def crash() -> None:
        with once(records, clock).attempt("incident-1") as fresh:
            assert fresh == Progress()
            raise RuntimeError("crash before any progress")

    with pytest.raises(RuntimeError):
        crash()
    with once(records, clock).attempt("incident-1") as again:
        assert again == Progress()  # not the expired record's "suppressed"
        publish(sent)(again)
    assert sent == ["email", "json", "chat"]


def test_keys_are_bounded_and_apart_per_purpose(records: OnceStore) -> None:
    clock = FixedClock(T0)
    about = "x" * 5_000  # a name no DynamoDB key could hold
    with Once(records, "alert", DAY, clock).attempt(about) as alert:
        alert.outcome = "alerted"
    with Once(records, "report", DAY, clock).attempt(about) as report:
        assert not report.done  # another function's key, however equal the text

    assert len(Once(records, "alert", DAY, clock).key(about)) < 64


def test_a_store_that_fails_on_release_does_not_hide_the_work_error() -> None:
    class Failing(MemoryOnce):
        def settle(self, key: str, progress: Progress) -> None:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://dynamodb")

    def work() -> None:
        with once(Failing(), FixedClock(T0)).attempt("incident-1"):
            raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError, match="the work failed"):
        work()
