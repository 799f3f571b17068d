"""An EventStoreDB URL: checked, its password kept out of messages, and adapted to the
installed client package (``Target``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode

from escli.errors import InvalidInput
from escli.stores.eventstoredb.client import ClientApi
from escli.urls import bad_url, check_url, hide_secrets, mask_url, port_problem, valid_port

__all__ = ["Target", "parse_url"]

OPERATION_TIMEOUT = 10.0  # seconds per append or page, unless the URL sets DefaultDeadline
DISCOVERY_DEFAULTS = {"GossipTimeout": "1", "MaxDiscoverAttempts": "2"}
DEFAULT_PORT = "2113"


@dataclass(frozen=True)
class Target:
    """A parsed store URL: what the client gets, what messages show, and the deadlines."""

    client_uri: str  # what the client is given (it may hold a password: never print it)
    shown: str  # the URL with any password masked
    where: str  # host:port[,host:port...]
    user: str | None
    password: str | None
    timeout: float


def parse_url(url: str, api: ClientApi) -> Target:
    """Check an EventStoreDB URL and adapt it to the installed client. Raises InvalidInput."""
    check_url(url, "EventStoreDB")
    shown = mask_url(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise InvalidInput(bad_url("EventStoreDB", url, "it has no '://'"))
    discover = scheme.endswith("+discover")
    if scheme not in api.schemes:
        # kurrentdb:// and kdb:// are the same protocol; esdbclient only knows esdb://.
        scheme = "esdb+discover" if discover else "esdb"
    authority, _, query = rest.partition("?")
    authority = authority.rstrip("/")
    userinfo, at, hosts = authority.rpartition("@")
    user, colon, password = (unquote(part) for part in userinfo.partition(":"))
    if any(c in user + password for c in "/?#@") or ":" in user:
        # The clients read credentials out of the URL without decoding them.
        raise InvalidInput(
            bad_url(
                "EventStoreDB",
                url,
                "the EventStoreDB clients cannot take a user name or password holding '/', "
                "'?', '#' or '@' (nor a user name holding ':')",
            )
        )
    targets = [h.strip() for h in hosts.split(",") if h.strip()]
    if not targets:
        raise InvalidInput(bad_url("EventStoreDB", url, "it names no host (esdb://HOST:PORT)"))
    for target in targets:
        port = _port(target)
        if port is not None and not valid_port(port):
            raise InvalidInput(bad_url("EventStoreDB", url, port_problem(port)))
    where = ",".join(t if ":" in t else f"{t}:{DEFAULT_PORT}" for t in targets)
    options = dict(parse_qsl(query, keep_blank_values=True))
    names = {k.lower(): k for k in options}
    tls = options.get(names.get("tls", ""), "true").lower() == "true"
    if tls and not (user and password):
        raise InvalidInput(
            bad_url(
                "EventStoreDB",
                url,
                "it uses TLS (the default), which needs a user and password "
                "(esdb://USER:PASSWORD@HOST:PORT); for a server started insecure add ?Tls=false",
            )
        )
    for option in ("TlsCaFile", "UserCertFile", "UserKeyFile"):  # the clients open them
        path = options.get(names.get(option.lower(), ""))
        if path is not None and not os.path.isfile(path):
            missing = "" if os.path.exists(path) else " (no such file)"
            raise InvalidInput(
                bad_url("EventStoreDB", url, f"{option} {path!r} is not a file{missing}")
            )
    if discover or len(targets) > 1:
        for key, value in DISCOVERY_DEFAULTS.items():
            if key.lower() not in names:
                options[key] = value
    timeout = OPERATION_TIMEOUT
    deadline = options.get(names.get("defaultdeadline", ""))
    if deadline:
        try:
            timeout = float(deadline)
        except ValueError:
            raise InvalidInput(
                bad_url(
                    "EventStoreDB", url, f"DefaultDeadline {deadline!r} is not a number of seconds"
                )
            ) from None
    credentials = f"{user}{':' if colon else ''}{password}@" if at else ""
    base = f"{scheme}://{credentials}{hosts}"
    client_uri = f"{base}?{urlencode(options)}" if options else base
    try:
        api.connection_spec(client_uri)  # the client's own checks: option names and values
    except ValueError as e:
        message = _mask(str(e), [url, client_uri], password)
        raise InvalidInput(bad_url("EventStoreDB", url, message)) from None
    return Target(
        client_uri, shown, where, user or None, password if at and colon else None, timeout
    )


def _port(target: str) -> str | None:
    """The port written in ``host:port`` or ``[v6]:port``; None when there is none."""
    if target.startswith("["):
        after = target.partition("]")[2]
        return after[1:] if after else None
    return target.rpartition(":")[2] if ":" in target else None


def _mask(text: str, urls: Sequence[str], password: str | None) -> str:
    text = hide_secrets(text, *urls)
    if password:
        text = text.replace(password, "***")
    return text
