"""Typed errors. Retryable faults raise so SQS/EventBridge retry and dead-letter queues keep the
event; an `InvalidEvent` can never succeed and is reported as poison with its reason. `fault_of`
tells a failed AWS call that a retry can help from one that only a changed setting can."""

from __future__ import annotations

from enum import StrEnum


class SagewatchError(Exception):
    """Base of every error sagewatch raises on purpose."""


class InvalidEvent(SagewatchError):
    """The event cannot be processed, however often it is retried."""


class ConfigError(SagewatchError):
    """A required setting is missing or malformed."""


class RetryableError(SagewatchError):
    """A dependency failed; the same event may succeed later."""


class PublishError(RetryableError):
    """PutEvents or SNS did not accept what was sent."""


class DuplicateRoute(SagewatchError):
    """Two handlers registered for the same (source, detail-type)."""


class Fault(StrEnum):
    """What a failed call means for the event it was made for."""

    TRANSIENT = (
        "transient"  # may succeed later: retried (throttling, timeouts, 5xx, the store busy)
    )
    PERMANENT = "permanent"  # fails the same way until someone changes a setting: parked now


# AWS error codes a retry cannot fix: a permission, a key, a parameter or a resource that is
# missing or wrong. Retrying them only delays the dead letter (hours, for an SQS-fed function)
# and hides the cause; parked at once, their reason names the fix, and a redrive replays them.
PERMANENT_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",  # SNS
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "ValidationError",
        "ValidationException",
        "InvalidParameter",  # SNS
        "InvalidParameterValue",
        "InvalidParameterException",
        "InvalidParameterValueException",
        "NotFound",  # SNS topic
        "NotFoundException",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
        "KMS.AccessDeniedException",
        "KMS.DisabledException",
        "KMS.NotFoundException",
    }
)


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, here or in the errors that caused it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict) and isinstance(
            code := response.get("Error", {}).get("Code"), str
        ):
            return code
        current = current.__cause__ or current.__context__
    return None


def fault_of(error: BaseException) -> Fault:
    return Fault.PERMANENT if error_code(error) in PERMANENT_ERROR_CODES else Fault.TRANSIENT
