"""One-click unsubscribe tokens: round trip, and every forgery refused (offline)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from coachgraph.mail.message import OutgoingEmail, build_message
from coachgraph.mail.transport import make_transport
from coachgraph.mail.unsubscribe import (
    MIN_SECRET_CHARS,
    TokenError,
    one_click_url,
    resolve,
    token_for,
)
from schemas.context import Context
from schemas.errors import ConfigError

SECRET = SecretStr("k" * 32)
OTHER = SecretStr("o" * 32)
CONTACT, CAMPAIGN = "c-ana.lopez", "cmp-q4"

ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n"),
    min_size=1,
    max_size=64,
)


def raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip() -> None:
    assert resolve(token_for(CONTACT, CAMPAIGN, SECRET), SECRET) == (CONTACT, CAMPAIGN)


@given(contact=ids, campaign=ids)
def test_round_trip_any_ids(contact: str, campaign: str) -> None:
    assert resolve(token_for(contact, campaign, SECRET), SECRET) == (contact, campaign)


def test_token_is_deterministic_and_differs_per_contact_and_campaign() -> None:
    token = token_for(CONTACT, CAMPAIGN, SECRET)
    assert token == token_for(CONTACT, CAMPAIGN, SECRET)
    assert token != token_for("c-other", CAMPAIGN, SECRET)
    assert token != token_for(CONTACT, "cmp-other", SECRET)


def test_no_id_or_email_in_the_token() -> None:
    email = "ana.lopez@example.org"
    token = token_for(email, CAMPAIGN, SECRET)
    decoded = raw(token)
    for secret_part in (email, "ana", "example", CAMPAIGN, "cmp"):
        assert secret_part not in token
        assert secret_part.encode() not in decoded


def test_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TokenError, match="not valid"):
        resolve(token_for(CONTACT, CAMPAIGN, OTHER), SECRET)


@pytest.mark.parametrize("cut", [1, 2, 5, 20])
def test_truncated_is_refused(cut: int) -> None:
    token = token_for(CONTACT, CAMPAIGN, SECRET)
    with pytest.raises(TokenError):
        resolve(token[:-cut], SECRET)


@pytest.mark.parametrize(
    "forged",
    ["", "x", "A" * 40, "not a token", "AQ==", "../../etc/passwd", "A" * 2000, "é" * 30],
)
def test_forged_and_malformed_are_refused(forged: str) -> None:
    with pytest.raises(TokenError):
        resolve(forged, SECRET)


def test_tampered_ciphertext_is_refused() -> None:
    data = bytearray(raw(token_for(CONTACT, CAMPAIGN, SECRET)))
    data[-1] ^= 0x01
    with pytest.raises(TokenError, match="not valid"):
        resolve(encode(bytes(data)), SECRET)


def test_extended_token_is_refused() -> None:
    with pytest.raises(TokenError):
        resolve(token_for(CONTACT, CAMPAIGN, SECRET) + "AAAA", SECRET)


@given(bit=st.integers(min_value=0))
def test_any_bit_flip_in_the_bytes_is_refused(bit: int) -> None:
    data = bytearray(raw(token_for(CONTACT, CAMPAIGN, SECRET)))
    bit %= len(data) * 8
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TokenError):
        resolve(encode(bytes(data)), SECRET)


@given(bit=st.integers(min_value=0))
def test_any_bit_flip_in_the_text_is_refused(bit: int) -> None:
    token = token_for(CONTACT, CAMPAIGN, SECRET).encode()
    bit %= len(token) * 8
    flipped = bytearray(token)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TokenError):
        resolve(flipped.decode("latin-1"), SECRET)


def test_a_short_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least"):
        token_for(CONTACT, CAMPAIGN, "s" * (MIN_SECRET_CHARS - 1))


@pytest.mark.parametrize("bad", ["", "a\nb"])
def test_ids_must_be_one_nonempty_line(bad: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        token_for(bad, CAMPAIGN, SECRET)


# --- the link in the message -------------------------------------------------------------

KEY = f"campaign:{CAMPAIGN}:contact:{CONTACT}:touch:2"
CAMPAIGN_ROW = {"id": CAMPAIGN, "sender_name": "Sam", "sender_email": "sam@seller.example"}
DRAFT = {"to": "ana.lopez@example.org", "subject": "Hello", "body": "Hi Ana,\n\nBest,\nSam"}
AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_one_click_link_names_the_keys_contact_and_campaign() -> None:
    context = Context(public_url="https://mail.example.com/", secret_key=SECRET)
    url = one_click_url(context, KEY)
    assert url is not None and url.startswith("https://mail.example.com/u/")
    assert resolve(url.rsplit("/", 1)[1], SECRET) == (CONTACT, CAMPAIGN)


def test_headers_with_a_public_url() -> None:
    context = Context(public_url="https://mail.example.com", secret_key=SECRET)
    email = OutgoingEmail.from_campaign(CAMPAIGN_ROW, KEY, DRAFT, AT, context)
    message = build_message(email)
    token = token_for(CONTACT, CAMPAIGN, SECRET)
    assert message["List-Unsubscribe"] == (
        f"<https://mail.example.com/u/{token}>, <mailto:sam@seller.example?subject=unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert build_message(email).as_bytes() == message.as_bytes()


@pytest.mark.parametrize(
    "context",
    [Context(), Context(secret_key=SECRET), None],
    ids=["nothing set", "key without public url", "no settings given"],
)
def test_mailto_only_without_a_public_url(context: Context | None) -> None:
    message = build_message(OutgoingEmail.from_campaign(CAMPAIGN_ROW, KEY, DRAFT, AT, context))
    assert message["List-Unsubscribe"] == "<mailto:sam@seller.example?subject=unsubscribe>"
    assert "List-Unsubscribe-Post" not in message


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"public_url": "https://mail.example.com"}, "needs COACHGRAPH_SECRET_KEY"),
        ({"public_url": "https://x.example", "secret_key": SecretStr("short")}, "at least"),
        ({"public_url": "http://mail.example.com", "secret_key": SECRET}, "https"),
        ({"public_url": "ftp://mail.example.com", "secret_key": SECRET}, "https"),
        ({"public_url": "https://x.example/a>b", "secret_key": SECRET}, "no spaces"),
        ({"public_url": "https://x.example/?q=1", "secret_key": SECRET}, "no spaces"),
    ],
)
def test_one_click_settings_that_cannot_work_fail_make_transport(
    settings: dict[str, object], error: str
) -> None:
    with pytest.raises(ConfigError, match=error) as caught:
        make_transport(Context(**settings))  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def test_plain_http_is_allowed_on_loopback() -> None:
    context = Context(public_url="http://127.0.0.1:8000", secret_key=SECRET)
    make_transport(context)
    assert (one_click_url(context, KEY) or "").startswith("http://127.0.0.1:8000/u/")


def test_a_url_that_would_break_the_header_is_refused_when_building() -> None:
    email = dataclasses.replace(
        OutgoingEmail.from_campaign(CAMPAIGN_ROW, KEY, DRAFT, AT),
        unsubscribe_url="https://x.example/u/a>, <mailto:evil@example.com>",
    )
    with pytest.raises(ValueError, match="not one http"):
        build_message(email)
