"""Credentials in store and target URLs: found up to the last '@', masked, checked."""

from __future__ import annotations

import pytest

from escli.errors import InvalidInput
from escli.jetstream.urls import parse_url as parse_nats_url
from escli.urls import (
    check_url,
    hide_secrets,
    mask_url,
    secrets_hidden,
    split_credentials,
    unmasked,
)

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


@pytest.mark.parametrize(
    ("url", "to_connect"),
    [
        ("postgresql://postgres:pw@h:1/db?schema=s", "postgresql://postgres@h:1/db?schema=s"),
        ("postgresql://postgres@h/db", "postgresql://postgres@h/db"),  # nothing masked
        ("postgresql://u/x:pw@h/db", "postgresql://h/db"),  # masked whole: dropped whole
        ("postgresql://u@h/d?password=pw&sslpassword=k&schema=s", "postgresql://u@h/d?schema=s"),
        ("postgresql://u@h/d?password=pw", "postgresql://u@h/d"),
        ("esdb://admin:changeit@h:2113?Tls=false", "esdb://admin@h:2113?Tls=false"),
        ("nats://s3cr3tToken@h:4222", "nats://h:4222"),
        ("sqlite:///a@b:c.db", "sqlite:///a@b:c.db"),
    ],
)
def test_a_masked_url_is_unmasked_by_leaving_its_secrets_out(url: str, to_connect: str) -> None:
    assert unmasked(mask_url(url)) == to_connect
    assert "***" not in to_connect


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


@pytest.mark.parametrize(
    ("text", "urls", "shown"),
    [
        # libpq's message echoes the URI it was given: it is shown masked.
        (
            'in URI: "postgresql://postgres:topsecret@[::1/test"',
            [
                "postgresql://postgres:topsecret@[::1/test?schema=s",
                "postgresql://postgres:topsecret@[::1/test",
            ],
            'in URI: "postgresql://postgres:***@[::1/test"',
        ),
        # The password alone, as written or percent-decoded, wherever it stands.
        ("bad token S3c%3FretPW here", ["postgresql://u:S3c%3FretPW@h/x"], "bad token *** here"),
        ("login S3c?retPW refused", ["postgresql://u:S3c%3FretPW@h/x"], "login *** refused"),
        ("x=k3y!k3y", ["postgresql://h/x?sslpassword=k3y%21k3y"], "x=***"),
        ("token t0k3nXYZ bad", ["nats://t0k3nXYZ@h:4222"], "token *** bad"),
        # A password that is also the user name: the URL stays readable, shown masked.
        (
            "URL postgresql://postgres:postgres@h/postgres: no postgres",
            ["postgresql://postgres:postgres@h/postgres"],
            "URL postgresql://postgres:***@h/postgres: no ***",
        ),
        # A short password is replaced only where it stands alone, not inside words.
        ("bad parameter 'a' in 'x'", ["postgresql://u:a@h/x"], "bad parameter '***' in 'x'"),
        # No password: nothing to hide.
        (
            "cannot reach postgresql://u@h/x",
            ["postgresql://u@h/x"],
            "cannot reach postgresql://u@h/x",
        ),
    ],
)
def test_a_clients_message_never_shows_a_password_of_the_url(
    text: str, urls: list[str], shown: str
) -> None:
    assert hide_secrets(text, *urls) == shown


def test_an_error_raised_while_a_url_is_opened_shows_no_password() -> None:
    with pytest.raises(InvalidInput) as caught, secrets_hidden("esdb://admin:changeit@h:2113"):
        raise InvalidInput("the client said: esdb://admin:changeit@h:2113 (changeit)")
    assert str(caught.value) == "the client said: esdb://admin:***@h:2113 (***)"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://h/x?schema=a&schema=b",
        "postgresql://h/x?sslmode=disable&SSLMODE=require",
        "postgresql://h/x?dbname=a&%64bname=b",
        "esdb://h:2113?Tls=false&tls=false",
        "nats://h?subject=a.{id}&subject=b.{id}",
    ],
)
def test_a_query_parameter_given_twice_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match=r"is given twice; give it once$"):
        check_url(url, "some")


def test_a_password_holding_what_looks_like_a_query_is_no_query() -> None:
    check_url("postgresql://u:a%3Fx%3D1%26x%3D2@h/x?schema=s", "PostgreSQL store")
