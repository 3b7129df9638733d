"""What leaves the monitoring account, and how untrusted text is made safe for each rendering.

One allow-list per exit: the fields of an alert document (SNS: email, chat, queues, HTTPS) and the
properties of an EMF record (CloudWatch). Anything not listed is dropped; the models alerts are
built from do not carry Environment, HyperParameters or request parameters in the first place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

REASON_LIMIT = 1024

ALERT_FIELDS = frozenset({
    "schema", "incident", "thread_id", "kind", "severity", "account", "region", "resource_type",
    "name", "status", "headline", "reason", "team", "instance_type", "instance_count",
    "duration_seconds", "ended_at", "utilization", "waste", "context", "links", "next_step",
    "subject", "text", "attributes",
})  # fmt: skip
METRIC_PROPERTIES = frozenset(
    {"JobName", "Name", "Region", "Verdict", "InstanceTypes", "Project", "Environment"}
)

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b([\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|credential)"
    r"[\w.-]*)(\s*[=:]\s*[\"']?|[\"']\s*:\s*[\"'])[^\s\"',;}]+"
)
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_CHAT_UNSAFE = re.compile(r"[^\w\s.,:;()/+=$%'-]")
_BROADCASTS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def alert_document(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key in ALERT_FIELDS}


def metric_properties(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key in METRIC_PROPERTIES}


def sanitize(text: str | None, limit: int = REASON_LIMIT) -> str | None:
    """Untrusted text to plain, printable, bounded, with credential-looking values masked."""
    if not text:
        return None
    text = _ANSI.sub("", text)
    text = "".join(ch if ch == "\n" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = _SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _ACCESS_KEY_ID.sub("***", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def for_email(text: str) -> str:
    """Plain text: sanitized; markup stays inert text in a text/plain mail."""
    return sanitize(text) or ""


def for_markdown(text: str) -> str:
    """Free text for chat (Slack and Teams markdown) as a code block: shown verbatim, never
    formatted or linked. It cannot close the block (backticks are replaced), mention anyone or
    inject Slack's <!channel>-style control sequences (&, < and > are entities)."""
    clean = (sanitize(text) or "").replace("`", "\u02cb")
    clean = clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    clean = _BROADCASTS.sub(lambda m: "@\u2060" + m.group(1), clean)  # word joiner: no ping
    return f"```\n{clean}\n```"


def chat_plain(text: str) -> str:
    """A short value (a name, a status, a figure) for chat prose: only letters, digits, spaces
    and punctuation that no chat markdown gives a meaning, so it renders as it reads."""
    return _CHAT_UNSAFE.sub("", sanitize(text, limit=256) or "").replace("\n", " ")


def for_terminal(text: Any) -> str:
    """The CLI's output: no escape sequences or control characters reach the terminal."""
    cleaned = _ANSI.sub("", str(text))
    return "".join(
        ch if ch == "\n" or unicodedata.category(ch)[0] != "C" else " " for ch in cleaned
    )
