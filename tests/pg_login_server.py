"""A PostgreSQL server in name only, to see which password libpq sends: it speaks the
protocol's first steps (refusing SSL and GSS encryption, reading the startup message), asks
every client for a cleartext password, records what it is given, and refuses the login as
a server does ("password authentication failed"). A client with no password to give hangs
up instead, and nothing is recorded. The local server runs with trust (it asks no password),
so it cannot tell."""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType

# The request codes a client may send before its startup message.
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
# AuthenticationCleartextPassword: 'R', length 8, code 3.
ASK_PASSWORD = b"R" + struct.pack("!ii", 8, 3)


def _refusal(user: str) -> bytes:
    fields = b"".join(
        code + text.encode() + b"\0"
        for code, text in (
            (b"S", "FATAL"),
            (b"V", "FATAL"),
            (b"C", "28P01"),
            (b"M", f'password authentication failed for user "{user}"'),
        )
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def _read(conn: socket.socket, size: int) -> bytes:
    """``size`` bytes, or fewer if the client hung up."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


class PasswordAsker:
    """Listens on a free port of 127.0.0.1 until closed; ``passwords``: what each client
    that logged in sent, in order."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.listener.settimeout(0.1)  # to see ``_stop`` between clients
        self.passwords: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, credentials: str) -> str:
        """A store URL of this server: ``credentials`` is ``user`` or ``user:password``."""
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/test?schema=x"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                self._one(conn)

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        while True:
            header = _read(conn, 8)
            if len(header) < 8:
                return
            length, code = struct.unpack("!ii", header)
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                conn.sendall(b"N")
                continue
            startup = _read(conn, length - 8).split(b"\0")
            break
        user = dict(zip(startup[0::2], startup[1::2], strict=False)).get(b"user", b"")
        conn.sendall(ASK_PASSWORD)
        kind = _read(conn, 1)
        if kind != b"p":
            return  # no password to give: libpq hangs up
        (length,) = struct.unpack("!i", _read(conn, 4))
        self.passwords.append(_read(conn, length - 4).rstrip(b"\0").decode())
        conn.sendall(_refusal(user.decode()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def __enter__(self) -> PasswordAsker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
