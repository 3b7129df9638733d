"""Untrusted text made safe: every name, reason and label from an event passes here before it
is stored, rendered or logged (bounded, printable, credentials masked)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

REASON_LIMIT = 1024
NAME_LIMIT = 256  # a name from event data (SageMaker's own are ≤ 63 characters, pipelines 256)
# Untrusted text is cut to this before any pattern runs: bounded work for a 1 MB forged reason,
# and far more than any rendering shows (the cut lands well past what masking can shorten).
SCAN_LIMIT = 16_384


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_LINE_SEPARATORS = "\u2028\u2029"

# --- credential masking: one table of shapes, each (pattern, replacement, words) -------------
# A key whose name ends in one of these words, then `=`, `:` or `=>`, then its value. The key
# must start a token (not follow `:` or `/`: an ARN's `secret:name` is a name, not a value).
_SENSITIVE_KEYS = (
    r"(?:password|passwd|pwd|passphrase|secret|token|api[_ .-]?key|access[_ .-]?key"
    r"|secret[_ .-]?key|private[_ .-]?key|account[_ .-]?key|credentials?|signature|sig"
    r"|authorization|auth)"
)
# Stems of those words: every match of a key shape holds one (its `words` below).
_KEY_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "sig", "auth")
_QUOTED = r"\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?"  # a cut-off value is masked to its end
_BARE = r"[^\s\"',;)}\]&<>]+"
_SCHEME = r"(?:(?:basic|bearer|digest|negotiate|token)\s+)?"  # Authorization: Basic <value>


def _hide(match: re.Match[str]) -> str:
    """Keeps a masked value's quotes, so the reader still sees its shape."""
    value = match.group(2)
    quote = value[0] if value[0] in "\"'" else ""
    closed = len(value) > 1 and value.endswith(quote)
    return match.group(1) + quote + "***" + (quote if quote and closed else "")


# `words`: lower-case text of which every match holds one. A shape is tried only on text that
# has one of its words: most of what passes here (names, ARNs, keys) has none, and the patterns
# cost 2-20 microseconds each per text even where they find nothing.
# The tokens' prefixes, in lower case.
_TOKEN_WORDS: tuple[str, ...] = ("akia", "asia", "abia", "acca", "gh", "github_pat_", "glpat-")
_TOKEN_WORDS += ("xox", "eyj", "hf_", "sk", "rk_", "aiza", "dapi")
_Shape = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str], tuple[str, ...]]
_SECRETS: tuple[_Shape, ...] = (
    (  # PEM private keys, to their END line or, cut off, to the end of the text
        re.compile(
            r"(-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----).*?"
            r"(-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.S,
        ),
        r"\1***\2",
        ("-----begin",),
    ),
    (  # key = value, key: "value with spaces", "key": "value", key => value
        re.compile(
            rf"(?i)((?<![\w.:/-])[\w.-]{{0,100}}?{_SENSITIVE_KEYS}[\"']?\s*(?:=>|[=:])\s*{_SCHEME})"
            rf"({_QUOTED}|{_BARE})"
        ),
        _hide,
        _KEY_WORDS,
    ),
    (  # --password value (a value starting with '-' is the next flag)
        re.compile(
            rf"(?i)((?<![\w-])--?[\w-]{{0,100}}?{_SENSITIVE_KEYS}\s+)({_QUOTED}|[^\s\"'-]\S*)"
        ),
        _hide,
        _KEY_WORDS,
    ),
    (  # <password>value</password>
        re.compile(rf"(?i)(<([\w:-]{{0,100}}?{_SENSITIVE_KEYS})>)[^<]{{0,1000}}(</\2>)"),
        r"\1***\3",
        _KEY_WORDS,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[\w\-.~+/]{8,}=*"), r"\1***", ("bearer",)),
    (  # credentials in a URL or connection string: scheme://user:password@host
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://[^\s/:@]*:)[^\s/]+@"),
        r"\1***@",
        ("://",),
    ),
    (re.compile(r"(?i)(hooks\.slack\.com/services/)[\w/]+"), r"\1***", ("hooks.slack.com",)),
    (  # tokens recognisable by their shape alone
        re.compile(
            r"\b(?:(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"  # AWS access key ids
            r"|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{22,255}"  # GitHub
            r"|glpat-[\w-]{20,}"  # GitLab
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
            r"|eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*"  # JWT
            r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
            r"|sk-(?:proj-|ant-)?[\w-]{20,}"  # OpenAI, Anthropic
            r"|(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}"  # Stripe
            r"|AIza[\w-]{35}"  # Google
            r"|dapi[0-9a-f]{32})"  # Databricks
        ),
        "***",
        _TOKEN_WORDS,
    ),
)


def _masked(text: str) -> str:
    # Words are compared in lower case on ASCII text only: elsewhere case folding has exceptions
    # (the Kelvin sign matches k), and every shape is tried. A mask adds only `***`, which no
    # word holds, so the words of the text as given hold for the text as masked so far.
    lower = text.lower() if text.isascii() else None
    for pattern, replacement, words in _SECRETS:
        if lower is None or any(map(lower.__contains__, words)):
            text = pattern.sub(replacement, text)
    return text


# One alert's names and reasons pass here once per rendering (email, chat, JSON, metrics): the
# work is kept for the texts seen last (pure functions of bounded text).
@lru_cache(maxsize=1024)
def _clean(text: str) -> str:
    return _masked(_plain(text))


_BLANK_LINES = re.compile(r"\n{3,}")
# Printable ASCII (and newlines): nothing for _plain to change, no per-character pass.
_PLAIN_ASCII = re.compile(r"[\n\x20-\x7e]*")


def _plain(text: str) -> str:
    """No escape sequences; format characters (bidi controls, zero-width) dropped, so nothing
    reorders or hides text; other control characters become spaces, line separators newlines."""
    text = text[:SCAN_LIMIT]
    if _PLAIN_ASCII.fullmatch(text):
        return text
    text = _ANSI.sub("", text)
    return "".join(
        "\n"
        if ch in _LINE_SEPARATORS
        else ""
        if (kind := unicodedata.category(ch)) == "Cf"
        else " "
        if kind[0] == "C" and ch != "\n"
        else ch
        for ch in text
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def sanitize(text: str | None, limit: int = REASON_LIMIT) -> str | None:
    """Untrusted text to plain, printable, bounded, with credential-looking values masked."""
    if not text:
        return None
    text = _BLANK_LINES.sub("\n\n", _clean(text[:SCAN_LIMIT])).strip()
    return _cut(text, limit) or None


def one_line(text: str | None, limit: int = NAME_LIMIT) -> str:
    """A name, status or label from event data: as `sanitize`, on one line."""
    return _one_line((text or "")[:SCAN_LIMIT], limit)


# An alert's name, account and region pass here in every rendering: kept as `_clean` keeps them.
@lru_cache(maxsize=1024)
def _one_line(text: str, limit: int) -> str:
    return _cut(" ".join(_clean(text).split()), limit)


def for_terminal(text: Any) -> str:
    """The CLI's output: no escape sequences or control characters reach the terminal."""
    cleaned = _ANSI.sub("", str(text))
    return "".join(
        ch if ch == "\n" or unicodedata.category(ch)[0] != "C" else " " for ch in cleaned
    )
