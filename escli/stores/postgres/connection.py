"""Connections to the server (a small pool, and the connection pinned by a transaction), and
psycopg's errors translated into escli's, with no password in any message."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from escli.errors import InvalidInput, StoreError, StoreUnavailable
from escli.stores.base import BaseStore
from escli.stores.postgres.urls import _first_line
from escli.urls import bad_url, hide_secrets

__all__ = ["CONNECT_TIMEOUT_S", "Connection", "Connections"]

CONNECT_TIMEOUT_S = 3

Connection = psycopg.Connection[TupleRow]


class Connections(BaseStore):
    """The connections of a PostgreSQL store, and the translation of its errors."""

    url: str
    schema: str
    where: str
    database: str
    user: str
    connect_timeout: str
    _conninfo: str
    _connect_options: dict[str, Any]
    _urls: tuple[str, str]
    _password: str
    _ready: bool
    _lock: threading.Lock
    _idle: list[Connection]
    _epoch: int
    _pinned: dict[int, Connection]

    def _hide(self, text: str) -> str:
        text = hide_secrets(text, *self._urls)
        return text.replace(self._password, "***") if self._password else text

    def _connect(self) -> Connection:
        try:
            return psycopg.connect(self._conninfo, **self._connect_options)
        except psycopg.Error as e:
            raise self._connect_error(e) from e

    def _connect_error(self, e: psycopg.Error) -> StoreError | InvalidInput:
        message = _first_line(e)
        lower = message.lower()
        if isinstance(e, pgerrors.ConnectionTimeout) or "timeout expired" in lower:
            return StoreUnavailable(
                f"cannot reach {self.where}: no answer within {self.connect_timeout} s"
                " (connect_timeout)"
            )
        # libpq checks option values (sslmode, port...) when it connects: a bad one is the
        # URL's fault, not the server's.
        invalid = re.search(r"invalid [\w ]*value.*", message)
        if invalid:
            return InvalidInput(self._hide(bad_url("PostgreSQL store", self.url, invalid[0])))
        if "failed to resolve host" in lower or "could not translate host name" in lower:
            return StoreUnavailable(f"cannot reach {self.where}: unknown host")
        unreachable = (
            "connection refused",
            "no route to host",
            "network is unreachable",
            "no such file or directory",  # no server on the Unix socket
            "the database system is starting up",
            "the database system is shutting down",
            "too many clients",
            "server closed the connection",
        )
        if any(reason in lower for reason in unreachable):
            reason = message.rpartition(" failed: ")[2] or message
            return StoreUnavailable(self._hide(f"cannot reach {self.where}: {reason}"))
        if re.search(r'database ".*" does not exist', message):
            return StoreError(f"{self.where} has no database {self.database!r}")
        if re.search(r'role ".*" does not exist', message):
            return StoreError(f"{self.where} has no user {self.user!r}")
        if "authentication failed" in lower or "pg_hba.conf" in lower or "password" in lower:
            reason = message.rpartition("FATAL:")[2].strip() or message
            return StoreError(self._hide(f"{self.where} refused the login: {reason}"))
        if isinstance(e, psycopg.ProgrammingError):
            return InvalidInput(self._hide(bad_url("PostgreSQL store", self.url, message)))
        return StoreError(self._hide(f"cannot connect to {self.where}: {message}"))

    def _error(self, e: psycopg.Error) -> StoreError | InvalidInput:
        message = self._hide(_first_line(e))
        state = e.sqlstate or ""
        if isinstance(e, psycopg.OperationalError) and (
            not state or state.startswith("08") or state.startswith("57P")
        ):
            return StoreUnavailable(f"lost the connection to {self.where}: {message}")
        if isinstance(e, pgerrors.UndefinedTable | pgerrors.InvalidSchemaName):
            self._ready = False  # dropped behind our back: the next append recreates them
            return StoreError(
                f"{self.url}: the escli tables of schema {self.schema!r} are gone ({message})"
            )
        if isinstance(e, pgerrors.InsufficientPrivilege):
            return StoreError(f"{self.url}: permission denied ({message})")
        if isinstance(e, pgerrors.ReadOnlySqlTransaction):
            return StoreError(f"{self.url} is read-only; nothing was written")
        if isinstance(e, pgerrors.ProgramLimitExceeded) and "index row size" in message:
            # A key past what a btree entry holds (about 2,700 bytes): the input's fault,
            # and the append's transaction is rolled back.
            return InvalidInput(
                f"{self.url}: a stream name or event id too long for PostgreSQL's indexes"
                f" ({message}); the append was not written: keep them under 2,700 bytes"
            )
        return StoreError(f"{self.url}: {message}")

    def _savepoint(self, conn: Connection) -> AbstractContextManager[Any]:
        """Inside ``transaction()``, a savepoint, so that a failed statement undoes only
        itself (and the transaction can still report why); else nothing: one statement in
        autocommit is atomic already."""
        return conn.transaction() if self._in_transaction(conn) else nullcontext()

    def _in_transaction(self, conn: Connection) -> bool:
        """Whether ``conn`` is the one ``transaction()`` pinned to this thread."""
        return self._pinned.get(threading.get_ident()) is conn

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        pinned = self._pinned.get(threading.get_ident())
        if pinned is not None:
            yield pinned
            return
        with self._lock:
            conn, epoch = (self._idle.pop() if self._idle else None), self._epoch
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            reusable = (
                not conn.closed
                and not conn.broken
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            with self._lock:
                if reusable and epoch == self._epoch:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._epoch += 1
        for conn in idle:
            conn.close()

    def __del__(self) -> None:
        # A store dropped without close() closes its idle connections, as a file would.
        if hasattr(self, "_idle"):
            self.close()
