"""Do-once around a side effect, keyed by what it is about (not by event id), with Powertools
idempotency on DynamoDB. A stored result comes back marked `duplicate`; if the store cannot be
reached the call raises, so the event is retried rather than acted on twice or dropped."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import BotoCoreError, ClientError

from shared.platform.errors import RetryableError

Action = Callable[..., dict[str, Any]]  # called as action(payload=...)

# Worth another attempt: the store unreachable, another attempt still holding the record, an AWS
# error left after the SDK's retries, or our own retryable errors (e.g. a rejected PutEvents).
RETRYABLE: tuple[type[Exception], ...] = (
    IdempotencyPersistenceLayerError,
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    BotoCoreError,
    ClientError,
    RetryableError,
)


def _mark_duplicate(response: Any, record: DataRecord) -> Any:
    """Powertools calls this only when it returns a stored result instead of acting."""
    return {**response, "duplicate": True} if isinstance(response, dict) else response


class Once:
    def __init__(
        self,
        action: Action,
        *,
        key: str,
        table: str,
        expires_after_seconds: int,
        store: BasePersistenceLayer | None = None,
    ) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath=key,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
            response_hook=_mark_duplicate,  # type: ignore[arg-type]
        )
        # A persistence layer keeps the first configuration it is given: a shared (test) store is
        # copied, so each Once keys its records its own way (the copies share the records).
        self._call = idempotent_function(
            data_keyword_argument="payload",
            persistence_store=copy.copy(store) or DynamoDBPersistenceLayer(table_name=table),
            config=self.config,
        )(action)

    def bind(self, lambda_context: Any) -> None:
        """Lets an in-progress record expire with the invocation (a crash frees it for retries)."""
        if lambda_context is not None:
            self.config.register_lambda_context(lambda_context)

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(payload=payload)
        return result
