"""Extra dispatch targets (``--to URL``): where events go after the store accepted them.

``open_sink`` picks the ``Sink`` a URL names. A store URL as a target is a ``StoreTarget``;
other schemes (``cloudevents:FILE``, ``nats://``) come from their own modules, imported only
when used, so the CLI starts without their libraries.
"""

from __future__ import annotations

from escli.errors import InvalidInput
from escli.sinks.base import Delivery, Sink, TargetBehind
from escli.urls import check_url, secrets_hidden, unmasked

__all__ = ["Delivery", "Sink", "TargetBehind", "open_recorded", "open_sink"]


def open_sink(url: str) -> Sink:
    """The target a ``--to`` URL names. An empty URL and ``memory:`` are refused: events sent
    there would be gone when the command ends. No error raised here shows a password,
    whatever the client put in its message."""
    with secrets_hidden(url):
        return _open_sink(url)


def open_recorded(name: str) -> Sink:
    """The target a pending delivery names (``name``: its URL, masked as recorded), for
    ``publish --pending`` without ``--to``. A masked secret is left out, never sent as
    ``***`` (``escli.urls.unmasked``): the client finds one where it would for a URL without
    (libpq: ``PGPASSWORD``, the password file), or the target refuses the login. The target
    keeps ``name``, by which its pending deliveries are found and cleared. (A NATS target's
    name holds no credentials at all: it connects without them.)"""
    url = unmasked(name)
    with secrets_hidden(url):
        return _open_sink(url, name if url != name else None)


def _open_sink(url: str, name: str | None = None) -> Sink:
    if not url.strip():
        raise InvalidInput(
            "the --to URL is empty: name a target (a store URL, cloudevents:FILE or nats://...)"
        )
    if url[: len("cloudevents:")].lower() == "cloudevents:":
        from escli.sinks.cloudevents import CloudEventsFile

        check_url(url, "cloudevents:", credentials=False, query=False)
        return CloudEventsFile(url)
    if url[: len("nats://")].lower() == "nats://":
        from escli.sinks.nats import NatsTarget

        return NatsTarget(url)
    from escli.sinks.store import StoreTarget
    from escli.stores import open_lasting_store

    return StoreTarget(open_lasting_store(url, "--to target"), name)
