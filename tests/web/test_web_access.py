"""Where `warroom serve` may listen and what token it demands."""

from __future__ import annotations

import pytest

from warroom.web.access import Access, AccessError, Bind, decide, is_loopback, parse_bind


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.0.9", "::1", "localhost"])
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "db1.example"])
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (None, Bind("127.0.0.1", 8765)),
        ("127.0.0.1:9000", Bind("127.0.0.1", 9000)),
        ("0.0.0.0:0", Bind("0.0.0.0", 0)),
        ("[::1]:8080", Bind("::1", 8080)),
        ("[::1]", Bind("::1", 8765)),
        ("localhost", Bind("localhost", 8765)),
    ],
)
def test_parse_bind(text: str | None, want: Bind) -> None:
    assert parse_bind(text) == want


@pytest.mark.parametrize("text", ["", ":80", "host:port", "1.2.3.4:70000", "::1:80", "[::1"])
def test_bad_bind(text: str) -> None:
    with pytest.raises(AccessError):
        parse_bind(text)


def test_loopback_is_open_unless_a_token_is_given() -> None:
    assert decide(Bind("127.0.0.1", 1), None) == Access(None)
    assert decide(Bind("127.0.0.1", 1), "x" * 20).token == "x" * 20


def test_non_loopback_without_a_token_is_refused() -> None:
    with pytest.raises(AccessError, match="--token generate"):
        decide(Bind("0.0.0.0", 1), None)


def test_generate_and_short_tokens() -> None:
    made = decide(Bind("0.0.0.0", 1), "generate")
    assert made.generated and made.token and len(made.token) >= 24
    assert decide(Bind("0.0.0.0", 1), "generate").token != made.token
    with pytest.raises(AccessError, match="at least 16"):
        decide(Bind("0.0.0.0", 1), "short")


def test_allows_compares_exactly() -> None:
    access = Access("s3cret-token-0123456789")
    assert access.allows("s3cret-token-0123456789")
    assert not access.allows("s3cret-token-012345678")
    assert not access.allows(None) and not access.allows("")
    assert Access(None).allows(None)
