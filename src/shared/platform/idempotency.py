"""Do-once around a side effect, keyed by what it is about (an incident, a job), not by event id.

One record per key in DynamoDB (`ports.OnceStore`): a conditional write claims it for the
invocation (a lease that ends with it), the work runs, one more write settles it. Progress made
before a failure is kept with the released claim: a retry resumes where the failed attempt
stopped (e.g. publishes only to the topics still missing), and once settled every later attempt
finds the key done. If the store cannot be reached the call raises, so the event is retried rather
than acted on twice or dropped. Two writes per key, where Powertools' idempotency took two per
step (an alert's decision and each topic: eight).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.platform.clock import Clock
from shared.platform.errors import RetryableError

# Worth another attempt: an AWS error left after the SDK's retries, the key held by another
# attempt, or our own retryable errors (e.g. a rejected PutEvents).
RETRYABLE: tuple[type[Exception], ...] = (BotoCoreError, ClientError, RetryableError)

# Without a Lambda context (tests, the CLI), a claim is held as long as a function may run.
LAMBDA_MAX_SECONDS = 900


@dataclass
class Progress:
    """A key's record: settled (`done`: later attempts do nothing), or what earlier attempts got
    done before they failed, updated by this one as it goes on."""

    done: bool = False
    outcome: str | None = None
    sent: dict[str, str] = field(default_factory=dict)  # e.g. rendering → message id


class OnceStore(Protocol):
    """The records of `Once` (`adapters.dynamodb.OnceTable`: conditional writes)."""

    def claim(self, key: str, now: float, lease_until: float, expires_at: int) -> Progress | None:
        """Holds `key` until `lease_until` and returns its record (an empty one if it is new or
        expired); None if another attempt holds it."""
        ...

    def settle(self, key: str, progress: Progress) -> None:
        """Stores `progress` and releases the claim."""
        ...


class InProgress(RetryableError):
    """Another attempt holds the key: this one is retried after it (or its lease) ends."""


class Once:
    def __init__(
        self, store: OnceStore, purpose: str, expires_after_seconds: int, clock: Clock
    ) -> None:
        self.store = store
        self.purpose = purpose  # keeps one function's keys apart from another's
        self.expires_after_seconds = expires_after_seconds
        self.clock = clock
        self.lambda_context: Any = None

    def bind(self, lambda_context: Any) -> None:
        """The claim ends with the invocation: a crash frees the key for Lambda's retry."""
        self.lambda_context = lambda_context

    @contextlib.contextmanager
    def attempt(self, about: str) -> Iterator[Progress]:
        """Claims `about` and yields what earlier attempts did (`done`: all of it, so do
        nothing); settles it done when the block ends, or keeps the block's progress and
        releases the claim when it raises (the error propagates)."""
        key = self.key(about)
        now = self.clock()
        progress = self.store.claim(
            key, now, now + self._lease_seconds(), int(now) + self.expires_after_seconds
        )
        if progress is None:
            raise InProgress(f"{self.purpose} {about!r} is being handled by another attempt")
        if progress.done:
            yield progress
            return
        try:
            yield progress
        except BaseException:
            with contextlib.suppress(*RETRYABLE):  # else the lease frees it when it ends
                self.store.settle(key, progress)
            raise
        self.store.settle(key, replace(progress, done=True))

    def key(self, about: str) -> str:
        """Bounded (a key holds at most 2,048 bytes; names come from workload accounts)."""
        digest = hashlib.sha256(about.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"once|{self.purpose}|{digest}"

    def _lease_seconds(self) -> float:
        remaining = getattr(self.lambda_context, "get_remaining_time_in_millis", None)
        return remaining() / 1000 if callable(remaining) else LAMBDA_MAX_SECONDS
