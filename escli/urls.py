"""Store and target URLs: credentials found, checked and masked before anything parses them.

A URL's credentials are everything between ``scheme://`` and its LAST ``@``, so a password
that holds an unencoded ``?``, ``#``, ``/`` or ``@`` is still masked whole, although a URL
parser would cut it at the first of them (and then print the rest as a host, a port or a
path). A URL whose authority is empty (``sqlite:///path``, ``postgresql:///db?host=/run``) has
none. Credentials may hold letters, digits, ``-._~!$&'()*+,;=:`` and ``%XX``; anything else
must be percent-encoded, and ``check_url`` refuses the URL, shown masked. An ``@`` after the
host (in a query value) must be written ``%40`` for the same reason.

Every URL that escli prints (errors, tables, ``--json``, pending deliveries, which are keyed
by the masked URL so no store ever holds a password) goes through ``mask_url``. A client's
own message may echo the URL it was given, or its password, raw or decoded: every message
built from one goes through ``hide_secrets``, and ``secrets_hidden`` does it for any error
raised while a store or target is opened (``open_store``, ``open_sink``), whatever its
adapter put in it.

A query parameter given twice is refused (``check_url``): the clients would keep one of the
two without a word, and which one is theirs to choose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from escli.errors import EscliError, InvalidInput

__all__ = [
    "check_url",
    "hide_secrets",
    "mask_url",
    "secrets_hidden",
    "split_credentials",
    "unmasked",
    "valid_port",
]

_USERINFO = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*")
# Schemes whose user name alone is a secret (``nats://TOKEN@host``).
_TOKEN_SCHEMES = frozenset({"nats"})
# Query items whose value is a secret (libpq's ``password`` and ``sslpassword``).
_SECRET_KEYS = frozenset({"password", "sslpassword"})

# What a secret is shown as.
MASK = "***"

# A secret shorter than this is replaced only where no letter or digit touches it.
_SHORT = 4

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
            head += f"{MASK}@"  # a token, or no telling where a user name would end
        elif not _USERINFO.fullmatch(user):
            head += f"{MASK}:{MASK}@"
        else:
            head += user + (f":{MASK}" if colon else "") + "@"
    path, mark, query = rest.partition("?")
    if mark:
        query = "&".join(
            f"{item.partition('=')[0]}={MASK}"
            if _query_key(item.partition("=")[0]) in _SECRET_KEYS
            else item
            for item in query.split("&")
        )
    return f"{head}{path}{mark}{query}"


def unmasked(name: str) -> str:
    """A URL as ``mask_url`` shows it (the name a pending delivery records its target by)
    made fit to connect with: every masked secret left out, never sent as ``***``. A
    ``user:***@`` becomes ``user@``, credentials masked whole (``***@``) are dropped, and so
    is a ``password=***`` query item; the client then looks for the secret where it would
    for a URL written without one (libpq: ``PGPASSWORD``, the password file). ``name``
    itself when nothing in it is masked."""
    prefix, userinfo, rest = split_credentials(name)
    head = prefix
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        if user != MASK:
            head += (user if colon and password == MASK else userinfo) + "@"
    path, mark, query = rest.partition("?")
    if mark:
        kept = [
            item
            for item in query.split("&")
            if not (
                _query_key(item.partition("=")[0]) in _SECRET_KEYS
                and item.partition("=")[2] == MASK
            )
        ]
        query, mark = "&".join(kept), "?" if kept else ""
    return f"{head}{path}{mark}{query}"


def _secrets(url: str) -> list[str]:
    """The texts of ``url`` that would give a secret away if printed: its password (or NATS
    token, or all of credentials that do not parse) as written and percent-decoded, and the
    values of its secret query items; longest first."""
    prefix, userinfo, rest = split_credentials(url)
    found: list[str] = []
    if userinfo is not None:
        _, colon, password = userinfo.partition(":")
        if colon:
            found.append(password)
        if (not colon and prefix[:-3].lower() in _TOKEN_SCHEMES) or not _USERINFO.fullmatch(
            userinfo
        ):
            found.append(userinfo)
    for item in rest.partition("?")[2].split("&"):
        key, _, value = item.partition("=")
        if _query_key(key) in _SECRET_KEYS:
            found.append(value)
    decoded = [_unquote(text) for text in found if "%" in text]
    return sorted({text for text in found + decoded if text}, key=len, reverse=True)


def _query_key(key: str) -> str:
    """A query item's name as the clients read it: percent-decoded, in any case."""
    return (_unquote(key) if "%" in key else key).lower()


def _unquote(text: str) -> str:
    from urllib.parse import unquote  # only when a message is built: not at start-up

    return unquote(text)


def hide_secrets(text: str, *urls: str) -> str:
    """``text`` (a message built from a client's error) with each of ``urls`` in it shown
    masked and any password of theirs, as written or percent-decoded, as ``***``."""
    masked = {whole: mask_url(url) for url in urls if url for whole in (url, mask_url(url))}
    secrets = sorted({secret for url in urls for secret in _secrets(url)}, key=len, reverse=True)
    if not masked:
        return text
    # The URLs (raw, or masked already) are set apart, so that their user names and hosts
    # stay readable while a password that also occurs in them is replaced elsewhere.
    whole_urls = "|".join(re.escape(url) for url in sorted(masked, key=len, reverse=True))
    parts = re.split(f"({whole_urls})", text)
    for index, part in enumerate(parts):
        if index % 2:
            parts[index] = masked[part]
            continue
        for secret in secrets:
            if len(secret) >= _SHORT:
                part = part.replace(secret, "***")
            else:  # "a" would mangle every word: only where it stands alone
                part = re.sub(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", "***", part)
        parts[index] = part
    return "".join(parts)


@contextmanager
def secrets_hidden(url: str) -> Iterator[None]:
    """Any ``EscliError`` raised inside, its message passed through ``hide_secrets``: the
    guard around opening a store or a target, whatever its client said."""
    try:
        yield
    except EscliError as e:
        e.args = tuple(hide_secrets(a, url) if isinstance(a, str) else a for a in e.args)
        raise


def bad_url(what: str, url: str, problem: str) -> str:
    """The one wording of a URL that is wrong in itself: ``bad <what> URL '<url>': <problem>``,
    the URL masked (``what`` names its kind: "PostgreSQL store", "EventStoreDB", "NATS")."""
    return f"bad {what} URL {mask_url(url)!r}: {problem}"


def port_problem(port: str) -> str:
    """The one wording of a port that is not one, for ``bad_url``."""
    return f"port {port!r} is not a number from 1 to 65535"


def check_url(url: str, what: str, *, credentials: bool = True, query: bool = True) -> None:
    """Refuse, as ``InvalidInput`` showing ``url`` masked, credentials that are not
    percent-encoded, or any credentials where the scheme takes none (``credentials=False``),
    and a query parameter given twice (unless ``query=False``: a file path's ``?`` starts
    no query). ``what`` names the kind of URL in the message ("PostgreSQL store")."""
    _, userinfo, rest = split_credentials(url)
    if userinfo is not None and not credentials:
        raise InvalidInput(bad_url(what, url, "it takes no user name or password"))
    if userinfo is not None and not _USERINFO.fullmatch(userinfo):
        raise InvalidInput(
            bad_url(
                what,
                url,
                "its user name or password (all before the last '@') holds characters to "
                "percent-encode: " + PERCENT_ENCODE,
            )
        )
    if query:
        _check_query(url, rest, what)


def _check_query(url: str, rest: str, what: str) -> None:
    seen: set[str] = set()
    for item in rest.partition("?")[2].partition("#")[0].split("&"):
        key = item.partition("=")[0]
        name = _query_key(key)
        if not name:
            continue
        if name in seen:
            raise InvalidInput(
                bad_url(what, url, f"query parameter {key!r} is given twice; give it once")
            )
        seen.add(name)


def valid_port(text: str) -> bool:
    """Whether ``text`` is a TCP port number, 1 to 65535, in ASCII digits."""
    return text.isascii() and text.isdigit() and len(text) <= 5 and 0 < int(text) < 65536
