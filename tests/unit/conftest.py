"""Shared helpers for the unit tests: sample events from events/ and a builder for variations."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
BASE_TRAINING_EVENT = "training-completed-gpu"


@cache
def _read(name: str) -> dict[str, Any]:
    path = EVENTS_DIR / f"{name.removesuffix('.json')}.json"
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def read_event(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of events/<name>.json (the file is read once per session)."""
    return copy.deepcopy(_read(name))


def build_training_event(**detail_overrides: Any) -> dict[str, Any]:
    """events/training-completed-gpu.json with detail fields overridden; a None value removes
    the key (to send an explicit JSON null, set it on the returned dict)."""
    event = read_event(BASE_TRAINING_EVENT)
    detail = event["detail"]
    for key, value in detail_overrides.items():
        if value is None:
            detail.pop(key, None)
        else:
            detail[key] = value
    return event


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    return read_event


@pytest.fixture
def training_event() -> Callable[..., dict[str, Any]]:
    return build_training_event


@pytest.fixture
def offline_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no config files: real boto3 clients that never find a real account
    (behind a Stubber, they never reach the network either)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
