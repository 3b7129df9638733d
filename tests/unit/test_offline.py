"""The guard of tests/conftest.py: a test without the integration marker reaches neither the
network nor moto, and fails even when the code under test swallows the refusal."""

from __future__ import annotations

import socket
import tempfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from tests.conftest import REFUSED, Refused


def test_given_a_unit_test_when_it_connects_resolves_or_starts_moto_then_each_is_refused(
    request: pytest.FixtureRequest,
) -> None:
    from moto import mock_aws

    with pytest.raises(Refused):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1: never routed
    with pytest.raises(Refused):
        socket.getaddrinfo("sqs.us-east-1.amazonaws.com", 443)
    with pytest.raises(Refused):
        mock_aws().start()

    assert len(request.node.stash[REFUSED]) == 3
    request.node.stash[REFUSED].clear()  # else this test fails at teardown, as it should


def test_given_code_that_swallows_the_refusal_then_the_attempt_is_still_recorded(
    request: pytest.FixtureRequest,
) -> None:
    sqs = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).client("sqs", config=Config(retries={"max_attempts": 1}))
    with pytest.raises((Refused, BotoCoreError)):  # the SDK may wrap it: the guard still knows
        sqs.list_queues()

    assert request.node.stash[REFUSED]
    request.node.stash[REFUSED].clear()


def test_given_a_local_unix_socket_when_connected_then_allowed() -> None:
    with tempfile.TemporaryDirectory() as folder:  # short: a socket path has 107 bytes at most
        path = f"{folder}/s"
        with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
            server.bind(path)
            server.listen(1)
            client.connect(path)
            client.sendall(b"x")
            connection, _ = server.accept()
            with connection:
                assert connection.recv(1) == b"x"
