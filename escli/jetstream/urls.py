"""What a ``nats://`` URL says, and NATS subjects: templates, tokens and filters. Pure Python,
no nats-py: a URL is checked before anything connects.

URL: ``nats://[user:password@|token@]host[:port][?subject=TEMPLATE&stream=NAME&create=1]``

- ``subject``: where a stream's events go, a template of ``{domain}``, ``{id}`` (the stream
  name's parts around its first ``-``) and ``{stream}``; default ``events.{domain}.{id}``
  (``combat-ogre`` -> ``events.combat.ogre``). Each value is one subject token: the characters
  NATS gives a meaning to or forbids in a token (``.``, ``*``, ``>``, whitespace, control
  characters) and ``%`` itself are percent-encoded as UTF-8 (``a.b c`` -> ``a%2Eb%20c``),
  so distinct streams keep distinct subjects.
- ``stream``: the JetStream stream that must take those subjects (default ``ESCLI``).
- ``create=1``: create that stream if it is missing, taking the template's subjects
  (``events.>`` by default): limits retention, file storage, a 2-minute duplicate window.
  Without it, a missing stream is an error: escli does not make streams unasked.
"""

from __future__ import annotations

import re
import string
from typing import Final, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from escli.domain.model import Domain
from escli.errors import InvalidInput
from escli.urls import bad_url, check_url, hide_secrets, port_problem

__all__ = [
    "DEFAULT_STREAM",
    "DEFAULT_SUBJECT",
    "NatsOptions",
    "SubjectTemplate",
    "check_subject",
    "parse_url",
    "subject_matches",
    "subject_token",
]

DEFAULT_PORT: Final = 4222
DEFAULT_STREAM: Final = "ESCLI"
DEFAULT_SUBJECT: Final = "events.{domain}.{id}"

# -------------------------------------------------------------------------------------------
# Subjects.


def _unsafe(char: str) -> bool:
    return char in "%.*>" or char.isspace() or not char.isprintable()


def subject_token(text: str) -> str:
    """``text`` as one NATS subject token: ``%``, ``.``, ``*``, ``>``, whitespace and control
    characters percent-encoded as UTF-8 bytes (reversible, so distinct values stay distinct)."""
    if text and not any(map(_unsafe, text)):
        return text
    return "".join("".join(f"%{b:02X}" for b in c.encode()) if _unsafe(c) else c for c in text)


def check_subject(subject: str, *, wildcards: bool, what: str) -> None:
    tokens = subject.split(".")
    for n, token in enumerate(tokens):
        if not token or any(c.isspace() or not c.isprintable() for c in token):
            raise InvalidInput(f"{what} {subject!r} is not a NATS subject (empty token or space)")
        if ("*" in token or ">" in token) and not (
            wildcards and (token == "*" or (token == ">" and n == len(tokens) - 1))
        ):
            raise InvalidInput(
                f"{what} {subject!r}: * and > are wildcards"
                + (", each a whole token (> only last)" if wildcards else ", not allowed here")
            )


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether the NATS subject filter ``pattern`` (``*``, ``>``) takes ``subject``."""
    have = subject.split(".")
    for n, token in enumerate(pattern.split(".")):
        if token == ">":
            return len(have) > n
        if n >= len(have) or (token != "*" and token != have[n]):
            return False
    return len(have) == len(pattern.split("."))


class SubjectTemplate:
    """Where a stream's events are published: ``events.{domain}.{id}`` and the like."""

    FIELDS: Final = ("domain", "id", "stream")

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as e:
            raise InvalidInput(f"subject template {text!r}: {e}") from e
        for _, field, spec, conversion in parsed:
            if field is not None and (field not in self.FIELDS or spec or conversion):
                raise InvalidInput(
                    f"subject template {text!r}: unknown field {{{field}}} "
                    "(known: {domain}, {id}, {stream})"
                )
        fields = {field for _, field, _, _ in parsed if field}
        # Whether each stream gets a subject of its own (no two streams render alike): then
        # the subject's first and last messages and its count say exactly what it holds.
        self.exclusive = "stream" in fields or {"domain", "id"} <= fields
        marker = "\x00"
        shape = text.format(domain=marker, id=marker, stream=marker)
        check_subject(shape.replace(marker, "x"), wildcards=False, what="subject template")
        tokens = shape.split(".")
        # The JetStream subjects the template can produce: its literal head and '>', or a
        # '*' for every token a value goes in when it starts with one.
        head = []
        for token in tokens:
            if marker in token:
                break
            head.append(token)
        if len(head) == len(tokens):
            self.filter = text
        elif head:
            self.filter = ".".join([*head, ">"])
        else:
            self.filter = ".".join("*" if marker in t else t for t in tokens)
        self._cache: dict[str, str] = {}

    def render(self, stream: str) -> str:
        """The subject of ``stream`` (``<domain>-<id>``)."""
        found = self._cache.get(stream)
        if found is None:
            domain = Domain.domain_name_of(stream)
            found = self.text.format(
                domain=subject_token(domain),
                id=subject_token(stream[len(domain) + 1 :]),
                stream=subject_token(stream),
            )
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[stream] = found
        return found


# -------------------------------------------------------------------------------------------
# URLs.

_STREAM_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,255}")
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("0", "false", "no", "off", "")


class NatsOptions(NamedTuple):
    """What a ``nats://`` URL says."""

    host: str
    port: int
    server: str  # what nats-py connects to, without credentials
    subject: SubjectTemplate
    stream: str
    create: bool
    # The URL's credentials, percent-decoded: never shown.
    user: str | None = None
    password: str | None = None
    token: str | None = None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The target's name (and key of its pending records): scheme, address and where the
        events go; no credentials, defaults left out, ``create`` dropped."""
        query = []
        if self.subject.text != DEFAULT_SUBJECT:
            query.append(f"subject={self.subject.text}")
        if self.stream != DEFAULT_STREAM:
            query.append(f"stream={self.stream}")
        return f"nats://{self.address}" + ("?" + "&".join(query) if query else "")


def parse_url(url: str) -> NatsOptions:
    """Check a ``nats://`` URL; ``InvalidInput`` says what is wrong with it."""
    check_url(url, "NATS")
    try:
        parts = urlsplit(url)
        port = DEFAULT_PORT if parts.port is None else parts.port
    except ValueError as e:
        raise InvalidInput(bad_url("NATS", url, hide_secrets(str(e), url))) from e
    if not 0 < port < 65536:
        raise InvalidInput(bad_url("NATS", url, port_problem(str(port))))
    if parts.scheme.lower() != "nats" or not parts.hostname:
        raise InvalidInput(bad_url("NATS", url, "use nats://host[:port][?options]"))
    if parts.path not in ("", "/") or parts.fragment:
        raise InvalidInput(bad_url("NATS", url, "it takes no path; options go after '?'"))
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in ("subject", "stream", "create"):
            raise InvalidInput(f"unknown NATS URL option {name!r} (known: subject, stream, create)")
        if name in options:
            raise InvalidInput(f"NATS URL option {name!r} is given twice")
        options[name] = value
    stream = options.get("stream", DEFAULT_STREAM)
    if not _STREAM_NAME_RE.fullmatch(stream):
        raise InvalidInput(
            f"JetStream stream name {stream!r}: use letters, digits, '_' and '-' only"
        )
    create = options.get("create", "").lower()
    if create not in _TRUE + _FALSE:
        raise InvalidInput(f"NATS URL option create={create!r}: use 1 or 0")
    host = parts.hostname
    return NatsOptions(
        host=host,
        port=port,
        server=f"nats://{parts.netloc.rpartition('@')[2]}",
        # Given to nats-py apart, decoded: it would read them out of the URL undecoded.
        user=None if parts.password is None else unquote(parts.username or ""),
        password=None if parts.password is None else unquote(parts.password),
        token=unquote(parts.username) if parts.username and parts.password is None else None,
        subject=SubjectTemplate(options.get("subject", DEFAULT_SUBJECT)),
        stream=stream,
        create=create in _TRUE,
    )
