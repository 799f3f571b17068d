"""Store and target URLs: credentials found, checked and masked before anything parses them.

A URL's credentials are everything between ``scheme://`` and its LAST ``@``, so a password
that holds an unencoded ``?``, ``#``, ``/`` or ``@`` is still masked whole, although a URL
parser would cut it at the first of them (and then print the rest as a host, a port or a
path). A URL whose authority is empty (``sqlite:///path``, ``postgresql:///db?host=/run``) has
none. Credentials may hold letters, digits, ``-._~!$&'()*+,;=:`` and ``%XX``; anything else
must be percent-encoded, and ``check_url`` refuses the URL, shown masked. An ``@`` after the
host (in a query value) must be written ``%40`` for the same reason.

Every URL that escli prints (errors, tables, ``--json``, pending deliveries, which are keyed
by the masked URL so no store ever holds a password) goes through ``mask_url``.
"""

from __future__ import annotations

import re

from escli.errors import InvalidInput

__all__ = ["check_url", "mask_url", "split_credentials", "valid_port"]

_USERINFO = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*")
# Schemes whose user name alone is a secret (``nats://TOKEN@host``).
_TOKEN_SCHEMES = frozenset({"nats"})
# Query items whose value is a secret (libpq's ``password`` and ``sslpassword``).
_SECRET_KEYS = frozenset({"password", "sslpassword"})

PERCENT_ENCODE = (
    "'/' as %2F, '?' %3F, '#' %23, '@' %40, '%' %25, a space %20 "
    "(urllib.parse.quote(password, safe='') does it)"
)


def split_credentials(url: str) -> tuple[str, str | None, str]:
    """``url`` as (``scheme://``, the credentials or None, everything after them and their
    ``@``). Without ``://``, the first part is empty and the last is ``url``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", None, url
    if rest.startswith("/") or "@" not in rest:
        return scheme + sep, None, rest
    userinfo, _, after = rest.rpartition("@")
    return scheme + sep, userinfo, after


def mask_url(url: str) -> str:
    """``url`` with its password (``user:PASSWORD@``, a NATS token, ``password=`` in the
    query) shown as ``***``, for messages, listings and pending keys. Never raises."""
    prefix, userinfo, rest = split_credentials(url)
    head = prefix
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        if not colon and (prefix[:-3].lower() in _TOKEN_SCHEMES or not _USERINFO.fullmatch(user)):
            head += "***@"  # a token, or no telling where a user name would end
        elif not _USERINFO.fullmatch(user):
            head += "***:***@"
        else:
            head += user + (":***" if colon else "") + "@"
    path, mark, query = rest.partition("?")
    if mark:
        query = "&".join(
            f"{item.partition('=')[0]}=***"
            if item.partition("=")[0].lower() in _SECRET_KEYS
            else item
            for item in query.split("&")
        )
    return f"{head}{path}{mark}{query}"


def bad_url(what: str, url: str, problem: str) -> str:
    """The one wording of a URL that is wrong in itself: ``bad <what> URL '<url>': <problem>``,
    the URL masked (``what`` names its kind: "PostgreSQL store", "EventStoreDB", "NATS")."""
    return f"bad {what} URL {mask_url(url)!r}: {problem}"


def port_problem(port: str) -> str:
    """The one wording of a port that is not one, for ``bad_url``."""
    return f"port {port!r} is not a number from 1 to 65535"


def check_url(url: str, what: str, *, credentials: bool = True) -> None:
    """Refuse, as ``InvalidInput`` showing ``url`` masked, credentials that are not
    percent-encoded, or any credentials where the scheme takes none (``credentials=False``).
    ``what`` names the kind of URL in the message ("PostgreSQL store")."""
    _, userinfo, _ = split_credentials(url)
    if userinfo is None:
        return
    if not credentials:
        raise InvalidInput(bad_url(what, url, "it takes no user name or password"))
    if not _USERINFO.fullmatch(userinfo):
        raise InvalidInput(
            bad_url(
                what,
                url,
                "its user name or password (all before the last '@') holds characters to "
                "percent-encode: " + PERCENT_ENCODE,
            )
        )


def valid_port(text: str) -> bool:
    """Whether ``text`` is a TCP port number, 1 to 65535, in ASCII digits."""
    return text.isascii() and text.isdigit() and len(text) <= 5 and 0 < int(text) < 65536
