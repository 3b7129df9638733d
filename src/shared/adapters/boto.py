"""The boto3 client every adapter shares: created lazily and cached, so importing an adapter
needs no credentials; tests inject a stub or a moto-backed client instead."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3  # deferred: keeps handler import (cold start) cheap
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.client(service, config=config)  # type: ignore[call-overload]


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
