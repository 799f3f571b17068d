"""Choosing a store by URL, and showing URLs without their passwords."""

from __future__ import annotations

import sys

import pytest

from escli.errors import ClientMissing, InvalidInput
from escli.stores import mask_url, open_store


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("esdb://admin:changeit@db:2113?Tls=true", "esdb://admin:***@db:2113?Tls=true"),
        ("esdb://admin:p%40ss:word@db:2113", "esdb://admin:***@db:2113"),
        ("esdb+discover://u:p@a:1,b:2/?Tls=true", "esdb+discover://u:***@a:1,b:2/?Tls=true"),
        ("postgresql://app:secret@db/events", "postgresql://app:***@db/events"),
        ("esdb://admin@db:2113", "esdb://admin@db:2113"),
        ("esdb://db:2113?Tls=false", "esdb://db:2113?Tls=false"),
        ("sqlite:///x@y:z.db", "sqlite:///x@y:z.db"),
        ("memory:", "memory:"),
    ],
)
def test_passwords_in_urls_are_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_an_unknown_scheme_is_invalid_input_without_the_password() -> None:
    with pytest.raises(InvalidInput) as caught:
        open_store("esdbx://admin:s3cret@db:2113")
    assert "s3cret" not in str(caught.value)
    assert str(caught.value).startswith(
        "unknown store URL scheme 'esdbx' in 'esdbx://admin:***@db:2113' (known: sqlite, memory,"
    )


def test_an_eventstoredb_url_without_a_client_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes `import esdbclient` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "esdbclient", None)
    monkeypatch.setitem(sys.modules, "kurrentdbclient", None)
    with pytest.raises(ClientMissing) as caught:
        open_store("esdb://127.0.0.1:2113?Tls=false")
    assert str(caught.value) == (
        "EventStoreDB URLs need a client package: pip install 'escli[esdb]' (esdbclient) "
        "or 'escli[kurrentdb]' (kurrentdbclient)"
    )
