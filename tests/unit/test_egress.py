"""shared.egress: the allow-lists and the per-rendering sanitizers."""

from __future__ import annotations

from shared.egress import (
    ALERT_FIELDS,
    alert_document,
    for_email,
    for_markdown,
    for_terminal,
    metric_properties,
)

HOSTILE = (
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 <!channel> <@U024BE7LH> @here **bold** [x](https://e.vil) "
    "`code` password=hunter2 AKIAABCDEFGHIJKLMNOP\r\nnext\tline"
)


def test_given_unlisted_fields_when_alert_document_built_then_they_are_dropped() -> None:
    document = alert_document({"name": "job", "environment": {"DB_PASSWORD": "x"}, "headline": "h"})
    assert document == {"name": "job", "headline": "h"}
    assert "environment" not in ALERT_FIELDS


def test_given_unlisted_properties_when_metric_properties_built_then_they_are_dropped() -> None:
    assert metric_properties({"JobName": "j", "HyperParameters": {"lr": "1"}}) == {"JobName": "j"}


def test_given_hostile_text_when_rendered_for_email_then_plain_printable_and_masked() -> None:
    text = for_email(HOSTILE)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "\t" not in text
    assert "hunter2" not in text
    assert "AKIAABCDEFGHIJKLMNOP" not in text


def test_given_hostile_text_when_rendered_for_chat_then_no_mention_link_or_markup() -> None:
    text = for_markdown(HOSTILE)
    assert "<!channel>" not in text
    assert "<@U024BE7LH>" not in text
    assert "@here" not in text
    assert "[x](" not in text
    assert "**bold**" not in text
    assert "&lt;" in text  # shown as text, not parsed
    assert "hunter2" not in text


def test_given_escape_sequences_when_rendered_for_terminal_then_none_remains() -> None:
    text = for_terminal(HOSTILE)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "next" in text
