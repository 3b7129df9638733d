"""shared.platform.errors.fault_of: a retry only where a retry can help."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shared.platform.errors import Fault, PublishError, RetryableError, error_code, fault_of


def _aws(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "Operation")


@pytest.mark.parametrize(
    "code",
    ["AccessDenied", "AccessDeniedException", "ValidationException", "AuthorizationError",
     "KMSDisabledException", "ResourceNotFoundException", "NotFound"],
)  # fmt: skip
def test_a_refused_permission_key_parameter_or_resource_is_permanent(code: str) -> None:
    assert fault_of(_aws(code)) is Fault.PERMANENT


@pytest.mark.parametrize(
    "code",
    ["ThrottlingException", "Throttling", "ProvisionedThroughputExceededException",
     "InternalServerError", "ServiceUnavailable", "RequestTimeout", "KMSThrottlingException"],
)  # fmt: skip
def test_throttling_and_service_faults_are_transient(code: str) -> None:
    assert fault_of(_aws(code)) is Fault.TRANSIENT


def test_errors_without_an_aws_code_are_transient() -> None:
    assert fault_of(EndpointConnectionError(endpoint_url="https://sns")) is Fault.TRANSIENT
    assert fault_of(PublishError("PutEvents did not accept it")) is Fault.TRANSIENT


def _wrapped(code: str) -> RetryableError:
    """An error raised `from` the AWS error that caused it."""
    try:
        raise RetryableError("could not record the incident") from _aws(code)
    except RetryableError as error:
        return error


def test_the_code_is_found_through_the_error_that_wraps_it() -> None:
    wrapped = _wrapped("AccessDeniedException")

    assert error_code(wrapped) == "AccessDeniedException"
    assert fault_of(wrapped) is Fault.PERMANENT
