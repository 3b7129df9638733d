"""Credential-looking text in failure reasons: masked in every rendering (email, chat, JSON),
while ordinary failure reasons reach the reader untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.alerting.alerts import failure_alert
from shared.alerting.render import chat_notification, document, subject, text_body
from shared.domain.parser import parse_event
from shared.domain.text import _SECRETS, _masked, sanitize

TrainingEvent = Callable[..., dict[str, Any]]

# (id, failure reason, the secret parts that must never reach a reader)
SECRETS = [
    ("quoted-with-spaces", "login failed: password='correct horse battery'", ["horse battery"]),
    ("double-quoted-spaces", 'db_password="my pass phrase" rejected', ["my pass phrase"]),
    ("yaml-quoted", 'config error: password: "p4ss w0rd" is invalid', ["p4ss w0rd"]),
    (
        "bearer-header",
        "401 for Authorization: Bearer abcDEF123ghiJKL456mno",
        ["abcDEF123ghiJKL456"],
    ),
    ("bearer-prose", "request sent with bearer 9sk2LmNp0RtUv3WxYzQa", ["9sk2LmNp0RtUv3WxYzQa"]),
    ("basic-auth", "proxy said 407, Authorization: Basic dXNlcjpwYXNzd29yZA==", ["dXNlcjpwYXNz"]),
    (
        "url-credentials",
        "git clone https://deploy:Sup3rS3cret@git.example.com/ml.git",
        ["Sup3rS3cret"],
    ),
    ("postgres-url", "could not connect to postgres://ml_user:Pg-P4ss-2026@db:5432/f", ["Pg-P4ss"]),
    ("mongodb-srv", "mongodb+srv://admin:M0ng0Secret@cluster0.example.net/test failed", ["M0ng0"]),
    ("redis-no-user", "redis://:r3d1sPass@cache:6379/0 refused", ["r3d1sPass"]),
    (
        "rsa-private-key",
        "bad key -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bqXk2\nQ0dL9mZ"
        "\n-----END RSA PRIVATE KEY----- given",
        ["MIIEowIBAAKCAQEA7bqXk2", "Q0dL9mZ"],
    ),
    (
        "openssh-key-cut-off",
        "ssh: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU",
        ["b3BlbnNzaC1rZXktdjEAAAAA"],
    ),
    ("aws-access-key-id", "creds AKIAIOSFODNN7EXAMPLE denied", ["AKIAIOSFODNN7EXAMPLE"]),
    ("aws-session-key-id", "session ASIAY34FZKBOKMUTVV7A expired", ["ASIAY34FZKBOKMUTVV7A"]),
    (
        "aws-secret-env",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY in env",
        ["wJalrXUtnFEMI"],
    ),
    (
        "aws-secret-ini",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE2",
        ["wJalrXUtnFEMI"],
    ),
    (
        "aws-secret-json",
        '{"AccessKeyId": "AKIAI44QH8DHBEXAMPLE", "SecretAccessKey": "je7MtGbClwBF/2Zp9Utk"}',
        ["AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF"],
    ),
    ("github-token", "push failed: ghp_16C7e42F292c6912E7710c838347Ae178B4a", ["16C7e42F292c"]),
    (
        "github-fine-grained",
        "token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345 revoked",
        ["11ABCDEFG0123456789"],
    ),
    ("slack-token", "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp", ["AbCdEfGhIjKl"]),
    (
        "jwt",
        "invalid jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n",
        ["eyJzdWIiOiIxMjM0NTY3ODkwIn0", "dozjgNryP4J3jVmNHl0w5N"],
    ),
    ("api-key-assignment", "api_key=sk_test_4eC39HqLyjWDarjtT1zdp7dc rejected", ["4eC39HqLyjW"]),
    ("token-colon", "token: 9f8e7d6c5b4a39281706 is not valid", ["9f8e7d6c5b4a"]),
    ("cli-flag-space", "mysql --password hunter2x --host db failed", ["hunter2x"]),
    ("cli-flag-equals", "python train.py --api-key=a1b2c3d4e5f6a7b8 --epochs 3", ["a1b2c3d4e5f6"]),
    ("env-upper", "PASSWORD=Winter2026! was rejected", ["Winter2026"]),
    ("zero-width-split-key", "pass\u200bword=hunter2zw (hidden split)", ["hunter2zw"]),
    ("json-secret-spaces", '{"secret": "s3cr3t value with spaces"}', ["s3cr3t value"]),
    ("json-client-secret", '{"client_secret":"cs-0f9e8d7c6b5a"}', ["cs-0f9e8d7c6b5a"]),
    ("python-kwargs", "connect(host='db', password='p@ss;word')", ["p@ss;word", "ss;word"]),
    ("hugging-face", "hub 401 with hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", ["AbCdEfGhIjKlMnOp"]),
    ("openai-key", "openai: sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123 invalid", ["AbCdEfGhIjKlMnOp"]),
    (
        "presigned-url",
        "GET https://b.s3.amazonaws.com/k?X-Amz-Security-Token=IQoJb3JpZ2luEXAMPLE"
        "&X-Amz-Signature=8f3e2d1c0b9a7f6e 403",
        ["IQoJb3JpZ2luEXAMPLE", "8f3e2d1c0b9a7f6e"],
    ),
    ("xml-element", "<password>xmlSecret123</password> in settings.xml", ["xmlSecret123"]),
    (
        "slack-webhook",
        "post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXX failed",
        ["XXXXXXXXXXXXXXXXXXXX"],
    ),
    (
        "azure-connection-string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4;x=y",
        ["Zm9vYmFyYmF6cXV4"],
    ),
    (
        "wandb-env",
        "wandb: WANDB_API_KEY=0123456789abcdef0123456789abcdef01234567 invalid",
        ["0123456789abcdef"],
    ),
]

# Ordinary failure reasons: nothing in them is a credential, so nothing may be masked.
ORDINARY = [
    "ClientError: Data download failed: Could not download s3://bucket/train/data.csv.",
    'AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "raise KeyError(key) from'
    " err\n KeyError: 'store_id'\"",
    "CapacityError: Unable to provision requested ML compute capacity. Please retry using a "
    "different ML instance type.",
    "ResourceLimitExceeded: The account-level service limit 'ml.p4d.24xlarge for training job "
    "usage' is 2 Instances, with current utilization of 2 Instances",
    'FATAL: password authentication failed for user "sagemaker"',
    "Token indices sequence length is longer than the specified maximum (600 > 512)",
    'Command "python train.py --max_new_tokens=256 --num-tokens 512 --tokenizer bert-base"',
    "An error occurred (ExpiredToken) when calling the GetObject operation: The provided token "
    "has expired.",
    "AccessDenied: not authorized to perform secretsmanager:GetSecretValue on resource: "
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf",
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (14.58 GiB total)",
    "ValueError: num_labels (42) does not match label map size (43)",
    "InternalServerError: We encountered an internal error. Please try again.",
    "Bearer token expired; Basic auth is not supported by this registry",
    "hf_hub_download failed: 401 Client Error for https://huggingface.co/org/model",
    "Could not find token_type_ids in model inputs; pad_token_id is None",
    "Commit 3f5a9c2e1b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a of https://github.com/org/repo is missing",
    "Secrets Manager can't find the specified secret.",
]


def _renderings(reason: str, training_event: TrainingEvent) -> dict[str, str]:
    event = parse_event(training_event(TrainingJobStatus="Failed", FailureReason=reason))
    alert = failure_alert(event, "team")
    return {
        "email": subject(alert) + "\n" + text_body(alert),
        "chat": json.dumps(chat_notification(alert), ensure_ascii=False),
        "json": json.dumps(document(alert, None), ensure_ascii=False),
    }


def test_given_the_corpora_when_counted_then_at_least_23_secret_shapes_and_ordinary_reasons() -> (
    None
):
    assert len({shape for shape, _, _ in SECRETS}) == len(SECRETS) >= 23
    assert len(ORDINARY) >= 10


@pytest.mark.parametrize(
    ("reason", "secrets"), [(r, s) for _, r, s in SECRETS], ids=[i for i, _, _ in SECRETS]
)
def test_given_a_secret_in_the_failure_reason_when_rendered_then_no_rendering_shows_it(
    training_event: TrainingEvent, reason: str, secrets: list[str]
) -> None:
    rendered = _renderings(reason, training_event)

    for channel, text in rendered.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} in {channel}"
    assert "***" in rendered["json"]  # masked, not dropped: the reader sees where it was


@pytest.mark.parametrize("reason", ORDINARY)
def test_given_an_ordinary_failure_reason_when_sanitized_then_it_is_unchanged(reason: str) -> None:
    assert sanitize(reason) == reason


def test_given_a_masked_reason_when_sanitized_again_then_it_stays_the_same() -> None:
    once = sanitize(" ".join(reason for _, reason, _ in SECRETS))

    assert once is not None
    assert sanitize(once) == once  # the email and chat renderings sanitize the reason again


def _every_shape_tried(text: str) -> str:
    for pattern, replacement, _ in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


# Pieces of the corpora's secrets and of their words, in other cases and orders, among ordinary
# text: whatever a shape would mask, its words let it be tried.
_PIECES = [piece for _, reason, secrets in SECRETS for piece in (reason, *secrets)] + [
    "PASSWORD", "Api-Key", "x-auth-token", "BEARER ", "Sig=", "HTTPS://",
    "Hooks.Slack.com/services/", "AKIA", "ghp_", "sk-", "\u212aey=",
    "=", ":", " ", "'", '"', "/", "@", "-", "_", "A", "0",
]  # fmt: skip


@pytest.mark.parametrize("text", [reason for _, reason, _ in SECRETS] + ORDINARY)
def test_given_the_corpora_when_masked_then_as_if_every_shape_was_tried(text: str) -> None:
    assert _masked(text) == _every_shape_tried(text)


# Every word of the key shapes, each way a key is written, in either case.
_KEYED = [
    form.format(key=case(key))
    for key in (
        "password", "passwd", "pwd", "passphrase", "secret", "token", "api_key", "access-key",
        "secret key", "private.key", "account_key", "credentials", "signature", "sig",
        "authorization", "auth",
    )
    for case in (str.lower, str.upper)
    for form in ("{key}=v4lue", "--{key} v4lue", "<{key}>v4lue</{key}>")
    if " " not in key or "--" not in form  # `--secret key v4lue`: the flag's value is `key`
]  # fmt: skip


@pytest.mark.parametrize("text", _KEYED)
def test_given_any_key_word_when_masked_then_its_value_is(text: str) -> None:
    assert "v4lue" not in _masked(text)
    assert _masked(text) == _every_shape_tried(text)


@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=12), max_size=12).map("".join))
def test_given_any_text_when_masked_then_as_if_every_shape_was_tried(text: str) -> None:
    assert _masked(text) == _every_shape_tried(text)
