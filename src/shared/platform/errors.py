"""Typed errors. Retryable faults raise so SQS/EventBridge retry and dead-letter queues keep the
event; an `InvalidEvent` can never succeed and is reported as poison with its reason."""


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
