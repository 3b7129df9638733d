"""Untrusted text for each rendering of an alert: email, chat markdown, chat prose."""

from __future__ import annotations

import re

from shared.domain.text import NAME_LIMIT, one_line, sanitize

_CHAT_UNSAFE = re.compile(r"[^\w\s.,:;()/+=$%'-]")
_BROADCASTS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def for_email(text: str) -> str:
    """Plain text: sanitized; markup stays inert text in a text/plain mail."""
    return sanitize(text) or ""


def for_markdown(text: str) -> str:
    """Free text for chat (Slack and Teams markdown) as a code block: shown verbatim, never
    formatted or linked. It cannot close the block (backticks are replaced), mention anyone or
    inject Slack's <!channel>-style control sequences (&, < and > are entities)."""
    clean = (sanitize(text) or "").replace("`", "\u02cb")
    clean = clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"```\n{no_mentions(clean)}\n```"


def chat_plain(text: str) -> str:
    """A short value (a name, a status, a figure) for chat prose: only letters, digits, spaces
    and punctuation that no chat markdown gives a meaning, so it renders as it reads."""
    return _CHAT_UNSAFE.sub("", one_line(text, limit=NAME_LIMIT))


def no_mentions(text: str) -> str:
    """Any chat string (metadata too): Slack's <!channel>, <@U123>, <#C1> and Teams' <at> lose
    their brackets, and a word joiner after @ keeps @here, @channel and @everyone from pinging."""
    if "<" not in text and ">" not in text and "@" not in text:  # most are: skip the passes
        return text
    text = text.replace("<", "\u2039").replace(">", "\u203a")
    return _BROADCASTS.sub(lambda m: "@\u2060" + m.group(1), text)
