"""The allow-lists (alert document, metric properties) and the per-rendering sanitizers."""

from __future__ import annotations

import json
import unicodedata

import pytest

from sagewatch.template import ROOT
from shared.alerting.formats import chat_plain, for_email, for_markdown
from shared.contracts.alert_document import ALERT_FIELDS
from shared.domain.text import for_terminal
from shared.metrics import metric_properties

HOSTILE = (
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 <!channel> <@U024BE7LH> @here **bold** [x](https://e.vil) "
    "`code` password=hunter2 AKIAABCDEFGHIJKLMNOP\r\nnext\tline"
)


def test_given_the_alert_document_model_then_its_fields_are_the_published_schemas() -> None:
    schema = json.loads((ROOT / "docs" / "alert.schema.json").read_text())
    assert set(schema["properties"]) == ALERT_FIELDS
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) <= ALERT_FIELDS
    # `environment` is the account's label (a string, its workload stack's), never the job's
    # Environment (variables that may hold secrets): the canary tests hold that
    assert schema["properties"]["environment"]["type"] == ["string", "null"]
    assert schema["properties"]["environment"]["maxLength"] == 64


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


def test_given_hostile_text_when_rendered_for_chat_then_one_closed_code_block_no_mention() -> None:
    text = for_markdown(HOSTILE)

    assert text.startswith("```\n")
    assert text.endswith("\n```")
    inside = text[4:-4]
    assert "`" not in inside  # cannot close the block: markup and links inside stay inert text
    assert "<!channel>" not in text
    assert "<@U024BE7LH>" not in text
    assert "@here" not in text
    assert "&lt;" in text  # shown as text, not parsed
    assert "hunter2" not in text


def test_given_hostile_value_when_made_chat_plain_then_only_inert_characters_remain() -> None:
    text = chat_plain(HOSTILE)

    assert not set(text) & set("*_~`<>[]!@#|&\x1b\n\r\t") - {"_"}
    assert "hunter2" not in text
    assert "red" in text
    assert "next" in text
    assert (
        chat_plain("vision-team (ml.g5.xlarge x 2), $1.25")
        == "vision-team (ml.g5.xlarge x 2), $1.25"
    )


def test_given_escape_sequences_when_rendered_for_terminal_then_none_remains() -> None:
    text = for_terminal(HOSTILE)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "next" in text


@pytest.mark.parametrize(
    "text",
    ["plain ASCII, with: punctuation!", "two\nlines", "tab\there", "del\x7fete",
     "\x1b[31mred\x1b[0m", "bell\x07", "café", "zero\u200bwidth", "line\u2028sep", "~ { } | `"],
)  # fmt: skip
def test_the_printable_ascii_fast_path_gives_what_the_full_pass_gives(text: str) -> None:
    from shared.domain import text as module

    full = "".join(
        "\n" if ch in "\u2028\u2029"
        else "" if unicodedata.category(ch) == "Cf"
        else " " if unicodedata.category(ch)[0] == "C" and ch != "\n"
        else ch
        for ch in module._ANSI.sub("", text)
    )  # fmt: skip

    assert module._plain(text) == full
