"""A PostgreSQL store URL: a libpq URI plus escli's ``schema`` option, checked by libpq
without connecting."""

from __future__ import annotations

import re

import psycopg
from psycopg.conninfo import conninfo_to_dict

from escli.errors import InvalidInput
from escli.urls import bad_url, check_url, port_problem, valid_port

__all__ = ["DEFAULT_SCHEMA", "parse_url"]

DEFAULT_SCHEMA = "escli"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,47}")


def parse_url(url: str) -> tuple[str, str]:
    """A ``postgresql://`` or ``postgres://`` URL -> (libpq conninfo, schema name).

    ``schema`` is taken out of the query; the rest is checked by libpq (without connecting),
    so a misspelt option or a port that is not one is ``InvalidInput`` at once.
    """
    check_url(url, "PostgreSQL store")
    base, _, query = url.partition("?")
    kept, schema = [], DEFAULT_SCHEMA
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if key == "schema":
            schema = value
        elif item:
            kept.append(item)
    if not _SCHEMA_NAME.fullmatch(schema):
        raise InvalidInput(
            f"PostgreSQL schema must be a lowercase name of letters, digits and _ "
            f"(at most 48 characters), got {schema!r}"
        )
    conninfo = base + ("?" + "&".join(kept) if kept else "")
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error as e:
        raise InvalidInput(bad_url("PostgreSQL store", url, _first_line(e))) from e
    # libpq checks ports only when it connects, and calls one out of range a connection
    # failure (one that is not a number, an invalid value: InvalidInput there).
    for port in str(params.get("port") or "").split(","):
        if port.isascii() and port.isdigit() and not valid_port(port):
            raise InvalidInput(bad_url("PostgreSQL store", url, port_problem(port)))
    return conninfo, schema


def _first_line(error: BaseException) -> str:
    text = str(error).strip().removeprefix("connection failed: ")
    return text.splitlines()[0].strip() if text else type(error).__name__
