"""Credentials in store and target URLs: found up to the last '@', masked, checked."""

from __future__ import annotations

import pytest

from escli.errors import InvalidInput
from escli.sinks.nats import parse_url as parse_nats_url
from escli.urls import check_url, mask_url, split_credentials

# Every character a password may hold that a URL must carry percent-encoded (and ':', which
# a URL may carry as it is after the user name's own ':').
AWKWARD = ["?", "#", "/", "%", "@", ":", " "]


@pytest.mark.parametrize("char", AWKWARD)
@pytest.mark.parametrize(
    "template",
    [
        "postgresql://postgres:{pw}@127.0.0.1:1/x?schema=s",
        "esdb+discover://admin:{pw}@a:1,b:2/?Tls=true",
        "nats://user:{pw}@127.0.0.1:4222?stream=S",
    ],
)
def test_an_unencoded_password_is_masked_whole_up_to_the_last_at(template: str, char: str) -> None:
    url = template.format(pw=f"S3c{char}retPW")
    shown = mask_url(url)
    assert "S3c" not in shown and "retPW" not in shown
    assert shown == template.format(pw="***")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://postgres@db/x", "postgresql://postgres@db/x"),  # no password
        ("nats://s3cr3tToken@h:4222", "nats://***@h:4222"),  # a NATS user alone is a token
        ("postgresql://u/x:pw@h/db", "postgresql://***:***@h/db"),  # no telling the user
        ("postgresql://h/db?user=me@srv", "postgresql://***@srv"),  # '@' there must be %40
        (
            "postgresql://u@h/d?password=pw&sslpassword=k",
            "postgresql://u@h/d?password=***&sslpassword=***",
        ),
        ("sqlite:///a@b:c.db", "sqlite:///a@b:c.db"),  # an empty authority: a path
        ("cloudevents:out@x:y.jsonl", "cloudevents:out@x:y.jsonl"),
    ],
)
def test_what_is_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_credentials_are_everything_between_the_scheme_and_the_last_at() -> None:
    assert split_credentials("esdb://u:a@b/c?d#e@h:1?x=y") == ("esdb://", "u:a@b/c?d#e", "h:1?x=y")
    assert split_credentials("sqlite:///x@y") == ("sqlite://", None, "/x@y")
    assert split_credentials("memory:") == ("", None, "memory:")


@pytest.mark.parametrize("char", [c for c in AWKWARD if c != ":"])
def test_an_unencoded_password_is_refused_shown_masked_saying_to_percent_encode(char: str) -> None:
    url = f"postgresql://postgres:S3c{char}retPW@127.0.0.1:1/x"
    with pytest.raises(InvalidInput) as caught:
        check_url(url, "PostgreSQL store")
    assert str(caught.value).startswith(
        "bad PostgreSQL store URL 'postgresql://postgres:***@127.0.0.1:1/x': its user name or "
        "password (all before the last '@') holds characters to percent-encode: '/' as %2F"
    )


def test_percent_encoded_and_colon_holding_passwords_are_accepted() -> None:
    check_url("postgresql://postgres:S3c%3F%2F%23%40%25%20:retPW@h/x", "PostgreSQL store")


def test_a_scheme_without_credentials_refuses_them_masked() -> None:
    with pytest.raises(
        InvalidInput, match=r"^bad SQLite store URL 'sqlite://u:\*\*\*@h/x': it takes no"
    ):
        check_url("sqlite://u:pw@h/x", "SQLite store", credentials=False)


def test_nats_credentials_reach_nats_py_decoded_and_apart_from_the_server() -> None:
    options = parse_nats_url("nats://al%40ce:S3c%3F%23%2F%25%20:retPW@h:4333")
    assert (options.server, options.user, options.password, options.token) == (
        "nats://h:4333",
        "al@ce",
        "S3c?#/% :retPW",
        None,
    )
    token = parse_nats_url("nats://t%2Fk@h")
    assert (token.server, token.user, token.password, token.token) == (
        "nats://h",
        None,
        None,
        "t/k",
    )


def test_eventstoredb_credentials_reach_the_client_decoded() -> None:
    from escli.stores.eventstoredb import load_client_api
    from escli.stores.eventstoredb import parse_url as parse_esdb_url

    target = parse_esdb_url("esdb://al%20ce:S3c%25%20:retPW@h:2113", load_client_api())
    assert (target.client_uri, target.user, target.password, target.shown) == (
        "esdb://al ce:S3c% :retPW@h:2113",
        "al ce",
        "S3c% :retPW",
        "esdb://al%20ce:***@h:2113",
    )
