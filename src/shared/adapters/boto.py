"""The SDK clients every adapter shares: created lazily, on first use, from one botocore session,
so importing an adapter needs no credentials and costs nothing; tests inject a stub or a
moto-backed client instead.

botocore, not boto3: boto3's client is botocore's, and boto3 adds only resources and S3 transfers,
which sagewatch does not use; importing boto3 (and s3transfer) and setting up its session cost 5 %
of every cold start's instructions (docs/decisions.md).
"""

from __future__ import annotations

from typing import Any


class _Clients:
    """`client(service)`: one client per service from one session; `client.cache_clear()` drops
    both (the embedded AWS makes them anew when it restarts moto, as boto3's default session
    is made anew under moto's mock)."""

    def __init__(self) -> None:
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config  # deferred: keeps handler import (INIT) cheap
            from botocore.session import Session

            if self._session is None:
                self._session = Session()  # one: its loader reads the SDK's shared data once
            config = Config(retries={"mode": "standard", "max_attempts": 5})
            self._clients[service] = self._session.create_client(service, config=config)
        return self._clients[service]

    def cache_clear(self) -> None:
        self._session = None
        self._clients.clear()


client = _Clients()


class Adapter:
    """Holds an injected client, or creates the shared one on first use."""

    service = ""

    def __init__(self, injected: Any = None) -> None:
        self._client = injected

    @property
    def api(self) -> Any:
        if self._client is None:
            self._client = client(self.service)
        return self._client
